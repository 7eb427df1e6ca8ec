import GuardStore

extension GuardEngine {
    /// Removes transient guards on the targets. Unsafe cases (storage mounted over the
    /// guard, a mounted immutable target) stay `pending(clear-deferred)` with the reason.
    public func clear(_ targets: [String], dryRun: Bool = false) throws -> [TargetOutcome] {
        try removeGuards(.targets(targets), operatorUnseal: false, dryRun: dryRun)
    }

    /// Removes every outstanding transient guard.
    public func clearAll(dryRun: Bool = false) throws -> [TargetOutcome] {
        try removeGuards(.all, operatorUnseal: false, dryRun: dryRun)
    }

    /// The operator's lever for a persistent seal; refuses a mounted target.
    public func unseal(_ targets: [String], dryRun: Bool = false) throws -> [TargetOutcome] {
        try removeGuards(.targets(targets), operatorUnseal: true, dryRun: dryRun)
    }

    enum Selection { case targets([String]), all }

    private func removeGuards(_ selection: Selection, operatorUnseal: Bool, dryRun: Bool) throws -> [TargetOutcome] {
        try operation { try removeGuardsNow(selection, operatorUnseal: operatorUnseal, dryRun: dryRun) }
    }

    private func removeGuardsNow(_ selection: Selection, operatorUnseal: Bool, dryRun: Bool) throws -> [TargetOutcome] {
        try mappingStoreErrors {
            // Before the writers' lock: the only wait on a storage. `clear --all` finds its
            // paths in the store, read without the lock.
            switch selection {
            case .all: askAhead(try openSession(forWriting: false).store?.outstandingGuards().map(\.path) ?? [])
            case .targets(let targets): askAhead(targets)
            }
            let session = try openSession(forWriting: !dryRun)
            defer { session.lock?.release() }
            let store = session.store
            var batch: GuardBatch
            switch selection {
            case .all:
                let rows = try store?.outstandingGuards().filter { $0.lifetime == .transient } ?? []
                batch = GuardBatch(engine: self, store: store, here: surroundings(), capacity: rows.count, dryRun: dryRun,
                                   loadsClaims: true)
                try gathering(store) {
                    for row in rows {
                        // A guard whose directory cannot be opened now is decided without facts (postponed).
                        if case .ready(let p) = try prepare(row.path) { try batch.add(row.path, p, row: row) } else { try batch.add(row.path, nil, row: row) }
                    }
                }
            case .targets(let targets):
                batch = GuardBatch(engine: self, store: store, here: surroundings(), capacity: targets.count, dryRun: dryRun,
                                   loadsClaims: true)
                var seen = Set<PathKey>()  // by bytes: canonically equal names are other directories
                try gathering(store) {
                    for target in targets {
                        switch try prepare(target, dryRun: dryRun) {
                        case .ready(let p):
                            if !seen.insert(PathKey(p.path)).inserted { discard(p); continue }
                            try batch.add(target, p)
                        case .refused(let path, .unreachable(let why)):
                            // The storage does not answer: its row is left as it is, for a later run.
                            batch.add(target, outcome: TargetOutcome(target: target, refused: path, .unreachable(why), dryRun: dryRun))
                        case .refused(let path, let why):
                            // A recorded guard whose directory cannot be opened now is still cleared later.
                            if let path, let row = try store?.currentGuard(path: path) {
                                try batch.add(target, nil, row: row)
                            } else {
                                batch.add(target, outcome: TargetOutcome(target: target, refused: path, why, dryRun: dryRun))
                            }
                        case .wouldCreate: break
                        }
                    }
                }
            }
            return try batch.run(claimLiveness: true) { clearStep($0, operatorUnseal: operatorUnseal) }
        }
    }

    /// clear's and unseal's half of the pipeline: the decision table's verdict as a batch step.
    func clearStep(_ item: BatchItem, operatorUnseal: Bool) -> BatchStep {
        if let r = item.repairedAway {
            return BatchStep(outcome: .alreadyClear, reason: r.reason, kind: r.kind, lifetime: r.lifetime, guardID: r.guardID)
        }
        let row = item.row
        var step = BatchStep(outcome: .cleared, kind: row?.kind, lifetime: row?.lifetime, guardID: row?.id)
        if let row, row.lifetime == .transient, !item.claims.isEmpty {
            let verdict = ClaimDecisions.release(item.claims, liveness: item.claimLiveness,
                                                 claimant: configuration.claimant, force: configuration.forceClear)
            step.claimReleases = verdict.releases
            if !verdict.holders.isEmpty {
                // Another job still relies on the guard: it stays, whatever else is true.
                step.outcome = .held
                step.reason = ClaimDecisions.heldReason(verdict.holders)
                return step
            }
        }
        let decision = GuardDecisions.clear(row: row.map(GuardSummary.init), facts: item.facts, operatorUnseal: operatorUnseal)
        func report(_ outcome: Outcome, _ reason: String?) -> BatchStep {
            step.outcome = outcome; step.reason = reason; return step
        }
        switch decision {
        case .alreadyClear(let reason): return report(.alreadyClear, reason)
        case .refuse(let reason): return report(.refused, reason)
        case .wait(let reason): return report(.deferred, reason)
        case .postpone(let id, let reason):
            if row?.status != .clearDeferred {
                step.writeAhead = .transition(GuardTransition(guardID: id, to: .clearDeferred, reason: reason))
            }
            return report(.deferred, reason)
        case .markCleared(let id, let reason):
            step.writeAhead = .transition(GuardTransition(guardID: id, to: .cleared, reason: reason))
            return report(.cleared, reason)
        case .removeBind(let id):
            let verb = operatorUnseal ? "unseal" : "clear"
            step.writeAhead = .transition(GuardTransition(
                guardID: id, to: .clearing, reason: item.adoption.map { "\(verb): \($0)" } ?? verb,
                mountID: item.adoption == nil ? nil : row?.mountID, mountIDIsUnique: item.adoption == nil ? nil : row?.mountIDIsUnique))
            step.action = .removeBind(mountID: row?.mountID ?? 0, mountIDIsUnique: row?.mountIDIsUnique ?? false, at: nil)
            step.reason = item.adoption
            return step
        case .removeMovedBind(let id, let moved):
            let why = "guard moved to \(moved) (a parent directory was renamed): removed there"
            step.writeAhead = .transition(GuardTransition(guardID: id, to: .clearing, reason: "\(operatorUnseal ? "unseal" : "clear"): \(why)"))
            step.action = .removeBind(mountID: row?.mountID ?? 0, mountIDIsUnique: row?.mountIDIsUnique ?? false, at: moved)
            step.reason = why
            return step
        case .clearFlag(let id?):
            step.writeAhead = .transition(GuardTransition(guardID: id, to: .clearing, reason: operatorUnseal ? "unseal" : "clear"))
            step.action = .clearFlag
            return step
        case .clearFlag(nil):
            step.kind = .immutable
            step.action = .clearFlag
            return report(.cleared, "no record: flag cleared")
        }
    }
}
