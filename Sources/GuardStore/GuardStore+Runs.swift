/// Hook runs and their per-hook results.
extension GuardStore {
    /// Records the start of a run; `targets` are stored newline-joined (paths hold no newlines).
    public func beginRun(phase: String, targets: [String], dryRun: Bool, actor: Actor) throws -> RunID {
        try requireWritable()
        try database.execute("""
            INSERT INTO runs (phase, targets, dry_run, started_at, actor) VALUES (?, ?, ?, ?, ?)
            """, [phase, targets.joined(separator: "\n"), dryRun, nowMilliseconds, actor.name])
        return database.lastInsertRowID
    }

    /// Records hook number `seq` (run order, from 0 or 1 as the runner likes) of run `runID`.
    public func recordHookResult(runID: RunID, seq: Int, _ result: HookResultRecord) throws {
        try requireWritable()
        do {
            try database.execute("""
                INSERT INTO hook_results (run_id, seq, name, path, outcome, exit_code, signal, timed_out,
                    started_at, finished_at, output_tail, reason)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [runID, seq, result.name, result.path, result.outcome.rawValue, result.exitCode, result.signal,
                      result.timedOut, result.startedAt.map(Self.milliseconds), result.finishedAt.map(Self.milliseconds),
                      result.outputTail, result.reason])
        } catch let error as DatabaseError where error.extendedCode == DatabaseError.constraintForeignKey {
            throw StoreError.unknownRun(id: runID)
        }
    }

    /// Stamps the run's end and exit code.
    public func finishRun(runID: RunID, exitCode: Int32) throws {
        try requireWritable()
        try database.execute("UPDATE runs SET finished_at = ?, exit_code = ? WHERE id = ?",
                             [nowMilliseconds, exitCode, runID])
        if sqlite3_changes64(database.handle) == 0 { throw StoreError.unknownRun(id: runID) }
    }

    public func run(id: RunID) throws -> RunRecord? {
        try database.readTransaction {
            guard var run = try database.row("SELECT \(Self.runColumns) FROM runs WHERE id = ?", [id], Self.decodeRun)
            else { return nil }
            run.hooks = try hookResults(runID: id)
            return run
        }
    }

    /// Runs, newest LAST, with their hook results in run order; `phase` filters, `limit` keeps
    /// the newest N.
    public func runs(phase: String? = nil, limit: Int? = nil) throws -> [RunRecord] {
        try database.readTransaction {
            var runs: [RunRecord]
            if let phase {
                runs = try database.rows("""
                    SELECT * FROM (SELECT \(Self.runColumns) FROM runs WHERE phase = ?
                                   ORDER BY started_at DESC, id DESC LIMIT ?)
                    ORDER BY started_at, id
                    """, [phase, limit ?? -1], Self.decodeRun)
            } else {
                runs = try database.rows("""
                    SELECT * FROM (SELECT \(Self.runColumns) FROM runs ORDER BY started_at DESC, id DESC LIMIT ?)
                    ORDER BY started_at, id
                    """, [limit ?? -1], Self.decodeRun)
            }
            for i in runs.indices { runs[i].hooks = try hookResults(runID: runs[i].id) }
            return runs
        }
    }

    func hookResults(runID: RunID) throws -> [HookResultRecord] {
        try database.rows("""
            SELECT name, path, outcome, exit_code, signal, timed_out, started_at, finished_at, output_tail, reason, id
            FROM hook_results WHERE run_id = ? ORDER BY seq
            """, [runID]) { row in
            guard let outcome = HookOutcome(rawValue: row.text(2)) else {
                throw StoreError.corruptRow(table: "hook_results", id: row.int64(10), reason: "outcome '\(row.text(2))'")
            }
            return HookResultRecord(
                name: row.text(0), path: row.text(1), outcome: outcome,
                exitCode: row.int64OrNil(3).map { Int32(truncatingIfNeeded: $0) },
                signal: row.int64OrNil(4).map { Int32(truncatingIfNeeded: $0) }, timedOut: row.bool(5),
                startedAt: row.int64OrNil(6).map(Self.date), finishedAt: row.int64OrNil(7).map(Self.date),
                outputTail: row.text(8), reason: row.textOrNil(9))
        }
    }

    static let runColumns = "id, phase, targets, dry_run, started_at, finished_at, exit_code, actor"

    static func decodeRun(_ row: Row) -> RunRecord {
        let targets = row.text(2)
        return RunRecord(
            id: row.int64(0), phase: row.text(1),
            targets: targets.isEmpty ? [] : targets.split(separator: "\n", omittingEmptySubsequences: false).map(String.init),
            dryRun: row.bool(3), startedAt: date(row.int64(4)), finishedAt: row.int64OrNil(5).map(date),
            exitCode: row.int64OrNil(6).map { Int32(truncatingIfNeeded: $0) }, actor: row.text(7), hooks: [])
    }
}

import CSQLite
