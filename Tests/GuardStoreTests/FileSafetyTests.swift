import CSQLite
import Foundation
import GuardStore
import GuardTestSupport
import Testing
import Glibc

/// Ways an existing file can be something other than a store, and how to make each one.
enum BadFile: String, CaseIterable, CustomTestStringConvertible {
    case randomBytes, empty, headerOnly, truncatedToHalf, truncatedMidPage

    var testDescription: String { rawValue }

    /// Writes the bad file at `path` (`dir` may hold a real store to copy from).
    func make(at path: String, dir: String) throws {
        switch self {
        case .randomBytes:
            var rng = SplitMix64.seeded(for: "BadFile.randomBytes")
            try Data(rng.bytes(8192)).write(to: URL(fileURLWithPath: path))
        case .empty:
            try Data().write(to: URL(fileURLWithPath: path))
        case .headerOnly:
            try Data(Array("SQLite format 3".utf8) + [0] + [UInt8](repeating: 0, count: 84))
                .write(to: URL(fileURLWithPath: path))
        case .truncatedToHalf, .truncatedMidPage:
            // A real store with some rows, cleanly closed, copied and cut.
            let source = "\(dir)/source.db"
            let store = try GuardStore.open(path: source, create: true)
            for i in 0..<40 { try makeGuard(store, path: "/mnt/p\(i)", at: .applied) }
            store.close()
            var bytes = try Data(contentsOf: URL(fileURLWithPath: source))
            let cut = self == .truncatedToHalf ? bytes.count / 2 : bytes.count / 2 + 100
            bytes = bytes.prefix(cut)
            try bytes.write(to: URL(fileURLWithPath: path))
            for suffix in ["", "-wal", "-shm"] { unlink(source + suffix) }
        }
    }
}

@Suite("Store files")
struct FileSafetyTests {
    @Test("a file that is not a whole SQLite database is refused and left byte-for-byte unchanged",
          arguments: BadFile.allCases, [Database.Mode.readWrite, .readOnly])
    func badFileRefused(bad: BadFile, mode: Database.Mode) throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/guards.db"
            try bad.make(at: path, dir: dir)
            let before = try directoryBytes(dir)
            let error = try #require(throws: StoreError.self) {
                try GuardStore.open(path: path, mode: mode, create: true)
            }
            guard case .notADatabase(let reportedPath, let reason) = error else {
                Issue.record("expected notADatabase, got \(error)")
                return
            }
            #expect(reportedPath == path)
            #expect(!reason.isEmpty)
            // same names, same bytes: not even a -wal or -shm appeared
            #expect(try directoryBytes(dir) == before)
        }
    }

    @Test("a missing store is never created unless asked, and never read-only")
    func missingNotCreated() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/sub/guards.db"
            #expect(throws: StoreError.notFound(path: path)) { try GuardStore.open(path: path, create: false) }
            #expect(throws: StoreError.notFound(path: path)) { try GuardStore.open(path: path, mode: .readOnly, create: true) }
            let left = try FileManager.default.contentsOfDirectory(atPath: dir)
            #expect(left.isEmpty)
        }
    }

    @Test("a new store is 0600 in a 0700 directory whatever the umask",
          .serialized, arguments: [mode_t(0o022), 0o000, 0o077])
    func permissions(mask: mode_t) throws {
        try withTemporaryDirectory { dir in
            let old = umask(mask)
            defer { umask(old) }
            let path = "\(dir)/var/lib/guard-hooks/guards.db"
            let store = try GuardStore.open(path: path, create: true)
            try makeGuard(store, path: "/mnt/a", at: .applied)
            #expect(fileMode("\(dir)/var/lib/guard-hooks") == 0o700)
            #expect(fileMode(path) == 0o600)
            #expect(fileMode(path + "-wal") == 0o600)
            #expect(fileMode(path + "-shm") == 0o600)
            store.close()
            #expect(fileMode(path) == 0o600)
        }
    }

    @Test("a read-only store in a read-only directory answers queries and refuses writes cleanly")
    func readOnlyStore() throws {
        try withTemporaryDirectory { dir in
            let storeDir = "\(dir)/store"
            let path = "\(storeDir)/guards.db"
            let store = try GuardStore.open(path: path, create: true)
            try makeGuard(store, path: "/mnt/a", at: .applied)
            try makeGuard(store, path: "/mnt/b", at: .cleared)
            store.close()
            #expect(chmod(path, 0o400) == 0 && chmod(storeDir, 0o500) == 0)
            let before = try directoryBytes(storeDir)

            let reader = try GuardStore.open(path: path, mode: .readOnly)
            #expect(try reader.outstandingGuards().map(\.path) == ["/mnt/a"])
            #expect(try reader.history(path: "/mnt/b").map(\.to) == [.applying, .cleared])
            let raw = try #require(throws: DatabaseError.self) {
                try reader.database.execute("DELETE FROM guards")
            }
            #expect(raw.primaryCode == SQLITE_READONLY)
            #expect(throws: StoreError.readOnly(path: path)) {
                try reader.settle([GuardTransition(guardID: 1, to: .cleared)], runID: nil, actor: testActor)
            }
            #expect(throws: StoreError.readOnly(path: path)) {
                try reader.recordIntents([intent("/mnt/c")], runID: nil, actor: testActor)
            }
            reader.close()
            #expect(try directoryBytes(storeDir)[("guards.db")] == before["guards.db"])
        }
    }

    @Test("an unprivileged process that cannot write the file or directory still reads the store",
          .enabled(if: geteuid() == 0, "needs root to hand the store to uid 65534"),
          arguments: [true, false])
    func unprivilegedReader(keepSideFiles: Bool) throws {
        try withTemporaryDirectory { dir in
            let storeDir = "\(dir)/store"
            let path = "\(storeDir)/guards.db"
            let store = try GuardStore.open(path: path, create: true)
            try makeGuard(store, path: "/mnt/a", at: .applied)
            try makeGuard(store, path: "/mnt/b", at: .failed)
            store.close()
            if !keepSideFiles {
                // As after a copy without them: then a reader has no -shm to map and no right
                // to create one; the main file is the whole store, which it reads as is.
                #expect(unlink(path + "-wal") == 0 && unlink(path + "-shm") == 0)
            }
            // nobody may traverse /tmp/… and read the files, but write nothing
            #expect(chmod(dir, 0o755) == 0)
            for file in try FileManager.default.contentsOfDirectory(atPath: storeDir) {
                #expect(chown("\(storeDir)/\(file)", 65534, 65534) == 0)
                #expect(chmod("\(storeDir)/\(file)", 0o400) == 0)
            }
            #expect(chown(storeDir, 65534, 65534) == 0 && chmod(storeDir, 0o500) == 0)
            let before = try directoryBytes(storeDir)
            let result = try runCommand([stressExecutable, "read-as-nobody", path])
            // Without them (and no WAL content) the reader opens the file immutable (issue 16).
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.split(separator: "\n") == [
                "outstanding 2", "raw write refused \(SQLITE_READONLY)", "store write refused",
            ])
            #expect(try directoryBytes(storeDir) == before)
        }
    }
}
