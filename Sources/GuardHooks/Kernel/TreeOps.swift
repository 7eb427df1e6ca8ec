import CGuardSys
import Glibc
import SystemPackage

/// fd-relative file-tree operations for `rescue`: no path is looked up from `/`, no symlink
/// is followed, names are bytes.
enum TreeOps {
    static let directoryFlags = O_RDONLY | Int32(GS_O_DIRECTORY) | Int32(GS_O_NOFOLLOW) | Int32(GS_O_CLOEXEC)

    static func text(_ name: [UInt8]) -> String { String(decoding: name, as: UTF8.self) }

    static func openDirectory(_ parent: Int32, _ name: [UInt8]) throws(KernelError) -> Int32 {
        try HiddenScanner.cString(name) { n throws(KernelError) in
            try sys("openat", text(name)) { gs_openat(parent, n, directoryFlags, 0) }
        }
    }

    /// Opens `relative` ("a/b/c", or "" for `root` itself) below `root`, component by component.
    static func openRelative(_ root: Int32, _ relative: String) throws(KernelError) -> Int32 {
        var fd = try sys("openat", relative) { gs_openat(root, ".", directoryFlags, 0) }
        for part in relative.split(separator: "/") where part != "." {
            let parent = fd
            defer { closeFD(parent) }
            fd = try openDirectory(parent, Array(part.utf8))
        }
        return fd
    }

    /// renameat2(RENAME_NOREPLACE): atomic, and never over something already there.
    static func move(_ from: Int32, _ name: [UInt8], to: Int32) throws(KernelError) {
        try HiddenScanner.cString(name) { n throws(KernelError) in
            try sys("renameat2(RENAME_NOREPLACE)", text(name)) { gs_renameat2(from, n, to, n, GS_RENAME_NOREPLACE) }
        }
    }

    private static func lstat(_ dir: Int32, _ name: [UInt8]) throws(KernelError) -> stat {
        var st = stat()
        let rc = try HiddenScanner.cString(name) { fstatat(dir, $0, &st, Int32(GS_AT_SYMLINK_NOFOLLOW)) }
        if rc != 0 { throw KernelError(Errno(rawValue: errno), "fstatat", text(name)) }
        return st
    }

