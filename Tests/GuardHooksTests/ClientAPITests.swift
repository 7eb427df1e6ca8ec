import Foundation
import GuardHooks
import Testing
import Glibc

/// The rough edges of the Swift API (issue 16): a missing store is refused unless the caller
/// asks for one, every error carries hook-runner's exit code, and a refused hooks directory
/// is a documented field of the report.
@Suite struct ClientAPITests {
    static func scratch(_ name: String) throws -> String {
        let dir = NSTemporaryDirectory() + "gh-client-\(name)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        #expect(chmod(dir, 0o755) == 0)
        return dir
    }

    @Test func aStoreThatDoesNotExistIsRefusedByDefault() async throws {
        let dir = try Self.scratch("missing")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let typo = dir + "/gaurds.db"
        let engine = GuardEngine(configuration: GuardEngineConfiguration(storePath: typo, actor: "test"))
        let refused = GuardEngineError.storeMissing(path: typo)
        #expect(throws: refused) { try engine.apply([]) }
        #expect(throws: refused) { try engine.clear([], dryRun: true) }
        #expect(throws: refused) { try engine.guards(.outstanding) }
        #expect(throws: refused) { try engine.history(path: "/mnt/x") }
        await #expect(throws: refused) {
            try await engine.runPhase(PhaseRequest(phase: "post-backup", targets: [], hooksDirectory: nil)) { _ in }
        }
        #expect(refused.description == "\(typo): no store there (set GuardEngineConfiguration.createStoreIfMissing to create it)")
        #expect(refused.exitStatus == 70)
        #expect(!FileManager.default.fileExists(atPath: typo) && !FileManager.default.fileExists(atPath: typo + ".lock"),
                "nothing created")
    }

    @Test func aStoreIsCreatedWhenTheCallerAsks() async throws {
        let dir = try Self.scratch("create")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/state/guards.db"
        let creating = GuardEngine(configuration: GuardEngineConfiguration(storePath: path, createStoreIfMissing: true))
        #expect(try creating.guards(.all).isEmpty, "a store to be created reads as empty")
        #expect(!FileManager.default.fileExists(atPath: path), "reads create nothing")
        let outcome = try await creating.runPhase(PhaseRequest(phase: "post-backup", targets: [], hooksDirectory: nil)) { _ in }
        #expect(outcome.report.exitStatus == 0 && outcome.runID != nil)
        // Once it exists, the default configuration opens it.
        let existing = GuardEngine(configuration: GuardEngineConfiguration(storePath: path))
        #expect(try existing.runs().map(\.phase) == ["post-backup"])
    }

    @Test(arguments: [
        (GuardEngineError.busy("b"), Int32(75)), (.store("s"), 70), (.usage("u"), 64), (.failed("f"), 1),
        (.resources("r"), 70), (.storeMissing(path: "/x"), 70),
    ])
    func engineErrorsCarryHookRunnersExitCodes(_ error: GuardEngineError, _ code: Int32) {
        #expect(error.exitStatus == code)
        #expect(SysExitCode.forError(error).rawValue == code)
    }

    @Test func phaseErrorsCarryHookRunnersExitCodes() async throws {
        let dir = try Self.scratch("codes")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = GuardEngine(configuration: GuardEngineConfiguration(storePath: dir + "/guards.db", createStoreIfMissing: true))
        func code(_ phase: String, _ targets: [String]) async -> Int32? {
            let request = PhaseRequest(phase: phase, targets: targets, hooksDirectory: nil)
            do {
                let outcome = try await engine.runPhase(request, output: { _ in })
                _ = outcome
                return nil
            } catch {
                return SysExitCode.forError(error).rawValue
            }
        }
        #expect(await code("Pre_Backup", []) == 64, "a malformed phase name is a usage error")
        #expect(await code("pre-backup", ["/etc"]) == 65, "a target outside the allowed roots is a bad target")
        #expect(await code("pre-backup", ["/mnt/x"]) == 1, "a pre-* phase in which no hook runs guarded nothing")
        #expect(PhaseRunError.badTarget("t").exitStatus == 65)
        struct Elsewhere: Error {}
        #expect(SysExitCode.forError(Elsewhere()) == .internalError)
        #expect(SysExitCode.forOutcomes([TargetOutcome(target: "/mnt/a", outcome: .applied),
                                         TargetOutcome(target: "/mnt/b", outcome: .deferred)]) == .tryAgainLater)
    }

    @Test(.enabled(if: geteuid() == 0, "ownership rules apply to root"))
    func aRefusedHooksDirectoryIsAFieldOfTheReport() async throws {
        let dir = try Self.scratch("refused")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let hooks = dir + "/hooks.d"
        try FileManager.default.createDirectory(atPath: hooks, withIntermediateDirectories: false)
        #expect(chmod(hooks, 0o777) == 0)
        try "#!/bin/sh\ntouch \(dir)/ran\n".write(toFile: hooks + "/10-hook", atomically: false, encoding: .utf8)
        #expect(chmod(hooks + "/10-hook", 0o755) == 0)
        let engine = GuardEngine(configuration: GuardEngineConfiguration(storePath: dir + "/guards.db", createStoreIfMissing: true))
        let report = try await engine.runPhase(
            PhaseRequest(phase: "post-mount", targets: [], hooksDirectory: hooks, binaryPath: "/bin/true")) { _ in }.report
        let why = "refused: directory \(hooks) is world-writable"
        #expect(report.hooksDirectoryRefusal == why)
        #expect(report.failures.map(\.reason) == [why])
        #expect(report.exitStatus == 1)
        #expect(!FileManager.default.fileExists(atPath: dir + "/ran"))

        #expect(chmod(hooks, 0o755) == 0)
        let fine = try await engine.runPhase(
            PhaseRequest(phase: "post-mount", targets: [], hooksDirectory: hooks, binaryPath: "/bin/true")) { _ in }.report
        #expect(fine.hooksDirectoryRefusal == nil && fine.exitStatus == 0)
    }
}
