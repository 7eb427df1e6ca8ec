import Glibc
import CGuardSys
import SystemPackage

/// An open hooks directory: discovery judges its entries and the runner executes them
/// through this fd, so renaming the directory (or a parent) after the checks changes
/// nothing about what runs. Closed when the last hook that came from it is gone.
package final class HooksDirectory: Sendable, Hashable {
    package let fd: Int32
    /// The path it was opened by (for messages and hook paths).
    package let path: String
    /// Every directory above it, `/` first, as the kernel names the opened directory now
    /// (`/proc/self/fd/N`): those are the ones whose writers could have swapped it.
    let ancestors: [String]

    private init(fd: Int32, path: String, ancestors: [String]) {
        self.fd = fd; self.path = path; self.ancestors = ancestors
    }

    static func open(_ path: String, enforceOwnership: Bool) throws -> HooksDirectory {
        let fd = Glibc.open(path, O_RDONLY | GS_O_DIRECTORY | GS_O_CLOEXEC)
        guard fd >= 0 else { throw HookDiscoveryError(path: path, errno: Errno(rawValue: errno)) }
        let ancestors = enforceOwnership ? Self.ancestors(of: Self.kernelPath(fd) ?? path) : []
        return HooksDirectory(fd: fd, path: path, ancestors: ancestors)
    }

    deinit { close(fd) }

    static func kernelPath(_ fd: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `/a/b/c` → `["/", "/a", "/a/b"]`.
    static func ancestors(of path: String) -> [String] {
        var result = ["/"]
        var current = ""
        let parts = path.split(separator: "/")
        for part in parts.dropLast() {
            current += "/" + part
            result.append(current)
        }
        return path == "/" ? [] : result
    }

    package static func == (a: HooksDirectory, b: HooksDirectory) -> Bool { a === b }
    package func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

/// Where a discovered hook is executed from, and the file discovery judged there.
package struct HookOrigin: Sendable, Hashable {
    package let directory: HooksDirectory
    /// The entry opened in `directory` (a symlink's target name when it was one).
    package let entry: String
    package let device: UInt64
    package let inode: UInt64
    /// Root's rules apply at exec time too (owner, mode, same file as discovered).
    package let enforceOwnership: Bool
}

/// The `# dry-run: yes` header: a hook that says it honours `GUARD_HOOKS_DRY_RUN=1` (changes
/// nothing then). Only those run in a dry run; the others are listed as `would-run`.
package enum DryRunHeader {
    /// Whether one of the first `PhasesHeader.maxLines` lines is `# dry-run: yes`
    /// (blanks around the words allowed, as for `# phases:`).
    package static func declared(in bytes: [UInt8]) -> Bool {
        var lines = 0
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if lines == PhasesHeader.maxLines { break }
            lines += 1
            let words = line.split { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }
                .map { Array($0) }
            if words == [Array("#".utf8), Array("dry-run:".utf8), Array("yes".utf8)]
                || words == [Array("#dry-run:".utf8), Array("yes".utf8)] {
                return true
            }
        }
        return false
    }
}
