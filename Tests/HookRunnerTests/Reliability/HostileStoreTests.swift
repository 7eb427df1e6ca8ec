import Foundation
import GuardHooks
import GuardStore
import GuardTestSupport
import Testing
import Glibc

/// Hostile stores (RELIABILITY.md §3): where the store cannot record an intent, the kernel
/// must not be touched, and a store that cannot be read is reported, never recreated over.
extension ReliabilityTests.HostileInput {
    struct StoreCase {
        var name: String
        var status: Int32
        var message: String
        /// The store's bytes must stay as they were (nil: not compared, e.g. root ignores 0400).
        var bytesUnchanged = true
        /// The target may be guarded (the store works) or must not be.
        var guards = false
        var prefix: [String] = []
        var args: [String] = ["apply"]
        /// Makes the hostile store at `db` (its directory exists).
        var make: (_ dir: SandboxDirectory, _ db: String) throws -> Void
    }

    static let nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

    static func realStore(_ dir: SandboxDirectory, _ db: String, guards n: Int = 3) throws {
        let env = ["PATH": safePath, "GUARD_HOOKS_DB": db, "GUARD_HOOKS_ALLOW_ROOTS": dir.path]
        let ts = try (0..<n).map { try dir.mkdir("old\($0)") }
        try #require(try runCommand([hookRunnerBinary, "apply"] + ts, environment: env).status == 0)
        try #require(try runCommand([hookRunnerBinary, "clear"] + ts, environment: env).status == 0)
        // Fold the WAL into the main file so the file alone is the whole store.
        _ = try runCommand(["sqlite3", db, "PRAGMA wal_checkpoint(TRUNCATE)"])
    }

    /// A sandbox with a `state` directory for the store; the store's path is returned.
    static func storeSandbox(_ name: String) throws -> (SandboxDirectory, String) {
        let dir = try Sandbox.make(name)
        try dir.mkdir("state")
        return (dir, dir.sub("state/guards.db"))
    }

