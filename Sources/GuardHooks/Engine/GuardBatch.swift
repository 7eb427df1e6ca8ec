import GuardStore

/// One target of a batch, as gathered: the caller's word for it, the canonical path, its
/// current row (reconciled against the kernel) and what the kernel shows there. A batch
/// holds one per target (10,000 and more), so what only some items have is kept small.
struct BatchItem {
    var target: String
    var path: String?
    @OnHeap var row: GuardRecord?
    var probe: DirectoryProbe?
    var facts: TargetFacts?
    /// Set when reconciling found the row's guard already gone: which row it was, and why.
    /// (Not the whole row: items are held for every target of a batch, 10,000 and more.)
    var repairedAway: (guardID: GuardID, kind: GuardKind, lifetime: GuardLifetime, reason: String)?
    /// The row's guard was made in another mount namespace and is visible here as another
    /// mount (a shared peer's copy): the row now names that mount, and this says so.
    var adoption: String?
    /// The row's live claims, and whether each one's job still runs (same order; looked up
    /// only for a batch run with `claimLiveness`, else empty).
    var claims: [ClaimRecord] = []
    var claimLiveness: [ClaimLiveness] = []
}

/// What a command decided for one item: the outcome to report, what to commit before the
/// kernel is touched, and the kernel action. Decisions are pure; the batch carries them out.
struct BatchStep {
    /// What is written ahead, in the batch's one intent transaction.
    enum WriteAhead {
        /// A new `pending(applying)` row (or a `failed` row taken up again).
        case newGuard(GuardIntent)
        /// A transition of the item's row.
        case transition(GuardTransition)
    }

    /// What the kernel is asked to do, after the write-ahead.
    enum KernelAction: Equatable {
        /// A bind guard and/or the immutable flag, as requested (`auto`: bind, then the flag).
        case makeGuard(RequestedKind)
        /// The flag is already there: record it, touch nothing.
        case adoptFlag
        /// Unmount the recorded bind guard, only if it is the topmost mount at `at` (the
        /// item's path when nil; where a moved guard is now otherwise).
        case removeBind(mountID: UInt64, mountIDIsUnique: Bool, at: String?)
        /// Clear `FS_IMMUTABLE_FL` on the item's fd.
        case clearFlag
    }

    var outcome: Outcome
    var reason: String?
    /// The plan's wording in a dry run, where it differs from `reason`.
    var dryRunReason: String?
    var kind: GuardKind?
    var lifetime: GuardLifetime?
    var guardID: GuardID?
    var writeAhead: WriteAhead?
    var action: KernelAction?
    /// The caller's claim (`configuration.claimant`, one for the batch) is added with the
    /// write-ahead, and released again if the guard fails.
    var addsClaim = false
    /// Claims released with the write-ahead.
    var claimReleases: [ClaimRelease] = []

    /// Nothing to write or do: report this.
    static func report(_ outcome: Outcome, _ reason: String?) -> BatchStep {
        BatchStep(outcome: outcome, reason: reason)
    }
}

/// The file descriptors of a batch, with one owner: each is closed exactly once, either
/// when an action needs it closed (a bind guard cannot be unmounted while we hold an fd on
/// it) or when the batch ends.
final class BatchHandles {
    private let kernel: any KernelOperations
    private var handles: [DirectoryHandle?]

    init(kernel: any KernelOperations, count: Int) {
        self.kernel = kernel
        self.handles = [DirectoryHandle?](repeating: nil, count: count)
    }

    subscript(_ index: Int) -> DirectoryHandle? { handles[index] }

    func adopt(_ handle: DirectoryHandle, at index: Int) {
        close(index)
        handles[index] = handle
    }

    func close(_ index: Int) {
        if let h = handles[index] { kernel.close(h); handles[index] = nil }
    }

    deinit { for h in handles { if let h { kernel.close(h) } } }
}

