import CSQLite

/// The result of one intent: the row now `pending(applying)`, and whether it was a new row
/// or an existing `failed` row taken up again (a retry, `failed → pending(applying)`).
/// Record properties read through: `recorded.id`, `recorded.path`.
@dynamicMemberLookup
package struct RecordedIntent: Sendable, Hashable {
    package var record: GuardRecord
    /// The status before the intent: nil for a new row, `.failed` for a retry.
    package var previous: GuardStatus?
    package var isRetry: Bool { previous != nil }

    package subscript<T>(dynamicMember keyPath: KeyPath<GuardRecord, T>) -> T { record[keyPath: keyPath] }
}

extension GuardStore {
    /// Records `intents` as `pending(applying)` rows in ONE transaction, before the kernel is
    /// touched (write-ahead). A path whose current row is `failed` reuses that row through the
    /// legal `failed → pending(applying)` transition (`RecordedIntent.isRetry`); a path with any
    /// other outstanding row throws `StoreError.duplicateOutstanding` and nothing is written.
    @discardableResult
    package func recordIntents(_ intents: [GuardIntent], runID: RunID?, actor: Actor) throws -> [RecordedIntent] {
        try requireWritable()
        return try database.writeTransaction {
            let now = nowMilliseconds
            return try intents.map { intent in
                guard GuardStateMachine.isLegal(from: nil, to: .applying) else {
                    throw StoreError.illegalTransition(guardID: 0, from: nil, to: .applying)
                }
                // Insert first: the partial unique index finds an outstanding row for the path, so
                // the common case (no row yet) costs no extra lookup. Only a conflict reads the row.
                do {
                    try database.execute(Self.insertGuard, [
                        intent.path, intent.kind.rawValue, intent.lifetime.rawValue, intent.reason,
                        intent.device.map(Int64.init(bitPattern:)), intent.inode.map(Int64.init(bitPattern:)),
                        intent.mountNamespace.map(Int64.init(bitPattern:)), intent.bootID, intent.label,
                        runID, now, now])
                } catch let error as DatabaseError where error.extendedCode == DatabaseError.constraintUnique {
                    // A constraint error aborts only this statement; the transaction goes on.
                    guard let current = try currentGuard(path: intent.path), current.status == .failed else {
                        throw StoreError.duplicateOutstanding(path: intent.path)
                    }
                    let record = try retry(current, with: intent, now: now, runID: runID, actor: actor)
                    return RecordedIntent(record: record, previous: current.status)
                }
                let record = GuardRecord(
                    id: database.lastInsertRowID, path: intent.path, kind: intent.kind, lifetime: intent.lifetime,
                    status: .applying, reason: intent.reason, device: intent.device, inode: intent.inode,
                    mountID: nil, mountIDIsUnique: false, mountNamespace: intent.mountNamespace,
                    bootID: intent.bootID, label: intent.label, runID: runID,
                    createdAt: Self.date(now), updatedAt: Self.date(now))
                try appendEvent(guardID: record.id, from: nil, to: .applying, reason: intent.reason,
                                at: now, runID: runID, actor: actor)
                return RecordedIntent(record: record, previous: nil)
            }
        }
    }