    static func storeCases() -> [StoreCase] {
        [
            StoreCase(name: "empty file: not a guard store", status: 70, message: "guards.db") { _, db in
                _ = FileManager.default.createFile(atPath: db, contents: Data())
            },
            StoreCase(name: "random bytes", status: 70, message: "guards.db") { _, db in
                var rng = SplitMix64.seeded(for: "ReliabilityTests.HostileInput.hostileStoreGetsItsCataloguedAnswer(random bytes)")
                _ = FileManager.default.createFile(atPath: db, contents: Data(rng.bytes(8192)))
            },
            StoreCase(name: "SQLite header then garbage", status: 70, message: "guards.db") { _, db in
                var rng = SplitMix64.seeded(for: "ReliabilityTests.HostileInput.hostileStoreGetsItsCataloguedAnswer(SQLite header then garbage)")
                var d = Data("SQLite format 3\0".utf8)
                d.append(Data(rng.bytes(4080)))
                _ = FileManager.default.createFile(atPath: db, contents: d)
            },
            StoreCase(name: "truncated database (half)", status: 70, message: "guards.db") { dir, db in
                try realStore(dir, db, guards: 40)
                let size = try FileManager.default.attributesOfItem(atPath: db)[.size] as! Int
                truncate(db, off_t(size / 2))
            },
            StoreCase(name: "truncated database (100 bytes)", status: 70, message: "guards.db") { dir, db in
                try realStore(dir, db)
                truncate(db, 100)
            },
            StoreCase(name: "another application's SQLite database", status: 70, message: "not a GuardHooks store") { _, db in
                _ = try runCommand(["sqlite3", db, "CREATE TABLE t(x); INSERT INTO t VALUES (1);"])
            },
            StoreCase(name: "schema from the future (user_version=99)", status: 70, message: "newer") { dir, db in
                try realStore(dir, db)
                _ = try runCommand(["sqlite3", db, "PRAGMA user_version=99"])
            },
            StoreCase(name: "store path is a directory", status: 70, message: "guards.db") { _, db in
                try FileManager.default.createDirectory(atPath: db, withIntermediateDirectories: false)
            },
            StoreCase(name: "lock file is a directory", status: 70, message: "lock") { dir, db in
                try realStore(dir, db)
                try FileManager.default.removeItem(atPath: db + ".lock")
                try FileManager.default.createDirectory(atPath: db + ".lock", withIntermediateDirectories: false)
            },
            StoreCase(name: "read-only file 0400 as root: root ignores the mode", status: 0, message: "applied",
                      bytesUnchanged: false, guards: true) { dir, db in
                try realStore(dir, db)
                chmod(db, 0o400)
            },
            StoreCase(name: "read-only directory 0500 as root: root ignores the mode", status: 0, message: "applied",
                      bytesUnchanged: false, guards: true) { dir, db in
                try realStore(dir, db)
                chmod(dir.sub("state"), 0o500)
            },
            StoreCase(name: "store on a read-only mount", status: 70, message: "guards.db") { dir, db in
                try realStore(dir, db)
                try #require(try runCommand(["mount", "--bind", "-o", "ro", dir.sub("state"), dir.sub("state")]).status == 0)
            },
            StoreCase(name: "0400 store as uid 65534: apply not permitted", status: 77, message: "run it as root",
                      prefix: nobody) { dir, db in
                try realStore(dir, db)
                chmod(db, 0o400)
            },
            StoreCase(name: "unreadable 0600 store as uid 65534: guards is an error", status: 70, message: "guards.db",
                      prefix: nobody, args: ["guards"]) { dir, db in
                try realStore(dir, db)
                chmod(dir.path, 0o755); chmod(dir.sub("state"), 0o755)
            },
            StoreCase(name: "full filesystem, no store yet", status: 70, message: "guards.db") { dir, db in
                try fullTmpfs(dir.sub("state"))
            },
            StoreCase(name: "full filesystem, existing store", status: 70, message: "guards.db",
                      args: ["apply", "--label", String(repeating: "L", count: 2000)]) { dir, db in
                try realStore(dir, db)
                let copy = try Data(contentsOf: URL(fileURLWithPath: db))
                try FileManager.default.removeItem(atPath: db)
                try? FileManager.default.removeItem(atPath: db + "-wal")
                try? FileManager.default.removeItem(atPath: db + "-shm")
                try fullTmpfs(dir.sub("state"), keep: copy.count + 64 * 1024)
                try copy.write(to: URL(fileURLWithPath: db))
                try fill(dir.sub("state"))
            },
            // The trust boundary (issue 14, items 1 and 7): root refuses what another user could write.
            StoreCase(name: "store directory 0777", status: 70, message: "writable by group or others") { dir, db in
                try realStore(dir, db)
                chmod(dir.sub("state"), 0o777)
            },
            StoreCase(name: "store swapped in by uid 65534 through a 0777 directory", status: 70,
                      message: "writable by group or others", bytesUnchanged: false) { dir, db in
                try realStore(dir, db)
                chmod(dir.path, 0o755); chmod(dir.sub("state"), 0o777); chmod(db, 0o644)
                let swap = try runCommand(nobody + ["sh", "-c", "cp \"$1\" \"$1.x\" && mv -f \"$1.x\" \"$1\"", "sh", db])
                try #require(swap.status == 0, "\(swap.stderr)")
            },
            StoreCase(name: "store owned by uid 65534", status: 70, message: "owned by uid 65534") { dir, db in
                try realStore(dir, db)
                chown(db, 65534, 65534)
            },
            StoreCase(name: "group-writable store 0660", status: 70, message: "writable by group or others") { dir, db in
                try realStore(dir, db)
                chmod(db, 0o660)
            },
            StoreCase(name: "-wal owned by uid 65534", status: 70, message: "guards.db-wal") { dir, db in
                try realStore(dir, db)
                _ = FileManager.default.createFile(atPath: db + "-wal", contents: Data())
                chown(db + "-wal", 65534, 65534)
            },
            StoreCase(name: "-shm world-writable", status: 70, message: "guards.db-shm") { dir, db in
                try realStore(dir, db)
                _ = FileManager.default.createFile(atPath: db + "-shm", contents: Data())
                chmod(db + "-shm", 0o666)
            },
            StoreCase(name: "lock file owned by uid 65534", status: 70, message: "owned by uid 65534") { dir, db in
                try realStore(dir, db)
                chown(db + ".lock", 65534, 65534)
            },
            StoreCase(name: "store is a symlink to a real store", status: 70, message: "symbolic link") { dir, db in
                try realStore(dir, dir.sub("state/real.db"))
                symlink(dir.sub("state/real.db"), db)
            },
            StoreCase(name: "-wal is a symlink", status: 70, message: "symbolic link") { dir, db in
                try realStore(dir, db)
                unlink(db + "-wal")
                symlink("/etc/passwd", db + "-wal")
            },
            StoreCase(name: "a trigger the schema did not create", status: 70, message: "trigger \"evil\"") { dir, db in
                try realStore(dir, db)
                _ = try runCommand(["sqlite3", db, "CREATE TRIGGER evil AFTER INSERT ON events BEGIN SELECT 1; END;"])
            },
            StoreCase(name: "a view the schema did not create", status: 70, message: "view \"v\"") { dir, db in
                try realStore(dir, db)
                _ = try runCommand(["sqlite3", db, "CREATE VIEW v AS SELECT 1"])
            },
            // A FIFO would block open(2) for ever; `timeout` bounds a regression to exit 124.
            StoreCase(name: "FIFO at the store path", status: 70, message: "FIFO",
                      prefix: ["timeout", "30"]) { _, db in
                mkfifo(db, 0o600)
            },
            StoreCase(name: "FIFO at the store path, guards", status: 70, message: "FIFO",
                      prefix: ["timeout", "30"], args: ["guards"]) { _, db in
                mkfifo(db, 0o600)
            },
            StoreCase(name: "FIFO at the lock path", status: 70, message: "FIFO", prefix: ["timeout", "30"]) { dir, db in
                try realStore(dir, db)
                unlink(db + ".lock")
                mkfifo(db + ".lock", 0o600)
            },
            StoreCase(name: "--db ''", status: 64, message: "--db", bytesUnchanged: false, args: ["apply", "--db", ""]) { _, _ in },
        ]
    }

