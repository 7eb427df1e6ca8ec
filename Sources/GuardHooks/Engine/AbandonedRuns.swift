import GuardStore

/// Runs whose hook-runner was SIGKILLed stay unfinished in the store: nothing was left to
/// finish them. A run records its process (pid and start time), so a later command can tell
/// such a run from one still going: `runs` shows it interrupted, `doctor` warns about it,
/// `reconcile` and the next `run` record it interrupted.
extension GuardEngine {
    /// Whether the process that began a run is still that run's process: same pid and
    /// same start time (a reused pid has another).
    package static func runProcessAlive(pid: Int32, start: UInt64) -> Bool {
        ProcStat.read(pid).map { $0.startTime == start && $0.state != "Z" } ?? false
    }

    /// Records every abandoned run interrupted (`reconcile`); a dry run only lists them.
    package func interruptAbandonedRuns(dryRun: Bool = false) throws -> [AbandonedRun] {
        try mappingStoreErrors {
            let session = try openSession(forWriting: !dryRun)
            defer { session.lock?.release() }
            guard let store = session.store else { return [] }
            return dryRun ? try store.abandonedRuns(isAlive: Self.runProcessAlive)
                          : try store.markAbandonedRuns(isAlive: Self.runProcessAlive)
        }
    }

    /// `doctor`'s warning about each abandoned run.
    func abandonedRunFindings(_ store: GuardStore) throws -> [DoctorFinding] {
        try store.abandonedRuns(isAlive: Self.runProcessAlive).map { run in
            DoctorFinding(severity: .warn, path: configuration.storePath, code: "run-interrupted",
                          message: "run #\(run.id) (\(run.phase)) never finished and its hook-runner (pid \(run.pid)) "
                              + "is gone: it was killed mid-run; `hook-runner reconcile` records it interrupted",
                          guardID: nil)
        }
    }
}
