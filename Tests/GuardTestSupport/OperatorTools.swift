import CGuardSys
import Foundation
import Glibc
import Testing

// The kernel and the store as operators see them (findmnt, lsattr, chattr, touch, sqlite3),
// and the setup steps tests share: one copy each for every test target.

/// Output of a command, trimmed; the command must succeed.
@discardableResult
package func output(_ argv: [String]) throws -> String {
    let r = try runCommand(argv)
    try #require(r.status == 0, "\(argv.joined(separator: " ")) exited \(r.status): \(r.stderr)")
    return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// `findmnt -n -o SOURCE,OPTIONS --mountpoint PATH`: one line per mount stacked at PATH,
/// bottom first; empty when nothing is mounted there.
package func findmnt(_ path: String) throws -> [String] {
    try runCommand(["findmnt", "-n", "-o", "SOURCE,OPTIONS", "--mountpoint", path]).stdout
        .split(separator: "\n").map(String.init)
}

/// The attribute column of `lsattr -d PATH` (empty when lsattr cannot tell, as on ramfs).
package func lsattr(_ path: String) throws -> String {
    String(try runCommand(["lsattr", "-d", path]).stdout.split(separator: " ").first ?? "")
}

/// What `findmnt` and `lsattr` say about `path`, for before/after comparisons.
package func kernelState(_ path: String) throws -> String {
    (try findmnt(path)).joined(separator: "|") + " " + (try lsattr(path))
}

/// `chattr FLAG PATH` (setup: sets or clears a flag behind the engine's back); must succeed.
package func chattr(_ flag: String, _ path: String) throws {
    let r = try runCommand(["chattr", flag, path])
    try #require(r.status == 0, "chattr \(flag) \(path): \(r.stderr)")
}

/// Whether `touch dir/name` works (the file is removed again).
package func canWrite(_ dir: String, _ name: String = "probe") throws -> Bool {
    let r = try runCommand(["touch", "\(dir)/\(name)"])
    if r.status == 0 { unlink("\(dir)/\(name)") }
    return r.status == 0
}

/// `touch PATH`: nil when it worked, else its stderr.
package func touchFailure(_ path: String) throws -> String? {
    let r = try runCommand(["touch", path])
    return r.status == 0 ? nil : r.stderr
}

/// `sqlite3 -readonly DB QUERY`, trimmed.
package func sql(_ db: String, _ query: String) throws -> String {
    try runCommand(["sqlite3", "-readonly", db, query]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}

// MARK: mounts (setup; results are checked with findmnt & co)

/// `mount -t tmpfs SOURCE PATH`, as an operator mounts storage.
package func mountTmpfs(_ path: String, source: String = "storage") throws {
    let r = try runCommand(["mount", "-t", "tmpfs", source, path])
    try #require(r.status == 0, "mount: \(r.stderr)")
}

/// `umount PATH`.
package func umount(_ path: String) throws {
    let r = try runCommand(["umount", path])
    try #require(r.status == 0, "umount: \(r.stderr)")
}

/// Mounts a fresh filesystem with mount(2).
package func mountFS(_ type: String, source: String, at path: String) throws {
    let rc = gs_mount(source, path, type, 0, nil)
    try #require(rc == 0, "mount -t \(type) \(source) \(path): errno \(-rc)")
}

/// umount(2) of the topmost mount at `path`.
package func unmount(_ path: String) throws {
    let rc = gs_umount2(path, 0)
    try #require(rc == 0, "umount \(path): errno \(-rc)")
}

// MARK: files

/// Writes `text` to `path` with `mode` (setup).
package func writeFile(_ path: String, _ text: String, mode: mode_t = 0o644) throws {
    try #require(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)), "create \(path)")
    try #require(chmod(path, mode) == 0)
}

/// Creates a regular file (setup).
package func makeFile(_ path: String, _ contents: String = "") throws {
    try #require(FileManager.default.createFile(atPath: path, contents: Data(contents.utf8)), "create \(path)")
}

/// Writes an executable `/bin/sh` script (mode 0755 unless given) with `body` after the shebang.
package func writeScript(_ path: String, _ body: String, mode: mode_t = 0o755) throws {
    try writeFile(path, "#!/bin/sh\n\(body)\n", mode: mode)
}

/// `writeScript` of the hook `name` in `hooksDir`; returns its path.
@discardableResult
package func writeHook(_ hooksDir: String, _ name: String, _ body: String, mode: mode_t = 0o755) throws -> String {
    let path = "\(hooksDir)/\(name)"
    try writeScript(path, body, mode: mode)
    return path
}

/// A root-owned 0755 hooks directory inside the sandbox.
package func makeHooksDir(_ dir: SandboxDirectory, _ name: String = "hooks.d") throws -> String {
    let path = try dir.mkdir(name)
    try #require(chmod(path, 0o755) == 0)
    return path
}
