import CSQLite

/// Claims: who relies on a guard (DESIGN.md "Claims"). Written inside the batch's write-ahead
/// transaction with the guard changes they go with.
extension GuardStore {
    static let claimColumns = """
        id, guard_id, kind, pid, pid_start, sid, sid_start, boot_id, key, token, description, run_id,
        claimed_at, actor, released_at, release_reason, released_run_id
        """
    static let selectLiveClaims = "SELECT \(claimColumns) FROM claims WHERE guard_id = ? AND released_at IS NULL ORDER BY id"
    static let selectLiveClaimsAll = "SELECT \(claimColumns) FROM claims WHERE released_at IS NULL ORDER BY guard_id, id"
    static let selectClaimsOfGuard = "SELECT \(claimColumns) FROM claims WHERE guard_id = ? ORDER BY id"
    static let insertClaim = """
        INSERT INTO claims (guard_id, holder, kind, pid, pid_start, sid, sid_start, boot_id, key, token, description,
                            run_id, claimed_at, actor)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (guard_id, holder) WHERE released_at IS NULL DO NOTHING
        """
    static let releaseClaim = """
        UPDATE claims SET released_at = ?, release_reason = ?, released_run_id = ? WHERE id = ? AND released_at IS NULL
        """

    static let releaseClaimOfHolder = """
        UPDATE claims SET released_at = ?, release_reason = ?, released_run_id = ?
        WHERE guard_id = ? AND holder = ? AND released_at IS NULL
        """

    /// Whether this store has the claims table (a read-only reader may see an older schema).
    var hasClaims: Bool { schemaVersion >= 3 }

    /// Adds `holder`'s claim on the guard; a live claim of the same holder stays as it is
    /// (a job that runs pre twice holds one claim). Returns whether a claim was added.
    @discardableResult
    package func addClaim(guardID: GuardID, holder: ClaimHolder, runID: RunID?, actor: Actor) throws -> Bool {
        try requireWritable()
        return try database.writeTransaction {
            try database.execute(Self.insertClaim, [
                guardID, holder.canonicalKey, holder.kind.rawValue, holder.pid, holder.pidStart.map(Int64.init(clamping:)),
                holder.sid, holder.sidStart.map(Int64.init(clamping:)), holder.bootID, holder.key, holder.token,
                holder.description, runID, nowMilliseconds, actor.name])
            return sqlite3_changes64(database.handle) > 0
        }
    }

    /// Releases each claim once, with its reason; an already released claim is left as it was.
    package func releaseClaims(_ releases: [ClaimRelease], runID: RunID?) throws {
        guard !releases.isEmpty else { return }
        try requireWritable()
        try database.writeTransaction {
            let now = nowMilliseconds
            for r in releases { try database.execute(Self.releaseClaim, [now, r.reason, runID, r.claimID]) }
        }
    }

    /// Releases `holder`'s live claim on one guard, if it has one.
    package func releaseClaim(guardID: GuardID, holder: ClaimHolder, reason: String, runID: RunID?) throws {
        try requireWritable()
        try database.execute(Self.releaseClaimOfHolder, [nowMilliseconds, reason, runID, guardID, holder.canonicalKey])
    }

    /// The live claims on one guard, oldest first.
    package func liveClaims(guardID: GuardID) throws -> [ClaimRecord] {
        guard hasClaims else { return [] }
        return try database.rows(Self.selectLiveClaims, [guardID], Self.decodeClaim)
    }

    /// Every live claim, by guard.
    package func liveClaims() throws -> [GuardID: [ClaimRecord]] {
        guard hasClaims else { return [:] }
        return Dictionary(grouping: try database.rows(Self.selectLiveClaimsAll, [], Self.decodeClaim), by: \.guardID)
    }

    /// Every claim a guard ever had, live or released, oldest first.
    package func claims(guardID: GuardID) throws -> [ClaimRecord] {
        guard hasClaims else { return [] }
        return try database.rows(Self.selectClaimsOfGuard, [guardID], Self.decodeClaim)
    }

    static func decodeClaim(_ s: Row) -> ClaimRecord {
        let holder = ClaimHolder(
            kind: ClaimHolder.Kind(rawValue: s.text(2)) ?? .key,
            pid: s.int64OrNil(3).map { Int32(truncatingIfNeeded: $0) }, pidStart: s.int64OrNil(4).map { UInt64(clamping: $0) },
            sid: s.int64OrNil(5).map { Int32(truncatingIfNeeded: $0) }, sidStart: s.int64OrNil(6).map { UInt64(clamping: $0) },
            bootID: s.sharedText(7), key: s.textOrNil(8), token: s.textOrNil(9), description: s.textOrNil(10))
        return ClaimRecord(id: s.int64(0), guardID: s.int64(1), holder: holder, runID: s.int64OrNil(11),
                           claimedAt: date(s.int64(12)), actor: s.sharedText(13), releasedAt: s.int64OrNil(14).map(date),
                           releaseReason: s.textOrNil(15), releasedRunID: s.int64OrNil(16))
    }
}
