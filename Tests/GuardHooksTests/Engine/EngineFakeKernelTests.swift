import Foundation
import GuardHooks
import GuardHooksTesting
import GuardRender
import GuardStore
import SystemPackage
import Testing

/// The engine over a fake kernel and a real store in a temporary directory: every branch
/// the real kernel cannot easily produce (EPERM, unsupported, unknown mount state, reboot).
final class EngineWorld {
    let dir: String
    let kernel = FakeKernel()
    let engine: GuardEngine
    var storePath: String { dir + "/state/guards.db" }

    init(allowedRoots: [String] = ["/mnt"]) throws {
        dir = NSTemporaryDirectory() + "gh-engine-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        engine = GuardEngine(kernel: kernel, configuration: GuardEngineConfiguration(
            storePath: dir + "/state/guards.db", allowedRoots: allowedRoots, lockTimeout: 1, actor: "test",
            createStoreIfMissing: true))
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    func store() throws -> GuardStore { try GuardStore.open(path: storePath, mode: .readOnly, create: false) }
    func row(_ path: String) throws -> GuardRecord? { try store().currentGuard(path: path) }
    func history(_ path: String) throws -> [String] {
        try store().history(path: path).map { "\($0.from?.description ?? "∅")→\($0.to)" }
    }
}

@Suite struct EngineFakeKernelTests {
    @Test func aBindGuardMakesAnOfflineTargetReadOnlyAndASecondApplyIsAlreadyApplied() throws {
        let w = try EngineWorld()
        w.kernel.addDirectory("/mnt/nfs1")
        let out = try w.engine.apply(["/mnt/nfs1"])
        #expect(out.map(\.outcome) == [.applied])
        #expect(out[0].kind == .bind)
        let stack = w.kernel.mountStack("/mnt/nfs1")
        #expect(stack.count == 1 && stack[0].isBindGuard && stack[0].readOnly)
        let row = try #require(try w.row("/mnt/nfs1"))
        #expect(row.status == .applied && row.mountID == stack[0].id)
        #expect(try w.history("/mnt/nfs1") == ["∅→pending(applying)", "pending(applying)→applied"])
        // Idempotent.
        #expect(try w.engine.apply(["/mnt/nfs1"]).map(\.outcome) == [.alreadyApplied])
        #expect(w.kernel.mountStack("/mnt/nfs1").count == 1)
        #expect(w.kernel.openHandles == 0)
    }

    @Test func mountedTargetIsNeverGuarded() throws {
        let w = try EngineWorld()
        w.kernel.addDirectory("/mnt/ds1")
        w.kernel.mountStorage("/mnt/ds1")
        #expect(try w.engine.apply(["/mnt/ds1"]).map(\.outcome) == [.skippedMounted])
        #expect(w.kernel.mountStack("/mnt/ds1").count == 1)
        #expect(try w.row("/mnt/ds1") == nil)
    }

    @Test func autoFallsBackToImmutableWhenBindFails() throws {
        let w = try EngineWorld()
        w.kernel.addDirectory("/mnt/a")
        w.kernel.fail("makeReadOnlyBind", with: .notPermitted)
        let out = try w.engine.apply(["/mnt/a"])
        #expect(out.map(\.outcome) == [.applied] && out[0].kind == .immutable)
        #expect(w.kernel.isImmutable(path: "/mnt/a"))
        #expect(try w.row("/mnt/a")?.kind == .immutable)
    }

    @Test func bindFailureIsRecordedFailed() throws {
        let w = try EngineWorld()
        w.kernel.addDirectory("/mnt/a")
        w.kernel.fail("makeReadOnlyBind", with: .notPermitted)
        let out = try w.engine.apply(["/mnt/a"], kind: .bind)
        #expect(out.map(\.outcome) == [.failed])
        #expect(out[0].reason?.contains("Operation not permitted") == true || out[0].reason?.contains("EPERM") == true)
        #expect(try w.row("/mnt/a")?.status == .failed)
        // A retry reuses the failed row.
        w.kernel.stopFailing("makeReadOnlyBind")
        let retry = try w.engine.apply(["/mnt/a"], kind: .bind)
        #expect(retry.map(\.outcome) == [.applied] && retry[0].guardID == out[0].guardID)
        #expect(try w.history("/mnt/a").suffix(2) == ["failed→pending(applying)", "pending(applying)→applied"])
    }

