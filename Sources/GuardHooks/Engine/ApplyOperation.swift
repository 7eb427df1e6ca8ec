import GuardStore

extension GuardEngine {
    /// Guards every offline target. Per target, one outcome of the shared vocabulary.
    ///
    /// - Parameters:
    ///   - kind: `auto` makes a read-only bind guard and falls back to the immutable flag.
    ///   - lifetime: `persistent` guards are removed only by `unseal`.
    ///   - createMissing: make a missing directory (its parent must resolve inside the roots).
    ///   - dryRun: report what would happen; the kernel and the store stay untouched.
    public func apply(_ targets: [String], kind: RequestedKind = .auto, lifetime: GuardLifetime = .transient,
                      createMissing: Bool = false, label: String? = nil, dryRun: Bool = false) throws -> [TargetOutcome] {
        try mappingStoreErrors {
            try applyBatch(targets, kind: kind, lifetime: lifetime, createMissing: createMissing, label: label, dryRun: dryRun)
        }
    }

    private func applyBatch(_ targets: [String], kind: RequestedKind, lifetime: GuardLifetime,
                            createMissing: Bool, label: String?, dryRun: Bool) throws -> [TargetOutcome] {
        let session = try openSession(forWriting: !dryRun)
        defer { session.lock?.release() }
        let store = session.store
        let boot = try bootID()
        let namespace = kernel.mountNamespace()
        let here = Surroundings(bootID: boot, namespace: namespace)

        var outcomes = TargetOutcome.unset(count: targets.count)  // every slot is set below; no copy at the end
        var work: [ApplyWork] = []
        work.reserveCapacity(targets.count)  // sized once: see ClearOperation
        var repairs: [GuardTransition] = []
        var seen: [PathKey: Int] = [:]  // by bytes: canonically equal names are other directories
        seen.reserveCapacity(targets.count)
        defer { for w in work { kernel.close(w.target.handle) } }

        for (i, target) in targets.enumerated() {
            let prepared: PreparedTarget
            switch prepare(target, createMissing: createMissing, dryRun: dryRun) {
            case .refused(let o): outcomes[i] = o; continue
            case .wouldCreate(let path):
                outcomes[i] = TargetOutcome(target: target, path: path, outcome: .applied, dryRun: true,
                                            lifetime: lifetime, reason: "would create the directory")
                continue
            case .ready(let p): prepared = p
            }
            if let first = seen[PathKey(prepared.path)] {
                kernel.close(prepared.handle)
                outcomes[i] = TargetOutcome(target: target, path: prepared.path, outcome: .alreadyApplied,
                                            dryRun: dryRun, reason: "same directory as target \(first + 1)")
                continue
            }
            seen[PathKey(prepared.path)] = i
            var row = try store.flatMap { try $0.currentGuard(path: prepared.path) }
            // A row the kernel contradicts is reconciled first, so the decision sees the truth.
            if let r = row, let (to, reason) = ReconcileDecisions.settle(row: GuardSummary(r), observed: observe(r, here)) {
                repairs.append(GuardTransition(guardID: r.id, to: to, reason: reason))
                row = (to == .cleared) ? nil : { var c = r; c.status = to; return c }()
            }
            let facts = self.facts(prepared, row: row)
            let decision = GuardDecisions.apply(requested: kind, lifetime: lifetime, facts: facts,
                                                existing: row.map(GuardSummary.init))
            let base = TargetOutcome(target: target, path: prepared.path, outcome: .refused, dryRun: dryRun,
                                     kind: row?.kind, lifetime: row?.lifetime ?? lifetime, guardID: row?.id)
            func finish(_ outcome: Outcome, _ reason: String?) {
                var o = base; o.outcome = outcome; o.reason = reason; outcomes[i] = o
                kernel.close(prepared.handle)
            }
            switch decision {
            case .alreadyApplied(_, let reason): finish(.alreadyApplied, reason)
            case .skipMounted(let reason): finish(.skippedMounted, reason)
            case .postpone(let reason): finish(.deferred, reason)
            case .refuse(let reason): finish(.refused, reason)
            case .unsupported(let reason): finish(.unsupported, reason)
            case .withdrawClear, .guardNew, .retry, .adoptImmutable:
                work.append(ApplyWork(index: i, target: prepared, decision: decision, facts: facts, row: row))
            }
        }

        if dryRun {
            for w in work {
                let kindWord = w.decision == .adoptImmutable ? GuardKind.immutable : plannedKind(kind, w.facts)
                outcomes[w.index] = TargetOutcome(target: w.target.target, path: w.target.path,
                                                  outcome: w.decision.isWithdraw ? .alreadyApplied : .applied,
                                                  dryRun: true, kind: kindWord, lifetime: lifetime, guardID: w.row?.id,
                                                  reason: w.decision.isWithdraw ? "would withdraw the deferred clear" : nil)
            }
            return outcomes
        }
        guard let store else { throw GuardEngineError.store("no store") }
        let runID = configuration.runID
        if !repairs.isEmpty { try store.settle(repairs, runID: runID, actor: actor, returningRows: false) }

        // 1. Write-ahead: every intent of the batch in one transaction.
        var withdrawals: [GuardTransition] = []
        var intents: [GuardIntent] = []
        intents.reserveCapacity(work.count)
        for w in work {
            switch w.decision {
            case .withdrawClear(let id):
                withdrawals.append(GuardTransition(guardID: id, to: .applied, reason: "apply withdrew the deferred clear"))
            default:
                intents.append(GuardIntent(path: w.target.path,
                                           kind: w.decision == .adoptImmutable ? .immutable : plannedKind(kind, w.facts),
                                           lifetime: lifetime, device: w.target.probe.device, inode: w.target.probe.inode,
                                           mountNamespace: namespace, bootID: boot, label: label,
                                           reason: w.decision == .adoptImmutable ? "adopting an existing immutable flag" : nil))
            }
        }
        if !withdrawals.isEmpty { try store.settle(withdrawals, runID: runID, actor: actor, returningRows: false) }
        let rows = intents.isEmpty ? [] : try store.recordIntents(intents, runID: runID, actor: actor)
        // recordIntents answers in the order of `intents`, which follow `work` minus the
        // withdrawals: a cursor pairs them (no path-keyed dictionary: BENCHMARKS.md).
        var nextRow = rows.startIndex
        crashIfFaultPoint(.afterIntent)

        // 2. The kernel, on the fds opened at preparation.
        var settles: [GuardTransition] = []
        settles.reserveCapacity(work.count)
        for w in work {
            if case .withdrawClear(let id) = w.decision {
                outcomes[w.index] = TargetOutcome(target: w.target.target, path: w.target.path, outcome: .alreadyApplied,
                                                  kind: w.row?.kind, lifetime: w.row?.lifetime, guardID: id,
                                                  reason: "withdrew the deferred clear")
                continue
            }
            guard nextRow < rows.endIndex else { continue }
            let row = rows[nextRow].record
            nextRow += 1
            precondition(row.path == w.target.path, "recordIntents answered out of order")
            let (transition, outcome) = act(w, row: row, requested: kind)
            settles.append(transition)
            outcomes[w.index] = TargetOutcome(target: w.target.target, path: w.target.path, outcome: outcome,
                                              kind: transition.kind ?? row.kind, lifetime: lifetime, guardID: row.id,
                                              reason: transition.reason)
        }
        crashIfFaultPoint(.afterKernel)

        // 3. Settle every outcome in one transaction.
        if !settles.isEmpty { try store.settle(settles, runID: runID, actor: actor, returningRows: false) }
        return outcomes
    }

