import FoundationEssentials
import CSQLite
import FileIO
import Glibc

/// The guard store: one SQLite file holding guards, their append-only history, runs and hook
/// results. The state machine (`GuardStateMachine`) is enforced here: `recordIntents` and
/// `settle` are the only ways to change a guard.
///
/// Not `Sendable` (it owns a `Database`); open one per task or process.
package final class GuardStore {
    package typealias Mode = Database.Mode

    package let path: String
    package let mode: Mode
    /// The connection, for raw SQL (tests, diagnostics). Writes through it bypass the state
    /// machine but not the schema's constraints and triggers.
    package let database: Database
    /// The schema version the file is at (read-only readers may query an older one as is).
    package internal(set) var schemaVersion = Schema.knownVersion
    /// The clock stamped on rows and events; replaceable for tests.
    package var clock: () -> Date = { Date() }

    private init(path: String, mode: Mode, database: Database) {
        self.path = path
        self.mode = mode
        self.database = database
    }

    package func close() { database.close() }

    /// `PRAGMA quick_check` of the whole file: empty when the store is sound, else the
    /// first problems SQLite reports. It reads every page, so `doctor` runs it, not every open.
    package func integrityProblems(limit: Int = 5) throws -> [String] {
        do {
            let rows = try database.rows("PRAGMA quick_check(\(max(1, limit)))") { $0.text(0) }
            return rows == ["ok"] ? [] : rows
        } catch let error as DatabaseError where error.primaryCode == SQLITE_CORRUPT || error.primaryCode == SQLITE_NOTADB {
            // Damage bad enough that the check itself cannot walk the file is a finding too.
            return [error.message]
        }
    }

    /// Opens the store at `path`.
    ///
    /// - A missing file is created (directory 0700, file 0600, whatever the umask) only when
    ///   `create` is true and `mode` is `.readWrite`; otherwise `StoreError.notFound`.
    /// - An existing file is checked before anything can write to it: its header bytes, then
    ///   its schema, application id and version. A file that
    ///   fails is refused with a `StoreError` and left byte-for-byte unchanged; an empty file
    ///   is refused too (only a file we create is initialized).
    /// - A store newer than this code is refused (`StoreError.futureSchema`); an older one is
    ///   migrated (read-write) one transaction per step.
    package static func open(path: String, mode: Mode = .readWrite, create: Bool = false,
                            busyTimeout: Duration = .seconds(5)) throws -> GuardStore {
        let path = canonicalStorePath(path)
        let timeout = Int32(clamping: busyTimeout.components.seconds * 1000
                            + busyTimeout.components.attoseconds / 1_000_000_000_000_000)
        try StoreTrust.check(storePath: path)
        var st = stat()
        if stat(path, &st) != 0 {
            let err = errno
            guard err == ENOENT else { throw StoreError.fileSystem(path: path, operation: "stat", errno: err) }
            guard create, mode == .readWrite else { throw StoreError.notFound(path: path) }
            try StoreFile.create(at: path) { db in try configureWriter(db, persistWAL: false) }
        }
        let (database, release) = try OpenStores.opening(OpenStores.fileID(path)) { alreadyOpen -> Database in
            // These open and close the files: only while this process has no connection to
            // them (whose locks that would drop, OpenStores). Before SQLite opens anything.
            if !alreadyOpen {
                try StoreFile.checkHeader(path: path)
                if mode == .readWrite { try StoreFile.giveCompanionsStoreMode(path) }
            }
            do {
                return try Database(path: path, mode: mode, immutable: mode == .readOnly && readerNeedsImmutable(path),
                                    busyTimeoutMilliseconds: timeout)
            } catch let error as DatabaseError {
                throw StoreError.notADatabase(path: path, reason: error.message)
            }
        }
        database.onClose = release
        if mode == .readWrite, sqlite3_db_readonly(database.handle, "main") == 1 {
            // SQLite silently falls back to read-only when the file is not writable.
            database.close()
            throw StoreError.readOnly(path: path)
        }
        let version: Int
        do {
            version = try validate(database, path: path)
            if mode == .readWrite {
                try configureWriter(database, persistWAL: true)
                try Schema.migrate(database, from: version)
            }
        } catch {
            database.close()
            throw error
        }
        let store = GuardStore(path: path, mode: mode, database: database)
        store.schemaVersion = mode == .readWrite ? Schema.knownVersion : version
        return store
    }

    /// What a writing command checks before it creates `<db>.lock` beside the store: the
    /// trust boundary, and that an existing file is a SQLite database at all, so no lock is
    /// ever left beside a file that is not a store (`--db /etc/passwd`).
    package static func checkBeforeLocking(path: String) throws {
        let path = canonicalStorePath(path)
        try StoreTrust.check(storePath: path)
        var st = stat()
        // A file this process has open was checked when it was opened (and closing an fd of
        // it now would drop that connection's locks, OpenStores).
        if lstat(path, &st) == 0 {
            try OpenStores.checking(path) { alreadyOpen in if !alreadyOpen { try StoreFile.checkHeader(path: path) } }
        }
    }

    /// Whether a reader must open the store `immutable=1` (issue 16): it cannot read the
    /// `-shm`, or cannot create the missing one (the directory is not writable to it), and
    /// there is no WAL content, so
    /// the main file alone is the whole store. Only stores never opened by a writer of this
    /// version lack the `-shm`: the writer keeps `-wal` and `-shm` (PERSIST_WAL) with the
    /// store's mode. A writer starting meanwhile first writes the `-wal`, which an immutable
    /// reader ignores: it sees the last checkpointed state, as any snapshot read would.
    static func readerNeedsImmutable(_ path: String) -> Bool {
        var st = stat()
        if lstat(path + "-wal", &st) == 0, st.st_size > 0 { return false }
        if lstat(path + "-shm", &st) == 0 { return access(path + "-shm", R_OK) != 0 }
        return errno == ENOENT && access(FileIO.parentDirectory(path), W_OK) != 0
    }

    /// Reads only: the schema, application id and version. Returns the version found.
    private static func validate(_ db: Database, path: String) throws -> Int {
        let appID: Int64, version: Int
        do {
            // No quick_check here: it would read the whole file on every command (BENCHMARKS.md).
            // The header check has already refused empty, truncated and foreign
            // files; damage deeper in surfaces as SQLITE_CORRUPT on access, and `doctor`
            // runs the full check (`integrityProblems()`). Reading the schema catches a file
            // SQLite cannot parse at all.
            _ = try db.int64("SELECT count(*) FROM sqlite_schema")
            appID = try db.int64("PRAGMA application_id") ?? 0
            version = Int(try db.int64("PRAGMA user_version") ?? 0)
        } catch let error as DatabaseError {
            // A read-only connection to a WAL store must map the -shm; when it is missing and the
            // directory is not writable SQLite reports CANTOPEN or READONLY(_CANTINIT…).
            if db.mode == .readOnly, error.primaryCode == SQLITE_CANTOPEN || error.primaryCode == SQLITE_READONLY {
                throw StoreError.cannotRead(
                    path: path, reason: "opened read-only, a WAL store needs its -wal and -shm files to exist "
                        + "or a writable directory (SQLite: \(error.message), code \(error.extendedCode))")
            }
            throw StoreError.notADatabase(path: path, reason: error.message)
        }
        guard appID == Schema.applicationID else {
            throw StoreError.notAGuardStore(path: path, reason: "application_id is \(appID)")
        }
        // Triggers run on root's writes, views on root's reads: only the schema's own.
        let foreign = try db.rows("SELECT type, name FROM sqlite_schema WHERE type IN ('trigger', 'view') ORDER BY name") {
            ($0.text(0), $0.text(1))
        }.filter { !Schema.ownTriggers.contains($0.1) || $0.0 != "trigger" }
        if let (type, name) = foreign.first {
            throw StoreError.untrusted(path: path, reason: "it holds a \(type) \"\(name)\" the schema did not create")
        }
        guard version <= Schema.knownVersion else {
            throw StoreError.futureSchema(path: path, found: version, known: Schema.knownVersion)
        }
        guard version > 0 else {
            throw StoreError.notAGuardStore(path: path, reason: "schema version 0")
        }
        // A reader cannot migrate; it can read any version whose tables are the current ones.
        if version < Schema.oldestReadableVersion, db.mode == .readOnly {
            throw StoreError.migrationNeeded(path: path, found: version, known: Schema.knownVersion)
        }
        return version
    }

    /// Settings of a writing connection; runs only after validation.
    private static func configureWriter(_ db: Database, persistWAL: Bool) throws {
        // WAL: readers never block the writer and vice versa. journal_mode is persistent in the
        // file, so it is switched once, not on every open.
        if try db.text("PRAGMA journal_mode") != "wal" {
            let mode = try db.text("PRAGMA journal_mode = WAL")
            guard mode == "wal" else {
                throw DatabaseError(extendedCode: SQLITE_ERROR, message: "cannot switch to WAL (got \(mode ?? "nil"))")
            }
        }
        // synchronous=FULL: a guard transition is a write-ahead record of a kernel action, so it
        // must be on disk when the call returns. In WAL mode NORMAL only syncs at checkpoints and
        // a power cut can drop the last commits; FULL fsyncs the WAL at every commit. Batching
        // (recordIntents/settle take N rows per transaction) keeps that to one fsync per batch.
        try db.execute("PRAGMA synchronous = FULL")
        // Bounds the WAL left on disk after checkpoints and at close.
        try db.execute("PRAGMA journal_size_limit = 1048576")
        // 1 MiB of page cache instead of SQLite's 2: a write touches only the index paths of
        // its rows, which stay cached; the other MiB was only peak memory (BENCHMARKS.md).
        try db.execute("PRAGMA cache_size = -1024")
        // Statement journals (every UPDATE of a table with triggers has one) in memory, not in
        // files under /var/tmp: a 1000-guard clear wrote 7,500 pages there (BENCHMARKS.md).
        try db.execute("PRAGMA temp_store = MEMORY")
        if persistWAL {
            // Keep -wal and -shm after the last connection closes: a reader that cannot write the
            // directory (non-root `hook-runner guards`) can open a WAL store only when they exist.
            var on: Int32 = 1
            _ = sqlite3_file_control(db.handle, "main", SQLITE_FCNTL_PERSIST_WAL, &on)
        }
    }

    func requireWritable() throws {
        if mode == .readOnly { throw StoreError.readOnly(path: path) }
    }

    var nowMilliseconds: Int64 { Self.milliseconds(clock()) }

    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    static func date(_ milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// Runs `body` in one write transaction (`BEGIN IMMEDIATE`): read the current state and
    /// change it with no other writer in between. Store calls inside join the transaction
    /// (as savepoints, unless `nestedSavepoints` is false: see `Database.writeTransaction`),
    /// and any error rolls back all of it.
    package func writeTransaction<T>(nestedSavepoints: Bool = true, _ body: () throws -> T) throws -> T {
        try requireWritable()
        return try database.writeTransaction(nestedSavepoints: nestedSavepoints, body)
    }

    /// Runs `body` on one consistent snapshot of the store.
    package func readTransaction<T>(_ body: () throws -> T) throws -> T {
        try database.readTransaction(body)
    }
}

/// The store's path with its directory resolved (symlinks, `..`): SQLite opens the store
/// with `SQLITE_OPEN_NOFOLLOW`, which refuses a symlink anywhere in the name, so a store
/// reached through a symlinked directory (a common `/var/lib` layout) is opened by its real
/// name. The directory's trust is checked on what it resolves to (`StoreTrust`); the store
/// file itself is never followed.
func canonicalStorePath(_ path: String) -> String {
    let absolute = FileIO.absolutePath(path)
    let directory = FileIO.parentDirectory(absolute)
    guard let name = FileIO.lastComponent(absolute), let real = realpath(directory, nil) else { return absolute }
    defer { free(real) }
    let resolved = String(cString: real)
    return (resolved == "/" ? "" : resolved) + "/" + name
}