    @Test func immutableWithoutTheFlagIsUnsupportedAndAutoUsesBind() throws {
        let w = try EngineWorld()
        w.kernel.addDirectory("/mnt/ram", immutableSupported: false)
        #expect(try w.engine.apply(["/mnt/ram"], kind: .immutable).map(\.outcome) == [.unsupported])
        #expect(try w.row("/mnt/ram") == nil)
        // auto still uses the bind guard there.
        let auto = try w.engine.apply(["/mnt/ram"])
        #expect(auto.map(\.outcome) == [.applied] && auto[0].kind == .bind)
    }

    @Test func setImmutableEPERMIsAFailure() throws {
        let w = try EngineWorld()
        w.kernel.addDirectory("/mnt/a")
        w.kernel.fail("setImmutable", with: .notPermitted)
        #expect(try w.engine.apply(["/mnt/a"], kind: .immutable).map(\.outcome) == [.failed])
        #expect(try w.row("/mnt/a")?.status == .failed)
    }

    @Test func unknownMountStateIsRefused() throws {
        let w = try EngineWorld()
        w.kernel.addDirectory("/mnt/a")
        w.kernel.setMountStateUnknown("/mnt/a")
        let out = try w.engine.apply(["/mnt/a"])
        #expect(out.map(\.outcome) == [.refused])
        #expect(w.kernel.mountStack("/mnt/a").isEmpty)
    }

    @Test func targetsThePolicyRefusesAreNeverRecorded() throws {
        let w = try EngineWorld()
        w.kernel.addDirectory("/etc")
        w.kernel.addDirectory("/mnt/x")
        w.kernel.addSymlink("/mnt/esc", to: "/etc")
        w.kernel.addFile("/mnt/file")
        let out = try w.engine.apply(["relative", "/", "/etc", "/mnt/esc", "/mnt/file", "/mnt/missing", "/mnt/a\nb"])
        #expect(out.allSatisfy { $0.outcome == .refused })
        #expect(out[3].reason?.contains("not below an allowed root") == true)
        #expect(out[4].reason == "not a directory")
        #expect(out[5].reason?.hasPrefix("does not exist") == true)
        #expect(try !FileManager.default.fileExists(atPath: w.storePath) || w.store().allGuards().isEmpty)
    }

    @Test func createMissingMakesTheDirectoryOnlyOutsideADryRun() throws {
        let w = try EngineWorld()
        w.kernel.addDirectory("/mnt")
        let dry = try w.engine.apply(["/mnt/new"], createMissing: true, dryRun: true)
        #expect(dry.map(\.word) == ["would-apply"])
        #expect(!FileManager.default.fileExists(atPath: w.storePath))
        let out = try w.engine.apply(["/mnt/new"], createMissing: true)
        #expect(out.map(\.outcome) == [.applied])
    }

    @Test func clearDefersWhileStorageShadowsTheGuard() throws {
        let w = try EngineWorld()
        w.kernel.addDirectory("/mnt/nfs1")
        _ = try w.engine.apply(["/mnt/nfs1"])
        let storage = w.kernel.mountStorage("/mnt/nfs1")
        let first = try w.engine.clear(["/mnt/nfs1"])
        #expect(first.map(\.outcome) == [.deferred])
        #expect(w.kernel.mountStack("/mnt/nfs1").last?.id == storage)
        #expect(try w.row("/mnt/nfs1")?.status == .clearDeferred)
        // Deferring again adds no event.
        let before = try w.history("/mnt/nfs1").count
        _ = try w.engine.clear(["/mnt/nfs1"])
        #expect(try w.history("/mnt/nfs1").count == before)
        w.kernel.unmountTop("/mnt/nfs1")
        #expect(try w.engine.clear(["/mnt/nfs1"]).map(\.outcome) == [.cleared])
        #expect(w.kernel.mountStack("/mnt/nfs1").isEmpty)
        #expect(try w.row("/mnt/nfs1") == nil)
        #expect(try w.history("/mnt/nfs1").suffix(2) == ["pending(clear-deferred)→pending(clearing)", "pending(clearing)→cleared"])
    }

