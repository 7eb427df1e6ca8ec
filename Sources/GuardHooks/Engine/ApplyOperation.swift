import GuardStore

extension GuardEngine {
    /// Guards every offline target. Per target, one outcome of the shared vocabulary.
    ///
    /// - Parameters:
    ///   - targets: the mountpoints to guard, each inside the allowed roots.
    ///   - kind: `auto` makes a read-only bind guard and falls back to the immutable flag.
    ///   - lifetime: `persistent` guards are removed only by `unseal`.
    ///   - createMissing: make a missing directory (its parent must resolve inside the roots).
    ///   - label: recorded with the guard (`hook-runner guards` shows it).
    ///   - dryRun: report what would happen; the kernel and the store stay untouched.
    public func apply(_ targets: [String], kind: RequestedKind = .auto, lifetime: GuardLifetime = .transient,
                      createMissing: Bool = false, label: String? = nil, dryRun: Bool = false) throws -> [TargetOutcome] {
        try operation {
            try applyTargets(targets, kind: kind, lifetime: lifetime, createMissing: createMissing, label: label, dryRun: dryRun)
        }
    }

    private func applyTargets(_ targets: [String], kind: RequestedKind, lifetime: GuardLifetime, createMissing: Bool,
                              label: String?, dryRun: Bool) throws -> [TargetOutcome] {
        askAhead(targets)  // before the writers' lock: the only wait on a storage
        return try mappingStoreErrors {
            let session = try openSession(forWriting: !dryRun)
            defer { session.lock?.release() }
            let here = Surroundings(bootID: try bootID(), namespace: kernel.mountNamespace())
            var batch = GuardBatch(engine: self, store: session.store, here: here, capacity: targets.count, dryRun: dryRun)
            var seen: [PathKey: Int] = [:]  // by bytes: canonically equal names are other directories
            seen.reserveCapacity(targets.count)
            try gathering(session.store) {
                for (i, target) in targets.enumerated() {
                    switch try prepare(target, createMissing: createMissing, dryRun: dryRun) {
                    case .refused(let path, let why):
                        batch.add(target, outcome: TargetOutcome(target: target, refused: path, why, dryRun: dryRun))
                    case .wouldCreate(let path):
                        batch.add(target, outcome: TargetOutcome(target: target, path: path, outcome: .applied, dryRun: true,
                                                                 lifetime: lifetime, reason: "would create the directory"))
                    case .ready(let p):
                        if let first = seen[PathKey(p.path)] {
                            discard(p)
                            batch.add(target, outcome: TargetOutcome(target: target, path: p.path, outcome: .alreadyApplied,
                                                                     dryRun: dryRun, reason: "same directory as target \(first + 1)"))
                            continue
                        }
                        seen[PathKey(p.path)] = i
                        try batch.add(target, p)
                    }
                }
            }
            return try batch.run { item in
                applyStep(item, requested: kind, lifetime: lifetime, label: label, here: here)
            }
        }
    }

    /// `seal`: a persistent immutable guard on every offline target (the NAS case).
    public func seal(_ targets: [String], createMissing: Bool = false, label: String? = nil,
                     dryRun: Bool = false) throws -> [TargetOutcome] {
        try apply(targets, kind: .immutable, lifetime: .persistent, createMissing: createMissing,
                  label: label, dryRun: dryRun)
    }

    /// apply's half of the pipeline: the decision table's verdict as a batch step.
    func applyStep(_ item: BatchItem, requested: RequestedKind, lifetime: GuardLifetime, label: String?,
                   here: Surroundings) -> BatchStep {
        let row = item.row
        guard let facts = item.facts, let probe = item.probe, let path = item.path else {
            return .report(.failed, "cannot probe the target")
        }
        var step = BatchStep(outcome: .refused, kind: row?.kind, lifetime: row?.lifetime ?? lifetime, guardID: row?.id)
        func done(_ outcome: Outcome, _ reason: String?) -> BatchStep {
            step.outcome = outcome; step.reason = reason
            if outcome != .alreadyApplied || row?.lifetime == .persistent { step.addsClaim = false }
            return step
        }
        let decision = GuardDecisions.apply(requested: requested, lifetime: lifetime, facts: facts,
                                            existing: row.map(GuardSummary.init))
        // The caller's job relies on the guard it gets or finds (seals take no claims).
        if lifetime == .transient, configuration.claimant != nil { step.addsClaim = true }
        switch decision {
        case .alreadyApplied(_, let reason): return done(.alreadyApplied, reason)
        case .skipMounted(let reason):
            if let wrong = wrongStorage(at: path) { return done(.wrongStorage, wrong) }
            return done(.skippedMounted, reason)
        case .postpone(let reason): return done(.deferred, reason)
        case .refuse(let reason): return done(.refused, reason)
        case .unsupported(let reason): return done(.unsupported, reason)
        case .withdrawClear(let id):
            step.outcome = .alreadyApplied
            step.reason = "withdrew the deferred clear"
            step.dryRunReason = "would withdraw the deferred clear"
            step.writeAhead = .transition(GuardTransition(guardID: id, to: .applied, reason: "apply withdrew the deferred clear"))
            return step
        case .guardNew, .retry, .adoptImmutable:
            let adopt = decision == .adoptImmutable
            // The kind an intent records before the kernel is touched: `auto` plans a bind guard.
            let planned: GuardKind = adopt || requested == .immutable ? .immutable : .bind
            step.outcome = .applied
            step.kind = planned
            step.lifetime = lifetime
            step.writeAhead = .newGuard(GuardIntent(path: path, kind: planned, lifetime: lifetime,
                                                    device: probe.device, inode: probe.inode,
                                                    mountNamespace: here.namespace, bootID: here.bootID ?? "", label: label,
                                                    reason: adopt ? "adopting an existing immutable flag" : nil))
            step.action = adopt ? .adoptFlag : .makeGuard(requested)
            return step
        }
    }
}
