/// Read queries. Each one is served by an index (see `QueryPlanTests`).
extension GuardStore {
    static let guardColumns = """
        id, path, kind, lifetime, state, pending_action, reason, device, inode, mount_id, mount_id_unique,
        mount_ns, boot_id, label, run_id, created_at, updated_at
        """

    // The SQL of the hot queries is built once: the statement cache is keyed by the text, and
    // an interpolated literal would be rebuilt (allocated, copied, hashed) on every call.
    static let selectGuardByID = "SELECT \(guardColumns) FROM guards WHERE id = ?"
    static let selectCurrentGuard = "SELECT \(guardColumns) FROM guards WHERE path = ? AND state <> 'cleared'"
    static let selectOutstanding = "SELECT \(guardColumns) FROM guards WHERE state <> 'cleared' ORDER BY path"

    package func guardRecord(id: GuardID) throws -> GuardRecord? {
        try database.row(Self.selectGuardByID, [id], Self.decodeGuard)
    }

    /// Calls `body` with each selected row, one at a time: a listing of any size costs the
    /// memory of one row (the arrays below are this, collected).
    package func forEachGuard(_ selection: GuardSelection, _ body: (GuardRecord) throws -> Void) throws {
        let (sql, arguments): (String, [any SQLBindable]) = switch selection {
        case .all: ("SELECT \(Self.guardColumns) FROM guards ORDER BY id", [])
        case .outstanding: (Self.selectOutstanding, [])
        // The partial index of outstanding rows serves every state but `cleared` (schema v2);
        // without statistics SQLite would rather scan the table in id order, so it is named.
        case .state(.cleared): ("SELECT \(Self.guardColumns) FROM guards WHERE state = 'cleared' ORDER BY id", [])
        case .state(let state):
            ("""
             SELECT \(Self.guardColumns) FROM guards INDEXED BY guards_one_outstanding_per_path
             WHERE state <> 'cleared' AND state = ? ORDER BY id
             """, [state.rawValue])
        case .path(let path): ("SELECT \(Self.guardColumns) FROM guards WHERE path = ? ORDER BY id", [path])
        }
        try database.forEachRow(sql, arguments) { try body(Self.decodeGuard($0)) }
    }

    package func guards(_ selection: GuardSelection) throws -> [GuardRecord] {
        var rows: [GuardRecord] = []
        try forEachGuard(selection) { rows.append($0) }
        return rows
    }

    /// Every guard that is not `cleared`, by path.
    package func outstandingGuards() throws -> [GuardRecord] { try guards(.outstanding) }

    package func guards(state: GuardState) throws -> [GuardRecord] { try guards(.state(state)) }

    /// Every row ever made for `path`, oldest first.
    package func guards(path: String) throws -> [GuardRecord] { try guards(.path(path)) }

    /// The outstanding (non-cleared) row of `path`, if any; the schema allows at most one.
    package func currentGuard(path: String) throws -> GuardRecord? {
        try database.row(Self.selectCurrentGuard, [path], Self.decodeGuard)
    }

    package func allGuards() throws -> [GuardRecord] { try guards(.all) }

    // MARK: History

    static let eventColumns = """
        e.id, e.guard_id, g.path, e.from_state, e.from_action, e.to_state, e.to_action, e.reason, e.at,
        e.run_id, e.actor
        """

    /// The transitions of every guard ever made for `path`, newest LAST; `limit` keeps the newest N.
    package func history(path: String, limit: Int? = nil) throws -> [GuardEvent] {
        try database.rows("""
            SELECT * FROM (SELECT \(Self.eventColumns) FROM events e JOIN guards g ON g.id = e.guard_id
                           WHERE g.path = ? ORDER BY e.id DESC LIMIT ?)
            ORDER BY id
            """, [path, limit ?? -1], Self.decodeEvent)
    }

    /// The transitions of one guard, newest LAST; `limit` keeps the newest N.
    package func history(guardID: GuardID, limit: Int? = nil) throws -> [GuardEvent] {
        try database.rows("""
            SELECT * FROM (SELECT \(Self.eventColumns) FROM events e JOIN guards g ON g.id = e.guard_id
                           WHERE e.guard_id = ? ORDER BY e.id DESC LIMIT ?)
            ORDER BY id
            """, [guardID, limit ?? -1], Self.decodeEvent)
    }

    /// All transitions, newest LAST; `limit` keeps the newest N (read backwards along the rowid).
    package func history(limit: Int? = nil) throws -> [GuardEvent] {
        try database.rows("""
            SELECT * FROM (SELECT \(Self.eventColumns) FROM events e JOIN guards g ON g.id = e.guard_id
                           ORDER BY e.id DESC LIMIT ?)
            ORDER BY id
            """, [limit ?? -1], Self.decodeEvent)
    }

    // MARK: Decoding

    static func decodeGuard(_ row: Row) throws -> GuardRecord {
        let id = row.int64(0)
        func parse<T: RawRepresentable<String>>(_ i: Int, _ column: String) throws -> T {
            guard let value = T(rawValue: row.text(i)) else {
                throw StoreError.corruptRow(table: "guards", id: id, reason: "\(column) '\(row.text(i))'")
            }
            return value
        }
        let state: GuardState = try parse(4, "state")
        let action: PendingAction? = row.isNull(5) ? nil : try parse(5, "pending_action") as PendingAction
        return GuardRecord(
            id: id, path: row.text(1), kind: try parse(2, "kind"), lifetime: try parse(3, "lifetime"),
            status: GuardStatus(state, action), reason: row.textOrNil(6),
            device: row.int64OrNil(7).map(UInt64.init(bitPattern:)),
            inode: row.int64OrNil(8).map(UInt64.init(bitPattern:)),
            mountID: row.int64OrNil(9).map(UInt64.init(bitPattern:)), mountIDIsUnique: row.bool(10),
            mountNamespace: row.int64OrNil(11).map(UInt64.init(bitPattern:)), bootID: row.sharedText(12),
            label: row.textOrNil(13), runID: row.int64OrNil(14),
            createdAt: date(row.int64(15)), updatedAt: date(row.int64(16)))
    }

    static func decodeEvent(_ row: Row) throws -> GuardEvent {
        let id = row.int64(0)
        func status(_ stateColumn: Int) throws -> GuardStatus? {
            guard let rawState = row.textOrNil(stateColumn) else { return nil }
            let rawAction = row.textOrNil(stateColumn + 1)
            let action = rawAction.flatMap(PendingAction.init(rawValue:))
            guard let state = GuardState(rawValue: rawState), (rawAction == nil) == (action == nil) else {
                throw StoreError.corruptRow(table: "events", id: id, reason: "status '\(rawState)' '\(rawAction ?? "")'")
            }
            return GuardStatus(state, action)
        }
        guard let to = try status(5) else {
            throw StoreError.corruptRow(table: "events", id: id, reason: "no to_state")
        }
        return GuardEvent(id: id, guardID: row.int64(1), path: row.text(2), from: try status(3), to: to,
                          reason: row.textOrNil(7), at: date(row.int64(8)), runID: row.int64OrNil(9),
                          actor: row.text(10))
    }
}

/// Which rows of `guards` a listing wants.
public enum GuardSelection: Sendable, Hashable {
    /// Every row ever made, by id.
    case all
    /// Every row not `cleared`, by path.
    case outstanding
    /// The rows in one state, by id.
    case state(GuardState)
    /// Every row ever made for one path, oldest first.
    case path(String)
}