    /// Copies `name` from `src` into `dst` (regular files, directories, symlinks; modes kept;
    /// data fsynced). Anything else (a device, a fifo, a socket) is refused.
    static func copy(_ src: Int32, _ name: [UInt8], to dst: Int32) throws(KernelError) {
        let st = try lstat(src, name)
        let mode = UInt32(st.st_mode & 0o7777)
        switch st.st_mode & S_IFMT {
        case S_IFDIR:
            try HiddenScanner.cString(name) { n throws(KernelError) in try sys("mkdirat", text(name)) { gs_mkdirat(dst, n, 0o700) } }
            let from = try openDirectory(src, name)
            defer { closeFD(from) }
            let to = try openDirectory(dst, name)
            defer { closeFD(to) }
            for child in try HiddenScanner.names(from, text(name)) { try copy(from, child, to: to) }
            _ = fchmod(to, mode_t(mode))
            _ = fsync(to)
        case S_IFREG:
            let from = try HiddenScanner.cString(name) { n throws(KernelError) in
                try sys("openat", text(name)) { gs_openat(src, n, O_RDONLY | Int32(GS_O_NOFOLLOW) | Int32(GS_O_CLOEXEC), 0) }
            }
            defer { closeFD(from) }
            let to = try HiddenScanner.cString(name) { n throws(KernelError) in
                try sys("openat", text(name)) {
                    gs_openat(dst, n, O_WRONLY | O_CREAT | O_EXCL | Int32(GS_O_NOFOLLOW) | Int32(GS_O_CLOEXEC), mode)
                }
            }
            defer { closeFD(to) }
            var buf = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = try sys("read", text(name)) { () -> Int in
                    let rc = buf.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
                    return rc >= 0 ? rc : -Int(errno)
                }
                if n == 0 { break }
                var done = 0
                while done < n {
                    done += try sys("write", text(name)) { () -> Int in
                        let rc = buf.withUnsafeBytes { write(to, $0.baseAddress! + done, n - done) }
                        return rc >= 0 ? rc : -Int(errno)
                    }
                }
            }
            _ = fchmod(to, mode_t(mode))
            try sys("fsync", text(name)) { fsync(to) >= 0 ? 0 : -errno }
        case S_IFLNK:
            var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let len = try HiddenScanner.cString(name) { n throws(KernelError) in
                try sys("readlinkat", text(name)) { gs_readlinkat(src, n, &target, UInt(target.count - 1)) }
            }
            target[Int(len)] = 0
            try HiddenScanner.cString(name) { n throws(KernelError) in
                try sys("symlinkat", text(name)) { symlinkat(target, dst, n) == 0 ? 0 : -errno }
            }
        default:
            throw KernelError(.notSupported, "copy (not a regular file, directory or symlink)", text(name))
        }
    }

    /// Whether `name` in `a` and in `b` hold the same tree: names, types, symlink targets
    /// and every byte of every file, read back after the copy.
    static func same(_ a: Int32, _ b: Int32, _ name: [UInt8]) throws(KernelError) -> Bool {
        let sa = try lstat(a, name), sb = try lstat(b, name)
        guard sa.st_mode & S_IFMT == sb.st_mode & S_IFMT else { return false }
        switch sa.st_mode & S_IFMT {
        case S_IFDIR:
            let da = try openDirectory(a, name)
            defer { closeFD(da) }
            let db = try openDirectory(b, name)
            defer { closeFD(db) }
            let na = try HiddenScanner.names(da, text(name)).sorted { $0.lexicographicallyPrecedes($1) }
            let nb = try HiddenScanner.names(db, text(name)).sorted { $0.lexicographicallyPrecedes($1) }
            guard na == nb else { return false }
            for child in na where !(try same(da, db, child)) { return false }
            return true
        case S_IFREG:
            guard sa.st_size == sb.st_size else { return false }
            return try contents(a, name) == contents(b, name)
        case S_IFLNK:
            return try linkTarget(a, name) == linkTarget(b, name)
        default:
            return false
        }
    }

    private static func contents(_ dir: Int32, _ name: [UInt8]) throws(KernelError) -> [UInt8] {
        let fd = try HiddenScanner.cString(name) { n throws(KernelError) in
            try sys("openat", text(name)) { gs_openat(dir, n, O_RDONLY | Int32(GS_O_NOFOLLOW) | Int32(GS_O_CLOEXEC), 0) }
        }
        defer { closeFD(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try sys("read", text(name)) { () -> Int in
                let rc = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                return rc >= 0 ? rc : -Int(errno)
            }
            if n == 0 { return out }
            out += buf[..<n]
        }
    }

    private static func linkTarget(_ dir: Int32, _ name: [UInt8]) throws(KernelError) -> [CChar] {
        var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let len = try HiddenScanner.cString(name) { n throws(KernelError) in
            try sys("readlinkat", text(name)) { gs_readlinkat(dir, n, &target, UInt(target.count)) }
        }
        return Array(target[..<Int(len)])
    }

    /// Removes `name` from `dir` with everything below it (after a verified copy).
    static func remove(_ dir: Int32, _ name: [UInt8]) throws(KernelError) {
        let st = try lstat(dir, name)
        if st.st_mode & S_IFMT == S_IFDIR {
            let fd = try openDirectory(dir, name)
            defer { closeFD(fd) }
            for child in try HiddenScanner.names(fd, text(name)) { try remove(fd, child) }
        }
        let flags = st.st_mode & S_IFMT == S_IFDIR ? AT_REMOVEDIR : 0
        try HiddenScanner.cString(name) { n throws(KernelError) in
            try sys("unlinkat", text(name)) { unlinkat(dir, n, flags) == 0 ? 0 : -errno }
        }
    }
}
