import Foundation
import GuardHooks
import GuardHooksTesting
import GuardStore
import Testing

/// What a review of the one-step `openPlaced` found, over the fake kernel: each failed before
/// its fix.
@Suite struct EngineReviewFindingsTests {
    /// A guard reached through a symlinked parent whose directory cannot be opened now is
    /// still found by its canonical path, and kept for a later clear (not refused, not lost).
    @Test func aGuardBehindASymlinkedParentThatCannotBeOpenedIsDeferredNotLost() throws {
        let w = try EngineWorld()
        w.kernel.addDirectory("/mnt/real/x")
        #expect(try w.engine.apply(["/mnt/real/x"], kind: .immutable).map(\.outcome) == [.applied])
        w.kernel.addSymlink("/mnt/link", to: "/mnt/real")
        w.kernel.fail("openDirectory", with: .ioError)
        let out = try w.engine.clear(["/mnt/link/x"])
        #expect(out.map(\.path) == ["/mnt/real/x"], "named by its canonical path")
        #expect(out.first?.guardID != nil, "the recorded row was found")
        #expect(out.map(\.outcome) != [.refused], "\(out)")
        #expect(try w.row("/mnt/real/x")?.state != .cleared)
    }

    /// The path policy speaks first, even for a directory that cannot be opened.
    @Test func aTargetOutsideTheRootsIsRefusedByPolicyEvenWhenItCannotBeOpened() throws {
        let w = try EngineWorld()
        w.kernel.addDirectory("/etc/x")
        w.kernel.addDirectory("/mnt/other")
        w.kernel.addSymlink("/mnt/escape", to: "/etc/x")
        w.kernel.fail("openDirectory", with: .ioError)
        let out = try w.engine.apply(["/mnt/escape"])
        #expect(out.map(\.outcome) == [.refused])
        #expect(out.first?.reason?.contains("not below an allowed root") == true, "reason: \(out.first?.reason ?? "-") path: \(out.first?.path ?? "-")")
    }

    /// doctor and its metrics resolve configured paths and close what they opened to do so.
    @Test func doctorAndItsMetricsLeaveNoDirectoryOpen() throws {
        let w = try EngineWorld()
        w.kernel.addDirectory("/mnt/h")
        w.kernel.addDirectory("/mnt/s")
        _ = try w.engine.doctor(targets: ["/mnt/h"], sealed: ["/mnt/s"])
        #expect(w.kernel.openHandles == 0)
        _ = w.engine.doctorMetrics(sealed: ["/mnt/s"])
        #expect(w.kernel.openHandles == 0)
    }
}
