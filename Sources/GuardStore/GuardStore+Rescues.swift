import CSQLite
import FoundationEssentials

/// A rescue of hidden data (schema v4): what moved from a mountpoint's bare directory to
/// where, when and by whom.
package struct RescueRecord: Sendable, Hashable {
    package enum Method: String, Sendable, Hashable { case rename, copy }
    package enum State: String, Sendable, Hashable { case started, done }

    /// One entry that moved, with what was below it.
    package struct Entry: Sendable, Hashable {
        package var name: String
        package var bytes: UInt64
        package var entries: Int
        package init(name: String, bytes: UInt64, entries: Int) { self.name = name; self.bytes = bytes; self.entries = entries }
    }

    package var id: Int64
    package var path: String
    package var destination: String
    package var method: Method
    /// `started` and never settled: the rescue was interrupted; see its destination.
    package var state: State
    package var entries: Int
    package var bytes: UInt64
    package var leftBehind: String?
    package var startedAt: Date
    package var finishedAt: Date?
    package var runID: RunID?
    package var actor: String
    package var moved: [Entry]
}

extension GuardStore {
    var hasRescues: Bool { schemaVersion >= 5 }

    /// Records a rescue about to start (before anything moves); returns its id.
    package func beginRescue(path: String, destination: String, method: RescueRecord.Method, runID: RunID?,
                            actor: Actor) throws -> Int64 {
        try requireWritable()
        return try database.writeTransaction {
            try database.execute("""
                INSERT INTO rescues (path, destination, method, state, started_at, run_id, actor)
                VALUES (?, ?, ?, 'started', ?, ?, ?)
                """, [path, destination, method.rawValue, nowMilliseconds, runID, actor.name])
            return sqlite3_last_insert_rowid(database.handle)
        }
    }

    /// Settles a rescue with the entries that moved and what stayed behind.
    package func finishRescue(id: Int64, moved: [RescueRecord.Entry], leftBehind: String?) throws {
        try requireWritable()
        try database.writeTransaction {
            for e in moved {
                try database.execute("INSERT INTO rescue_entries (rescue_id, name, bytes, entries) VALUES (?, ?, ?, ?)",
                                     [id, e.name, Int64(clamping: e.bytes), e.entries])
            }
            try database.execute("""
                UPDATE rescues SET state = 'done', entries = ?, bytes = ?, left_behind = ?, finished_at = ? WHERE id = ?
                """, [moved.reduce(0) { $0 + $1.entries }, Int64(clamping: moved.reduce(0) { $0 + $1.bytes }), leftBehind,
                      nowMilliseconds, id])
        }
    }

    /// Rescues, newest last: of one mountpoint or all; `limit` keeps the newest N.
    package func rescues(path: String? = nil, limit: Int? = nil) throws -> [RescueRecord] {
        guard hasRescues else { return [] }
        let columns = "id, path, destination, method, state, entries, bytes, left_behind, started_at, finished_at, run_id, actor"
        let filter = path == nil ? "" : "WHERE path = ?"
        var arguments: [any SQLBindable] = path.map { [$0] } ?? []
        arguments.append(limit ?? -1)
        var records = try database.rows("""
            SELECT * FROM (SELECT \(columns) FROM rescues \(filter) ORDER BY id DESC LIMIT ?) ORDER BY id
            """, arguments) { row in
            RescueRecord(id: row.int64(0), path: row.text(1), destination: row.text(2),
                         method: RescueRecord.Method(rawValue: row.text(3)) ?? .rename,
                         state: RescueRecord.State(rawValue: row.text(4)) ?? .started,
                         entries: Int(row.int64(5)), bytes: UInt64(clamping: row.int64(6)), leftBehind: row.textOrNil(7),
                         startedAt: Self.date(row.int64(8)), finishedAt: row.int64OrNil(9).map(Self.date),
                         runID: row.int64OrNil(10), actor: row.text(11), moved: [])
        }
        for i in records.indices {
            records[i].moved = try database.rows(
                "SELECT name, bytes, entries FROM rescue_entries WHERE rescue_id = ? ORDER BY rowid", [records[i].id]) { row in
                RescueRecord.Entry(name: row.text(0), bytes: UInt64(clamping: row.int64(1)), entries: Int(row.int64(2)))
            }
        }
        return records
    }
}

extension RescueRecord: Encodable {}
extension RescueRecord.Method: Encodable {}
extension RescueRecord.State: Encodable {}
extension RescueRecord.Entry: Encodable {}
