import CGuardSys
import Foundation
@testable import GuardHooks
import GuardTestSupport
import Testing
import Glibc

/// `mountPlacement` (MountTable.swift) decides "mounted or not" from the parent's side
/// (openat2 + RESOLVE_NO_XDEV) or, on kernels without it, from mountinfo: both paths give
/// the same answer for every kind of entry (issue 13, items 1 and 9).
@Suite(.serialized) struct MountPlacementTests {
    static let kernels: [(String, LinuxKernel)] = [
        ("openat2 RESOLVE_NO_XDEV", LinuxKernel()),
        ("mountinfo (no openat2, no statmount/listmount)", LinuxKernel(noMountTableCalls: true)),
        ("component walk (no openat2 at all)", LinuxKernel(forceComponentWalk: true)),
    ]

    @Test(sandboxed, arguments: 0..<3) func everyKindOfEntry(_ which: Int) throws {
        let (name, kernel) = Self.kernels[which]
        let dir = try Sandbox.make("placement")
        defer { dir.cleanUp() }
        let bare = try dir.mkdir("bare"), storage = try dir.mkdir("storage"), guarded = try dir.mkdir("guarded")
        try mountFS("tmpfs", source: "storage", at: storage)
        let handle = try kernel.openDirectory(guarded)
        _ = try kernel.makeReadOnlyBind(handle)
        kernel.close(handle)
        #expect(symlink(bare, dir.sub("link")) == 0)
        try makeFile(dir.sub("file"))

        #expect(try kernel.mountPlacement(bare) == .notMounted, "\(name)")
        #expect(try kernel.mountPlacement(storage) == .mounted(foreign: true), "\(name)")
        #expect(try kernel.mountPlacement(guarded) == .mounted(foreign: false), "\(name): our own bind is not storage")
        #expect(try kernel.mountPlacement(dir.sub("link")) == .symlink, "\(name)")
        #expect(try kernel.mountPlacement(dir.sub("missing")) == .missing, "\(name)")
        #expect(try kernel.mountPlacement(dir.sub("file")) == .notMounted, "\(name): not a mount; opening says not a directory")
        // Storage mounted over our guard: the topmost mount decides.
        try mountFS("tmpfs", source: "over", at: guarded)
        #expect(try kernel.mountPlacement(guarded) == .mounted(foreign: true), "\(name)")
    }

    /// The gate's child process answers for a live path and a missing one alike.
    @Test(sandboxed) func answersForLiveAndMissingPaths() throws {
        let dir = try Sandbox.make("answers")
        defer { dir.cleanUp() }
        #expect(LinuxKernel().answers(dir.path, within: 5))
        #expect(LinuxKernel().answers(dir.sub("missing/below"), within: 5))
    }
}
