import FoundationEssentials

/// Hook runs and their per-hook results.
extension GuardStore {
    /// Records the start of a run; `targets` are stored newline-joined (paths hold no newlines).
    /// `process`: the pid running it and that process's start time, so a run left
    /// unfinished by a SIGKILL can be told from one still going (`markAbandonedRuns`).
    /// `startedAt`: a run recorded after the fact (`exec`) gives its real start.
    package func beginRun(phase: String, targets: [String], dryRun: Bool, actor: Actor,
                         process: (pid: Int32, start: UInt64)? = nil, startedAt: Date? = nil) throws -> RunID {
        try requireWritable()
        try database.execute("""
            INSERT INTO runs (phase, targets, dry_run, started_at, actor, pid, pid_start) VALUES (?, ?, ?, ?, ?, ?, ?)
            """, [phase, targets.joined(separator: "\n"), dryRun, startedAt.map(Self.milliseconds) ?? nowMilliseconds, actor.name,
                  process.map { Int64($0.pid) }, process.map { Int64(bitPattern: $0.start) }])
        return database.lastInsertRowID
    }

    /// The unfinished runs whose process is gone (its hook-runner was SIGKILLed): `isAlive`
    /// gets each one's pid and start time. A store older than v4 records no process: none.
    package func abandonedRuns(isAlive: (Int32, UInt64) -> Bool) throws -> [AbandonedRun] {
        guard schemaVersion >= 4 else { return [] }
        return try database.rows("""
            SELECT id, phase, pid, pid_start FROM runs WHERE finished_at IS NULL AND pid IS NOT NULL ORDER BY id
            """, []) { row in
            AbandonedRun(id: row.int64(0), phase: row.text(1), pid: Int32(truncatingIfNeeded: row.int64(2)),
                         pidStart: UInt64(bitPattern: row.int64(3)))
        }.filter { !isAlive($0.pid, $0.pidStart) }
    }

    /// Records every abandoned run (`abandonedRuns`) as interrupted by SIGKILL, exit 137.
    /// Returns the runs marked.
    @discardableResult
    package func markAbandonedRuns(isAlive: (Int32, UInt64) -> Bool) throws -> [AbandonedRun] {
        try requireWritable()
        return try database.writeTransaction {
            let gone = try abandonedRuns(isAlive: isAlive)
            for run in gone {
                try database.execute("UPDATE runs SET finished_at = ?, exit_code = ?, interrupted_by = ? WHERE id = ?",
                                     [nowMilliseconds, Int64(128 + 9), Int64(9), run.id])
            }
            return gone
        }
    }

    /// Records hook number `seq` (run order, from 0 or 1 as the runner likes) of run `runID`.
    package func recordHookResult(runID: RunID, seq: Int, _ result: HookResultRecord) throws {
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
    /// `interruptedBy`: the signal that ended it early.
    package func finishRun(runID: RunID, exitCode: Int32, interruptedBy: Int32? = nil) throws {
        try requireWritable()
        try database.execute("UPDATE runs SET finished_at = ?, exit_code = ?, interrupted_by = ? WHERE id = ?",
                             [nowMilliseconds, exitCode, interruptedBy, runID])
        if sqlite3_changes64(database.handle) == 0 { throw StoreError.unknownRun(id: runID) }
    }

    package func run(id: RunID) throws -> RunRecord? {
        try database.readTransaction {
            guard var run = try database.row("SELECT \(runColumns) FROM runs WHERE id = ?", [id], Self.decodeRun)
            else { return nil }
            run.hooks = try hookResults(runID: id)
            return run
        }
    }

    /// Runs, newest LAST, with their hook results in run order; `phase` filters, `limit` keeps
    /// the newest N.
    package func runs(phase: String? = nil, limit: Int? = nil) throws -> [RunRecord] {
        try database.readTransaction {
            var runs: [RunRecord]
            if let phase {
                runs = try database.rows("""
                    SELECT * FROM (SELECT \(runColumns) FROM runs WHERE phase = ?
                                   ORDER BY started_at DESC, id DESC LIMIT ?)
                    ORDER BY started_at, id
                    """, [phase, limit ?? -1], Self.decodeRun)
            } else {
                runs = try database.rows("""
                    SELECT * FROM (SELECT \(runColumns) FROM runs ORDER BY started_at DESC, id DESC LIMIT ?)
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

    /// The columns `decodeRun` reads; a store older than v4 (read-only, not migrated) has no
    /// interruption or process columns yet and reads NULLs.
    var runColumns: String {
        let base = "id, phase, targets, dry_run, started_at, finished_at, exit_code, actor"
        return base + (schemaVersion >= 4 ? ", interrupted_by, pid, pid_start" : ", NULL, NULL, NULL")
    }

    static func decodeRun(_ row: Row) -> RunRecord {
        let targets = row.text(2)
        return RunRecord(
            id: row.int64(0), phase: row.text(1),
            targets: targets.isEmpty ? [] : targets.split(separator: "\n", omittingEmptySubsequences: false).map(String.init),
            dryRun: row.bool(3), startedAt: date(row.int64(4)), finishedAt: row.int64OrNil(5).map(date),
            exitCode: row.int64OrNil(6).map { Int32(truncatingIfNeeded: $0) }, actor: row.text(7), hooks: [],
            interruptedBy: row.int64OrNil(8).map { Int32(truncatingIfNeeded: $0) },
            pid: row.int64OrNil(9).map { Int32(truncatingIfNeeded: $0) },
            pidStart: row.int64OrNil(10).map { UInt64(bitPattern: $0) })
    }
}

import CSQLite
