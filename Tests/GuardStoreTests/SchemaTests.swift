import CSQLite
import Foundation
import GuardStore
import Testing

@Suite("Schema")
struct SchemaTests {
    @Test("a new store is migrated to the known version with WAL, FULL sync and foreign keys")
    func newStore() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            let db = store.database
            #expect(try db.int64("PRAGMA user_version") == Int64(GuardStoreVersion.schema))
            #expect(try db.int64("PRAGMA application_id") == 0x4748_4B53)
            #expect(try db.text("PRAGMA journal_mode") == "wal")
            #expect(try db.int64("PRAGMA synchronous") == 2)  // FULL
            #expect(try db.int64("PRAGMA foreign_keys") == 1)
            let tables = try db.rows("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name") { $0.text(0) }
            #expect(tables == ["claims", "events", "guards", "hook_results", "rescue_entries", "rescues", "runs"])
            // no temporary build file left beside the store
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { $0.hasPrefix("guards.db") })
        }
    }

    @Test("reopening a store migrates nothing and keeps its rows")
    func reopen() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            try makeGuard(store, path: "/mnt/a", at: .applied)
            store.close()
            let again = try GuardStore.open(path: "\(dir)/guards.db", mode: .readWrite, create: false)
            defer { again.close() }
            #expect(again.database.commitCount == 0)
            #expect(try again.outstandingGuards().map(\.path) == ["/mnt/a"])
        }
    }

    @Test("double quotes are identifiers, never string literals")
    func noDoubleQuotedStrings() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            #expect(throws: DatabaseError.self) { try store.database.execute("SELECT \"no such column\"") }
        }
    }

    @Test("the database itself allows one outstanding guard per path")
    func oneOutstandingPerPath() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            try makeGuard(store, path: "/mnt/a", at: .applied)
            try makeGuard(store, path: "/mnt/b", at: .cleared)
            let insert = """
                INSERT INTO guards (path, kind, lifetime, state, pending_action, boot_id, created_at, updated_at)
                VALUES (?, 'bind', 'transient', ?, ?, 'b', 0, 0)
                """
            let error = try #require(throws: DatabaseError.self) {
                try store.database.execute(insert, ["/mnt/a", "pending", "applying"])
            }
            #expect(error.extendedCode == DatabaseError.constraintUnique)
            #expect(error.sql == insert)
            // cleared rows do not count: a second cleared row and a new outstanding one are fine
            try store.database.execute(insert, ["/mnt/a", "cleared", SQLValue.null])
            try store.database.execute(insert, ["/mnt/b", "failed", SQLValue.null])
        }
    }

    @Test("events are append-only", arguments: ["UPDATE events SET reason = 'rewritten'", "DELETE FROM events"])
    func appendOnly(sql: String) throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            try makeGuard(store, path: "/mnt/a", at: .applied)
            let before = try snapshot(store.database)
            let error = try #require(throws: DatabaseError.self) { try store.database.execute(sql) }
            #expect(error.extendedCode == DatabaseError.constraintTrigger)
            #expect(error.message.contains("append-only"))
            #expect(try snapshot(store.database) == before)
        }
    }

    @Test("a cleared row cannot be revived through raw SQL")
    func clearedIsTerminal() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            let id = try makeGuard(store, path: "/mnt/a", at: .cleared)
            let error = try #require(throws: DatabaseError.self) {
                try store.database.execute("UPDATE guards SET state = 'applied' WHERE id = ?", [id])
            }
            #expect(error.extendedCode == DatabaseError.constraintTrigger)
        }
    }

    static let bogusRows: [String] = [
        "INSERT INTO guards (path, kind, lifetime, state, pending_action, boot_id, created_at, updated_at) VALUES ('/mnt/x', 'overlay', 'transient', 'applied', NULL, 'b', 0, 0)",
        "INSERT INTO guards (path, kind, lifetime, state, pending_action, boot_id, created_at, updated_at) VALUES ('/mnt/x', 'bind', 'forever', 'applied', NULL, 'b', 0, 0)",
        "INSERT INTO guards (path, kind, lifetime, state, pending_action, boot_id, created_at, updated_at) VALUES ('/mnt/x', 'bind', 'transient', 'guarded', NULL, 'b', 0, 0)",
        "INSERT INTO guards (path, kind, lifetime, state, pending_action, boot_id, created_at, updated_at) VALUES ('/mnt/x', 'bind', 'transient', 'pending', NULL, 'b', 0, 0)",
        "INSERT INTO guards (path, kind, lifetime, state, pending_action, boot_id, created_at, updated_at) VALUES ('/mnt/x', 'bind', 'transient', 'applied', 'applying', 'b', 0, 0)",
        "INSERT INTO guards (path, kind, lifetime, state, pending_action, boot_id, created_at, updated_at) VALUES ('/mnt/x', 'bind', 'transient', 'pending', 'sleeping', 'b', 0, 0)",
        "INSERT INTO guards (path, kind, lifetime, state, pending_action, boot_id, created_at, updated_at, mount_id_unique) VALUES ('/mnt/x', 'bind', 'transient', 'applied', NULL, 'b', 0, 0, 2)",
        "INSERT INTO events (guard_id, from_state, to_state, to_action, at, actor) VALUES (1, 'pending', 'applied', NULL, 0, 'x')",
        "INSERT INTO events (guard_id, from_state, to_state, to_action, at, actor) VALUES (1, NULL, 'bogus', NULL, 0, 'x')",
        "INSERT INTO events (guard_id, from_state, from_action, to_state, at, actor) VALUES (1, NULL, 'applying', 'applied', 0, 'x')",
        "INSERT INTO hook_results (run_id, seq, name, path, outcome) VALUES (1, 1, 'h', '/h', 'maybe')",
        "INSERT INTO runs (phase, dry_run, started_at, actor) VALUES ('p', 5, 0, 'x')",
    ]

    @Test("CHECK constraints reject bogus values through raw SQL", arguments: bogusRows)
    func checkConstraints(sql: String) throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            // a valid guard 1 and run 1, so only the CHECK can fail
            let run = try store.beginRun(phase: "p", targets: [], dryRun: false, actor: testActor)
            #expect(run == 1)
            #expect(try makeGuard(store, path: "/mnt/a", at: .applied) == 1)
            let error = try #require(throws: DatabaseError.self) { try store.database.execute(sql) }
            #expect(error.extendedCode == DatabaseError.constraintCheck, "\(error)")
        }
    }

    @Test("foreign keys are enforced: no event for a guard that does not exist")
    func foreignKeys() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            let error = try #require(throws: DatabaseError.self) {
                try store.database.execute(
                    "INSERT INTO events (guard_id, to_state, to_action, at, actor) VALUES (42, 'pending', 'applying', 0, 'x')")
            }
            #expect(error.extendedCode == DatabaseError.constraintForeignKey)
            #expect(throws: StoreError.unknownRun(id: 42)) {
                try store.recordHookResult(runID: 42, seq: 1, HookResultRecord(name: "h", path: "/h", outcome: .ok))
            }
        }
    }

    /// A v1 store (the current schema without v3's claims table, v4's run columns and v5's
    /// rescues, and with v2's dropped index `guards_by_state` recreated) is readable as is and
    /// migrated by the first writer, its rows intact.
    @Test("a version 1 store is read as is and migrated to the current version by the first writer")
    func migrationFromVersion1() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/guards.db"
            let store = try makeStore(dir)
            try makeGuard(store, path: "/mnt/a", at: .applied)
            try makeGuard(store, path: "/mnt/b", at: .cleared)
            let run = try store.beginRun(phase: "post-backup", targets: ["/mnt/a"], dryRun: false, actor: testActor)
            try store.finishRun(runID: run, exitCode: 0)
            store.close()
            let raw = try Database(path: path, mode: .readWrite)
            try raw.execute("CREATE INDEX guards_by_state ON guards(state)")
            try raw.execute("DROP TABLE claims")
            for column in ["interrupted_by", "pid", "pid_start"] { try raw.execute("ALTER TABLE runs DROP COLUMN \(column)") }
            try raw.executeScript("DROP TABLE rescue_entries; DROP TABLE rescues")
            try raw.execute("PRAGMA user_version = 1")
            raw.close()
            func indexes(_ db: Database) throws -> [String] {
                try db.rows("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'guards' AND sql IS NOT NULL ORDER BY name") { $0.text(0) }
            }

            let reader = try GuardStore.open(path: path, mode: .readOnly)
            #expect(try reader.database.int64("PRAGMA user_version") == 1)
            #expect(try reader.guards(state: .applied).map(\.path) == ["/mnt/a"])
            #expect(try reader.guards(state: .cleared).map(\.path) == ["/mnt/b"])
            // v4's run columns read as NULL on an old store
            #expect(try reader.runs().map { [$0.phase, "\($0.exitCode ?? -1)", "\($0.interruptedBy ?? -1)"] } == [["post-backup", "0", "-1"]])
            #expect(try reader.liveClaims().isEmpty)  // no claims table yet: read as none
            reader.close()

            let writer = try GuardStore.open(path: path)
            defer { writer.close() }
            #expect(try writer.database.int64("PRAGMA user_version") == Int64(GuardStoreVersion.schema))
            #expect(try indexes(writer.database) == ["guards_by_path", "guards_one_outstanding_per_path"])
            #expect(try writer.liveClaims().isEmpty)
            #expect(try writer.runs().map(\.pid) == [nil])
            #expect(try writer.outstandingGuards().map(\.path) == ["/mnt/a"])
            #expect(try writer.history(path: "/mnt/b").count == stepsTo(.cleared).count + 1)
            #expect(try writer.database.rows("PRAGMA integrity_check") { $0.text(0) } == ["ok"])
        }
    }

    @Test("a store from a newer GuardHooks is refused and left byte-for-byte unchanged",
          arguments: [Database.Mode.readWrite, .readOnly])
    func futureSchemaRefused(mode: Database.Mode) throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/guards.db"
            try makeStore(dir).close()
            let raw = try Database(path: path, mode: .readWrite)
            try raw.execute("PRAGMA user_version = \(GuardStoreVersion.schema + 1)")
            raw.close()
            let before = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(throws: StoreError.futureSchema(path: path, found: GuardStoreVersion.schema + 1,
                                                    known: GuardStoreVersion.schema)) {
                try GuardStore.open(path: path, mode: mode)
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        }
    }

    @Test("a SQLite database of another application is refused and left unchanged")
    func foreignDatabaseRefused() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/other.db"
            let raw = try Database(path: path, mode: .readWrite, create: true)
            try raw.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
            raw.close()
            let before = try directoryBytes(dir)
            #expect(throws: StoreError.notAGuardStore(path: path, reason: "application_id is 0")) {
                try GuardStore.open(path: path, mode: .readWrite)
            }
            #expect(try directoryBytes(dir) == before)
        }
    }

    @Test("runs and hook results round-trip, newest last, filtered by phase")
    func runsRoundTrip() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            var clock = Date(timeIntervalSince1970: 1_700_000_000)
            store.clock = { clock }
            let first = try store.beginRun(phase: "pre-restore", targets: ["/mnt/a", "/mnt/b"], dryRun: false, actor: testActor)
            let hook = HookResultRecord(name: "10-guard", path: "/etc/guard-hooks/hooks.d/10-guard", outcome: .failed,
                                        exitCode: 3, signal: nil, timedOut: true, startedAt: clock,
                                        finishedAt: clock.addingTimeInterval(1.5), outputTail: "tail\nend", reason: "exit 3")
            try store.recordHookResult(runID: first, seq: 1, hook)
            try store.recordHookResult(runID: first, seq: 2, HookResultRecord(name: "20-x", path: "/x", outcome: .skipped))
            clock = clock.addingTimeInterval(2)
            try store.finishRun(runID: first, exitCode: 1)
            let second = try store.beginRun(phase: "post-mount", targets: [], dryRun: true, actor: testActor)
            let third = try store.beginRun(phase: "pre-restore", targets: ["/mnt/c"], dryRun: false, actor: testActor)

            #expect(try store.runs().map(\.id) == [first, second, third])
            #expect(try store.runs(limit: 2).map(\.id) == [second, third])
            let pre = try store.runs(phase: "pre-restore")
            #expect(pre.map(\.id) == [first, third])
            #expect(pre[0].targets == ["/mnt/a", "/mnt/b"] && pre[0].exitCode == 1 && !pre[0].dryRun)
            #expect(pre[0].finishedAt == clock && pre[0].hooks.map(\.name) == ["10-guard", "20-x"])
            #expect(pre[0].hooks[0] == hook)
            #expect(try store.runs(phase: "pre-restore", limit: 1).map(\.id) == [third])
            let dry = try #require(try store.run(id: second))
            #expect(dry.targets.isEmpty && dry.dryRun && dry.finishedAt == nil && dry.exitCode == nil)
            #expect(throws: StoreError.unknownRun(id: 99)) { try store.finishRun(runID: 99, exitCode: 0) }
        }
    }
}
