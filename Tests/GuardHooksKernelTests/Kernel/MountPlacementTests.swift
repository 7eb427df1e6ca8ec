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

    /// A bare directory, a tmpfs storage, one of our bind guards, a symlink `link` to the bare
    /// directory and a regular file `file`.
    static func arrangeEveryKind(in dir: SandboxDirectory, _ kernel: LinuxKernel) throws
        -> (bare: String, storage: String, guarded: String, bind: BindGuardMount) {
        let bare = try dir.mkdir("bare"), storage = try dir.mkdir("storage"), guarded = try dir.mkdir("guarded")
        try mountFS("tmpfs", source: "storage", at: storage)
        let handle = try kernel.openDirectory(guarded)
        defer { kernel.close(handle) }
        let bind = try kernel.makeReadOnlyBind(handle)
        #expect(symlink(bare, dir.sub("link")) == 0)
        try makeFile(dir.sub("file"))
        return (bare, storage, guarded, bind)
    }

    @Test(sandboxed, arguments: 0..<3) func everyKindOfEntry(_ which: Int) throws {
        let (name, kernel) = Self.kernels[which]
        let dir = try Sandbox.make("placement")
        defer { dir.cleanUp() }
        let (bare, storage, guarded, _) = try Self.arrangeEveryKind(in: dir, kernel)

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

    /// `openPlaced` gives `mountPlacement`'s answer and, unless a storage is there, an fd on
    /// the topmost mount, on every path (one openat2 from the parent's side, or the two steps).
    @Test(sandboxed, arguments: 0..<3) func openPlacedAgreesWithPlacementAndOpensTheTop(_ which: Int) throws {
        let (name, kernel) = Self.kernels[which]
        let dir = try Sandbox.make("opened")
        defer { dir.cleanUp() }
        let (bare, storage, guarded, bind) = try Self.arrangeEveryKind(in: dir, kernel)

        func opened(_ path: String) throws -> (DirectoryProbe, mounted: Bool)? {
            guard case .opened(let h, let mounted) = try kernel.openPlaced(path) else { return nil }
            defer { kernel.close(h) }
            #expect(h.path == path)
            return (try kernel.probe(h), mounted)
        }
        let b = try #require(try opened(bare), "\(name)")
        #expect(!b.mounted && b.0.mountState == .notMounted, "\(name)")
        let g = try #require(try opened(guarded), "\(name): our own bind is opened through")
        #expect(g.mounted && g.0.mountState == .mounted && g.0.mountID == bind.mountID, "\(name): the fd is on the guard")
        #expect(try kernel.openPlaced(storage) == .storage, "\(name): a storage is not opened")
        #expect(try kernel.openPlaced(dir.sub("link")) == .symlink, "\(name)")
        #expect(try kernel.openPlaced(dir.sub("missing")) == .missing, "\(name)")
        do {
            _ = try kernel.openPlaced(dir.sub("file"))
            Issue.record("\(name): a file was opened as a directory")
        } catch {
            #expect(error.errno == .notDirectory && error.operation == KernelError.openingDirectory, "\(name): \(error)")
        }
        for path in [bare, storage, guarded, dir.sub("link"), dir.sub("missing")] {
            #expect(try kernel.openPlaced(path).placement == kernel.mountPlacement(path), "\(name): \(path)")
        }
        try mountFS("tmpfs", source: "over", at: guarded)
        #expect(try kernel.openPlaced(guarded) == .storage, "\(name): storage over our guard: the top decides")
    }

    /// The gate's child process answers for a live path and a missing one alike.
    @Test(sandboxed) func answersForLiveAndMissingPaths() throws {
        let dir = try Sandbox.make("answers")
        defer { dir.cleanUp() }
        #expect(LinuxKernel().answers(dir.path, within: 5))
        #expect(LinuxKernel().answers(dir.sub("missing/below"), within: 5))
    }
}
