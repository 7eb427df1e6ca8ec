import Foundation
import GuardHooks
import GuardStore
import GuardTestSupport
import Testing

/// Immutable guards and seals through the engine, and a filesystem without the flag.
extension EngineKernelTests {
    @Test(sandboxed) func immutableGuardRefusesWritesAndRmdir() throws {
        let dir = try Sandbox.make("ek-immutable")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let target = try dir.mkdir("usb")

        let out = try w.engine.apply([target], kind: .immutable)
        #expect(out.map(\.outcome) == [.applied] && out[0].kind == .immutable)
        #expect(try lsattrImmutable(target))
        #expect(try touchFailure("\(target)/f")?.contains("Operation not permitted") == true)
        #expect(try rmdirFailure(target)?.contains("Operation not permitted") == true)
        #expect(try findmnt(target).isEmpty, "an immutable guard mounts nothing")
        #expect(try w.sql("SELECT state, kind, mount_id IS NULL FROM guards") == "applied|immutable|1")

        // A filesystem still mounts over it, and is writable.
        try mountFS("tmpfs", source: "storage", at: target)
        #expect(try touchFailure("\(target)/on-storage") == nil)
        #expect(try !lsattrImmutable(target), "lsattr sees the storage's root")

        let deferred = try w.engine.clear([target])
        #expect(deferred.map(\.outcome) == [.deferred], "\(deferred)")
        #expect(try w.row(target)?.status == .clearDeferred)
        #expect(try findmnt(target).last?.hasPrefix("storage ") == true)

        try unmount(target)
        #expect(try lsattrImmutable(target), "the bare directory kept its flag")
        #expect(!FileManager.default.fileExists(atPath: "\(target)/on-storage"))
        #expect(try w.engine.clear([target]).map(\.outcome) == [.cleared])
        #expect(try !lsattrImmutable(target))
        #expect(try touchFailure("\(target)/f") == nil)
        #expect(try w.row(target) == nil)
        #expect(try w.legalHistory(target) == ["∅→pending(applying)", "pending(applying)→applied",
                                                "applied→pending(clear-deferred)",
                                                "pending(clear-deferred)→pending(clearing)", "pending(clearing)→cleared"])
    }

    @Test(sandboxed) func sealSurvivesMountCyclesAndOnlyUnsealRemovesIt() throws {
        let dir = try Sandbox.make("ek-seal")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let pool = try dir.mkdir("pool")

        let out = try w.engine.seal([pool])
        #expect(out.map(\.outcome) == [.applied])
        #expect(out[0].kind == .immutable && out[0].lifetime == .persistent)
        #expect(try w.sql("SELECT kind, lifetime, state FROM guards") == "immutable|persistent|applied")

        for cycle in 1...3 {
            try mountFS("tmpfs", source: "pool\(cycle)", at: pool)
            #expect(try touchFailure("\(pool)/data\(cycle)") == nil, "cycle \(cycle): the pool is writable")
            try unmount(pool)
            #expect(try lsattrImmutable(pool), "cycle \(cycle): still sealed after unmount")
            #expect(try touchFailure("\(pool)/f")?.contains("Operation not permitted") == true)
        }

        let clear = try w.engine.clear([pool])
        #expect(clear.map(\.outcome) == [.refused])
        #expect(clear[0].reason?.contains("persistent seal") == true, "\(clear[0].reason ?? "")")
        #expect(try w.engine.clearAll().isEmpty, "clear --all leaves seals alone")
        #expect(try lsattrImmutable(pool))
        #expect(try w.row(pool)?.status == .applied)

        try mountFS("tmpfs", source: "pool", at: pool)
        let mounted = try w.engine.unseal([pool])
        #expect(mounted.map(\.outcome) == [.refused])
        #expect(mounted[0].reason?.contains("mounted") == true)
        #expect(try findmnt(pool).last?.hasPrefix("pool ") == true, "the storage stays mounted")
        try unmount(pool)
        #expect(try lsattrImmutable(pool))
        #expect(try w.row(pool)?.status == .applied)

        #expect(try w.engine.unseal([pool]).map(\.outcome) == [.cleared])
        #expect(try !lsattrImmutable(pool))
        #expect(try touchFailure("\(pool)/f") == nil)
        #expect(try w.row(pool) == nil)
        #expect(try w.legalHistory(pool).suffix(2) == ["applied→pending(clearing)", "pending(clearing)→cleared"])
    }

    /// ramfs has no inode flags (ENOTTY): immutable is `unsupported` and never pretended;
    /// `auto` there makes the bind guard.
    @Test(sandboxed) func immutableUnsupportedOnRamfsAutoUsesBind() throws {
        let dir = try Sandbox.make("ek-ramfs")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let ram = try dir.mkdir("ram")
        try mountFS("ramfs", source: "ram", at: ram)
        let target = try dir.mkdir("ram/target")
        #expect(try runCommand(["lsattr", "-d", target]).status != 0, "lsattr cannot read flags on ramfs")

        let imm = try w.engine.apply([target], kind: .immutable)
        #expect(imm.map(\.outcome) == [.unsupported])
        #expect(imm[0].reason?.contains("does not support the immutable flag") == true, "\(imm[0].reason ?? "")")
        #expect(try touchFailure("\(target)/f") == nil, "nothing was guarded")
        #expect(try findmnt(target).isEmpty)
        #expect(try w.row(target) == nil)
        #expect(try w.engine.seal([target]).map(\.outcome) == [.unsupported])

        let auto = try w.engine.apply([target])
        #expect(auto.map(\.outcome) == [.applied] && auto[0].kind == .bind)
        #expect(try mountOptions(target).contains("ro"))
        #expect(try touchFailure("\(target)/g")?.contains("Read-only file system") == true)
        #expect(try w.row(target)?.kind == .bind)
        #expect(try w.engine.clear([target]).map(\.outcome) == [.cleared])
        #expect(try findmnt(target).isEmpty)
        try w.legalHistory(target)
    }
}
