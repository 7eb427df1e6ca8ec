import CSQLite
import FileIO
import Glibc

/// One SQLite connection, modelled on GRDB's `Database`: explicit open flags, safe defaults,
/// a prepared-statement cache keyed by SQL, and transactions that roll back on any error.
///
/// Not `Sendable`: a connection is confined to one isolation domain by the type system, which
/// is why it is opened `SQLITE_OPEN_NOMUTEX` (no per-call mutex needed).
package final class Database {
    package enum Mode: Sendable, Hashable { case readWrite, readOnly }

    let handle: OpaquePointer
    package let path: String
    package let mode: Mode
    private var cache: [SQLKey: Statement] = [:]
    private var transactionDepth = 0
    private var transactionIsWrite = false
    /// Whether nested write transactions become savepoints (see `writeTransaction`).
    private var nestedSavepoints = true
    private var isClosed = false
    /// Number of write transactions committed on this connection (counted by `sqlite3_commit_hook`),
    /// so tests can check that a batch costs one transaction.
    package private(set) var commitCount = 0
    /// Runs once when the connection is closed (`OpenStores` uncounts it).
    var onClose: (() -> Void)?
    private var traceObserver: ((String) -> Void)?

    /// Opens `path` with explicit flags. `create` adds `SQLITE_OPEN_CREATE` (read-write only).
    /// No `SQLITE_OPEN_URI`, and the path is made absolute, so a name like `file:x?mode=…`
    /// is never interpreted as a URI even when the library enables URIs globally.
    /// `immutable` (read-only only) opens through the `immutable=1` URI: no locks, no `-shm`;
    /// for a file nothing can be writing (GuardStore's reader fallback says when).
    package init(path: String, mode: Mode, create: Bool = false, immutable: Bool = false,
                busyTimeoutMilliseconds: Int32 = 5_000) throws {
        _ = Database.libraryConfigured
        let absolute = FileIO.absolutePath(path)
        // NOFOLLOW: SQLite refuses a symlinked database file itself (the store's trust check).
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOFOLLOW
        switch mode {
        case .readWrite: flags |= SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0)
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        }
        var name = absolute
        if immutable, mode == .readOnly {
            flags |= SQLITE_OPEN_URI
            name = "file:" + Self.uriEscaped(absolute) + "?immutable=1"
        }
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(name, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(db)
            throw DatabaseError(extendedCode: rc, message: "cannot open \(absolute): \(message)")
        }
        self.handle = db
        self.path = absolute
        self.mode = mode
        do {
            try configure(busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        } catch {
            sqlite3_close_v2(db)
            isClosed = true
            throw error
        }
    }

    deinit { close() }

    /// A path as a URI path: every byte but unreserved characters and `/` percent-encoded,
    /// so `?`, `#` and `%` in a store's name stay part of the name.
    static func uriEscaped(_ path: String) -> String {
        let hex = Array("0123456789ABCDEF")
        var out = ""
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                out.append(Character(Unicode.Scalar(byte)))
            default:
                out += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 0xF)])
            }
        }
        return out
    }

    /// Process-wide library settings, applied once before the first connection opens.
    private static let libraryConfigured: Bool = csqlite_disable_memstatus() == SQLITE_OK

    /// Connection settings that write nothing to the file (safe before the file is validated).
    private func configure(busyTimeoutMilliseconds: Int32) throws {
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
        // "x" means a column, never a string; a typo must be an error, not a literal.
        try dbConfig(SQLITE_DBCONFIG_DQS_DML, 0)
        try dbConfig(SQLITE_DBCONFIG_DQS_DDL, 0)
        // Files we open may come from anywhere: no functions with side effects in the schema,
        // and no way to corrupt the file through writable_schema and friends.
        try dbConfig(SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0)
        try dbConfig(SQLITE_DBCONFIG_DEFENSIVE, 1)
        try dbConfig(SQLITE_DBCONFIG_ENABLE_FKEY, 1)
        let context = Unmanaged.passUnretained(self).toOpaque()
        sqlite3_commit_hook(handle, { context in
            guard let context else { return 0 }
            Unmanaged<Database>.fromOpaque(context).takeUnretainedValue().commitCount += 1
            return 0  // 0 lets the commit proceed
        }, context)
    }

    private func dbConfig(_ op: Int32, _ value: Int32) throws {
        var out: Int32 = -1
        let rc = csqlite_db_config_int(handle, op, value, &out)
        guard rc == SQLITE_OK, out == value else {
            throw DatabaseError(extendedCode: rc == SQLITE_OK ? SQLITE_ERROR : rc,
                                message: "sqlite3_db_config(\(op), \(value)) not honoured (got \(out))")
        }
    }

    /// Finalizes cached statements and closes the connection. Idempotent.
    package func close() {
        guard !isClosed else { return }
        isClosed = true
        for statement in cache.values { statement.finalize() }
        cache.removeAll()
        sqlite3_commit_hook(handle, nil, nil)
        sqlite3_trace_v2(handle, 0, nil, nil)
        sqlite3_close_v2(handle)
        onClose?()
        onClose = nil
    }

    func error(_ rc: Int32, sql: String?) -> DatabaseError {
        // With extended result codes on, `rc` is already extended; the message belongs to it
        // only when it is the connection's latest error.
        let latest = sqlite3_extended_errcode(handle)
        let message = latest == rc ? String(cString: sqlite3_errmsg(handle)) : String(cString: sqlite3_errstr(rc))
        return DatabaseError(extendedCode: rc, message: message, sql: sql)
    }

    // MARK: Statements

    /// The cached prepared statement for `sql` (prepared on first use).
    func cachedStatement(_ sql: String) throws -> Statement {
        let key = SQLKey(sql)
        if let statement = cache[key] { return statement }
        let statement = try Statement(database: self, sql: sql)
        cache[key] = statement
        return statement
    }

    /// Runs one statement to completion, discarding rows.
    package func execute(_ sql: String, _ arguments: [any SQLBindable] = []) throws {
        let statement = try cachedStatement(sql)
        defer { statement.done() }
        try statement.bind(arguments)
        while try statement.step() {}
    }

    /// Runs a script of several statements without arguments (migrations, pragmas). Not cached.
    package func executeScript(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(message)
            throw DatabaseError(extendedCode: sqlite3_extended_errcode(handle), message: text, sql: sql)
        }
    }

    /// Calls `body` with every row of `sql`, as SQLite steps to it (nothing is collected).
    package func forEachRow(_ sql: String, _ arguments: [any SQLBindable] = [],
                           _ body: (Row) throws -> Void) throws {
        let statement = try cachedStatement(sql)
        defer { statement.done() }
        try statement.bind(arguments)
        while try statement.step() { try body(Row(statement: statement)) }
    }

    /// Maps every row of `sql` through `transform`.
    package func rows<T>(_ sql: String, _ arguments: [any SQLBindable] = [],
                        _ transform: (Row) throws -> T) throws -> [T] {
        var result: [T] = []
        try forEachRow(sql, arguments) { result.append(try transform($0)) }
        return result
    }

    /// The first row of `sql` mapped through `transform`, or nil.
    package func row<T>(_ sql: String, _ arguments: [any SQLBindable] = [],
                       _ transform: (Row) throws -> T) throws -> T? {
        let statement = try cachedStatement(sql)
        defer { statement.done() }
        try statement.bind(arguments)
        return try statement.step() ? transform(Row(statement: statement)) : nil
    }

    /// The first column of the first row as an integer (nil when no row or NULL).
    package func int64(_ sql: String, _ arguments: [any SQLBindable] = []) throws -> Int64? {
        try row(sql, arguments) { $0.int64OrNil(0) } ?? nil
    }

    /// The first column of the first row as text (nil when no row or NULL).
    package func text(_ sql: String, _ arguments: [any SQLBindable] = []) throws -> String? {
        try row(sql, arguments) { $0.textOrNil(0) } ?? nil
    }

    /// Calls `observer` with the SQL of every statement as it starts (`sqlite3_trace_v2`), or
    /// stops tracing when nil. For diagnostics and for tests that check query plans.
    package func trace(_ observer: ((String) -> Void)?) {
        traceObserver = observer
        guard observer != nil else { sqlite3_trace_v2(handle, 0, nil, nil); return }
        let context = Unmanaged.passUnretained(self).toOpaque()
        sqlite3_trace_v2(handle, UInt32(SQLITE_TRACE_STMT), { _, context, statement, _ in
            guard let context, let statement, let sql = sqlite3_sql(OpaquePointer(statement)) else { return 0 }
            Unmanaged<Database>.fromOpaque(context).takeUnretainedValue().traceObserver?(String(cString: sql))
            return 0
        }, context)
    }

    package var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    /// Rows changed since the connection opened (`sqlite3_total_changes64`).
    package var totalChanges: Int64 { sqlite3_total_changes64(handle) }
    package var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    // MARK: Transactions

    /// Runs `body` in a write transaction: `BEGIN IMMEDIATE` takes the write lock up front, so
    /// a concurrent writer waits in the busy handler instead of failing at its first write
    /// (a deferred transaction that upgrades gets SQLITE_BUSY with no retry). Any error thrown
    /// rolls everything back. Nested calls become savepoints of the outer transaction, so an
    /// inner error the body catches undoes only the inner work; with `nestedSavepoints: false`
    /// they simply join it. That is for a body that never catches a store error: a savepoint
    /// keeps the original of every page written while it is open (its sub-journal, in memory),
    /// 7 MiB for a settle of 10,000 rows, which buys nothing when any error ends the whole
    /// transaction anyway (BENCHMARKS.md).
    package func writeTransaction<T>(nestedSavepoints: Bool = true, _ body: () throws -> T) throws -> T {
        if transactionDepth > 0 {
            guard transactionIsWrite else {
                throw DatabaseError(extendedCode: SQLITE_MISUSE,
                                    message: "write transaction nested in a read transaction")
            }
            return self.nestedSavepoints ? try savepoint(body) : try body()
        }
        try execute("BEGIN IMMEDIATE")
        self.nestedSavepoints = nestedSavepoints
        defer { self.nestedSavepoints = true }
        return try finishTransaction(write: true, body)
    }

    /// Runs `body` in a deferred (read) transaction: one consistent snapshot for several queries.
    package func readTransaction<T>(_ body: () throws -> T) throws -> T {
        if transactionDepth > 0 { return try body() }
        try execute("BEGIN DEFERRED")
        return try finishTransaction(write: false, body)
    }

    private func finishTransaction<T>(write: Bool, _ body: () throws -> T) throws -> T {
        transactionDepth = 1
        transactionIsWrite = write
        defer { transactionDepth = 0; transactionIsWrite = false }
        let result: T
        do {
            result = try body()
            try execute("COMMIT")
        } catch {
            rollbackIfNeeded()
            throw error
        }
        return result
    }

    private func savepoint<T>(_ body: () throws -> T) throws -> T {
        let name = "sp\(transactionDepth)"
        try execute("SAVEPOINT \(name)")
        transactionDepth += 1
        defer { transactionDepth -= 1 }
        do {
            let result = try body()
            try execute("RELEASE \(name)")
            return result
        } catch {
            // ROLLBACK TO keeps the savepoint open; RELEASE closes it. Errors here mean SQLite
            // already rolled back the whole transaction, which the outer level will see.
            try? execute("ROLLBACK TO \(name)")
            try? execute("RELEASE \(name)")
            throw error
        }
    }

    /// Some errors (SQLITE_FULL, IOERR, BUSY inside COMMIT…) end the transaction by themselves;
    /// a ROLLBACK then would fail and hide the real error.
    private func rollbackIfNeeded() {
        if sqlite3_get_autocommit(handle) == 0 { try? execute("ROLLBACK") }
    }
}

/// A statement-cache key: the SQL text, hashed by its length and its last 32 bytes only.
/// Hashing the whole text cost more than a cache hit saves (statements differ at the end:
/// the WHERE clause). Equality still compares the whole text, so a collision is only slower.
struct SQLKey: Hashable {
    let sql: String
    init(_ sql: String) { self.sql = sql }
    static func == (a: SQLKey, b: SQLKey) -> Bool { a.sql == b.sql }
    func hash(into hasher: inout Hasher) {
        var sql = sql
        sql.withUTF8 { bytes in
            hasher.combine(bytes.count)
            hasher.combine(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes.suffix(32))))
        }
    }
}
