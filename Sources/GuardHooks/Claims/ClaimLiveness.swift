import GuardStore

/// Whether the job behind a claim still runs. `unknown` never releases anything.
package enum ClaimLiveness: Sendable, Hashable {
    case alive
    case gone(String)
    case unknown(String)
}

/// What a process lookup in /proc found.
package enum ProcessLookup: Sendable, Hashable {
    /// The process exists; its start time in clock ticks since boot.
    case running(startTime: UInt64)
    case absent
    /// /proc could not be read (hidepid, no permission).
    case unreadable
}

/// The facts about one holder that decide its liveness, read from /proc.
package struct HolderFacts: Sendable, Hashable {
    package var process: ProcessLookup?
    package var sessionLeader: ProcessLookup?
    /// Whether any process still belongs to the holder's session; nil when it cannot be told.
    package var sessionHasMembers: Bool?

    package init(process: ProcessLookup? = nil, sessionLeader: ProcessLookup? = nil, sessionHasMembers: Bool? = nil) {
        self.process = process; self.sessionLeader = sessionLeader; self.sessionHasMembers = sessionHasMembers
    }
}

package enum ClaimDecisions {
    /// The liveness rule (README, "How guards work"), pure over what /proc showed:
    /// - a claim of an earlier boot is gone;
    /// - an explicit key cannot be checked: unknown;
    /// - a process claim is alive while that process (same pid and start time) runs; once it
    ///   is gone the claim falls back to its session, so a command left running by a killed
    ///   `exec` still holds the guard;
    /// - a session is alive while its leader (same start time) runs, or, once the leader is
    ///   gone, while any process is still in the session. The kernel does not reuse a pid
    ///   while a session of that id has members, so a leader pid running with another start
    ///   time proves the session ended.
    package static func liveness(_ h: ClaimHolder, currentBoot: String?, facts: HolderFacts) -> ClaimLiveness {
        guard let currentBoot else { return .unknown("cannot read the boot id") }
        if h.bootID != currentBoot { return .gone("its holder ran in an earlier boot") }
        switch h.kind {
        case .key:
            return .unknown("an explicit key: whether its job still runs cannot be told")
        case .process:
            switch facts.process {
            case .running(let start)? where start == h.pidStart: return .alive
            case .unreadable?, nil: return .unknown("cannot read /proc for process \(h.pid ?? 0)")
            default: break
            }
            guard h.sid != nil else { return .gone("process \(h.pid ?? 0) exited") }
            switch session(h, facts) {
            case .gone(let why): return .gone("process \(h.pid ?? 0) exited and \(why)")
            case let other: return other
            }
        case .session:
            return session(h, facts)
        }
    }

    private static func session(_ h: ClaimHolder, _ facts: HolderFacts) -> ClaimLiveness {
        let sid = h.sid ?? 0
        switch facts.sessionLeader {
        case .running(let start)?:
            if let recorded = h.sidStart, recorded == start { return .alive }
            return .gone("session \(sid) ended (its leader's pid now belongs to another process)")
        case .unreadable?, nil:
            return .unknown("cannot read /proc for session \(sid)")
        case .absent?:
            switch facts.sessionHasMembers {
            case true?: return .alive
            case false?: return .gone("session \(sid) ended")
            case nil: return .unknown("cannot scan /proc for members of session \(sid)")
            }
        }
    }
}

extension GuardEngine {
    /// Whether the job behind a claim still runs, from /proc now.
    func liveness(of holder: ClaimHolder, here: Surroundings) -> ClaimLiveness {
        ClaimDecisions.liveness(holder, currentBoot: here.bootID, facts: processes.facts(for: holder))
    }
}

extension ClaimDecisions {
    /// Which of a guard's live claims a clear releases, and who still holds the guard after:
    /// the caller's own claim and every claim whose job is provably gone are released; a live
    /// or undecidable one stays (never released on a guess). `force` releases all of them.
    package static func release(_ claims: [ClaimRecord], liveness: [ClaimLiveness], claimant: ClaimHolder?,
                               force: Bool) -> (releases: [ClaimRelease], holders: [ClaimRecord]) {
        var releases: [ClaimRelease] = [], holders: [ClaimRecord] = []
        for (claim, alive) in zip(claims, liveness) {
            if force {
                releases.append(ClaimRelease(claimID: claim.id, reason: "released by the operator (clear --force)"))
            } else if let claimant, claimant.canonicalKey == claim.holder.canonicalKey {
                releases.append(ClaimRelease(claimID: claim.id, reason: "released by its job"))
            } else if case .gone(let why) = alive {
                releases.append(ClaimRelease(claimID: claim.id, reason: "stale: \(why)"))
            } else {
                holders.append(claim)
            }
        }
        return (releases, holders)
    }

