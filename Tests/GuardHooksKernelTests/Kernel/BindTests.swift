import CGuardSys
import Foundation
@testable import GuardHooks
import GuardTestSupport
import SystemPackage
import Testing

/// Serialized: the mount-id trap depends on which reusable ids are free.
@Suite(sandboxed, .serialized) struct BindTests {
    @Test(arguments: [false, true])
    func readOnlyBindGuard(legacy: Bool) throws {
        let kernel = LinuxKernel(forceLegacyBind: legacy)
        let dir = try Sandbox.make("bind")
        defer { dir.cleanUp() }
        let path = try dir.mkdir("target")
        let h = try kernel.openDirectory(path)
        defer { kernel.close(h) }

        let guardMount = try kernel.makeReadOnlyBind(h)
        #expect(guardMount.usedFallback == legacy)
        #expect(guardMount.mountIDIsUnique)
        let mounts = try findmnt(path)
        try #require(mounts.count == 1, "exactly one mount at the path: \(mounts)")
        let options = Set(mounts[0].split(separator: " ").last?.split(separator: ",").map(String.init) ?? [])
        #expect(options.isSuperset(of: ["ro", "nosuid", "nodev", "noexec"]), "\(options)")
        #expect(try touchFailure("\(path)/f")?.contains("Read-only file system") == true)

        let fresh = try kernel.openDirectory(path)
        defer { kernel.close(fresh) }
        let p = try kernel.probe(fresh)
        #expect(p.mountState == .mounted)
        #expect(p.mountID == guardMount.mountID)
        #expect(p.inode == (try kernel.probe(h)).inode, "a self-bind of the same directory")
        #expect(try kernel.probe(h).mountState == .notMounted, "the handle still sees the bare directory")
        #expect(kernel.mountExists(uniqueID: guardMount.mountID) == true)
    }

    @Test func removeBindRemovesOnlyOurGuard() throws {
        let kernel = LinuxKernel()
        let dir = try Sandbox.make("remove")
        defer { dir.cleanUp() }
        let path = try dir.mkdir("target")
        let h = try kernel.openDirectory(path)
        defer { kernel.close(h) }
        let g = try kernel.makeReadOnlyBind(h)

        #expect(try kernel.removeBind(at: path, mountID: g.mountID &+ 1, mountIDIsUnique: true)
            == .notTopmost(topmostMountID: g.mountID))
        #expect(try findmnt(path).count == 1)