    // The rows a write returns are computed here from what was written (the SQL below, term
    // by term), not read back: a second statement per write cost more than the write itself,
    // and RETURNING is dearer still in SQLite 3.40 (it materializes an ephemeral table).
    // `TransitionTests` check every returned row against a fresh read.
    static let insertGuard = """
        INSERT INTO guards (path, kind, lifetime, state, pending_action, reason, device, inode,
            mount_ns, boot_id, label, run_id, created_at, updated_at)
        VALUES (?, ?, ?, 'pending', 'applying', ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """
    static let retryGuard = """
        UPDATE guards SET state = 'pending', pending_action = 'applying', reason = ?, kind = ?, lifetime = ?,
            device = ?, inode = ?, mount_ns = ?, boot_id = ?, label = coalesce(?, label),
            mount_id = NULL, mount_id_unique = 0, updated_at = ?
        WHERE id = ?
        """
    // Facts not given are kept (coalesce), so a transition only adds what it learned.
    static let settleGuard = """
        UPDATE guards SET state = ?, pending_action = ?, reason = ?, kind = coalesce(?, kind),
            mount_id = coalesce(?, mount_id), mount_id_unique = coalesce(?, mount_id_unique),
            device = coalesce(?, device), inode = coalesce(?, inode), updated_at = ?
        WHERE id = ?
        """
    static let insertEvent = """
        INSERT INTO events (guard_id, from_state, from_action, to_state, to_action, reason, at, run_id, actor)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    /// `failed → pending(applying)` with the new intent's facts: a retry may pick another kind
    /// (auto), and the old mount id no longer means anything.
    private func retry(_ current: GuardRecord, with intent: GuardIntent, now: Int64,
                       runID: RunID?, actor: Actor) throws -> GuardRecord {
        guard GuardStateMachine.isLegal(from: current.status, to: .applying) else {
            throw StoreError.illegalTransition(guardID: current.id, from: current.status, to: .applying)
        }
        try database.execute(Self.retryGuard, [
            intent.reason, intent.kind.rawValue, intent.lifetime.rawValue,
            intent.device.map(Int64.init(bitPattern:)), intent.inode.map(Int64.init(bitPattern:)),
            intent.mountNamespace.map(Int64.init(bitPattern:)), intent.bootID, intent.label, now, current.id])
        try appendEvent(guardID: current.id, from: current.status, to: .applying, reason: intent.reason,
                        at: now, runID: runID, actor: actor)
        var record = current
        record.status = .applying; record.reason = intent.reason; record.kind = intent.kind
        record.lifetime = intent.lifetime; record.device = intent.device; record.inode = intent.inode
        record.mountNamespace = intent.mountNamespace; record.bootID = intent.bootID
        record.label = intent.label ?? current.label; record.mountID = nil; record.mountIDIsUnique = false
        record.updatedAt = Self.date(now)
        return record
    }

    /// Applies `transitions` in order in ONE transaction. Each must be legal from the row's
    /// status at that point (`GuardStateMachine.isLegal`); the first illegal one (or unknown
    /// guard id) throws and the whole batch is rolled back: nothing is written. Every change
    /// appends its event in the same transaction. Returns the rows after each transition;
    /// with `returningRows: false` it returns none and reads only each row's status (a large
    /// batch then holds no copy of the rows: the engine never looks at them).
    @discardableResult
    package func settle(_ transitions: [GuardTransition], runID: RunID?, actor: Actor,
                       returningRows: Bool = true) throws -> [GuardRecord] {
        try requireWritable()
        return try database.writeTransaction {
            let now = nowMilliseconds
            var rows: [GuardRecord] = []
            if returningRows { rows.reserveCapacity(transitions.count) }
            for t in transitions {
                let current: GuardRecord?
                let status: GuardStatus
                if returningRows {
                    current = try guardRecord(id: t.guardID)
                    guard let current else { throw StoreError.unknownGuard(id: t.guardID) }
                    status = current.status
                } else {
                    current = nil
                    guard let s = try self.status(id: t.guardID) else { throw StoreError.unknownGuard(id: t.guardID) }
                    status = s
                }
                guard GuardStateMachine.isLegal(from: status, to: t.to) else {
                    throw StoreError.illegalTransition(guardID: t.guardID, from: status, to: t.to)
                }
                try database.execute(Self.settleGuard, [
                    t.to.state.rawValue, t.to.action?.rawValue, t.reason, t.kind?.rawValue,
                    t.mountID.map(Int64.init(bitPattern:)), t.mountIDIsUnique,
                    t.device.map(Int64.init(bitPattern:)), t.inode.map(Int64.init(bitPattern:)),
                    now, t.guardID])
                try appendEvent(guardID: t.guardID, from: status, to: t.to, reason: t.reason,
                                at: now, runID: runID, actor: actor)
                if var record = current {
                    record.status = t.to; record.reason = t.reason; record.kind = t.kind ?? record.kind
                    record.mountID = t.mountID ?? record.mountID
                    record.mountIDIsUnique = t.mountIDIsUnique ?? record.mountIDIsUnique
                    record.device = t.device ?? record.device; record.inode = t.inode ?? record.inode
                    record.updatedAt = Self.date(now)
                    rows.append(record)
                }
            }
            return rows
        }
    }

    static let selectStatus = "SELECT state, pending_action FROM guards WHERE id = ?"

    /// The status of one row: what a transition is checked against (two columns, not the record).
    private func status(id: GuardID) throws -> GuardStatus? {
        try database.row(Self.selectStatus, [id]) { row -> GuardStatus in
            let rawAction = row.textOrNil(1)
            guard let state = GuardState(rawValue: row.text(0)),
                  rawAction == nil || PendingAction(rawValue: rawAction!) != nil else {
                throw StoreError.corruptRow(table: "guards", id: id, reason: "status '\(row.text(0))' '\(rawAction ?? "")'")
            }
            return GuardStatus(state, rawAction.flatMap(PendingAction.init(rawValue:)))
        }
    }

    private func appendEvent(guardID: GuardID, from: GuardStatus?, to: GuardStatus, reason: String?,
                             at: Int64, runID: RunID?, actor: Actor) throws {
        try database.execute(Self.insertEvent, [guardID, from?.state.rawValue, from?.action?.rawValue, to.state.rawValue,
                                               to.action?.rawValue, reason, at, runID, actor.name])
    }
}
