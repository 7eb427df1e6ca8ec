import Foundation
@testable import GuardHooks
import GuardTestSupport
import SystemPackage
import Testing

@Suite(sandboxed) struct ProbeTests {
    /// The statx attribute, and mountinfo as on kernels without it.
    @Test(arguments: [LinuxKernel(), LinuxKernel(ignoreMountRootAttribute: true)])
    func probeSeesABareDirectoryAsNotMountedThenAsMounted(kernel: LinuxKernel) throws {
        let dir = try Sandbox.make("probe")
        defer { dir.cleanUp() }
        let path = try dir.mkdir("target")

        let bare = try kernel.openDirectory(path)
        defer { kernel.close(bare) }
        let p1 = try kernel.probe(bare)
        #expect(p1.mountState == .notMounted)
        #expect(p1.isDirectory)
        #expect(try output(["stat", "-c", "%d %i", path]) == "\(p1.device) \(p1.inode)")
        #expect(p1.mountID != nil && p1.mountIDIsUnique, "Linux 6.18 has STATX_MNT_ID_UNIQUE")

        try mountFS("tmpfs", source: "storage", at: path)
        let top = try kernel.openDirectory(path)
        defer { kernel.close(top) }
        let p2 = try kernel.probe(top)
        #expect(p2.mountState == .mounted)
        #expect(p2.mountID != p1.mountID)
        #expect(try output(["stat", "-c", "%d %i", path]) == "\(p2.device) \(p2.inode)")
        #expect(p2.device != p1.device)
        // The first fd still sits on the bare directory underneath.
        #expect(try kernel.probe(bare).mountState == .notMounted)
    }

    @Test func deviceEncodingMatchesGlibc() {
        #expect(makeDevice(major: 0, minor: 40) == 40)
        #expect(makeDevice(major: 8, minor: 1) == 0x801)
        #expect(makeDevice(major: 259, minor: 65536) == 0x1001_0300)
        #expect(makeDevice(major: 0x1000, minor: 0) == 0x1000_0000_0000) // values from C makedev()
    }
}

@Suite(sandboxed) struct ImmutableTests {
    @Test func setAndClearRoundTrip() throws {
        let kernel = LinuxKernel()
        let dir = try Sandbox.make("immutable")
        defer { dir.cleanUp() }
        let path = try dir.mkdir("target")
        let h = try kernel.openDirectory(path)
        defer { kernel.close(h) }

        #expect(try !kernel.isImmutable(h))
        try kernel.setImmutable(h, true)
        #expect(try kernel.isImmutable(h))
        #expect(try lsattrFlags(path).contains("i"))
        let refused = try touchFailure("\(path)/f")
        #expect(refused?.contains("Operation not permitted") == true)
        try kernel.setImmutable(h, true) // idempotent

        try kernel.setImmutable(h, false)
        #expect(try !kernel.isImmutable(h))
        #expect(try !lsattrFlags(path).contains("i"))
        #expect(try touchFailure("\(path)/f") == nil)
    }

    @Test func onlyTheImmutableBitChanges() throws {
        let kernel = LinuxKernel()
        let dir = try Sandbox.make("immutable-rmw")
        defer { dir.cleanUp() }
        let path = try dir.mkdir("target")
        try output(["chattr", "+A", path]) // test setup only: noatime flag, which tmpfs keeps
        let h = try kernel.openDirectory(path)
        defer { kernel.close(h) }
        try kernel.setImmutable(h, true)
        #expect(try lsattrFlags(path).contains("A") && lsattrFlags(path).contains("i"))
        try kernel.setImmutable(h, false)
        #expect(try lsattrFlags(path).contains("A") && !lsattrFlags(path).contains("i"))
    }

    @Test func ramfsCannotHoldTheFlag() throws {
        let kernel = LinuxKernel()
        let dir = try Sandbox.make("ramfs")
        defer { dir.cleanUp() }
        let path = try dir.mkdir("r")
        try mountFS("ramfs", source: "ram", at: path)
        let h = try kernel.openDirectory(path)
        defer { kernel.close(h) }
        let get = #expect(throws: KernelError.self) { _ = try kernel.isImmutable(h) }
        #expect(get?.isUnsupported == true)
        #expect(get?.errno == Errno(rawValue: 25), "ramfs answers ENOTTY")
        let set = #expect(throws: KernelError.self) { try kernel.setImmutable(h, true) }
        #expect(set?.isUnsupported == true)
        #expect(try touchFailure("\(path)/f") == nil, "nothing was sealed")
    }
}