        #expect(try kernel.removeBind(at: path, mountID: g.mountID, mountIDIsUnique: true) == .removed)
        #expect(try findmnt(path).isEmpty)
        #expect(try touchFailure("\(path)/f") == nil)
        #expect(kernel.mountExists(uniqueID: g.mountID) == false)
        #expect(try kernel.removeBind(at: path, mountID: g.mountID, mountIDIsUnique: true) == .notMounted)
    }

    @Test func storageOnTopOfTheGuardIsLeftAlone() throws {
        let kernel = LinuxKernel()
        let dir = try Sandbox.make("ontop")
        defer { dir.cleanUp() }
        let path = try dir.mkdir("target")
        let h = try kernel.openDirectory(path)
        defer { kernel.close(h) }
        let g = try kernel.makeReadOnlyBind(h)
        try mountFS("tmpfs", source: "storage", at: path)

        let result = try kernel.removeBind(at: path, mountID: g.mountID, mountIDIsUnique: true)
        guard case .notTopmost(let top) = result else { Issue.record("got \(result)"); return }
        #expect(top != nil && top != g.mountID)
        let mounts = try findmnt(path)
        #expect(mounts.count == 2, "guard and storage both stay: \(mounts)")
        #expect(mounts.contains { $0.hasPrefix("storage ") })
        #expect(kernel.mountExists(uniqueID: g.mountID) == true)

        // Storage goes away: the guard is topmost again and can be removed.
        try unmount(path)
        #expect(try kernel.removeBind(at: path, mountID: g.mountID, mountIDIsUnique: true) == .removed)
        #expect(try findmnt(path).isEmpty)
    }

    /// Storage mounted over the guard gets a *lower* (reused) mountinfo id than the guard:
    /// "unmount the highest id" would hit the storage. Ours must not, with either id kind.
    @Test func storageMountedOverTheGuardWithALowerIDIsNeverUnmounted() throws {
        let kernel = LinuxKernel()
        let dir = try Sandbox.make("trap")
        defer { dir.cleanUp() }
        var handles: [DirectoryHandle] = []
        defer { handles.forEach(kernel.close) }
        var g: BindGuardMount?
        let trap = try setMountIDTrap(in: dir, makeGuard: { (target: String) throws in
            let h = try kernel.openDirectory(target)
            handles.append(h)
            g = try kernel.makeReadOnlyBind(h)
        }, undo: { (target: String) throws in
            let mountID = try #require(g).mountID
            #expect(try kernel.removeBind(at: target, mountID: mountID, mountIDIsUnique: true) == .removed)
        })
        let path = trap.target, guardOldID = trap.guardOldID, storageOldID = trap.storageOldID
        let guardMount = try #require(g)

        let top = try kernel.openDirectory(path)
        let storageID = try kernel.probe(top).mountID
        kernel.close(top)
        #expect(try kernel.removeBind(at: path, mountID: guardMount.mountID, mountIDIsUnique: true)
            == .notTopmost(topmostMountID: storageID))
        #expect(try kernel.removeBind(at: path, mountID: guardOldID, mountIDIsUnique: false)
            == .notTopmost(topmostMountID: storageOldID))
        let mounts = try findmnt(path)
        #expect(mounts.count == 2, "\(mounts)")
        #expect(mounts.last?.hasPrefix("storage ") == true)
    }

    /// Storage mounted on top between the first check and umount2: the last re-check sees
    /// it and nothing is unmounted (umount2 itself would have taken the storage).
    @Test func mountRacingInOnTopIsLeftAlone() throws {
        var kernel = LinuxKernel()
        let dir = try Sandbox.make("race")
        defer { dir.cleanUp() }
        let path = try dir.mkdir("target")
        let h = try kernel.openDirectory(path)
        defer { kernel.close(h) }
        let g = try kernel.makeReadOnlyBind(h)
        kernel.beforeUnmount = { _ = gs_mount("racer", path, "tmpfs", 0, nil) }

        let result = try kernel.removeBind(at: path, mountID: g.mountID, mountIDIsUnique: true)
        guard case .notTopmost(let top) = result else { Issue.record("got \(result)"); return }
        #expect(top != g.mountID)
        let mounts = try findmnt(path)
        #expect(mounts.count == 2, "guard and racer both stay: \(mounts)")
        #expect(mounts.last?.hasPrefix("racer ") == true)
    }

    /// A mount made inside the guard meanwhile: EBUSY, nothing unmounted.
    @Test func mountRacingInInsideTheGuardIsRefused() throws {
        var kernel = LinuxKernel()
        let dir = try Sandbox.make("race-inside")
        defer { dir.cleanUp() }
        let path = try dir.mkdir("target")
        let inner = try dir.mkdir("target/inner")
        let h = try kernel.openDirectory(path)
        defer { kernel.close(h) }
        let g = try kernel.makeReadOnlyBind(h)
        kernel.beforeUnmount = { _ = gs_mount("racer", inner, "tmpfs", 0, nil) }

        let e = #expect(throws: KernelError.self) {
            _ = try kernel.removeBind(at: path, mountID: g.mountID, mountIDIsUnique: true)
        }
        #expect(e?.errno == .resourceBusy)
        #expect(try findmnt(path).count == 1, "the guard stays")
        #expect(try findmnt(inner).first?.hasPrefix("racer ") == true, "the inner mount stays")
        #expect(kernel.mountExists(uniqueID: g.mountID) == true)
    }

    @Test func removeByReusableIDAndRefuseWhileInUse() throws {
        let kernel = LinuxKernel()
        let dir = try Sandbox.make("old-id")
        defer { dir.cleanUp() }
        let path = try dir.mkdir("target")
        let h = try kernel.openDirectory(path)
        defer { kernel.close(h) }
        _ = try kernel.makeReadOnlyBind(h)
        let oldID = try #require(try mountinfoIDs(at: path).first?.id)

        // An fd open on the guard (as an engine that forgot to close one): EBUSY, kept.
        let inUse = try kernel.openDirectory(path)
        let e = #expect(throws: KernelError.self) {
            _ = try kernel.removeBind(at: path, mountID: oldID, mountIDIsUnique: false)
        }
        #expect(e?.errno == .resourceBusy)
        #expect(try findmnt(path).count == 1)
        kernel.close(inUse)

        #expect(try kernel.removeBind(at: path, mountID: oldID, mountIDIsUnique: false) == .removed)
        #expect(try findmnt(path).isEmpty)
    }

    @Test func mountExistsFollowsTheMount() throws {
        let kernel = LinuxKernel()
        let dir = try Sandbox.make("exists")
        defer { dir.cleanUp() }
        let path = try dir.mkdir("m")
        try mountFS("tmpfs", source: "live", at: path)
        let h = try kernel.openDirectory(path)
        let id = try #require(try kernel.probe(h).mountID)
        kernel.close(h)
        #expect(kernel.mountExists(uniqueID: id) == true)
        try unmount(path)
        #expect(kernel.mountExists(uniqueID: id) == false)
    }
}