/// One pipeline for every command that changes guards (apply, seal, clear, unseal, import):
/// gather → reconcile contradicted rows → decide (pure, per command) → write ahead (one
/// transaction) → act on the kernel (on the fds opened while gathering) → settle (one
/// transaction). A dry run stops after deciding and reports the plan.
struct GuardBatch {
    let engine: GuardEngine
    let store: GuardStore?
    var items: [BatchItem] = []
    /// Outcomes already known while gathering (refusals, duplicates), by item index.
    var early: [Int: TargetOutcome] = [:]
    let handles: BatchHandles
    let dryRun: Bool
    /// This boot and mount namespace, read once for the batch.
    let here: GuardEngine.Surroundings
    /// Which directories have mounts below them, from one read of the mount table.
    let mountsBelow: MountsBelowIndex
    /// Whether items carry their rows' live claims: only clear and unseal decide on them.
    let loadsClaims: Bool

    init(engine: GuardEngine, store: GuardStore?, here: GuardEngine.Surroundings, capacity: Int, dryRun: Bool,
         loadsClaims: Bool = false) {
        self.loadsClaims = loadsClaims
        self.engine = engine
        self.store = store
        self.here = here
        self.dryRun = dryRun
        self.handles = BatchHandles(kernel: engine.kernel, count: capacity)
        self.mountsBelow = MountsBelowIndex((try? engine.kernel.mountInfo()) ?? [])
        items.reserveCapacity(capacity)  // sized once: batches reach 10,000 targets
    }

    /// Adds a prepared target with its current row (looked up when not given) and, for a
    /// batch that decides on them, the row's live claims.
    mutating func add(_ target: String, _ prepared: PreparedTarget?, row given: GuardRecord? = nil) throws {
        let i = items.count
        let path = prepared?.path ?? given?.path
        let row = try given ?? path.flatMap { try store?.currentGuard(path: $0) }
        var item = BatchItem(target: target, path: path, row: row, probe: prepared?.probe)
        if loadsClaims, let row { item.claims = try store?.liveClaims(guardID: row.id) ?? [] }
        items.append(item)
        if let handle = prepared?.handle { handles.adopt(handle, at: i) }
    }

    /// Adds an item whose outcome is already known.
    mutating func add(_ target: String, outcome: TargetOutcome) {
        early[items.count] = outcome
        items.append(BatchItem(target: target, path: outcome.path))
    }