    /// A tiny tmpfs at `path`, filled to the last byte with dd (leaving `keep` bytes for a copy first).
    static func fullTmpfs(_ path: String, keep: Int = 0) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let size = max(256 * 1024, keep + 128 * 1024)
        try #require(try runCommand(["mount", "-t", "tmpfs", "-o", "size=\(size),mode=0700", "full", path]).status == 0)
        if keep == 0 { try fill(path) }
    }

    static func fill(_ path: String) throws {
        _ = try runCommand(["dd", "if=/dev/zero", "of=\(path)/filler", "bs=4k"])
        _ = try runCommand(["dd", "if=/dev/zero", "of=\(path)/filler2", "bs=1"])
    }

    /// The name of every hostile store case; a test case looks its case up by name.
    static let storeCaseNames = storeCases().map(\.name)

    @Test func everyStoreCaseHasANameOfItsOwn() {
        #expect(Set(Self.storeCaseNames).count == Self.storeCaseNames.count, "two store cases share a name")
        report("hostile: store cases=\(Self.storeCaseNames.count)")
    }

    /// A hostile store gets its catalogued exit and message, its bytes stay as they were,
    /// and the target is guarded only where the store works.
    @Test(sandboxed, arguments: storeCaseNames) func hostileStoreGetsItsCataloguedAnswer(_ name: String) throws {
        let c = try #require(Self.storeCases().first { $0.name == name })
        let (dir, db) = try Self.storeSandbox("rel-store")
        defer { dir.cleanUp() }
        try c.make(dir, db)
        let target = try dir.mkdir("target")
        let before = FileManager.default.contents(atPath: db)
        let mountsBefore = Sandbox.mountPoints(under: dir.path)
        chmod(dir.path, 0o755)
        let env = ["PATH": safePath, "GUARD_HOOKS_DB": db, "GUARD_HOOKS_ALLOW_ROOTS": dir.path]
        let r = try runCommand(c.prefix + [hookRunnerBinary] + c.args + (c.args == ["guards"] ? [] : [target]),
                               environment: env)
        let out = r.stdout + r.stderr
        if r.status != c.status || !out.contains(c.message) { report("hostile: FAILING store case \(c.name)") }
        #expect(r.status == c.status, "\(c.name): exit \(r.status): \(out)")
        #expect(out.contains(c.message), "\(c.name): lacks \(c.message.debugDescription): \(out)")
        if c.bytesUnchanged {
            #expect(FileManager.default.contents(atPath: db) == before, "\(c.name): the store's bytes changed")
        }
        let guarded = try Sandbox.mountPoints(under: target).count > 0 || (try lsattr(target).contains("i"))
        #expect(guarded == c.guards, "\(c.name): target guarded=\(guarded)")
        if !c.guards {
            #expect(Sandbox.mountPoints(under: dir.path) == mountsBefore, "\(c.name): mounts changed")
        }
    }
}
