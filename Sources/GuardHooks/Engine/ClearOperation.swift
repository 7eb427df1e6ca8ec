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

    /// One item to clear: its index in the batch (target, path, row and fd stay there, not
    /// copied per item: BENCHMARKS.md), the row's status as reconciled, the decision.
    private struct ClearWork {
        var index: Int
        var status: GuardStatus?
        var decision: ClearDecision
    }

    private func removeGuards(_ selection: Selection, operatorUnseal: Bool, dryRun: Bool) throws -> [TargetOutcome] {
        try mappingStoreErrors { try removeBatch(selection, operatorUnseal: operatorUnseal, dryRun: dryRun) }
    }

    private func removeBatch(_ selection: Selection, operatorUnseal: Bool, dryRun: Bool) throws -> [TargetOutcome] {
        let session = try openSession(forWriting: !dryRun)
        defer { session.lock?.release() }
        let store = session.store

        // Gather (target, path, row, prepared fd) for each item.
        var items: [(target: String, path: String?, row: GuardRecord?, prepared: PreparedTarget?)] = []
        // Refusals by item index, not a field of every item: few items are refused (BENCHMARKS.md).
        var refusals: [Int: TargetOutcome] = [:]
        // Sized up front: growing by doubling raises the peak memory (BENCHMARKS.md).
        if case .targets(let targets) = selection { items.reserveCapacity(targets.count) }
        switch selection {
        case .all:
            for row in try store?.outstandingGuards() ?? [] where row.lifetime == .transient {
                let p: PreparedTarget? = { if case .ready(let t) = prepare(row.path) { return t } else { return nil } }()
                items.append((row.path, row.path, row, p))
            }
        case .targets(let targets):
            var seen = Set<PathKey>()  // by bytes: canonically equal names are other directories
            for target in targets {
                switch prepare(target, dryRun: dryRun) {
                case .ready(let p):
                    if !seen.insert(PathKey(p.path)).inserted { kernel.close(p.handle); continue }
                    items.append((target, p.path, try store?.currentGuard(path: p.path), p))
                case .refused(let o):
                    // A recorded guard whose directory cannot be opened now is still cleared later.
                    if let path = o.path, let row = try store?.currentGuard(path: path) {
                        items.append((target, path, row, nil))
                    } else {
                        refusals[items.count] = o
                        items.append((target, nil, nil, nil))
                    }
                case .wouldCreate: break
                }
            }
        }
        // Handles are closed exactly once: before a bind removal (our own fd on the guard
        // would make the unmount fail with EBUSY), or at the end.
        var open = Set(items.compactMap { $0.prepared?.handle.fd })
        func closeHandle(_ p: PreparedTarget?) {
            if let p, open.remove(p.handle.fd) != nil { kernel.close(p.handle) }
        }
        defer { for item in items { closeHandle(item.prepared) } }

        var outcomes = TargetOutcome.unset(count: items.count)  // every slot is set below; no copy at the end
        let here = surroundings()
        var work: [ClearWork] = []
        work.reserveCapacity(items.count)
        var repairs: [GuardTransition] = []
        for (i, item) in items.enumerated() {
            if let refused = refusals[i] { outcomes[i] = refused; continue }
            var row = item.row
            if let r = row, let (to, reason) = ReconcileDecisions.settle(row: GuardSummary(r), observed: observe(r, here)) {
                repairs.append(GuardTransition(guardID: r.id, to: to, reason: reason))
                if to == .cleared {
                    outcomes[i] = TargetOutcome(target: item.target, path: item.path, outcome: .alreadyClear, dryRun: dryRun,
                                                kind: r.kind, lifetime: r.lifetime, guardID: r.id, reason: reason)
                    continue
                }
                row?.status = to
            }
            let facts = item.prepared.map { self.facts($0, row: row) }
            let decision = GuardDecisions.clear(row: row.map(GuardSummary.init), facts: facts, operatorUnseal: operatorUnseal)
            work.append(ClearWork(index: i, status: row?.status, decision: decision))
        }

        let runID = configuration.runID
        if !dryRun, let store, !repairs.isEmpty { try store.settle(repairs, runID: runID, actor: actor, returningRows: false) }

        // 1. Write-ahead: pending(clearing) for every removal, and the deferrals, in one transaction.
        var intents: [GuardTransition] = []
        intents.reserveCapacity(work.count)
        for w in work {
            func out(_ o: Outcome, _ reason: String?) {
                let item = items[w.index]
                outcomes[w.index] = TargetOutcome(target: item.target, path: item.path ?? item.target, outcome: o, dryRun: dryRun,
                                                  kind: item.row?.kind ?? (w.decision == .clearFlag(nil) ? .immutable : nil),
                                                  lifetime: item.row?.lifetime, guardID: item.row?.id, reason: reason)
            }
            switch w.decision {
            case .alreadyClear(let reason): out(.alreadyClear, reason)
            case .refuse(let reason): out(.refused, reason)
            case .postpone(let id, let reason):
                out(.deferred, reason)
                if w.status != .clearDeferred {
                    intents.append(GuardTransition(guardID: id, to: .clearDeferred, reason: reason))
                }
            case .markCleared(let id, let reason):
                out(.cleared, reason)
                intents.append(GuardTransition(guardID: id, to: .cleared, reason: reason))
            case .removeBind(let id), .clearFlag(let id?):
                out(.cleared, nil)
                intents.append(GuardTransition(guardID: id, to: .clearing, reason: operatorUnseal ? "unseal" : "clear"))
            case .clearFlag(nil):
                out(.cleared, "no record: flag cleared")
            }
        }
        if dryRun { return outcomes }
        guard let store else { return outcomes }
        if !intents.isEmpty { try store.settle(intents, runID: runID, actor: actor, returningRows: false) }
        crashIfFaultPoint(.afterIntent)

        // 2. The kernel.
        var settles: [GuardTransition] = []
        settles.reserveCapacity(work.count)
        for w in work {
            switch w.decision {
            case .removeBind(let id):
                let row = items[w.index].row!
                closeHandle(items[w.index].prepared)
                do {
                    switch try kernel.removeBind(at: items[w.index].path ?? items[w.index].target, mountID: row.mountID ?? 0, mountIDIsUnique: row.mountIDIsUnique) {
                    case .removed:
                        settles.append(GuardTransition(guardID: id, to: .cleared, reason: "bind guard unmounted"))
                    case .notTopmost:
                        settles.append(GuardTransition(guardID: id, to: .clearDeferred, reason: "shadowed: storage is mounted over the guard"))
                        outcomes[w.index].outcome = .deferred
                        outcomes[w.index].reason = "shadowed: storage is mounted over the guard"
                    case .notMounted:
                        settles.append(GuardTransition(guardID: id, to: .cleared, reason: "guard mount already gone"))
                    }
                } catch {
                    settles.append(GuardTransition(guardID: id, to: .applied, reason: "unmount failed: \(error)"))
                    outcomes[w.index].outcome = .failed
                    outcomes[w.index].reason = "unmount failed: \(error)"
                }
            case .clearFlag(let id):
                guard let handle = items[w.index].prepared?.handle else { continue }
                do {
                    try kernel.setImmutable(handle, false)
                    if let id { settles.append(GuardTransition(guardID: id, to: .cleared, reason: "immutable flag cleared")) }
                } catch {
                    if let id { settles.append(GuardTransition(guardID: id, to: .applied, reason: "clearing the flag failed: \(error)")) }
                    outcomes[w.index].outcome = .failed
                    outcomes[w.index].reason = "clearing the flag failed: \(error)"
                }
            default: break
            }
        }
        crashIfFaultPoint(.afterKernel)

        // 3. Settle.
        if !settles.isEmpty { try store.settle(settles, runID: runID, actor: actor, returningRows: false) }
        return outcomes
    }
}
