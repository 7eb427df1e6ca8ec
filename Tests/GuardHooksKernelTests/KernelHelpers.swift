import Foundation
import GuardTestSupport
import Testing

/// mountinfo's (old, reusable) mount id and source of each mount stacked at `path`,
/// read with a plain split rather than the parser under test.
func mountinfoIDs(at path: String) throws -> [(id: UInt64, source: String)] {
    guard let text = Sandbox.readProcFile("/proc/self/mountinfo") else { throw POSIXError(.EIO) }
    return text.split(separator: "\n").compactMap { line in
        let f = line.split(separator: " ", omittingEmptySubsequences: false)
        guard f.count > 4, f[4] == path, let dash = f.firstIndex(of: "-"), dash + 2 < f.count,
              let id = UInt64(f[0]) else { return nil }
        return (id, String(f[dash + 2]))
    }
}

/// The attribute column of `lsattr -d PATH`, which must succeed (the kernel tests read
/// the flag where lsattr can tell).
func lsattrFlags(_ path: String) throws -> String {
    String(try output(["lsattr", "-d", path]).split(separator: " ").first ?? "")
}
