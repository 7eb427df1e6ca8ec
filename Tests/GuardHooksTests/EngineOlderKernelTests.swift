import Foundation
import GuardHooks
import GuardHooksTesting
import GuardStore
import Testing

/// Issue 13 item 9: the rules of items 3, 7 and 8 on kernels the test machine cannot be
/// made into: without statmount/listmount and unique mount ids (mountinfo only, before
/// 6.8), and without open_tree/mount_setattr (bind + remount, before 5.12), over the fake
/// kernel. Each rule runs on every combination, the current kernel included.
@Suite struct EngineOlderKernelTests {
    enum Kernel: String, CaseIterable, CustomTestStringConvertible {
        case current, mountInfoOnly, legacyBind, mountInfoAndLegacyBind
        var testDescription: String { rawValue }
    }

    static let kernels = Kernel.allCases

    func world(_ k: Kernel) throws -> EngineWorld {
        let w = try EngineWorld()
        if k == .mountInfoOnly || k == .mountInfoAndLegacyBind { w.kernel.useMountInfoOnly() }
        if k == .legacyBind || k == .mountInfoAndLegacyBind { w.kernel.useLegacyBind() }
        return w
    }

    @Test(arguments: kernels) func aGuardIsMadeAndRecordedWithTheWayItWasMade(_ k: Kernel) throws {
        let w = try world(k)
        w.kernel.addDirectory("/mnt/nfs1")
        #expect(try w.engine.apply(["/mnt/nfs1"], kind: .bind).map(\.outcome) == [.applied])
        let row = try #require(try w.row("/mnt/nfs1"))
        #expect(row.mountIDIsUnique == (k == .current || k == .legacyBind))
        let legacy = k == .legacyBind || k == .mountInfoAndLegacyBind
        #expect(row.reason?.contains("legacy bind+remount") == legacy, "\(row.reason ?? "")")
        #expect(try w.engine.reconcile().isEmpty, "the guard is found by its id")
        #expect(try w.engine.clear(["/mnt/nfs1"]).map(\.outcome) == [.cleared])
        #expect(w.kernel.mountStack("/mnt/nfs1").isEmpty)
    }

    /// Item 3: mounts below a target, from the mount table.
    @Test(arguments: kernels) func aTargetWithMountsBelowIsRefused(_ k: Kernel) throws {
        let w = try world(k)
        w.kernel.addDirectory("/mnt/pve")
        w.kernel.addDirectory("/mnt/pve/nfs1")
        w.kernel.mountStorage("/mnt/pve/nfs1")
        let out = try w.engine.apply(["/mnt/pve"])
        #expect(out.map(\.outcome) == [.refused] && out[0].reason?.contains("/mnt/pve/nfs1") == true, "\(out)")
        #expect(w.kernel.mountStack("/mnt/pve").isEmpty)
    }

