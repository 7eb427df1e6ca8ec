import FoundationEssentials

/// One claim event of a guard's history: a job's claim added, or released (and why).
/// The claims table keeps both moments on the claim's one row; this is each as an event.
package struct ClaimEvent: Sendable, Hashable {
    package enum Change: String, Sendable, Hashable { case added, released }
    package var change: Change
    package var claim: ClaimRecord
    /// The guarded path (of the guard the claim is on).
    package var path: String

    /// When the claim was added, or when it was released.
    package var at: Date { change == .added ? claim.claimedAt : claim.releasedAt ?? claim.claimedAt }
    /// The run that added (or released) the claim.
    package var runID: RunID? { change == .added ? claim.runID : claim.releasedRunID }
}

extension GuardStore {
    /// Which claims a history reads: the SQL condition on `claims c JOIN guards g`.
    package enum ClaimHistoryScope {
        case all, path(String), guardID(GuardID)
    }

    /// Claim events (added, released) of the scope, oldest first; `limit` keeps the newest N.
    package func claimHistory(_ scope: ClaimHistoryScope, limit: Int? = nil) throws -> [ClaimEvent] {
        guard hasClaims else { return [] }
        let condition: String, arguments: [any SQLBindable]
        switch scope {
        case .all: condition = "1"; arguments = []
        case .path(let p): condition = "g.path = ?"; arguments = [p]
        case .guardID(let id): condition = "c.guard_id = ?"; arguments = [id]
        }
        let columns = Self.claimColumns.split(separator: ",").map { "c." + $0.filter { !$0.isWhitespace } }
            .joined(separator: ", ")
        let added = "SELECT \(columns), g.path, 'added' AS change, c.claimed_at AS at FROM claims c JOIN guards g ON g.id = c.guard_id WHERE \(condition)"
        let released = """
            SELECT \(columns), g.path, 'released', c.released_at FROM claims c JOIN guards g ON g.id = c.guard_id
            WHERE c.released_at IS NOT NULL AND \(condition)
            """
        // By position (a compound select orders by its result columns): 20 at, 1 the claim's id, 19 change.
        return try database.rows("""
            SELECT * FROM (\(added) UNION ALL \(released) ORDER BY 20 DESC, 1 DESC, 19 DESC LIMIT ?)
            ORDER BY 20, 1, 19
            """, arguments + arguments + [limit ?? -1]) { row in
            ClaimEvent(change: ClaimEvent.Change(rawValue: row.text(18)) ?? .added, claim: Self.decodeClaim(row), path: row.text(17))
        }
    }
}
