import CGuardSys
import Foundation
import GuardHooks
import GuardStore
import GuardTestSupport
import Testing
import Glibc

/// Issue 13 item 7: a bind guard made in a mount namespace that is a shared peer of this one
/// propagates here as a mount of its own. When that namespace exits, the guard is still in
/// force here: it must not be recorded `cleared: mount namespace exited`, and clear adopts
/// and removes it, saying so in the history.
extension EngineKernelTests {
    @Test(sandboxed) func aGuardMadeInASharedPeerNamespaceIsSeenHereAndClearedHere() throws {
        let dir = try Sandbox.make("ek-peer")
        defer { dir.cleanUp() }
        // The sandbox becomes a shared mount of its own: a namespace copied from this one
        // holds a peer of it, and mounts made under it there propagate here.
        try #require(gs_mount(dir.path, dir.path, nil, GS_MS_BIND, nil) == 0)
        defer { _ = gs_umount2(dir.path, Int32(GS_MNT_DETACH)) }
        try #require(try runCommand(["mount", "--make-shared", dir.path]).status == 0)
        let w = EngineKernelWorld(dir)
        let target = try dir.mkdir("nfs1")

        let r = try runHookRunner(w, ["apply", "--kind", "bind", target],
                                  prefix: ["/usr/bin/unshare", "-m", "--propagation", "unchanged"])
        try #require(r.status == 0, "apply in a peer namespace: \(r.status) \(r.stdout) \(r.stderr)")
        #expect(try touchFailure("\(target)/f") != nil, "the guard propagated into this namespace")
        let row = try #require(try w.row(target))
        let ownNamespace = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/mnt")
        #expect(row.mountNamespace.map { "mnt:[\($0)]" } != ownNamespace, "recorded the peer's namespace")

        // The peer has exited (unshare returned): the guard is still in force here.
        #expect(try w.engine.reconcile().isEmpty, "not cleared: the guard is visible here")
        #expect(try w.row(target)?.status == .applied)
        let report = try w.engine.doctor()
        #expect(!report.findings.contains { $0.path == target && $0.severity == .fail }, "\(report.findings)")

        let out = try w.engine.clear([target])
        #expect(out.map(\.outcome) == [.cleared], "\(out)")
        #expect(out.first?.reason?.contains("adopted") == true, "\(out)")
        #expect(try findmnt(target).isEmpty, "the propagated guard is removed here")
        #expect(try touchFailure("\(target)/f") == nil)
        #expect(try w.row(target) == nil)
        #expect(try w.legalHistory(target) == ["∅→pending(applying)", "pending(applying)→applied",
                                               "applied→pending(clearing)", "pending(clearing)→cleared"])
        #expect(try w.sql("SELECT count(*) FROM events WHERE reason LIKE 'clear: guard made in mount namespace%adopted here as mount%'") == "1")
    }
}

extension EngineKernelTests {
    /// The flake of `bindGuardOfAnExitedNamespaceIsCleared`, made certain: the kernel gives a
    /// new namespace the lowest free inode number, so the next `unshare -m` anywhere (parallel
    /// tests do it all the time) takes the exited namespace's number. The row's namespace
    /// must still read as exited: that namespace's root mount is newer than the guard.
    @Test(sandboxed) func anExitedNamespaceWhoseInodeIsTakenAgainIsStillExited() throws {
        let dir = try Sandbox.make("ek-ns-reuse")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let target = try dir.mkdir("nfs1")
        let r = try runHookRunner(w, ["apply", "--kind", "bind", target],
                                  prefix: ["/usr/bin/unshare", "-m", "--propagation", "private"])
        try #require(r.status == 0, "apply in a child namespace: \(r.status) \(r.stderr)")
        let recorded = try #require(try w.row(target)?.mountNamespace)

        // Namespaces are made until one has the exited namespace's inode number (the first
        // one nearly always does), and kept alive while reconcile runs.
        var holders: [Process] = []
        // SIGKILL: the test runner's children may inherit an ignored SIGTERM.
        defer { for p in holders { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        var reused = false
        for _ in 0..<20 where !reused {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
            p.arguments = ["-m", "--propagation", "private", "sleep", "60"]
            try p.run()
            holders.append(p)
            for _ in 0..<200 {
                let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(p.processIdentifier)/ns/mnt")
                if let link, link != (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/mnt")) {
                    reused = link == "mnt:[\(recorded)]"
                    break
                }
                usleep(5_000)
            }
        }
        try #require(reused, "no new namespace took inode \(recorded)")

        let changes = try w.engine.reconcile()
        #expect(changes.map { "\($0.from)→\($0.to): \($0.reason)" } == ["applied→cleared: mount namespace exited"])
        #expect(try w.row(target) == nil)
    }
}
