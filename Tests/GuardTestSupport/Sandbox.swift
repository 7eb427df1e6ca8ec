import CGuardSys
import FileIO
import Foundation
import Glibc

/// The scratch area kernel tests may touch: `/mnt`, but only when this process is root,
/// in a mount namespace of its own (not PID 1's) and `/mnt` is a tmpfs there. `scripts/test`
/// arranges exactly that; then nothing a test mounts or flags can reach the host, even
/// if the test process dies, because the namespace and its tmpfs die with it.
package enum Sandbox {
    package static let root = "/mnt"

    /// Why kernel tests cannot run here, or nil when they can.
    package static let unavailableReason: String? = {
        if geteuid() != 0 { return "kernel tests need root; run scripts/test as root" }
        guard let own = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/mnt") else {
            return "cannot read /proc/self/ns/mnt"
        }
        let pid1 = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/1/ns/mnt")
        if own == pid1 {
            return "kernel tests need a private mount namespace with a tmpfs on /mnt; run scripts/test"
        }
        guard let info = readProcFile("/proc/self/mountinfo"),
              info.split(separator: "\n").contains(where: { line in
                  let f = line.split(separator: " ")
                  guard f.count > 4, f[4] == "/mnt", let dash = f.firstIndex(of: "-"), dash + 1 < f.count else { return false }
                  return f[dash + 1] == "tmpfs"
              }) else {
            return "kernel tests need a tmpfs on /mnt inside the private namespace; run scripts/test"
        }
        return nil
    }()

    package static var isAvailable: Bool { unavailableReason == nil }

    /// A fresh directory `/mnt/<name>-<random>`; remove it with `SandboxDirectory.cleanUp()`.
    package static func make(_ name: String) throws -> SandboxDirectory {
        precondition(isAvailable, unavailableReason ?? "")
        let path = "\(root)/\(name)-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return SandboxDirectory(path: path)
    }
}

package struct SandboxDirectory: Sendable {
    package let path: String

    /// `path/relative`.
    package func sub(_ relative: String) -> String { "\(path)/\(relative)" }

    /// Creates `path/relative` (and parents), returns its path.
    @discardableResult
    package func mkdir(_ relative: String) throws -> String {
        let p = sub(relative)
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }

    /// Unmounts everything below the directory (deepest first, repeatedly, so stacked
    /// mounts go too), clears every immutable flag below it, and removes it.
    package func cleanUp() {
        for _ in 0..<16 {
            let mounts = Sandbox.mountPoints(under: path)
            if mounts.isEmpty { break }
            for m in mounts.sorted(by: { $0.count > $1.count }) { _ = umount2(m, Int32(MNT_DETACH)) }
        }
        Sandbox.clearImmutableFlags(under: path)
        try? FileManager.default.removeItem(atPath: path)
    }
}

extension Sandbox {
    /// Mount points at or below `prefix`, from this namespace's mountinfo (octal escapes decoded).
    package static func mountPoints(under prefix: String) -> [String] {
        guard let text = readProcFile("/proc/self/mountinfo") else { return [] }
        return text.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { return nil }
            let mp = decodeOctal(String(fields[4]))
            return (mp == prefix || mp.hasPrefix(prefix + "/")) ? mp : nil
        }
    }

    /// Reads a whole /proc file to EOF. `String(contentsOfFile:)` is not enough: /proc files
    /// report size 0 and Foundation then reads one page, so a mountinfo longer than 4 KiB
    /// (a few dozen mounts) comes back truncated.
    package static func readProcFile(_ path: String) -> String? {
        guard let bytes = try? FileIO.readFile(path, limit: 64 << 20) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func decodeOctal(_ s: String) -> String {
        var out = [UInt8]()
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\"), i + 3 < b.count,
               let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v); i += 4
            } else { out.append(b[i]); i += 1 }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Clears `FS_IMMUTABLE_FL` on every directory and file below `path` (no symlinks followed).
    package static func clearImmutableFlags(under path: String) {
        var stack = [path]
        while let dir = stack.popLast() {
            let fd = open(dir, O_RDONLY | O_NONBLOCK | Int32(GS_O_NOFOLLOW) | Int32(GS_O_CLOEXEC))
            if fd >= 0 {
                var flags: Int32 = 0
                if gs_get_inode_flags(fd, &flags) == 0, flags & Int32(GS_FS_IMMUTABLE_FL) != 0 {
                    _ = gs_set_inode_flags(fd, flags & ~Int32(GS_FS_IMMUTABLE_FL))
                }
                close(fd)
            }
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue,
                  (try? FileManager.default.destinationOfSymbolicLink(atPath: dir)) == nil,
                  let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
            stack.append(contentsOf: names.map { "\(dir)/\($0)" })
        }
    }
}

/// Runs a command and captures its status and output (tests check results with the tools
/// operators trust: findmnt, lsattr, touch, sqlite3).
package struct CommandResult: Sendable {
    package var status: Int32
    package var stdout: String
    package var stderr: String
}

/// The sanitizer runtimes' settings of this test process (suppression files, exit codes),
/// passed on to every child even when a test gives an exact environment, so a sanitized
/// hook-runner reads the same suppressions (`scripts/reliability sanitizers`).
package let sanitizerOptions = ProcessInfo.processInfo.environment.filter {
    ["ASAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS", "UBSAN_OPTIONS"].contains($0.key)
}

@discardableResult
package func runCommand(_ argv: [String], environment: [String: String]? = nil,
                       stdin: String? = nil) throws -> CommandResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: argv[0].hasPrefix("/") ? argv[0] : "/usr/bin/env")
    p.arguments = argv[0].hasPrefix("/") ? Array(argv.dropFirst()) : argv
    if let environment { p.environment = environment.merging(sanitizerOptions) { given, _ in given } }
    let files = try OutputFiles()
    defer { files.remove() }
    p.standardOutput = files.out; p.standardError = files.err
    let inp = Pipe()
    p.standardInput = stdin == nil ? FileHandle.nullDevice : inp
    try p.run()
    if let stdin {
        inp.fileHandleForWriting.write(Data(stdin.utf8))
        try? inp.fileHandleForWriting.close()
    }
    p.waitUntilExit()
    let status = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
    let (stdout, stderr) = files.read()
    return CommandResult(status: status, stdout: stdout, stderr: stderr)
}

/// A child's stdout and stderr, each a file in a temporary directory: no pipe can fill up
/// and block the child.
package struct OutputFiles {
    let dir: URL
    package let out: FileHandle
    package let err: FileHandle

    package init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gh-cmd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in ["out", "err"] { _ = FileManager.default.createFile(atPath: dir.appendingPathComponent(name).path, contents: nil) }
        out = try FileHandle(forWritingTo: dir.appendingPathComponent("out"))
        err = try FileHandle(forWritingTo: dir.appendingPathComponent("err"))
    }

    /// Closes both and reads what the child wrote.
    package func read() -> (stdout: String, stderr: String) {
        try? out.close(); try? err.close()
        return ((try? String(contentsOf: dir.appendingPathComponent("out"), encoding: .utf8)) ?? "",
                (try? String(contentsOf: dir.appendingPathComponent("err"), encoding: .utf8)) ?? "")
    }

    package func remove() { try? FileManager.default.removeItem(at: dir) }
}
