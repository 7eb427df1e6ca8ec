import CSQLite

/// A value SQLite stores: the five storage classes.
package enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// Anything that can be bound to a statement parameter.
package protocol SQLBindable { var sqlValue: SQLValue { get } }

extension SQLValue: SQLBindable { package var sqlValue: SQLValue { self } }
extension Int64: SQLBindable { package var sqlValue: SQLValue { .integer(self) } }
extension Int: SQLBindable { package var sqlValue: SQLValue { .integer(Int64(self)) } }
extension Int32: SQLBindable { package var sqlValue: SQLValue { .integer(Int64(self)) } }
extension Bool: SQLBindable { package var sqlValue: SQLValue { .integer(self ? 1 : 0) } }
extension Double: SQLBindable { package var sqlValue: SQLValue { .real(self) } }
extension String: SQLBindable { package var sqlValue: SQLValue { .text(self) } }
extension Optional: SQLBindable where Wrapped: SQLBindable {
    package var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

/// A prepared statement owned by a `Database` (which caches and finalizes it).
/// Not thread-safe, like the connection it belongs to.
package final class Statement {
    let handle: OpaquePointer
    package let sql: String
    unowned let database: Database
    /// `Row.sharedText`'s last value per column.
    var lastSharedText: [Int: String] = [:]

    init(database: Database, sql: String) throws {
        var stmt: OpaquePointer?
        // `tail` points into the C string: it must outlive the check below (passing `sql`
        // directly gives a temporary that is freed when the call returns; ASan caught it).
        let (rc, trailing) = sql.withCString { cSQL -> (Int32, Bool) in
            var tail: UnsafePointer<CChar>?
            let rc = sqlite3_prepare_v3(database.handle, cSQL, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, &tail)
            guard let tail, tail.pointee != 0 else { return (rc, false) }
            return (rc, !String(cString: tail).allSatisfy({ $0.isWhitespace || $0 == ";" }))
        }
        guard rc == SQLITE_OK, let stmt else {
            throw database.error(rc, sql: sql)
        }
        // One statement per Statement: trailing SQL would be silently ignored otherwise.
        if trailing {
            sqlite3_finalize(stmt)
            throw DatabaseError(extendedCode: SQLITE_MISUSE,
                                message: "more than one statement; use Database.executeScript", sql: sql)
        }
        self.handle = stmt
        self.sql = sql
        self.database = database
    }

    func finalize() { sqlite3_finalize(handle) }

    /// Binds `arguments` to parameters 1...n. Every parameter is bound (the count must match),
    /// and every use ends in `done()`, which resets: no earlier state can leak in.
    func bind(_ arguments: [any SQLBindable]) throws {
        let expected = Int(sqlite3_bind_parameter_count(handle))
        guard expected == arguments.count else {
            throw DatabaseError(extendedCode: SQLITE_RANGE,
                                message: "expected \(expected) arguments, got \(arguments.count)", sql: sql)
        }
        for (offset, argument) in arguments.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch argument.sqlValue {
            case .null: rc = sqlite3_bind_null(handle, index)
            case .integer(let v): rc = sqlite3_bind_int64(handle, index, v)
            case .real(let v): rc = sqlite3_bind_double(handle, index, v)
            case .text(let s):
                // Length is explicit so that interior NULs survive; SQLite copies the bytes.
                rc = s.withCString { sqlite3_bind_text64(handle, index, $0, UInt64(s.utf8.count),
                                                         csqlite_transient(), UInt8(SQLITE_UTF8)) }
            case .blob(let b):
                rc = b.withUnsafeBytes { sqlite3_bind_blob64(handle, index, $0.baseAddress, UInt64(b.count),
                                                             csqlite_transient()) }
            }
            guard rc == SQLITE_OK else { throw database.error(rc, sql: sql) }
        }
    }

    /// Steps once: true when a row is available.
    func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = database.error(rc, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Releases locks and bound text as soon as a use is over.
    func done() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }
}

/// The current row of a statement; valid only inside the closure it is handed to.
/// (Do not keep it: the statement moves on.)
package struct Row {
    let handle: OpaquePointer
    unowned let statement: Statement

    init(statement: Statement) { self.statement = statement; handle = statement.handle }

    package var count: Int { Int(sqlite3_column_count(handle)) }

    package func isNull(_ i: Int) -> Bool { sqlite3_column_type(handle, Int32(i)) == SQLITE_NULL }

    package func int64(_ i: Int) -> Int64 { sqlite3_column_int64(handle, Int32(i)) }

    package func int64OrNil(_ i: Int) -> Int64? { isNull(i) ? nil : int64(i) }

    package func bool(_ i: Int) -> Bool { int64(i) != 0 }

    package func text(_ i: Int) -> String {
        guard let p = sqlite3_column_text(handle, Int32(i)) else { return "" }
        let n = Int(sqlite3_column_bytes(handle, Int32(i)))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }

    package func textOrNil(_ i: Int) -> String? { isNull(i) ? nil : text(i) }

    /// `text`, sharing one string with the previous row's value of this column when the
    /// bytes are the same: a column that repeats (the boot id of every guard and claim of a
    /// boot) then costs one allocation per listing, not one per row (a clear of 10,000).
    package func sharedText(_ i: Int) -> String {
        let n = Int(sqlite3_column_bytes(handle, Int32(i)))
        guard let p = sqlite3_column_text(handle, Int32(i)) else { return "" }
        let bytes = UnsafeBufferPointer(start: p, count: n)
        if let last = statement.lastSharedText[i] {
            var last = last
            if last.withUTF8({ $0.elementsEqual(bytes) }) { return last }
        }
        let fresh = String(decoding: bytes, as: UTF8.self)
        statement.lastSharedText[i] = fresh
        return fresh
    }

    package func value(_ i: Int) -> SQLValue {
        switch sqlite3_column_type(handle, Int32(i)) {
        case SQLITE_INTEGER: return .integer(int64(i))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, Int32(i)))
        case SQLITE_TEXT: return .text(text(i))
        case SQLITE_BLOB:
            let n = Int(sqlite3_column_bytes(handle, Int32(i)))
            guard n > 0, let p = sqlite3_column_blob(handle, Int32(i)) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: p, count: n)))
        default: return .null
        }
    }
}
