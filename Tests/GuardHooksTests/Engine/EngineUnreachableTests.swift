import Foundation
import GuardHooks
import GuardHooksTesting
import GuardStore
import Testing

/// A storage that stops answering (issue 13, item 1) over the fake kernel: the engine asks
/// `answers` before touching a target, reports `unreachable`, never calls into it, and the
/// other targets proceed.
@Suite struct EngineUnreachableTests {
    /// nfs1 is mounted and dead, nfs2 offline.
    func world() throws -> EngineWorld {
        let w = try EngineWorld()
        w.kernel.addDirectory("/mnt/pve/nfs1")
        w.kernel.addDirectory("/mnt/pve/nfs2")
        w.kernel.mountStorage("/mnt/pve/nfs1")
        w.kernel.stopAnswering("/mnt/pve/nfs1")
        return w
    }

    /// No call but `answers` reached the dead path after the first `since` calls.
    func untouched(_ w: EngineWorld, _ path: String, since: Int = 0) {
        let touched = w.kernel.calls.dropFirst(since).filter { $0.hasSuffix(" " + path) && !$0.hasPrefix("answers ") }
        #expect(touched.isEmpty, "called into the dead storage: \(touched)")
    }

    @Test func applyAndSealNameItUnreachableAndGuardTheSibling() throws {
        let w = try world()
        let out = try w.engine.apply(["/mnt/pve/nfs1", "/mnt/pve/nfs2"])
        #expect(out.map(\.outcome) == [.unreachable, .applied])
        #expect(out[0].reason?.contains("not responding") == true)
        let sealed = try w.engine.seal(["/mnt/pve/nfs1/below"])
        #expect(sealed.map(\.outcome) == [.unreachable])
        untouched(w, "/mnt/pve/nfs1")
    }

    @Test func clearLeavesTheDeadRowAsItIs() throws {
        let w = try EngineWorld()
        w.kernel.addDirectory("/mnt/pve/nfs1")
        w.kernel.addDirectory("/mnt/pve/nfs2")
        #expect(try w.engine.apply(["/mnt/pve/nfs1", "/mnt/pve/nfs2"], kind: .immutable).map(\.outcome) == [.applied, .applied])
        w.kernel.mountStorage("/mnt/pve/nfs1")
        w.kernel.stopAnswering("/mnt/pve/nfs1")
        let since = w.kernel.calls.count
        let out = try w.engine.clear(["/mnt/pve/nfs1", "/mnt/pve/nfs2"])
        #expect(out.map(\.outcome) == [.unreachable, .cleared])
        #expect(try w.row("/mnt/pve/nfs1")?.status == .applied)
        #expect(try w.engine.reconcile().isEmpty, "nothing is settled on a storage that does not answer")
        untouched(w, "/mnt/pve/nfs1", since: since)
    }

    /// One engine for many operations (the Swift API): each asks the storages afresh.
    @Test func aLongLivedEngineAsksAgainForEachOperation() throws {
        let w = try EngineWorld()
        w.kernel.addDirectory("/mnt/pve/nfs1")
        w.kernel.mountStorage("/mnt/pve/nfs1")
        #expect(try w.engine.apply(["/mnt/pve/nfs1"]).map(\.outcome) == [.skippedMounted])
        w.kernel.stopAnswering("/mnt/pve/nfs1")
        var since = w.kernel.calls.count
        #expect(try w.engine.apply(["/mnt/pve/nfs1"]).map(\.outcome) == [.unreachable], "dead since the last operation")
        #expect(try w.engine.doctor(targets: ["/mnt/pve/nfs1"]).findings.contains { $0.code == "unreachable" })
        untouched(w, "/mnt/pve/nfs1", since: since)
        w.kernel.answerAgain("/mnt/pve/nfs1")
        since = w.kernel.calls.count
        #expect(try w.engine.apply(["/mnt/pve/nfs1"]).map(\.outcome) == [.skippedMounted], "back since the last operation")
        #expect(w.kernel.calls.dropFirst(since).filter { $0 == "answers /mnt/pve/nfs1" }.count == 1, "asked once per operation")
    }

    @Test func doctorReportsItAndExaminesTheRest() throws {
        let w = try world()
        _ = try w.engine.apply(["/mnt/pve/nfs2"])
        let report = try w.engine.doctor(targets: ["/mnt/pve/nfs1"])
        #expect(report.findings.contains { $0.path == "/mnt/pve/nfs1" && $0.code == "unreachable" })
        #expect(report.findings.contains { $0.path == "/mnt/pve/nfs2" && $0.code == "ok" })
        untouched(w, "/mnt/pve/nfs1")
    }
}