    /// `seal`: a persistent immutable guard on every offline target (the NAS case).
    public func seal(_ targets: [String], createMissing: Bool = false, label: String? = nil,
                     dryRun: Bool = false) throws -> [TargetOutcome] {
        try apply(targets, kind: .immutable, lifetime: .persistent, createMissing: createMissing,
                  label: label, dryRun: dryRun)
    }

    struct ApplyWork {
        var index: Int
        var target: PreparedTarget
        var decision: ApplyDecision
        var facts: TargetFacts
        var row: GuardRecord?
    }

    /// The kind an intent records before the kernel is touched: `auto` plans a bind guard.
    func plannedKind(_ requested: RequestedKind, _ facts: TargetFacts) -> GuardKind {
        requested == .immutable ? .immutable : .bind
    }

    /// Carries out one guard on its prepared fd; returns the settling transition and outcome.
    private func act(_ w: ApplyWork, row: GuardRecord, requested: RequestedKind) -> (GuardTransition, Outcome) {
        let id = row.id
        if w.decision == .adoptImmutable {
            return (GuardTransition(guardID: id, to: .applied, reason: "already immutable: adopted", kind: .immutable), .applied)
        }
        var bindError: KernelError?
        if requested != .immutable {
            do {
                let m = try kernel.makeReadOnlyBind(w.target.handle)
                let note = m.usedFallback ? "read-only bind (legacy bind+remount: briefly writable)" : "read-only bind"
                return (GuardTransition(guardID: id, to: .applied, reason: note, kind: .bind,
                                        mountID: m.mountID, mountIDIsUnique: m.mountIDIsUnique), .applied)
            } catch {
                bindError = error
                if requested == .bind {
                    return (GuardTransition(guardID: id, to: .failed, reason: "bind guard: \(error)"), .failed)
                }
            }
        }
        guard w.facts.immutableSupported else {
            let why = "bind failed (\(bindError.map { "\($0.errno)" } ?? "-")) and the filesystem does not support the immutable flag"
            return (GuardTransition(guardID: id, to: .failed, reason: why), .unsupported)
        }
        do {
            try kernel.setImmutable(w.target.handle, true)
            let note = bindError.map { "immutable flag (bind failed: \($0.errno))" } ?? "immutable flag"
            return (GuardTransition(guardID: id, to: .applied, reason: note, kind: .immutable), .applied)
        } catch {
            return (GuardTransition(guardID: id, to: .failed, reason: "immutable guard: \(error)", kind: .immutable),
                    error.isUnsupported ? .unsupported : .failed)
        }
    }
}

extension ApplyDecision {
    var isWithdraw: Bool { if case .withdrawClear = self { return true } else { return false } }
}
