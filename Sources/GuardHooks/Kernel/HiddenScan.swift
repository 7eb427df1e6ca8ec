import CGuardSys
import Glibc
import SystemPackage

/// One entry directly in a bare directory, with everything below it.
package struct HiddenEntry: Sendable, Hashable {
    package var name: String
    /// Bytes of the regular files (apparent size), this entry included.
    package var bytes: UInt64
    /// Entries below it, itself included.
    package var entries: Int
    package var isDirectory: Bool
}

/// What lies in a bare directory: totals and the entries directly in it, largest first.
package struct HiddenScan: Sendable, Hashable {
    /// Every entry at any depth.
    package var entries: Int = 0
    package var bytes: UInt64 = 0
    /// The entries directly in the directory, largest first.
    package var top: [HiddenEntry] = []
    /// The walk stopped at its budget: the totals are lower bounds.
    package var truncated = false
}

/// Walks a directory fd without following symlinks or crossing into another filesystem,
/// at most `budget` entries (a runaway tree cannot make `metrics` take minutes).
enum HiddenScanner {
    static func scan(_ fd: Int32, path: String, budget: Int) throws(KernelError) -> HiddenScan {
        var scan = HiddenScan()
        var left = budget
        var rootStat = stat()
        guard fstat(fd, &rootStat) == 0 else { throw KernelError(Errno(rawValue: errno), "fstat", path) }
        for name in try names(fd, path) {
            guard left > 0 else { scan.truncated = true; break }
            var entry = HiddenEntry(name: String(decoding: name, as: UTF8.self), bytes: 0, entries: 0, isDirectory: false)
            walk(fd, name, device: rootStat.st_dev, depth: 0, into: &entry, left: &left, truncated: &scan.truncated)
            scan.entries += entry.entries
            scan.bytes += entry.bytes
            scan.top.append(entry)
        }
        scan.top.sort { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.name < $1.name }
        return scan
    }

    /// The names in a directory fd (without `.` and `..`), read through a fresh open file
    /// description so the caller's offset does not move.
    static func names(_ fd: Int32, _ path: String) throws(KernelError) -> [[UInt8]] {
        let dir = try sys("openat", path) {
            gs_openat(fd, ".", O_RDONLY | Int32(GS_O_DIRECTORY) | Int32(GS_O_CLOEXEC), 0)
        }
        defer { closeFD(dir) }
        var out: [[UInt8]] = []
        try LinuxKernel().forEachEntry(dir, path) { name in
            if !(name.elementsEqual([0x2E]) || name.elementsEqual([0x2E, 0x2E])) { out.append(Array(name)) }
            return true
        }
        return out
    }

    private static func walk(_ parent: Int32, _ name: [UInt8], device: dev_t, depth: Int,
                             into entry: inout HiddenEntry, left: inout Int, truncated: inout Bool) {
        guard left > 0 else { truncated = true; return }
        left -= 1
        entry.entries += 1
        var st = stat()
        guard (try? cString(name, { fstatat(parent, $0, &st, Int32(GS_AT_SYMLINK_NOFOLLOW)) })) == 0 else { return }
        let type = st.st_mode & S_IFMT
        if type == S_IFREG { entry.bytes += UInt64(st.st_size) }
        guard type == S_IFDIR else { return }
        if depth == 0 { entry.isDirectory = true }
        // Another filesystem mounted inside (only outside a clone) is not hidden data.
        guard st.st_dev == device, depth < 256 else { return }
        let path = String(decoding: name, as: UTF8.self)
        let flags = O_RDONLY | Int32(GS_O_DIRECTORY) | Int32(GS_O_NOFOLLOW) | Int32(GS_O_CLOEXEC)
        guard let fd = try? cString(name, { n throws(KernelError) in try sys("openat", path) { gs_openat(parent, n, flags, 0) } }) else { return }
        defer { closeFD(fd) }
        guard let children = try? names(fd, path) else { return }
        for child in children {
            guard left > 0 else { truncated = true; return }
            walk(fd, child, device: device, depth: depth + 1, into: &entry, left: &left, truncated: &truncated)
        }
    }

    /// Calls `body` with `name` as a NUL-terminated C string (names are bytes, not UTF-8).
    @discardableResult
    static func cString<T>(_ name: [UInt8], _ body: (UnsafePointer<CChar>) throws(KernelError) -> T) throws(KernelError) -> T {
        var z = name
        z.append(0)
        let result: Result<T, KernelError> = z.withUnsafeBufferPointer { b in
            let p = UnsafeRawPointer(b.baseAddress!).assumingMemoryBound(to: CChar.self)
            do throws(KernelError) { return .success(try body(p)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}

extension HiddenEntry: Encodable {
    enum CodingKeys: String, CodingKey { case name, bytes, entries, isDirectory = "directory" }
}