    /// "held by session 4242 (cron) of run #7, key nightly"
    package static func heldReason(_ holders: [ClaimRecord]) -> String {
        "held by " + holders.map { c in c.holder.summary + (c.runID.map { " of run #\($0)" } ?? "") }.joined(separator: ", ")
            + " (clear --force overrides)"
    }
}

extension GuardEngine {
    /// Releases every live claim whose job is provably gone, with the reason. Called with the
    /// writers' lock held (a run's start, reconcile). Returns what was released.
    @discardableResult
    func releaseStaleClaims(_ store: GuardStore, runID: RunID?) throws -> [(ClaimRecord, String)] {
        let here = surroundings()
        var released: [(ClaimRecord, String)] = []
        for (_, claims) in try store.liveClaims() {
            for c in claims {
                if case .gone(let why) = liveness(of: c.holder, here: here) { released.append((c, "stale: \(why)")) }
            }
        }
        try store.releaseClaims(released.map { ClaimRelease(claimID: $0.0.id, reason: $0.1) }, runID: runID)
        return released
    }
}

/// A claim whose job is provably gone, released by `reconcile` (or that would be, dry run).
package struct StaleClaim: Sendable, Hashable {
    package var guardID: GuardID
    package var path: String
    package var holder: ClaimHolder
    package var reason: String
}

extension GuardEngine {
    /// Releases every claim whose job is provably gone (`reconcile`); a dry run only lists them.
    package func releaseStaleClaims(dryRun: Bool = false) throws -> [StaleClaim] {
        try mappingStoreErrors {
            let session = try openSession(forWriting: !dryRun)
            defer { session.lock?.release() }
            guard let store = session.store else { return [] }
            let stale: [(ClaimRecord, String)]
            if dryRun {
                let here = surroundings()
                stale = try store.liveClaims().values.joined().compactMap { c in
                    if case .gone(let why) = liveness(of: c.holder, here: here) { return (c, "stale: \(why)") }
                    return nil
                }
            } else {
                stale = try releaseStaleClaims(store, runID: configuration.runID)
            }
            return try stale.map { c, reason in
                StaleClaim(guardID: c.guardID, path: try store.guardRecord(id: c.guardID)?.path ?? "?", holder: c.holder, reason: reason)
            }
        }
    }
}

extension ClaimDecisions {
    /// doctor's findings about one guard's live claims: a claim whose job's liveness cannot
    /// be decided stays (and doctor says why); one held longer than `warnAfter` seconds is
    /// worth a look (a job that never ran its post phase).
    package static func findings(path: String, claims: [ClaimRecord], liveness: [ClaimLiveness], now: Double,
                                warnAfter: Double) -> [DoctorFinding] {
        var out: [DoctorFinding] = []
        for (c, alive) in zip(claims, liveness) {
            let age = now - c.claimedAt.timeIntervalSince1970
            switch alive {
            case .unknown(let why):
                out.append(DoctorFinding(severity: .warn, path: path, code: "claim-undecidable",
                                         message: "\(c.holder.summary) holds the guard; kept because \(why)", guardID: c.guardID))
            case .gone(let why):
                out.append(DoctorFinding(severity: .warn, path: path, code: "claim-stale",
                                         message: "\(c.holder.summary): \(why); the next clear, run or reconcile releases it",
                                         guardID: c.guardID))
            case .alive where age > warnAfter:
                out.append(DoctorFinding(severity: .warn, path: path, code: "claim-old",
                                         message: "\(c.holder.summary) has held the guard for \(Int(age / 3600)) h (claim_warn_after \(Int(warnAfter)) s)",
                                         guardID: c.guardID))
            case .alive: break
            }
        }
        return out
    }
}
