import Foundation
import GuardStore
import GuardTestSupport
import Testing
import Glibc

/// POSIX record locks belong to the process: closing *any* fd of a file drops every lock the
/// process holds on it. SQLite keeps its own fds open for that reason. Opening a second
/// connection in a process that already has one (the Swift API: a `SwiftHook` applying guards
/// while `runPhase` records the run; `withGuards` inside a run) must not open and close the
/// store or its `-shm` behind SQLite's back, or the first connection silently loses its
/// locks: another process may then checkpoint over the WAL frames it is reading, or take the
/// store for unused and truncate its WAL.
@Suite("Store locks with two connections in one process")
struct SameProcessLockTests {
    /// The POSIX locks this process holds on `inode`, as /proc/locks lists them.
    static func posixLocks(onInode inode: UInt64) throws -> [String] {
        let me = getpid()
        return try String(contentsOfFile: "/proc/locks", encoding: .utf8).split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            // "1: POSIX  ADVISORY  READ 1234 00:1f:5678 1073741826 1073742335"
            guard f.count >= 8, f[1] == "POSIX", Int32(f[4]) == me,
                  f[5].split(separator: ":").last.flatMap({ UInt64($0) }) == inode else { return nil }
            return "\(f[3]) \(f[6])-\(f[7])"
        }.sorted()
    }

    static func inode(_ path: String) -> UInt64 {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_ino) : 0
    }

    @Test("opening a second connection keeps the first one's locks on the store and its -shm",
          arguments: [GuardStore.Mode.readWrite, .readOnly])
    func aSecondOpenKeepsTheFirstConnectionsLocks(_ secondMode: GuardStore.Mode) throws {
        try withTemporaryDirectory { dir in
            let first = try makeStore(dir)
            defer { first.close() }
            try makeGuard(first, path: "/mnt/x", at: .applied)
            let path = "\(dir)/guards.db"
            try first.readTransaction {
                _ = try first.allGuards()  // a read transaction: a WAL read lock on the -shm
                let held = (try Self.posixLocks(onInode: Self.inode(path)), try Self.posixLocks(onInode: Self.inode(path + "-shm")))
                #expect(!held.0.isEmpty, "SQLite holds a lock on the store while a connection reads")
                #expect(!held.1.isEmpty, "and a read mark on the -shm")
                let second = try GuardStore.open(path: path, mode: secondMode)
                second.close()
                try GuardStore.checkBeforeLocking(path: path)  // what a writing command checks first
                let after = (try Self.posixLocks(onInode: Self.inode(path)), try Self.posixLocks(onInode: Self.inode(path + "-shm")))
                #expect(after.0 == held.0, "the store's locks after a second open and close")
                #expect(after.1 == held.1, "the -shm's locks after a second open and close")
            }
        }
    }

    /// The header is still checked for every file this process has no connection to: another
    /// store, and the same one once its last connection here is closed.
    @Test func otherFilesAndClosedStoresAreStillChecked() throws {
        try withTemporaryDirectory { dir in
            let first = try makeStore(dir)
            let path = "\(dir)/guards.db", other = "\(dir)/other.db"
            #expect(FileManager.default.createFile(atPath: other, contents: Data("not a store".utf8),
                                                   attributes: [.posixPermissions: 0o600]))
            #expect(throws: StoreError.self) { try GuardStore.open(path: other, mode: .readOnly) }
            #expect(throws: StoreError.self) { try GuardStore.checkBeforeLocking(path: other) }
            first.close()
            // Damaged while no connection of ours is open: refused again.
            let fd = open(path, O_WRONLY)
            #expect(fd >= 0 && ftruncate(fd, 1000) == 0)
            close(fd)
            #expect(throws: StoreError.self) { try GuardStore.open(path: path, mode: .readOnly) }
        }
    }
}
