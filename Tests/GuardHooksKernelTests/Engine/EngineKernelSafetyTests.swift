import Foundation
import GuardHooks
import GuardRender
import GuardStore
import GuardTestSupport
import Testing

/// Dry runs, a full disk under the store, and a held lock: the kernel is never touched
/// when the store cannot record first.
extension EngineKernelTests {
    /// What an operator would look at: the mounts and flags of `paths`.
    private func kernelView(_ paths: [String]) throws -> [String] {
        try paths.map { p in "\(p): \(try findmnt(p).joined(separator: " | ")) [\(try lsattrFlags(p))]" }
    }

    /// The store's bytes. The -shm file is SQLite's shared-memory index, which even a
    /// read-only connection updates (read marks): it holds no data and is left out.
    private func storeBytes(_ w: EngineKernelWorld) throws -> [Data] {
        try [w.storePath, w.storePath + "-wal"].map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
    }

    @Test(sandboxed) func dryRunWithoutAStoreCreatesNothing() throws {
        let dir = try Sandbox.make("ek-dry-empty")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let a = try dir.mkdir("a")
        let flagged = try dir.mkdir("flagged")
        try output(["chattr", "+i", flagged])
        let before = try kernelView([a, flagged])

        #expect(try w.engine.apply([a], dryRun: true).map(\.word) == ["would-apply"])
        #expect(try w.engine.apply([a], kind: .immutable, dryRun: true).map(\.word) == ["would-apply"])
        #expect(try w.engine.apply([dir.sub("new")], createMissing: true, dryRun: true).map(\.word) == ["would-apply"])
        #expect(try w.engine.seal([a], dryRun: true).map(\.word) == ["would-apply"])
        #expect(try w.engine.clear([a], dryRun: true).map(\.word) == ["already-clear"])
        #expect(try w.engine.clearAll(dryRun: true).isEmpty)
        #expect(try w.engine.unseal([flagged], dryRun: true).map(\.word) == ["would-clear"])
        #expect(try w.engine.reconcile(dryRun: true).isEmpty)

        #expect(try kernelView([a, flagged]) == before)
        #expect(try lsattrImmutable(flagged), "the flag a dry unseal would clear is still set")
        #expect(!FileManager.default.fileExists(atPath: dir.sub("new")))
        #expect(!FileManager.default.fileExists(atPath: dir.sub("state")), "no store directory, store or lock file")
    }

