import Foundation
import GuardHooks
import GuardStore
import GuardTestSupport
import Testing

/// Bind guards through the engine: the guard, storage stacked on it, the mount-id trap.
extension EngineKernelTests {
    @Test(sandboxed) func bindGuardMakesTheOfflineDirectoryReadOnly() throws {
        let dir = try Sandbox.make("ek-bind")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let target = try dir.mkdir("nfs1")

        let out = try w.engine.apply([target], kind: .bind, label: "restore-1")
        #expect(out.map(\.outcome) == [.applied])
        #expect(out[0].kind == .bind && out[0].path == target && out[0].guardID != nil)

        #expect(try touchFailure("\(target)/f")?.contains("Read-only file system") == true)
        let options = try mountOptions(target)
        #expect(options.isSuperset(of: ["ro", "nosuid", "nodev", "noexec"]), "\(options)")
        #expect(try findmnt(target).count == 1, "exactly one mount: the guard")

        let row = try #require(try w.row(target))
        #expect(row.status == .applied && row.kind == .bind && row.lifetime == .transient)
        #expect(row.mountID != nil && row.mountIDIsUnique)
        #expect(try topMountID(target) == row.mountID, "the recorded id is the topmost mount's")
        #expect(try w.sql("SELECT state, kind, lifetime, mount_id IS NOT NULL, mount_id_unique, label FROM guards")
            == "applied|bind|transient|1|1|restore-1")
        // Device and inode recorded are those `stat` shows for the directory.
        #expect(try w.sql("SELECT device || ' ' || inode FROM guards") == (try output(["stat", "-c", "%d %i", target])))
        #expect(try w.legalHistory(target) == ["∅→pending(applying)", "pending(applying)→applied"])

        // Idempotent: no second mount, no new event.
        #expect(try w.engine.apply([target], kind: .bind).map(\.outcome) == [.alreadyApplied])
        #expect(try findmnt(target).count == 1)
        #expect(try w.legalHistory(target).count == 2)
    }

    @Test(sandboxed) func storageOverTheBindGuardDefersTheClear() throws {
        let dir = try Sandbox.make("ek-stacked")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let target = try dir.mkdir("nfs1")
        #expect(try w.engine.apply([target], kind: .bind).map(\.outcome) == [.applied])

        // The storage comes online on top of the guard: writes reach it.
        try mountFS("tmpfs", source: "storage", at: target)
        #expect(try touchFailure("\(target)/written-to-storage") == nil)
        #expect(try mountOptions(target).contains("rw"))

        let deferred = try w.engine.clear([target])
        #expect(deferred.map(\.outcome) == [.deferred])
        #expect(deferred[0].reason?.contains("shadowed") == true, "\(deferred[0].reason ?? "")")
        let stack = try findmnt(target)
        #expect(stack.count == 2 && stack.last?.hasPrefix("storage ") == true, "storage still mounted: \(stack)")
        #expect(FileManager.default.fileExists(atPath: "\(target)/written-to-storage"))
        #expect(try w.row(target)?.status == .clearDeferred)
        #expect(try w.sql("SELECT state || '(' || pending_action || ')' FROM guards") == "pending(clear-deferred)")
        // Deferring again adds no event.
        let events = try w.legalHistory(target).count
        #expect(try w.engine.clear([target]).map(\.outcome) == [.deferred])
        #expect(try w.legalHistory(target).count == events)

        // The storage goes: the guard is revealed again, and now the clear removes it.
        try unmount(target)
        #expect(try touchFailure("\(target)/f")?.contains("Read-only file system") == true)
        #expect(!FileManager.default.fileExists(atPath: "\(target)/written-to-storage"), "it was on the storage")
        // An apply now withdraws the deferred clear (the guard is on top again) ...
        let withdraw = try w.engine.apply([target], kind: .bind)
        #expect(withdraw.map(\.outcome) == [.alreadyApplied] && withdraw[0].reason == "withdrew the deferred clear")
        #expect(try w.row(target)?.status == .applied && findmnt(target).count == 1)
        // ... and the clear, asked for again, removes it.
        #expect(try w.engine.clear([target]).map(\.outcome) == [.cleared])
        #expect(try findmnt(target).isEmpty)
        #expect(try touchFailure("\(target)/f") == nil)
        #expect(try w.row(target) == nil)
        #expect(try w.sql("SELECT state FROM guards") == "cleared")
        #expect(try w.legalHistory(target).suffix(3)
            == ["pending(clear-deferred)→applied", "applied→pending(clearing)", "pending(clearing)→cleared"])
        #expect(try w.engine.clear([target]).map(\.outcome) == [.alreadyClear])
    }

    /// Storage mounted on the guard gets a LOWER reusable mount id than the guard: whoever
    /// unmounts "the highest id" or the bare path would take the storage. The engine must not.
    @Test(sandboxed) func mountIDTrapLeavesTheStorageMounted() throws {
        let dir = try Sandbox.make("ek-trap")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let trap = try setMountIDTrap(in: dir, makeGuard: { (target: String) throws in
            #expect(try w.engine.apply([target], kind: .bind).map(\.outcome) == [.applied])
        }, undo: { (target: String) throws in
            #expect(try w.engine.clear([target]).map(\.outcome) == [.cleared])
        })
        let target = trap.target

        let out = try w.engine.clear([target])
        #expect(out.map(\.outcome) == [.deferred])
        let stack = try findmnt(target)
        #expect(stack.count == 2 && stack.last?.hasPrefix("storage ") == true, "\(stack)")
        #expect(try touchFailure("\(target)/still-writable") == nil, "the storage is still mounted and writable")
        #expect(try w.row(target)?.status == .clearDeferred)
        #expect(try w.engine.clearAll().map(\.outcome) == [.deferred])
        #expect(try findmnt(target).count == 2)

        try unmount(target)
        #expect(try w.engine.clear([target]).map(\.outcome) == [.cleared])
        #expect(try findmnt(target).isEmpty)
        try w.legalHistory(target)
    }
}
