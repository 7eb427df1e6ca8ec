import FoundationEssentials

/// The newest real (not dry) run of one phase.
package struct PhaseLastRun: Sendable, Hashable {
    package var phase: String
    package var startedAt: Date
    package var finishedAt: Date?
    /// nil while the run is unfinished (or was interrupted).
    package var exitCode: Int32?
    package init(phase: String, startedAt: Date, finishedAt: Date?, exitCode: Int32?) {
        self.phase = phase; self.startedAt = startedAt; self.finishedAt = finishedAt; self.exitCode = exitCode
    }
}

extension GuardStore {
    /// The newest real run of each phase, in no particular order (one query, served by an
    /// index). It relies on SQLite's rule that bare columns of a `MAX()` aggregate come from
    /// the row holding the maximum.
    package func lastRunPerPhase() throws -> [PhaseLastRun] {
        try database.rows("""
            SELECT phase, MAX(started_at), finished_at, exit_code FROM runs WHERE dry_run = 0 GROUP BY phase
            """) { row in
            PhaseLastRun(phase: row.text(0), startedAt: Self.date(row.int64(1)),
                         finishedAt: row.int64OrNil(2).map(Self.date),
                         exitCode: row.int64OrNil(3).map { Int32(truncatingIfNeeded: $0) })
        }
    }
}