    @Test(sandboxed) func dryRunLeavesStoreAndKernelAsTheyWere() throws {
        let dir = try Sandbox.make("ek-dry")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let bind = try dir.mkdir("bind"), imm = try dir.mkdir("imm"), sealed = try dir.mkdir("sealed")
        let fresh = try dir.mkdir("fresh"), toSeal = try dir.mkdir("to-seal"), shadowed = try dir.mkdir("shadowed")
        let all = [bind, imm, sealed, fresh, toSeal, shadowed]
        #expect(try w.engine.apply([bind, shadowed], kind: .bind).map(\.outcome) == [.applied, .applied])
        #expect(try w.engine.apply([imm], kind: .immutable).map(\.outcome) == [.applied])
        #expect(try w.engine.seal([sealed]).map(\.outcome) == [.applied])
        try mountFS("tmpfs", source: "storage", at: shadowed)
        try output(["chattr", "-i", imm])   // drift, for reconcile to find

        let bytes = try storeBytes(w)
        let view = try kernelView(all)
        let lockExists = FileManager.default.fileExists(atPath: w.storePath + ".lock")

        let apply = try w.engine.apply([fresh, bind], dryRun: true)
        #expect(apply.map(\.word) == ["would-apply", "already-applied"])
        #expect(try w.engine.seal([toSeal], dryRun: true).map(\.word) == ["would-apply"])
        #expect(try w.engine.clear([bind, shadowed, imm], dryRun: true).map(\.word)
            == ["would-clear", "would-defer", "would-clear"])
        #expect(try w.engine.clearAll(dryRun: true).map(\.word).sorted()
            == ["would-clear", "would-clear", "would-defer"])
        #expect(try w.engine.unseal([sealed], dryRun: true).map(\.word) == ["would-clear"])
        let plan = try w.engine.reconcile(dryRun: true)
        #expect(plan.map { "\($0.path) \($0.from)→\($0.to)" } == ["\(imm) applied→failed"])

        #expect(try storeBytes(w) == bytes, "the store's bytes are unchanged")
        #expect(try kernelView(all) == view, "mounts and flags are unchanged")
        #expect(FileManager.default.fileExists(atPath: w.storePath + ".lock") == lockExists)
        #expect(try w.row(bind)?.status == .applied && w.row(shadowed)?.status == .applied)
        // The plan was honest: the real reconcile makes exactly that change.
        #expect(try w.engine.reconcile() == plan)
    }

    /// The store's filesystem is full: the intent cannot be recorded, so the kernel is
    /// not touched (write-ahead), and the command fails with the store's error.
    @Test(sandboxed) func fullStoreFilesystemLeavesTheKernelUntouched() throws {
        let dir = try Sandbox.make("ek-enospc")
        defer { dir.cleanUp() }
        // 64 KiB cannot even hold a new store (schema + WAL); 512 KiB can, with room to fill.
        let state = try dir.mkdir("state")
        // mode=0700: a store directory others may write is refused (the trust boundary).
        try output(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tiny-store", state])
        let w = EngineKernelWorld(dir, storePath: "\(state)/guards.db")
        let bind = try dir.mkdir("data/bind"), imm = try dir.mkdir("data/imm")
        #expect(try w.engine.reconcile().isEmpty)   // creates the store
        try #require(FileManager.default.fileExists(atPath: w.storePath))

        let dd = try runCommand(["dd", "if=/dev/zero", "of=\(state)/fill", "bs=4k"])
        #expect(dd.status != 0 && dd.stderr.contains("No space left on device"), "\(dd.stderr)")

        for (target, kind) in [(bind, RequestedKind.bind), (imm, .immutable), (bind, .auto)] {
            let error = #expect(throws: GuardEngineError.self, "\(kind)") {
                try w.engine.apply([target], kind: kind)
            }
            #expect("\(error.map { "\($0)" } ?? "")".contains("full"), "\(String(describing: error))")
            #expect(try findmnt(target).isEmpty, "no guard mount without a record")
            #expect(try !lsattrImmutable(target), "no flag without a record")
            #expect(try touchFailure("\(target)/f") == nil)
        }
        #expect(try w.allRows().isEmpty)

        // Space again: the same apply works.
        try FileManager.default.removeItem(atPath: "\(state)/fill")
        #expect(try w.engine.apply([bind], kind: .bind).map(\.outcome) == [.applied])
        #expect(try findmnt(bind).count == 1)
    }

    @Test(sandboxed) func heldLockReportsBusyAndTouchesNothing() throws {
        let dir = try Sandbox.make("ek-busy")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir, lockTimeout: 0.2)
        let target = try dir.mkdir("nfs1")
        try FileManager.default.createDirectory(atPath: dir.sub("state"), withIntermediateDirectories: true)
        let lock = try StoreLock.acquire(path: w.storePath + ".lock", timeout: 0)
        defer { lock.release() }

        for kind in RequestedKind.allCases {
            let error = #expect(throws: GuardEngineError.self) { try w.engine.apply([target], kind: kind) }
            guard case .busy(let message)? = error else { Issue.record("not busy: \(String(describing: error))"); continue }
            #expect(message.contains("another hook-runner holds the lock"))
        }
        #expect(throws: GuardEngineError.self) { try w.engine.clearAll() }
        #expect(throws: GuardEngineError.self) { try w.engine.reconcile() }
        #expect(try findmnt(target).isEmpty && !lsattrImmutable(target))
        #expect(!FileManager.default.fileExists(atPath: w.storePath), "no store was created behind the lock")

        // A dry run takes no lock and still answers.
        #expect(try w.engine.apply([target], dryRun: true).map(\.word) == ["would-apply"])
        lock.release()
        #expect(try w.engine.apply([target]).map(\.outcome) == [.applied])
    }
}