    /// Item 7: `mv /mnt/pve /mnt/pve.old` takes the guard along; it is found by its id
    /// (statmount's mount point, or mountinfo's) and removed where it is.
    @Test(arguments: kernels) func aMovedGuardIsFoundAndRemovedWhereItIs(_ k: Kernel) throws {
        let w = try world(k)
        w.kernel.addDirectory("/mnt/pve/nfs1")
        #expect(try w.engine.apply(["/mnt/pve/nfs1"], kind: .bind).map(\.outcome) == [.applied])
        w.kernel.rename("/mnt/pve", to: "/mnt/pve.old")
        w.kernel.addDirectory("/mnt/pve/nfs1")

        #expect(try w.engine.reconcile(dryRun: true).map(\.reason).first?.contains("/mnt/pve.old/nfs1") == true)
        let findings = try w.engine.doctor().findings.filter { $0.path == "/mnt/pve/nfs1" }
        #expect(findings.map(\.code).contains("guard-moved"), "\(findings)")
        let out = try w.engine.clear(["/mnt/pve/nfs1"])
        #expect(out.map(\.outcome) == [.cleared] && out[0].reason?.contains("/mnt/pve.old/nfs1") == true, "\(out)")
        #expect(w.kernel.mountStack("/mnt/pve.old/nfs1").isEmpty)
        #expect(try w.history("/mnt/pve/nfs1") == ["∅→pending(applying)", "pending(applying)→applied", "applied→failed",
                                                   "failed→pending(clearing)", "pending(clearing)→cleared"])
    }

    /// Item 7: a guard of a shared peer namespace that exited is still in force here as a
    /// propagated copy: not "namespace exited"; clear adopts and removes it.
    @Test(arguments: kernels) func aPeerNamespacesGuardIsAdoptedAndRemovedHere(_ k: Kernel) throws {
        let w = try world(k)
        w.kernel.addDirectory("/mnt/nfs1")
        #expect(try w.engine.apply(["/mnt/nfs1"], kind: .bind).map(\.outcome) == [.applied])
        w.kernel.leaveExitedPeerNamespace(for: 77)
        #expect(try w.engine.reconcile().isEmpty)
        #expect(try !w.engine.doctor().findings.contains { $0.path == "/mnt/nfs1" && $0.severity >= .warn })
        let out = try w.engine.clear(["/mnt/nfs1"])
        #expect(out.map(\.outcome) == [.cleared] && out[0].reason?.contains("adopted") == true, "\(out)")
        #expect(w.kernel.mountStack("/mnt/nfs1").isEmpty)
    }

    /// Item 7: a guard that lived only in a namespace that exited is gone with it.
    @Test(arguments: kernels) func aGuardOfAnExitedNamespaceIsCleared(_ k: Kernel) throws {
        let w = try world(k)
        w.kernel.addDirectory("/mnt/nfs1")
        #expect(try w.engine.apply(["/mnt/nfs1"], kind: .bind).map(\.outcome) == [.applied])
        w.kernel.enterNewNamespace(99, oldAlive: false)
        #expect(try w.engine.reconcile().map { "\($0.to) \($0.reason)" } == ["cleared mount namespace exited"])
    }

    /// Item 7: after an interrupted apply, only a read-only self-bind of the very directory
    /// is taken for the guard; a writable bind is not.
    @Test(arguments: kernels, [false, true]) func anInterruptedApplyAcceptsOnlyAReadOnlyBind(_ k: Kernel, readOnly: Bool) throws {
        let w = try world(k)
        w.kernel.addDirectory("/mnt/nfs1")
        let h = try w.kernel.openDirectory("/mnt/nfs1")
        let probe = try w.kernel.probe(h)
        w.kernel.close(h)
        let store = try GuardStore.open(path: w.storePath, mode: .readWrite, create: true)
        _ = try store.recordIntents([GuardIntent(path: "/mnt/nfs1", kind: .bind, lifetime: .transient, device: probe.device,
                                                 inode: probe.inode, mountNamespace: w.kernel.mountNamespace(),
                                                 bootID: try w.kernel.bootID())], runID: nil, actor: Actor("killed"))
        store.close()
        let id = w.kernel.bindByHand("/mnt/nfs1", readOnly: readOnly)
        let changes = try w.engine.reconcile()
        #expect(changes.map(\.to) == [readOnly ? .applied : .failed], "\(changes)")
        #expect(try w.row("/mnt/nfs1")?.mountID == (readOnly ? id : nil))
    }

    /// Item 8: a bare doctor lists an unconfigured storage mountpoint whose bare directory
    /// holds files, as info, from the mount table and the directory under it.
    @Test(arguments: kernels) func bareDoctorListsUnconfiguredMountpointsHidingData(_ k: Kernel) throws {
        let w = try world(k)
        w.kernel.addDirectory("/mnt/nfs9", hasEntries: true)
        w.kernel.addDirectory("/mnt/nfs8")
        w.kernel.mountStorage("/mnt/nfs9")
        w.kernel.mountStorage("/mnt/nfs8")
        let hidden = try w.engine.doctor().findings.filter { $0.code == "hidden-data" }
        #expect(hidden.map(\.path) == ["/mnt/nfs9"] && hidden.allSatisfy { $0.severity == .info }, "\(hidden)")
        #expect(!w.kernel.calls.contains { $0.hasPrefix("openDirectory /mnt/nfs9") }, "the storage is never entered")
    }
}