    /// Runs the batch: `decide` sees each item with its reconciled row and kernel facts, and
    /// with `claimLiveness` (clear, unseal: the only steps that decide on it) whether each of
    /// its claims' jobs still runs. That lookup reads /proc (a whole scan for a session whose
    /// leader is gone), so it is done only then, once per holder in the batch.
    mutating func run(claimLiveness: Bool = false, decide: (BatchItem) -> BatchStep) throws -> [TargetOutcome] {
        // What the steps ask for, gathered as they are decided (a batch holds no step: at
        // 10,000 targets every byte per item counts).
        var repairs: [GuardTransition] = []
        var transitions: [GuardTransition] = []
        var intents: [GuardIntent] = []
        var intentOwner: [Int] = []  // item index of each intent, in order
        var releases: [ClaimRelease] = []
        var claimsToAdd: [(item: Int, guardID: GuardID?)] = []
        var actions: [(item: Int, action: BatchStep.KernelAction, guardID: GuardID?, addsClaim: Bool)] = []
        var outcomes = TargetOutcome.unset(count: items.count)  // every slot is set below
        var livenessByHolder: [String: ClaimLiveness] = [:]
        for i in items.indices {
            if let known = early[i] { outcomes[i] = known; continue }
            // A row the kernel contradicts is reconciled first, so the decision sees the truth.
            if let r = items[i].row {
                let prepared = items[i].path.flatMap { path in
                    items[i].probe.map { PreparedTarget(path: path, handle: handles[i], probe: $0) }
                }
                let seen = engine.observeBounded(r, here, prepared: prepared)
                if let (to, reason) = ReconcileDecisions.settle(row: GuardSummary(r), observed: seen) {
                    repairs.append(GuardTransition(guardID: r.id, to: to, reason: reason))
                    items[i].row?.status = to
                    if to == .cleared { items[i].row = nil; items[i].repairedAway = (r.id, r.kind, r.lifetime, reason) }
                } else if let copy = seen.peerCopy, r.status != .applying {
                    items[i].row?.mountID = copy.mountID
                    items[i].row?.mountIDIsUnique = copy.unique
                    items[i].adoption = "guard made in mount namespace \(r.mountNamespace.map(String.init) ?? "?"), "
                        + "adopted here as mount \(copy.mountID) (a shared peer's copy)"
                }
            }
            if let probe = items[i].probe {
                items[i].facts = engine.facts(handles[i], probe: probe, row: items[i].row)
                if let path = items[i].path { items[i].facts?.mountsBelow = mountsBelow.mounts(below: path) }
            }
            if claimLiveness {
                items[i].claimLiveness = items[i].claims.map { c in
                    if let known = livenessByHolder[c.holder.canonicalKey] { return known }
                    let answer = engine.liveness(of: c.holder, here: here)
                    livenessByHolder[c.holder.canonicalKey] = answer
                    return answer
                }
            }
            let step = Self.legal(decide(items[i]), from: items[i].row?.status)
            outcomes[i] = outcome(i, step, dryRun: dryRun)
            if dryRun { continue }
            switch step.writeAhead {
            case .transition(let t)?: transitions.append(t)
            case .newGuard(let intent)?: intents.append(intent); intentOwner.append(i)
            case nil: break
            }
            releases += step.claimReleases
            if step.addsClaim { claimsToAdd.append((i, step.guardID)) }
            if let action = step.action { actions.append((i, action, step.guardID, step.addsClaim)) }
        }
        guard !dryRun, let store else { return outcomes }
        let runID = engine.configuration.runID, actor = engine.actor
        let claimant = engine.configuration.claimant
        if claimant == nil { claimsToAdd = [] }

        // 1. Write-ahead: the repairs and every intent of the batch in one transaction.
        var recorded: [RecordedIntent] = []
        var rowIDs = [GuardID?](repeating: nil, count: items.count)
        if !repairs.isEmpty || !transitions.isEmpty || !intents.isEmpty || !releases.isEmpty || !claimsToAdd.isEmpty {
            // No store error is caught inside: the store calls join, without savepoints.
            try store.writeTransaction(nestedSavepoints: false) {
                // The repairs first: a step's transition may start from a repaired status.
                if !repairs.isEmpty { try store.settle(repairs, runID: runID, actor: actor, returningRows: false) }
                if !transitions.isEmpty { try store.settle(transitions, runID: runID, actor: actor, returningRows: false) }
                try store.releaseClaims(releases, runID: runID)
                if !intents.isEmpty { recorded = try store.recordIntents(intents, runID: runID, actor: actor) }
                for (n, i) in intentOwner.enumerated() where n < recorded.count {
                    precondition(recorded[n].path == items[i].path, "recordIntents answered out of order")
                    rowIDs[i] = recorded[n].id
                }
                for (i, stepID) in claimsToAdd {
                    guard let holder = claimant, let id = rowIDs[i] ?? stepID else { continue }
                    try store.addClaim(guardID: id, holder: holder, runID: runID, actor: actor)
                }
            }
        }
        repairs = []; transitions = []; intents = []; recorded = []; releases = []  // freed before the kernel phase
        for (i, id) in rowIDs.enumerated() where id != nil { outcomes[i].guardID = id }
        engine.crashIfFaultPoint(.afterIntent)

        // 2. The kernel, on the fds opened while gathering.
        var settles: [GuardTransition] = []
        settles.reserveCapacity(actions.count)
        var failedClaims: [GuardID] = []
        for (i, action, stepID, addsClaim) in actions {
            let id = rowIDs[i] ?? stepID
            let done = act(action, item: i, guardID: id)
            if let id, let to = done.to {
                settles.append(GuardTransition(guardID: id, to: to, reason: done.recordedReason, kind: done.kind,
                                               mountID: done.mount?.mountID, mountIDIsUnique: done.mount?.mountIDIsUnique))
                if to == .failed, addsClaim, claimant != nil { failedClaims.append(id) }
            }
            if let o = done.outcome { outcomes[i].outcome = o }
            if done.reportsReason { outcomes[i].reason = done.recordedReason }
            if let k = done.kind { outcomes[i].kind = k }
        }
        engine.crashIfFaultPoint(.afterKernel)

        // 3. Settle every outcome in one transaction; a claim on a guard that could not be
        // made is released with it (nothing is there to rely on).
        if !settles.isEmpty {
            // No store error is caught inside: the store calls join, without savepoints.
            try store.writeTransaction(nestedSavepoints: false) {
                try store.settle(settles, runID: runID, actor: actor, returningRows: false)
                for id in failedClaims {
                    guard let holder = claimant else { break }
                    try store.releaseClaim(guardID: id, holder: holder, reason: "the guard could not be made", runID: runID)
                }
            }
        }
        return outcomes
    }

