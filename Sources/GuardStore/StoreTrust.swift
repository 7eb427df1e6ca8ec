import FileIO
import Glibc

/// The trust boundary of the store (issue 14, items 1 and 7; RELIABILITY.md §6). Root acts on
/// the store's word (it unmounts and clears flags the store lists), so as root every file
/// that decides what the store says must be writable by root alone: the store, its `-wal`,
/// `-shm` and lock, and the directory holding them. Any user who could write one of them
/// could make root act for them. Every file must also be a regular file, seen without
/// following symlinks, so a FIFO or a device never blocks or feeds a command.
package enum StoreTrust {
    /// The companion files SQLite and the lock keep beside the store.
    package static let companionSuffixes = ["-wal", "-shm", ".lock"]

    /// Checks the store's directory and whichever of the store and its companions exist.
    /// Reads only (`lstat`/`stat`); creates nothing.
    package static func check(storePath path: String) throws {
        let directory = FileIO.parentDirectory(path)
        var st = stat()
        if stat(directory, &st) == 0 {
            try requireRootOnly(directory, st, what: "store directory")
        }
        for file in [path] + companionSuffixes.map({ path + $0 }) {
            guard lstat(file, &st) == 0 else {
                let err = errno
                if err == ENOENT { continue }
                throw StoreError.fileSystem(path: file, operation: "lstat", errno: err)
            }
            try requireRegularFile(file, st)
            try requireRootOnly(file, st, what: "file")
        }
    }

    /// Refuses anything but a regular file: a symlink, a FIFO (which would block the open),
    /// a device or a directory.
    static func requireRegularFile(_ path: String, _ st: stat) throws {
        let kind = st.st_mode & S_IFMT
        guard kind != S_IFREG else { return }
        let name = switch kind {
        case S_IFLNK: "a symbolic link"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFCHR, S_IFBLK: "a device"
        case S_IFDIR: "a directory"
        default: "not a regular file"
        }
        throw StoreError.untrusted(path: path, reason: "is \(name), not a regular file")
    }

    /// As root (the only caller whose actions another user could hijack): owned by root and
    /// not writable by group or others, as cron and sshd require of their files.
    static func requireRootOnly(_ path: String, _ st: stat, what: String) throws {
        guard geteuid() == 0 else { return }
        if st.st_uid != 0 {
            throw StoreError.untrusted(path: path, reason: "the \(what) is owned by uid \(st.st_uid), not root")
        }
        if st.st_mode & (S_IWGRP | S_IWOTH) != 0 {
            throw StoreError.untrusted(
                path: path, reason: "the \(what) is writable by group or others (mode \(String(st.st_mode & 0o7777, radix: 8)))")
        }
    }

    /// Checks an open companion file (the lock) with `fstat`, after an `O_NOFOLLOW` open.
    package static func check(openFile fd: Int32, path: String) throws {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StoreError.fileSystem(path: path, operation: "fstat", errno: errno) }
        try requireRegularFile(path, st)
        try requireRootOnly(path, st, what: "file")
    }
}
