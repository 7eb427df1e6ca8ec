import Glibc
import Synchronization

/// The store files this process has open through SQLite, by device and inode.
///
/// POSIX record locks belong to the process: closing *any* fd of a file drops every lock the
/// process holds on it. SQLite keeps its own fds open for that reason, but our checks before
/// an open (`StoreFile.checkHeader`, `giveCompanionsStoreMode`) open and close the store and
/// its `-wal`/`-shm`. In a process that already has a connection (the Swift API: a
/// `SwiftHook` applying guards while `runPhase` records the run) that silently dropped the
/// first connection's locks: its read mark on the `-shm` (another process's checkpoint could
/// then overwrite WAL frames it was reading) and its shared lock on the store (another
/// process could take the store for unused and truncate the WAL). So the checks run only
/// while this process has no connection to the file (it was checked when the first one was
/// opened), and opens are serialised so a connection cannot appear during a check.
enum OpenStores {
    struct FileID: Hashable { let device: UInt64; let inode: UInt64 }

    private static let open = Mutex<[FileID: Int]>([:])

    static func fileID(_ path: String) -> FileID? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    /// Runs `body` (the checks and the open of a connection) with no other open of a store in
    /// this process under way; `alreadyOpen`: this process has a connection to the file. The
    /// connection `body` returns is counted until the returned closure runs (at its close).
    static func opening<T>(_ id: FileID?, _ body: (_ alreadyOpen: Bool) throws -> T) throws -> (T, release: (@Sendable () -> Void)?) {
        try open.withLock { (counts: inout [FileID: Int]) throws -> (T, release: (@Sendable () -> Void)?) in
            guard let id else { return (try body(false), nil) }
            let result = try body(counts[id, default: 0] > 0)
            counts[id, default: 0] += 1
            let release: @Sendable () -> Void = {
                open.withLock { counts in
                    counts[id, default: 1] -= 1
                    if counts[id] == 0 { counts[id] = nil }
                }
            }
            return (result, release)
        }
    }

    /// Runs `body` (a check that opens and closes the file) with no open of a store under way;
    /// `alreadyOpen` as with `opening`. Nothing is counted.
    static func checking(_ path: String, _ body: (_ alreadyOpen: Bool) throws -> Void) throws {
        let id = fileID(path)
        try open.withLock { (counts: inout [FileID: Int]) throws in
            try body(id.map { counts[$0, default: 0] > 0 } ?? false)
        }
    }
}