    /// A step whose write-ahead the state machine forbids becomes that target's `failed`
    /// outcome, checked before the batch's one intent transaction: one target's problem
    /// never aborts the others (issue 13).
    static func legal(_ step: BatchStep, from status: GuardStatus?) -> BatchStep {
        guard case .transition(let t)? = step.writeAhead, !GuardStateMachine.isLegal(from: status, to: t.to) else { return step }
        var failed = BatchStep.report(.failed, "internal: no legal transition \(status?.description ?? "∅") → \(t.to); nothing was done")
        failed.kind = step.kind; failed.lifetime = step.lifetime; failed.guardID = step.guardID
        return failed
    }

    private func outcome(_ i: Int, _ step: BatchStep, dryRun: Bool) -> TargetOutcome {
        let item = items[i]
        return TargetOutcome(target: item.target, path: item.path ?? item.target, outcome: step.outcome, dryRun: dryRun,
                             kind: step.kind, lifetime: step.lifetime, guardID: step.guardID,
                             reason: dryRun ? (step.dryRunReason ?? step.reason) : step.reason)
    }

    /// What one kernel action did: the status to settle, the reason, and any change of the
    /// reported outcome.
    struct Done {
        var to: GuardStatus?
        var recordedReason: String?
        var reportsReason = false
        var outcome: Outcome?
        var kind: GuardKind?
        var mount: BindGuardMount?
    }

    private func act(_ action: BatchStep.KernelAction, item i: Int, guardID: GuardID?) -> Done {
        let kernel = engine.kernel
        switch action {
        case .adoptFlag:
            return Done(to: .applied, recordedReason: "already immutable: adopted", reportsReason: true, kind: .immutable)
        case .makeGuard(let requested):
            guard let handle = handles[i] else { return Done(to: .failed, recordedReason: "no open directory", reportsReason: true, outcome: .failed) }
            return engine.makeGuard(requested, on: handle, immutableSupported: items[i].facts?.immutableSupported ?? true)
        case .removeBind(let mountID, let unique, let moved):
            handles.close(i)  // our own fd on the guard would make the unmount fail with EBUSY
            let path = moved ?? items[i].path ?? items[i].target
            do {
                switch try kernel.removeBind(at: path, mountID: mountID, mountIDIsUnique: unique) {
                case .removed:
                    if let moved { return Done(to: .cleared, recordedReason: "moved bind guard unmounted at \(moved)", reportsReason: true) }
                    return Done(to: .cleared, recordedReason: "bind guard unmounted")
                case .notTopmost:
                    return Done(to: .clearDeferred, recordedReason: "shadowed: storage is mounted over the guard",
                                reportsReason: true, outcome: .deferred)
                case .notMounted: return Done(to: .cleared, recordedReason: "guard mount already gone")
                }
            } catch where error.errno == .resourceBusy {
                // A submount inside the guard, or the guard in use: unsafe now, not failed.
                return Done(to: .clearDeferred, recordedReason: "busy: \(error.operation)", reportsReason: true,
                            outcome: .deferred)
            } catch {
                return Done(to: .applied, recordedReason: "unmount failed: \(error)", reportsReason: true, outcome: .failed)
            }
        case .clearFlag:
            guard let handle = handles[i] else { return Done() }
            do {
                try kernel.setImmutable(handle, false)
                return Done(to: guardID == nil ? nil : .cleared, recordedReason: "immutable flag cleared")
            } catch {
                return Done(to: guardID == nil ? nil : .applied, recordedReason: "clearing the flag failed: \(error)",
                            reportsReason: true, outcome: .failed)
            }
        }
    }
}

