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

    /// Why every hook of `directory` is refused, or nil: the directory itself (by its fd)
    /// and every ancestor, since whoever can write an ancestor can swap the directory.
    static func directoryRefusal(_ directory: HooksDirectory) -> String? {
        var info = stat()
        guard fstat(directory.fd, &info) == 0 else { return "refused: cannot stat directory \(directory.path)" }
        if let why = ownershipProblem(info) { return "refused: directory \(directory.path) \(why)" }
        for ancestor in directory.ancestors {
            guard lstat(ancestor, &info) == 0 else { return "refused: cannot stat ancestor \(ancestor)" }
            // A root-owned sticky directory (/tmp) lets nobody else rename what root owns in
            // it, and the next component is checked to be root's: safe as an ancestor.
            let rootSticky = info.st_uid == 0 && info.st_mode & S_ISVTX != 0
            if !rootSticky, let why = ownershipProblem(info) {
                return "refused: ancestor \(ancestor) of the hooks directory \(why)"
            }
        }
        return nil
    }

    private static func ownershipProblem(_ info: stat) -> String? {
        if info.st_uid != 0 { return "is owned by uid \(info.st_uid)" }
        if info.st_mode & S_IWOTH != 0 { return "is world-writable" }
        if info.st_mode & S_IWGRP != 0 { return "is group-writable" }
        return nil
    }

    /// The name, inside `directory` (already resolved), of the file the symlink at `path`
    /// resolves to; nil when it resolves anywhere else. Only then did the directory check
    /// vouch for it.
    static func resolvedEntryName(_ path: String, directory: String?) -> String? {
        guard let directory, let target = realPath(path),
              let slash = target.utf8.lastIndex(of: UInt8(ascii: "/")) else { return nil }
        let parent = slash == target.utf8.startIndex ? "/" : String(target[..<slash])
        return parent == directory ? String(target[target.utf8.index(after: slash)...]) : nil
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The first `limit` bytes of entry `name` of a directory fd (empty when it cannot be
    /// read: no header then).
    static func readPrefix(_ directory: Int32, _ name: String, upTo limit: Int) -> [UInt8] {
        let fd = openat(directory, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
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
