import CSQLite

/// The one error type of the SQLite layer: SQLite's extended result code, its message, and
/// the SQL that failed (nil for connection-level failures such as open).
package struct DatabaseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The extended result code (e.g. `SQLITE_CONSTRAINT_UNIQUE` = 2067).
    package var extendedCode: Int32
    package var message: String
    package var sql: String?

    package init(extendedCode: Int32, message: String, sql: String? = nil) {
        self.extendedCode = extendedCode
        self.message = message
        self.sql = sql
    }

    /// The primary result code (`SQLITE_CONSTRAINT`, `SQLITE_BUSY`, …): the low byte.
    package var primaryCode: Int32 { extendedCode & 0xff }

    package var description: String {
        let name = sqlite3_errstr(extendedCode).map { String(cString: $0) } ?? "error"
        var text = "SQLite error \(extendedCode) (\(name)): \(message)"
        if let sql { text += " — in: \(sql)" }
        return text
    }

    /// Extended codes that do not import into Swift (they are composite macros).
    package static let constraintUnique: Int32 = SQLITE_CONSTRAINT | (8 << 8)
    package static let constraintCheck: Int32 = SQLITE_CONSTRAINT | (1 << 8)
    package static let constraintForeignKey: Int32 = SQLITE_CONSTRAINT | (3 << 8)
    package static let constraintTrigger: Int32 = SQLITE_CONSTRAINT | (7 << 8)
}
