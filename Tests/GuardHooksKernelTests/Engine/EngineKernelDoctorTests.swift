import Foundation
import GuardHooks
import GuardStore
import GuardTestSupport
import Testing

/// `doctor` on a real sandbox: one path per class of finding.
extension EngineKernelTests {
    @Test(sandboxed) func doctorClassifiesEveryFinding() throws {
        let dir = try Sandbox.make("ek-doctor")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let pool = try dir.mkdir("pool")                 // offline, a seal wanted, not sealed
        let onlineImmutable = try dir.mkdir("online")    // storage mounted, its root immutable
        let holds = try dir.mkdir("holds")               // offline, files written onto the parent fs
        let hidden = try dir.mkdir("hidden")             // files hidden under mounted storage
        let drift = try dir.mkdir("drift")               // store says applied, kernel says no
        let handFlag = try dir.mkdir("hand-flag")        // chattr +i by hand, no row
        let handBind = try dir.mkdir("hand-bind")        // mount --bind + remount ro by hand, no row
        let stale = try dir.mkdir("stale")               // clear-deferred for two days
        let fine = try dir.mkdir("fine")                 // a healthy bind guard

        try mountFS("tmpfs", source: "online", at: onlineImmutable)
        try output(["chattr", "+i", onlineImmutable])
        defer { _ = try? runCommand(["chattr", "-i", onlineImmutable]) }   // before cleanUp
        try makeFile("\(holds)/restored.img", "data")
        try makeFile("\(hidden)/shadowed.img", "data")
        try mountFS("tmpfs", source: "hidden", at: hidden)
        #expect(try w.engine.apply([drift], kind: .immutable).map(\.outcome) == [.applied])
        try output(["chattr", "-i", drift])
        try output(["chattr", "+i", handFlag])
        try output(["mount", "--bind", handBind, handBind])
        try output(["mount", "-o", "remount,bind,ro", handBind])
        #expect(try w.engine.apply([stale, fine], kind: .bind).map(\.outcome) == [.applied, .applied])
        try mountFS("tmpfs", source: "stale", at: stale)
        #expect(try w.engine.clear([stale]).map(\.outcome) == [.deferred])
        // Back-date the deferral by two days (only cleared rows and events are frozen by triggers).
        try output(["sqlite3", w.storePath,
                    "UPDATE guards SET updated_at = updated_at - 172800000 WHERE path = '\(stale)'"])
        let events = try w.sql("SELECT count(*) FROM events")

        let report = try w.engine.doctor(targets: [onlineImmutable, holds, hidden, handFlag], sealed: [pool])
        var codes: [String: [String]] = [:]
        var severity: [String: Severity] = [:]
        for f in report.findings {
            codes[f.path, default: []].append(f.code)
            severity[f.code] = f.severity
        }
        #expect(codes[pool] == ["offline-unsealed"])
        #expect(codes[onlineImmutable] == ["mounted-root-immutable"])
        #expect(codes[holds] == ["offline-holds-files"])
        #expect(codes[hidden] == ["hidden-data"])
        #expect(codes[drift] == ["drift"])
        #expect(codes[handFlag] == ["unrecorded-guard"])
        #expect(codes[handBind] == ["unrecorded-guard"], "found in mountinfo without being named")
        #expect(codes[stale] == ["pending-stale"])
        #expect(codes[fine] == ["ok"])
        #expect(Set(codes.keys) == [pool, onlineImmutable, holds, hidden, drift, handFlag, handBind, stale, fine],
                "\(codes)")
        #expect(severity == ["offline-unsealed": .warn, "mounted-root-immutable": .fail,
                             "offline-holds-files": .warn, "hidden-data": .warn, "drift": .fail,
                             "unrecorded-guard": .warn, "pending-stale": .warn, "ok": .ok])
        #expect(report.worst == .fail)
        let message = report.findings.first { $0.code == "pending-stale" }?.message ?? ""
        #expect(message.contains("pending(clear-deferred) for 48 h"), "\(message)")

        // doctor only looks: the store, the flags and the mounts are as they were.
        #expect(try w.sql("SELECT count(*) FROM events") == events)
        #expect(try w.row(drift)?.status == .applied)
        #expect(try !lsattrImmutable(drift) && lsattrImmutable(handFlag))
        #expect(try findmnt(handBind).count == 1 && findmnt(stale).count == 2)

        // A sealed pool, a cleared hidden directory and reconcile turn those findings ok.
        #expect(try w.engine.seal([pool]).map(\.outcome) == [.applied])
        #expect(try w.engine.reconcile().map(\.path) == [drift])
        let again = try w.engine.doctor(sealed: [pool])
        #expect(again.findings.first { $0.path == pool }?.code == "ok")
        #expect(again.findings.first { $0.path == drift }?.code == "guard-failed")
    }

    /// `pendingWarnAfter` is the engine's setting: 0 makes any pending guard stale.
    @Test(sandboxed) func pendingWarnAfterIsConfigurable() throws {
        let dir = try Sandbox.make("ek-doctor-stale")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir, pendingWarnAfter: 0)
        let target = try dir.mkdir("nfs1")
        #expect(try w.engine.apply([target], kind: .bind).map(\.outcome) == [.applied])
        #expect(try w.engine.doctor().findings.map(\.code) == ["ok"])
        try mountFS("tmpfs", source: "storage", at: target)
        #expect(try w.engine.clear([target]).map(\.outcome) == [.deferred])
        usleep(20_000)
        #expect(try w.engine.doctor().findings.map(\.code) == ["pending-stale"])
    }
}
