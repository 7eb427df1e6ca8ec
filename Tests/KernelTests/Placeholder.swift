import GuardTestSupport
import Testing

@Test(.enabled(if: Sandbox.isAvailable, "needs root in a private mount namespace with a tmpfs on /mnt (scripts/test)"))
func sandboxIsPrivateTmpfs() throws {
    let dir = try Sandbox.make("probe")
    defer { dir.cleanUp() }
    let r = try runCommand(["findmnt", "-n", "-o", "FSTYPE", "/mnt"])
    #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "tmpfs")
}