    @Test func immutableClearDeferredWhileMounted() throws {
        let w = try EngineWorld()
        w.kernel.addDirectory("/mnt/a")
        _ = try w.engine.apply(["/mnt/a"], kind: .immutable)
        w.kernel.mountStorage("/mnt/a")
        #expect(try w.engine.clear(["/mnt/a"]).map(\.outcome) == [.deferred])
        #expect(w.kernel.isImmutable(path: "/mnt/a"))
        w.kernel.unmountTop("/mnt/a")
        #expect(try w.engine.clearAll().map(\.outcome) == [.cleared])
        #expect(!w.kernel.isImmutable(path: "/mnt/a"))
    }

    @Test func aSealIgnoresClearAndGoesOnlyWithUnseal() throws {
        let w = try EngineWorld()
        w.kernel.addDirectory("/mnt/pool")
        #expect(try w.engine.seal(["/mnt/pool"]).map(\.outcome) == [.applied])
        #expect(try w.engine.clear(["/mnt/pool"]).map(\.outcome) == [.refused])
        #expect(try w.engine.clearAll().isEmpty)
        w.kernel.mountStorage("/mnt/pool")
        #expect(try w.engine.unseal(["/mnt/pool"]).map(\.outcome) == [.refused])
        w.kernel.unmountTop("/mnt/pool")
        #expect(try w.engine.unseal(["/mnt/pool"]).map(\.outcome) == [.cleared])
        #expect(!w.kernel.isImmutable(path: "/mnt/pool"))
        // An orphan flag with no record (an old configured path).
        w.kernel.addDirectory("/mnt/old", immutable: true)
        let orphan = try w.engine.unseal(["/mnt/old"])
        #expect(orphan.map(\.outcome) == [.cleared] && !w.kernel.isImmutable(path: "/mnt/old"))
    }

