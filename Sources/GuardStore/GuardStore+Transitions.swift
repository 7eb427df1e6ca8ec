import CSQLite

/// The result of one intent: the row now `pending(applying)`, and whether it was a new row
/// or an existing `failed` row taken up again (a retry, `failed → pending(applying)`).
/// Record properties read through: `recorded.id`, `recorded.path`.
@dynamicMemberLookup
public struct RecordedIntent: Sendable, Hashable {
    public var record: GuardRecord
    /// The status before the intent: nil for a new row, `.failed` for a retry.
    public var previous: GuardStatus?
    public var isRetry: Bool { previous != nil }

    public subscript<T>(dynamicMember keyPath: KeyPath<GuardRecord, T>) -> T { record[keyPath: keyPath] }
}

extension GuardStore {
    /// Records `intents` as `pending(applying)` rows in ONE transaction, before the kernel is
    /// touched (write-ahead). A path whose current row is `failed` reuses that row through the
    /// legal `failed → pending(applying)` transition (`RecordedIntent.isRetry`); a path with any
    /// other outstanding row throws `StoreError.duplicateOutstanding` and nothing is written.
    @discardableResult
    public func recordIntents(_ intents: [GuardIntent], runID: RunID?, actor: Actor) throws -> [RecordedIntent] {
        try requireWritable()
        return try database.writeTransaction {
            let now = nowMilliseconds
            return try intents.map { intent in
                if let current = try currentGuard(path: intent.path) {
                    guard current.status == .failed else {
                        throw StoreError.duplicateOutstanding(path: intent.path)
                    }
                    let record = try retry(current, with: intent, now: now, runID: runID, actor: actor)
                    return RecordedIntent(record: record, previous: current.status)
                }
                guard GuardStateMachine.isLegal(from: nil, to: .applying) else {
                    throw StoreError.illegalTransition(guardID: 0, from: nil, to: .applying)
                }
                do {
                    try database.execute("""
                        INSERT INTO guards (path, kind, lifetime, state, pending_action, reason, device, inode,
                            mount_ns, boot_id, label, run_id, created_at, updated_at)
                        VALUES (?, ?, ?, 'pending', 'applying', ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, [intent.path, intent.kind.rawValue, intent.lifetime.rawValue, intent.reason,
                              intent.device.map(Int64.init(bitPattern:)), intent.inode.map(Int64.init(bitPattern:)),
                              intent.mountNamespace.map(Int64.init(bitPattern:)), intent.bootID, intent.label,
                              runID, now, now])
                } catch let error as DatabaseError where error.extendedCode == DatabaseError.constraintUnique {
                    // The partial unique index: the last line of defense if the check above is bypassed.
                    throw StoreError.duplicateOutstanding(path: intent.path)
                }
                let id = database.lastInsertRowID
                try appendEvent(guardID: id, from: nil, to: .applying, reason: intent.reason,
                                at: now, runID: runID, actor: actor)
                guard let record = try guardRecord(id: id) else { throw StoreError.unknownGuard(id: id) }
                return RecordedIntent(record: record, previous: nil)
            }
        }
    }

    /// `failed → pending(applying)` with the new intent's facts: a retry may pick another kind
    /// (auto), and the old mount id no longer means anything.
    private func retry(_ current: GuardRecord, with intent: GuardIntent, now: Int64,
                       runID: RunID?, actor: Actor) throws -> GuardRecord {
        guard GuardStateMachine.isLegal(from: current.status, to: .applying) else {
            throw StoreError.illegalTransition(guardID: current.id, from: current.status, to: .applying)
        }
        try database.execute("""
            UPDATE guards SET state = 'pending', pending_action = 'applying', reason = ?, kind = ?, lifetime = ?,
                device = ?, inode = ?, mount_ns = ?, boot_id = ?, label = coalesce(?, label),
                mount_id = NULL, mount_id_unique = 0, updated_at = ?
            WHERE id = ?
            """, [intent.reason, intent.kind.rawValue, intent.lifetime.rawValue,
                  intent.device.map(Int64.init(bitPattern:)), intent.inode.map(Int64.init(bitPattern:)),
                  intent.mountNamespace.map(Int64.init(bitPattern:)), intent.bootID, intent.label, now, current.id])
        try appendEvent(guardID: current.id, from: current.status, to: .applying, reason: intent.reason,
                        at: now, runID: runID, actor: actor)
        guard let record = try guardRecord(id: current.id) else { throw StoreError.unknownGuard(id: current.id) }
        return record
    }

    /// Applies `transitions` in order in ONE transaction. Each must be legal from the row's
    /// status at that point (`GuardStateMachine.isLegal`); the first illegal one (or unknown
    /// guard id) throws and the whole batch is rolled back: nothing is written. Every change
    /// appends its event in the same transaction. Returns the rows after each transition.
    @discardableResult
    public func settle(_ transitions: [GuardTransition], runID: RunID?, actor: Actor) throws -> [GuardRecord] {
        try requireWritable()
        return try database.writeTransaction {
            let now = nowMilliseconds
            return try transitions.map { t in
                guard let current = try guardRecord(id: t.guardID) else {
                    throw StoreError.unknownGuard(id: t.guardID)
                }
                guard GuardStateMachine.isLegal(from: current.status, to: t.to) else {
                    throw StoreError.illegalTransition(guardID: t.guardID, from: current.status, to: t.to)
                }
                // Facts not given are kept (coalesce), so a transition only adds what it learned.
                try database.execute("""
                    UPDATE guards SET state = ?, pending_action = ?, reason = ?, kind = coalesce(?, kind),
                        mount_id = coalesce(?, mount_id), mount_id_unique = coalesce(?, mount_id_unique),
                        device = coalesce(?, device), inode = coalesce(?, inode), updated_at = ?
                    WHERE id = ?
                    """, [t.to.state.rawValue, t.to.action?.rawValue, t.reason, t.kind?.rawValue,
                          t.mountID.map(Int64.init(bitPattern:)), t.mountIDIsUnique,
                          t.device.map(Int64.init(bitPattern:)), t.inode.map(Int64.init(bitPattern:)),
                          now, t.guardID])
                try appendEvent(guardID: t.guardID, from: current.status, to: t.to, reason: t.reason,
                                at: now, runID: runID, actor: actor)
                guard let record = try guardRecord(id: t.guardID) else { throw StoreError.unknownGuard(id: t.guardID) }
                return record
            }
        }
    }

    private func appendEvent(guardID: GuardID, from: GuardStatus?, to: GuardStatus, reason: String?,
                             at: Int64, runID: RunID?, actor: Actor) throws {
        try database.execute("""
            INSERT INTO events (guard_id, from_state, from_action, to_state, to_action, reason, at, run_id, actor)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [guardID, from?.state.rawValue, from?.action?.rawValue, to.state.rawValue, to.action?.rawValue,
                  reason, at, runID, actor.name])
    }
}
