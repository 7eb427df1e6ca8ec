// The example of docs/guide-swift-api.md, compiled and run here. The region between the
// markers must appear verbatim in the guide (SwiftAPIGuideTests checks that).
// BEGIN EXAMPLE
import GuardHooks

/// A hook written in Swift: runs in-process, in name order among the hooks.d executables.
struct SnapshotHook: SwiftHook {
    let name = "50-snapshot"
    let phases: [String]? = ["pre-backup"]

    func run(_ invocation: HookInvocation) async throws -> Int32 {
        if invocation.dryRun { return 0 }
        invocation.print("snapshotting \(invocation.targets.joined(separator: " "))")
        return 0    // 75: skip the rest of the phase; anything else (or a throw): fail
    }
}

func nightlyBackup(storage: String, storePath: String, hooksDirectory: String?) async throws -> Int32 {
    // createStoreIfMissing: this tool may be the first to write the store. Without it (the
    // default) a path where no store exists throws GuardEngineError.storeMissing: a typo
    // cannot start a second, empty store beside hook-runner's.
    let engine = GuardEngine(configuration: GuardEngineConfiguration(
        storePath: storePath, actor: "my-backup-tool 2.1", createStoreIfMissing: true))

    // pre-backup: the hooks.d executables (nil: none) and our Swift hook, recorded as one run.
    // A hook's descendants that leave its process group (setsid) are killed after it only if
    // this process called Descendants.becomeSubreaper() first, as hook-runner does; do that
    // only if your tool spawns nothing else while a phase runs: the sweep kills every child.
    // Cancelling the task that awaits runPhase ends the running hook's group.
    let pre = try await engine.runPhase(
        PhaseRequest(phase: "pre-backup", targets: [storage], hooksDirectory: hooksDirectory,
                     swiftHooks: [SnapshotHook()])) { line in print("[\(line.hook)] \(line.text)") }
    guard pre.report.exitStatus == 0 else { return pre.report.exitStatus }   // 1, or 128+N

    // Or guard directly: one outcome per target (applied, already-applied, skipped-mounted, …).
    let applied = try engine.apply([storage], kind: .auto, label: "nightly")
    for o in applied { print(o.outcome.rawValue, o.path ?? o.target, o.reason ?? "") }
    let status = SysExitCode.forOutcomes(applied)   // hook-runner apply's exit code
    guard status == .ok else { return status.rawValue }

    // … the backup writes below `storage` here: if it is offline, every write fails …

    // post-backup: clear what is safe; a guard under mounted storage stays pending.
    for o in try engine.clear([storage]) where o.outcome == .deferred {
        print("\(o.target) stays pending until its storage is unmounted: \(o.reason ?? "")")
    }

    // The store, read-only: outstanding guards, a path's history, the runs.
    for g in try engine.guards(.outstanding) { print("#\(g.id) \(g.path) \(g.status)") }
    for e in try engine.history(path: storage, limit: 10) {
        print(e.from?.description ?? "-", "->", e.to, e.reason ?? "")
    }
    for r in try engine.runs(phase: "pre-backup", limit: 1) { print("run #\(r.id) exit \(r.exitCode ?? -1)") }
    return 0
}
// END EXAMPLE