    @Test func reconcileAfterRebootHandRemovalAndNamespaceExit() throws {
        let w = try EngineWorld()
        for p in ["/mnt/b", "/mnt/i", "/mnt/n"] { w.kernel.addDirectory(p) }
        _ = try w.engine.apply(["/mnt/i"], kind: .immutable)
        _ = try w.engine.apply(["/mnt/n"], kind: .bind)
        w.kernel.enterNewNamespace(99, oldAlive: false)
        _ = try w.engine.apply(["/mnt/b"], kind: .bind)
        w.kernel.setImmutableByHand("/mnt/i", false)
        let changes = try w.engine.reconcile()
        #expect(Set(changes.map { "\($0.path) \($0.to) \($0.reason)" }) == [
            "/mnt/i failed removed outside hook-runner", "/mnt/n cleared mount namespace exited"])
        w.kernel.reboot(newBootID: "new-boot")
        let after = try w.engine.reconcile()
        #expect(after.map { "\($0.path) \($0.to) \($0.reason)" } == ["/mnt/b cleared reboot"])
        #expect(try w.engine.reconcile().isEmpty)
    }

    @Test func dryRunTouchesNothing() throws {
        let w = try EngineWorld()
        w.kernel.addDirectory("/mnt/a")
        w.kernel.addDirectory("/mnt/b")
        let out = try w.engine.apply(["/mnt/a", "/mnt/b"], dryRun: true)
        #expect(out.map(\.word) == ["would-apply", "would-apply"])
        #expect(!FileManager.default.fileExists(atPath: w.storePath))
        #expect(!FileManager.default.fileExists(atPath: w.dir + "/state"))
        #expect(!w.kernel.calls.contains { $0.hasPrefix("makeReadOnlyBind") || $0.hasPrefix("setImmutable") })
        _ = try w.engine.apply(["/mnt/a"])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: w.storePath))
        let callsBefore = w.kernel.calls.count
        #expect(try w.engine.clear(["/mnt/a"], dryRun: true).map(\.word) == ["would-clear"])
        #expect(try w.engine.reconcile(dryRun: true).isEmpty)
        #expect(try Data(contentsOf: URL(fileURLWithPath: w.storePath)) == bytes)
        #expect(!w.kernel.calls[callsBefore...].contains { $0.hasPrefix("removeBind") || $0.hasPrefix("setImmutable") })
        #expect(w.kernel.mountStack("/mnt/a").count == 1)
    }

    @Test func theSameTargetTwiceInOneCallIsGuardedOnce() throws {
        let w = try EngineWorld()
        w.kernel.addDirectory("/mnt/a")
        let out = try w.engine.apply(["/mnt/a", "/mnt//a/"])
        #expect(out.map(\.outcome) == [.applied, .alreadyApplied])
        #expect(w.kernel.mountStack("/mnt/a").count == 1)
    }

    @Test func doctorFindsDriftAndHiddenData() throws {
        let w = try EngineWorld()
        w.kernel.addDirectory("/mnt/i")
        w.kernel.addDirectory("/mnt/h", hasEntries: true)
        w.kernel.addDirectory("/mnt/s")
        _ = try w.engine.apply(["/mnt/i"], kind: .immutable)
        w.kernel.setImmutableByHand("/mnt/i", false)
        w.kernel.mountStorage("/mnt/h")
        let report = try w.engine.doctor(targets: ["/mnt/h"], sealed: ["/mnt/s"])
        let codes = Dictionary(report.findings.map { ($0.path, $0.code) }, uniquingKeysWith: { a, b in a + "," + b })
        #expect(codes["/mnt/i"] == "drift")
        #expect(codes["/mnt/h"] == "hidden-data")
        #expect(codes["/mnt/s"] == "offline-unsealed")
        #expect(report.worst == .fail)
    }

    @Test func busyLockIsReported() throws {
        let w = try EngineWorld()
        w.kernel.addDirectory("/mnt/a")
        _ = try w.engine.apply(["/mnt/a"])
        // Not timeout 0: a process another test forks at this moment holds a copy of the
        // engine's lock fd until its exec closes it (O_CLOEXEC), which under TSan is long.
        let lock = try StoreLock.acquire(path: w.storePath + ".lock", timeout: 5)
        defer { lock.release() }
        #expect(throws: GuardEngineError.self) { try w.engine.clear(["/mnt/a"]) }
        #expect(w.kernel.mountStack("/mnt/a").count == 1)
    }
}

@Suite struct StoreIntegrityTests {
    /// A store damaged inside (size and header intact) still opens; `doctor` reads every
    /// page and reports it as a failure instead of the open paying that scan every time.
    @Test func doctorReportsADamagedStore() throws {
        let w = try EngineWorld()
        let paths = (1...200).map { "/mnt/d\($0)" }
        for p in paths { w.kernel.addDirectory(p) }
        _ = try w.engine.apply(paths, kind: .immutable, label: String(repeating: "x", count: 200))
        _ = try w.engine.clear(paths)
        #expect(try w.engine.doctor().findings.allSatisfy { $0.code != "store-integrity" })
        // Fold the WAL into the file, then overwrite its last page (an index or table page,
        // not the schema on page 1) with garbage.
        do {
            let store = try GuardStore.open(path: w.storePath)
            try store.database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            store.close()
        }
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: w.storePath))
        let size = try handle.seekToEnd()
        let pageSize: UInt64 = 4096
        #expect(size > 4 * pageSize)
        try handle.seek(toOffset: size - pageSize)
        handle.write(Data(repeating: 0xA5, count: Int(pageSize)))
        try handle.close()
        let report = try w.engine.doctor()
        let finding = try #require(report.findings.first { $0.code == "store-integrity" })
        #expect(finding.severity == .fail && finding.path == w.storePath)
        #expect(report.worst == .fail)
    }
}
