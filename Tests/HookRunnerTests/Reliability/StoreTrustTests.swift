import Foundation
import GuardTestSupport
import Testing
import Glibc

/// The store's trust boundary beyond the hostile-store table (RELIABILITY.md §3, §6): no lock
/// beside a file that is not a store, a stale run id, and queries by a user who is not root.
extension ReliabilityTests.HostileInput {
    static func env(_ dir: SandboxDirectory, _ db: String) -> [String: String] {
        ["PATH": safePath, "GUARD_HOOKS_DB": db, "GUARD_HOOKS_ALLOW_ROOTS": dir.path]
    }

    @Test(sandboxed) func noLockBesideAFileThatIsNotAStore() throws {
        let dir = try Sandbox.make("rel-nolock")
        defer { dir.cleanUp() }
        let etc = try dir.mkdir("etc")
        let passwd = etc + "/passwd"
        try Data("root:x:0:0:root:/root:/bin/sh\n".utf8).write(to: URL(fileURLWithPath: passwd))
        let target = try dir.mkdir("target")
        for db in [passwd, "/dev/null"] {
            let r = try runCommand([hookRunnerBinary, "apply", "--db", db, target], environment: Self.env(dir, db))
            #expect(r.status == 70, "\(db): exit \(r.status): \(r.stderr)")
            #expect(access(db + ".lock", F_OK) != 0, "\(db): a lock file was created beside it")
        }
        #expect(Sandbox.mountPoints(under: target).isEmpty)
    }

    @Test(sandboxed) func staleRunIDIsIgnoredWithAWarning() throws {
        let (dir, db) = try Self.storeSandbox("rel-runid")
        defer { dir.cleanUp() }
        try Self.realStore(dir, db)
        let target = try dir.mkdir("target")
        var env = Self.env(dir, db)
        env["GUARD_HOOKS_RUN_ID"] = "999"
        let r = try runCommand([hookRunnerBinary, "apply", target], environment: env)
        #expect(r.status == 0, "exit \(r.status): \(r.stderr)")
        #expect(r.stderr.contains("names no run"), "\(r.stderr)")
        #expect(r.stdout.contains("applied"), "\(r.stdout)")
        let c = try runCommand([hookRunnerBinary, "clear", target], environment: env)
        #expect(c.status == 0, "clear: exit \(c.status): \(c.stderr)")
    }

    /// Issue 16: a 0644 store in a root 0755 directory is readable by anyone, whether its
    /// `-wal`/`-shm` are missing, left 0600 by an older writer, or follow the store's mode.
    @Test(sandboxed) func nonRootQueriesOfAReadableStore() throws {
        let dir = try Sandbox.make("rel-reader")
        defer { dir.cleanUp() }
        let state = try dir.mkdir("state")
        let db = state + "/guards.db"
        let target = try dir.mkdir("target")
        chmod(dir.path, 0o755); chmod(state, 0o755)
        try #require(try runCommand([hookRunnerBinary, "apply", target], environment: Self.env(dir, db)).status == 0)
        chmod(db, 0o644)
        _ = try runCommand(["sqlite3", db, "PRAGMA wal_checkpoint(TRUNCATE)"])
        chmod(db + "-wal", 0o600); chmod(db + "-shm", 0o600)

        func query(_ what: String) throws {
            let r = try runCommand(Self.nobody + [hookRunnerBinary, "guards", "--json"], environment: Self.env(dir, db))
            #expect(r.status == 0, "\(what): exit \(r.status): \(r.stderr)")
            #expect(r.stdout.contains(target), "\(what): \(r.stdout)")
        }
        try query("-wal and -shm 0600")
        unlink(db + "-wal"); unlink(db + "-shm")
        try query("no -wal, no -shm")
        // A writer's open gives the companions the store's mode: a chmod of the store is followed.
        try #require(try runCommand([hookRunnerBinary, "reconcile"], environment: Self.env(dir, db)).status == 0)
        for suffix in ["-wal", "-shm"] {
            var st = stat()
            #expect(stat(db + suffix, &st) == 0 && st.st_mode & 0o777 == 0o644, "\(suffix) mode \(String(st.st_mode & 0o777, radix: 8))")
        }
        try query("-wal and -shm 0644")
    }
}
