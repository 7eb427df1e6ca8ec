import Glibc

/// Cron's rule for files root will execute: root-owned and writable by nobody else, in a
/// directory that is root-owned and writable by nobody else. Otherwise any user who can
/// write the file or swap it in the directory gets root when a backup runs.
enum HookSecurity {
    /// Why a hook file (already `stat`ed, symlinks followed) is refused, or nil.
    static func fileRefusal(_ info: stat) -> String? {
        if info.st_uid != 0 { return "refused: owned by uid \(info.st_uid)" }
        if info.st_mode & S_IWOTH != 0 { return "refused: world-writable" }
        if info.st_mode & S_IWGRP != 0 { return "refused: group-writable" }
        return nil
    }

    /// Why every hook of `directory` is refused, or nil.
    static func directoryRefusal(_ directory: String) -> String? {
        var info = stat()
        guard stat(directory, &info) == 0 else { return "refused: cannot stat directory \(directory)" }
        if info.st_uid != 0 { return "refused: directory \(directory) is owned by uid \(info.st_uid)" }
        if info.st_mode & S_IWOTH != 0 { return "refused: directory \(directory) is world-writable" }
        if info.st_mode & S_IWGRP != 0 { return "refused: directory \(directory) is group-writable" }
        return nil
    }

    /// Whether the symlink at `path` resolves to an entry directly inside `directory`
    /// (itself already resolved). Only then did the directory check above vouch for it.
    static func resolvesDirectlyInside(_ path: String, directory: String?) -> Bool {
        guard let directory, let target = realPath(path),
              let slash = target.utf8.lastIndex(of: UInt8(ascii: "/")) else { return false }
        let parent = slash == target.utf8.startIndex ? "/" : String(target[..<slash])
        return parent == directory
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The first `limit` bytes of a file (empty when it cannot be read: no header then).
    static func readPrefix(_ path: String, upTo limit: Int) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: limit)
        var filled = 0
        while filled < limit {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, limit - filled) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            filled += n
        }
        return Array(buffer.prefix(filled))
    }
}
