import Foundation
import GuardHooks
import GuardStore
import GuardTestSupport
import Testing

/// Interrupted commands: hook-runner in a child process, killed (SIGKILL) by its own test
/// fault point between the write-ahead record and the kernel, or between the kernel and the
/// settle; then `reconcile` in-process must leave the store equal to the kernel.
extension EngineKernelTests {
    /// Whether the guard of `kind` is in force at `path`, as findmnt / lsattr tell.
    private func guardInForce(_ kind: GuardKind, _ path: String) throws -> Bool {
        switch kind {
        case .bind:
            let stack = try findmnt(path), options = try mountOptions(path)
            return stack.count == 1 && options.contains("ro")
        case .immutable: return try lsattrImmutable(path)
        }
    }

    private func statusSQL(_ w: EngineKernelWorld) throws -> String {
        try w.sql("SELECT state || coalesce('(' || pending_action || ')', '') FROM guards ORDER BY id DESC LIMIT 1")
    }

    @Test(sandboxed, arguments: [GuardKind.bind, .immutable])
    func interruptedCommandsAreSettledByReconcile(kind: GuardKind) throws {
        let dir = try Sandbox.make("ek-crash-\(kind.rawValue)")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let target = try dir.mkdir("nfs1")
        let apply = ["apply", "--kind", kind.rawValue, target]

        // 1. Killed after the intent: the row says applying, the kernel has nothing.
        #expect(try runHookRunner(w, apply, fault: .afterIntent).status == 137, "killed by SIGKILL")
        #expect(try statusSQL(w) == "pending(applying)")
        #expect(try !guardInForce(kind, target))
        var changes = try w.engine.reconcile()
        #expect(changes.map { "\($0.from)→\($0.to): \($0.reason)" }
            == ["pending(applying)→failed: interrupted apply: guard not in force"])
        #expect(try w.row(target)?.status == .failed)
        #expect(try !guardInForce(kind, target))
        #expect(try touchFailure("\(target)/f") == nil)
        try? FileManager.default.removeItem(atPath: "\(target)/f")

        // 2. Killed after the kernel acted (a retry of the failed row): reconcile finds the guard.
        #expect(try runHookRunner(w, apply, fault: .afterKernel).status == 137)
        #expect(try statusSQL(w) == "pending(applying)")
        #expect(try guardInForce(kind, target))
        changes = try w.engine.reconcile()
        #expect(changes.map { "\($0.from)→\($0.to): \($0.reason)" }
            == ["pending(applying)→applied: interrupted apply settled by probing: guard in force"])
        let row = try #require(try w.row(target))
        #expect(row.status == .applied && row.kind == kind)
        if kind == .bind {
            #expect(row.mountID != nil && row.mountIDIsUnique, "the found mount id is recorded")
            #expect(try topMountID(target) == row.mountID)
            #expect(try touchFailure("\(target)/f")?.contains("Read-only file system") == true)
        } else {
            #expect(try touchFailure("\(target)/f")?.contains("Operation not permitted") == true)
        }
        #expect(try w.engine.reconcile().isEmpty, "settled: nothing more to change")

        // 3. A clear killed after its intent: the guard is still in force, the row says so again.
        #expect(try runHookRunner(w, ["clear", target], fault: .afterIntent).status == 137)
        #expect(try statusSQL(w) == "pending(clearing)")
        #expect(try guardInForce(kind, target))
        changes = try w.engine.reconcile()
        #expect(changes.map { "\($0.from)→\($0.to): \($0.reason)" }
            == ["pending(clearing)→applied: interrupted clear: guard still in force"])
        #expect(try w.row(target)?.status == .applied)

        // 4. A clear killed after the kernel removed the guard: reconcile completes it.
        #expect(try runHookRunner(w, ["clear", target], fault: .afterKernel).status == 137)
        #expect(try statusSQL(w) == "pending(clearing)")
        #expect(try !guardInForce(kind, target))
        changes = try w.engine.reconcile()
        #expect(changes.map { "\($0.from)→\($0.to): \($0.reason)" }
            == ["pending(clearing)→cleared: interrupted clear completed"])
        #expect(try w.row(target) == nil)
        #expect(try touchFailure("\(target)/f") == nil)

        #expect(try w.legalHistory(target) == [
            "∅→pending(applying)", "pending(applying)→failed",
            "failed→pending(applying)", "pending(applying)→applied",
            "applied→pending(clearing)", "pending(clearing)→applied",
            "applied→pending(clearing)", "pending(clearing)→cleared",
        ])
        #expect(try w.sql("SELECT count(*) FROM guards") == "1", "one row all along")
    }

    /// A bind guard made in a mount namespace that has exited died with it: reconcile
    /// marks its row cleared (the guard never existed in this namespace).
    @Test(sandboxed) func bindGuardOfAnExitedNamespaceIsCleared() throws {
        let dir = try Sandbox.make("ek-netns")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let target = try dir.mkdir("nfs1")

        let r = try runHookRunner(w, ["apply", "--kind", "bind", target],
                                  prefix: ["/usr/bin/unshare", "-m", "--propagation", "private"])
        try #require(r.status == 0, "apply in a child namespace: \(r.status) \(r.stdout) \(r.stderr)")
        #expect(try findmnt(target).isEmpty, "the guard lived only in the child's namespace")
        #expect(try touchFailure("\(target)/f") == nil)
        let row = try #require(try w.row(target))
        #expect(row.status == .applied && row.kind == .bind)
        let ownNamespace = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/mnt")
        #expect(row.mountNamespace.map { "mnt:[\($0)]" } != ownNamespace, "recorded the child's namespace")

        let changes = try w.engine.reconcile()
        #expect(changes.map { "\($0.from)→\($0.to): \($0.reason)" } == ["applied→cleared: mount namespace exited"])
        #expect(try w.row(target) == nil)
        #expect(try w.sql("SELECT state, reason FROM guards") == "cleared|mount namespace exited")
        #expect(try w.legalHistory(target).last == "applied→cleared")
        #expect(try w.engine.reconcile().isEmpty)
    }
}
