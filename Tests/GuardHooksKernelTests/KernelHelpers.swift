import CGuardSys
import Foundation
import GuardTestSupport
import Testing
import Glibc

/// Mounts a fresh filesystem (setup only: results are checked with findmnt & co).
func mountFS(_ type: String, source: String, at path: String) throws {
    let rc = gs_mount(source, path, type, 0, nil)
    try #require(rc == 0, "mount -t \(type) \(source) \(path): errno \(-rc)")
}

func unmount(_ path: String) throws {
    let rc = gs_umount2(path, 0)
    try #require(rc == 0, "umount \(path): errno \(-rc)")
}

/// Output of a command, trimmed; the command must succeed.
@discardableResult
func output(_ argv: [String]) throws -> String {
    let r = try runCommand(argv)
    try #require(r.status == 0, "\(argv.joined(separator: " ")) exited \(r.status): \(r.stderr)")
    return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// `findmnt -n -o SOURCE,OPTIONS --mountpoint PATH`: one line per mount stacked at PATH,
/// bottom first; empty when nothing is mounted there.
func findmnt(_ path: String) throws -> [String] {
    let r = try runCommand(["findmnt", "-n", "-o", "SOURCE,OPTIONS", "--mountpoint", path])
    return r.stdout.split(separator: "\n").map { String($0) }
}

/// `touch PATH`: nil when it worked, else its stderr.
func touchFailure(_ path: String) throws -> String? {
    let r = try runCommand(["touch", path])
    return r.status == 0 ? nil : r.stderr
}

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

/// Creates a regular file (setup).
func makeFile(_ path: String, _ contents: String = "") throws {
    try #require(FileManager.default.createFile(atPath: path, contents: Data(contents.utf8)), "create \(path)")
}