extension GuardEngine {
    /// Runs a batch's gathering in one read transaction: every row and claim looked up per
    /// target comes from one snapshot, and without a lock round trip per query (outside a
    /// transaction each query takes and drops WAL read locks: two fcntl calls).
    func gathering(_ store: GuardStore?, _ body: () throws -> Void) throws {
        guard let store else { return try body() }
        try store.readTransaction(body)
    }

    /// Makes one guard on its prepared fd: a read-only bind first unless the flag was asked
    /// for, the immutable flag when `auto`'s bind cannot be made.
    func makeGuard(_ requested: RequestedKind, on handle: DirectoryHandle, immutableSupported: Bool) -> GuardBatch.Done {
        typealias Done = GuardBatch.Done
        var bindError: KernelError?
        if requested != .immutable {
            do {
                let m = try kernel.makeReadOnlyBind(handle)
                let note = m.usedFallback ? "read-only bind (legacy bind+remount: briefly writable)" : "read-only bind"
                return Done(to: .applied, recordedReason: note, reportsReason: true, kind: .bind, mount: m)
            } catch where error.isMountedMeanwhile {
                // Storage was mounted on the target after the probe; the guard was undone.
                return Done(to: .cleared, recordedReason: "storage mounted meanwhile: guard undone", reportsReason: true,
                            outcome: .skippedMounted, kind: .bind)
            } catch where error.isResourceExhaustion {
                // Out of descriptors or memory says nothing about the target: never fall back.
                return Done(to: .failed, recordedReason: "bind guard: \(error)", reportsReason: true, outcome: .failed)
            } catch {
                bindError = error
                if requested == .bind {
                    return Done(to: .failed, recordedReason: "bind guard: \(error)", reportsReason: true, outcome: .failed)
                }
            }
        }
        guard immutableSupported else {
            let why = "bind failed (\(bindError.map { "\($0.errno)" } ?? "-")) and the filesystem does not support the immutable flag"
            return Done(to: .failed, recordedReason: why, reportsReason: true, outcome: .unsupported)
        }
        do {
            try kernel.setImmutable(handle, true)
            let note = bindError.map { "immutable flag (bind failed: \($0.errno))" } ?? "immutable flag"
            return Done(to: .applied, recordedReason: note, reportsReason: true, kind: .immutable)
        } catch {
            return Done(to: .failed, recordedReason: "immutable guard: \(error)", reportsReason: true,
                        outcome: error.isUnsupported ? .unsupported : .failed, kind: .immutable)
        }
    }
}

/// An optional value stored behind one pointer (nil costs nothing): a row is 176 bytes, and
/// most items of an apply have none. Value semantics as with a plain optional.
@propertyWrapper
struct OnHeap<Value> {
    private enum Storage {
        case none
        indirect case some(Value)
    }
    private var storage: Storage

    init(wrappedValue: Value?) { storage = wrappedValue.map { Storage.some($0) } ?? .none }

    var wrappedValue: Value? {
        get { if case .some(let v) = storage { return v } else { return nil } }
        set { storage = newValue.map { Storage.some($0) } ?? .none }
    }
}
