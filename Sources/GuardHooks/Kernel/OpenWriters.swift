import CGuardSys
import FileIO
import Glibc

/// Files some process has open for writing, found by a scan of `/proc/*/fd`: each fd's
/// `fdinfo` flags (access mode O_WRONLY or O_RDWR) and the device and inode its magic link
/// stats to. A rescue does not move a file a write may still be going into. The scan is a
/// snapshot: a file opened after it is not seen (DESIGN: the rescue re-checks nothing after
/// the rename; a writer that opens the old path afterwards finds it gone, which is the point).
struct OpenWriters {
    struct FileKey: Hashable { var device: UInt64; var inode: UInt64 }

    /// Writer pid by file.
    private(set) var writers: [FileKey: Int32] = [:]

    static func scan() -> OpenWriters {
        var found = OpenWriters()
        guard let proc = opendir("/proc") else { return found }
        defer { closedir(proc) }
        while let e = readdir(proc) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = Int32(name), pid != getpid() else { continue }
            found.add(pid)
        }
        return found
    }

    private mutating func add(_ pid: Int32) {
        guard let fds = opendir("/proc/\(pid)/fd") else { return }
        defer { closedir(fds) }
        while let e = readdir(fds) {
            let fd = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard Int(fd) != nil, let info = try? FileIO.readFile("/proc/\(pid)/fdinfo/\(fd)", limit: 65_536),
                  let flags = Self.flags(String(decoding: info, as: UTF8.self)), flags & Int(O_ACCMODE) != Int(O_RDONLY) else { continue }
            var st = stat()
            guard stat("/proc/\(pid)/fd/\(fd)", &st) == 0 else { continue }
            writers[FileKey(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))] = pid
        }
    }

    /// The octal `flags:` field of an fdinfo file.
    static func flags(_ text: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix("flags:") {
            return Int(line.dropFirst("flags:".count).trimmingCharacters(in: " \t"), radix: 8)
        }
        return nil
    }

    /// The pid writing to `name` in `parent`, or to anything below it; nil when none is.
    func writer(_ parent: Int32, _ name: [UInt8], depth: Int = 0) -> Int32? {
        guard !writers.isEmpty, depth < 256 else { return nil }
        var st = stat()
        guard (try? HiddenScanner.cString(name, { fstatat(parent, $0, &st, Int32(GS_AT_SYMLINK_NOFOLLOW)) })) == 0 else { return nil }
        if let pid = writers[FileKey(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))] { return pid }
        guard st.st_mode & S_IFMT == S_IFDIR, let fd = try? TreeOps.openDirectory(parent, name) else { return nil }
        defer { closeFD(fd) }
        for child in (try? HiddenScanner.names(fd, "")) ?? [] {
            if let pid = writer(fd, child, depth: depth + 1) { return pid }
        }
        return nil
    }
}

private extension Substring {
    func trimmingCharacters(in set: String) -> Substring {
        var s = self
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return s
    }
}
