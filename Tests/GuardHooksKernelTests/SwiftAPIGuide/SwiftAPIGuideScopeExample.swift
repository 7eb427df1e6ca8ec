// The `withGuards` example of docs/guide-swift-api.md, compiled and run here. The region
// between the markers must appear verbatim in the guide (SwiftAPIGuideTests checks that).
// BEGIN EXAMPLE
import GuardHooks

/// Runs `backup` while `storage` is guarded: pre-backup (the shipped hooks guard each offline
/// target and claim it for this scope), then `backup`, then post-backup — always, also when
/// `backup` throws or the task is cancelled. The guard goes only when no other job holds it.
func guardedBackup<T: Sendable>(storage: String, storePath: String, hooksDirectory: String,
                                hookRunner: String, backup: () async throws -> T) async throws -> T {
    let engine = GuardEngine(configuration: GuardEngineConfiguration(
        storePath: storePath, actor: "my-backup-tool 2.1"))
    let options = GuardedScopeOptions(hooksDirectory: hooksDirectory, binaryPath: hookRunner)
    do {
        return try await engine.withGuards([storage], phase: .backup, options: options) {
            try await backup()   // if `storage` is offline, every write below it fails here
        }
    } catch let error as GuardedScopeError {
        print(error)             // pre-backup failed: `backup` never started
        throw error
    }
}
// END EXAMPLE
