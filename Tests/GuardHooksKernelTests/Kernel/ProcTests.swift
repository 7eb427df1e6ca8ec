import Foundation
import GuardHooks
import GuardTestSupport
import Testing

@Suite struct ProcTests {
    @Test func bootIDIsTheKernelsTrimmed() throws {
        let id = try LinuxKernel().bootID()
        let raw = try String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)
        #expect(id == raw.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(id.count == 36)
    }

    @Test func mountNamespaceIsStatOfTheLink() throws {
        let ns = try #require(LinuxKernel().mountNamespace())
        #expect(try output(["stat", "-L", "-c", "%i", "/proc/self/ns/mnt"]) == "\(ns)")
    }

    @Test(sandboxed) func namespaceOfAnExitedChildIsNotAlive() throws {
        let kernel = LinuxKernel()
        let own = try #require(kernel.mountNamespace())
        #expect(kernel.mountNamespaceAlive(own) == true)
        let child = try #require(UInt64(try output(["unshare", "-m", "stat", "-L", "-c", "%i", "/proc/self/ns/mnt"])))
        #expect(child != own)
        #expect(kernel.mountNamespaceAlive(child) == false)
    }

    @Test func mountInfoReadsThisNamespace() throws {
        let entries = try LinuxKernel().mountInfo()
        #expect(entries.contains { $0.mountPoint == "/" })
        #expect(entries.contains { $0.mountPoint == "/proc" && $0.fsType == "proc" })
    }
}
