import GuardStore

/// One change `reconcile` made (or, in a dry run, would make).
package struct ReconcileChange: Sendable, Hashable, Codable {
    package var guardID: GuardID
    package var path: String
    package var from: GuardStatus
    package var to: GuardStatus
    package var reason: String
}

extension GuardEngine {
    /// Settles every non-cleared row against the kernel, recording why for each change.
    package func reconcile(dryRun: Bool = false) throws -> [ReconcileChange] {
        try operation { try mappingStoreErrors { try reconcileAll(dryRun: dryRun) } }
    }

    private func reconcileAll(dryRun: Bool) throws -> [ReconcileChange] {
        // Before the writers' lock: the only wait on a storage (read without the lock).
        askAhead(try openSession(forWriting: false).store?.outstandingGuards().map(\.path) ?? [])
        let session = try openSession(forWriting: !dryRun)
        defer { session.lock?.release() }
        guard let store = session.store else { return [] }
        var changes: [ReconcileChange] = []
        var transitions: [GuardTransition] = []
        let here = surroundings()
        for row in try store.outstandingGuards() {
            let seen = observeBounded(row, here)
            guard let (to, reason) = ReconcileDecisions.settle(row: GuardSummary(row), observed: seen) else { continue }
            changes.append(ReconcileChange(guardID: row.id, path: row.path, from: row.status, to: to, reason: reason))
            transitions.append(GuardTransition(guardID: row.id, to: to, reason: reason,
                                               mountID: to == .applied ? seen.foundMountID : nil,
                                               mountIDIsUnique: to == .applied && seen.foundMountID != nil ? true : nil))
        }
        if !dryRun && !transitions.isEmpty {
            try store.settle(transitions, runID: configuration.runID, actor: actor, returningRows: false)
        }
        return changes
    }

    /// Whether the topmost mount at `path` carries a guard's attributes (mountinfo's
    /// per-mount options); nil when the mount table cannot be read.
    func hasGuardAttributes(topmostAt path: String) -> Bool? {
        guard let entries = try? kernel.mountInfo() else { return nil }
        guard let top = entries.last(where: { $0.mountPoint.utf8.elementsEqual(path.utf8) }) else { return false }
        return top.hasGuardAttributes
    }

    /// This boot and this mount namespace, read once per command rather than per guard.
    struct Surroundings {
        var bootID: String?
        var namespace: UInt64?
    }

    func surroundings() -> Surroundings {
        Surroundings(bootID: try? kernel.bootID(), namespace: kernel.mountNamespace())
    }

    /// `observe`, when the row's path answers (or need not be touched: a bind guard with its
    /// mount id is looked up in the mount table); a storage that does not answer tells nothing.
    func observeBounded(_ row: GuardRecord, _ here: Surroundings, prepared: PreparedTarget? = nil) -> GuardObservation {
        if row.kind == .bind && row.mountID != nil || reachable(row.path) { return observe(row, here, prepared: prepared) }
        return GuardObservation(guardPresent: nil)
    }

    /// What the kernel shows about one recorded guard. Probes that fail leave
    /// `guardPresent` nil, so nothing is changed on a guess. `prepared`: the batch's own view
    /// of the row's path (its fd and probe, from gathering), looked at instead of opening the
    /// path again; the decision is then made on the very directory it was observed on.
    func observe(_ row: GuardRecord, _ here: Surroundings, prepared: PreparedTarget? = nil) -> GuardObservation {
        var o = GuardObservation(guardPresent: nil)
        if let boot = here.bootID { o.sameBoot = (boot == row.bootID) }
        let recordedBind = row.kind == .bind && row.mountID != nil ? recordedBind(row) : .unknown
        if let recorded = row.mountNamespace, let current = here.namespace, recorded != current,
           recordedBind.exists != true {
            // Made in another namespace and its own mount is not here. Before calling that
            // namespace exited: a shared peer's copy of the guard may be in force here.
            if row.kind == .bind, o.sameBoot, case .guardMount(let id, let unique) = guardMountOnTop(row) {
                o.guardPresent = true
                o.peerCopy = (id, unique)
                return o
            }
            switch kernel.mountNamespaceAlive(recorded, madeBeforeMount: row.mountIDIsUnique ? row.mountID : nil) {
            case true?: o.namespace = .otherAlive
            case false?: o.namespace = .otherGone
            case nil: o.namespace = .unknown
            }
        }
        switch row.kind {
        case .bind:
            if row.mountID != nil {
                switch recordedBind {
                case .atPath(let inForce): o.guardPresent = inForce; o.weakened = !inForce
                case .moved(let to): o.guardPresent = false; o.movedTo = to
                case .gone: o.guardPresent = false
                case .unknown: break
                }
            } else {
                // Interrupted before the id was recorded: our guard is a mount root at the
                // path showing the very directory we recorded, with a guard's attributes.
                switch guardMountOnTop(row) {
                case .guardMount(let id, _): o.guardPresent = true; o.foundMountID = id
                case .notAGuard: o.guardPresent = false
                case .unknown: break
                }
            }
        case .immutable:
            if let prepared, PathKey(prepared.path) == PathKey(row.path) {
                // No fd: storage is mounted there (prepare never opens one).
                o.guardPresent = prepared.handle.map { immutableFlag(row, $0, prepared.probe) } ?? shadowedImmutable(row.path)
                return o
            }
            switch try? kernel.openPlaced(row.path) {
            case .storage?:
                // Storage is online: look beneath it, never into it.
                o.guardPresent = shadowedImmutable(row.path)
            case .opened(let h, _)?:
                defer { kernel.close(h) }
                guard let p = try? kernel.probe(h) else { return o }
                o.guardPresent = immutableFlag(row, h, p)
            default: break
            }
        }
        return o
    }

    /// Whether the row's immutable guard is in force, seen through an fd on its path; nil:
    /// cannot tell.
    private func immutableFlag(_ row: GuardRecord, _ h: DirectoryHandle, _ p: DirectoryProbe) -> Bool? {
        switch p.mountState {
        case .unknown: return nil
        case .notMounted: return p.inode == row.inode || row.inode == nil ? (try? kernel.isImmutable(h)) : false
        case .mounted: return shadowedImmutable(row.path)
        }
    }

    /// What the topmost mount at a row's path is, for a row whose own mount id is not there.
    enum TopGuard { case guardMount(id: UInt64, unique: Bool), notAGuard, unknown }

    /// Whether the topmost mount at the row's path is a guard of the row's directory: a mount
    /// root showing the very directory (same device and inode), read-only with nosuid, nodev,
    /// noexec (any writable bind is not the guard). With a storage on top it cannot be told
    /// (and the storage is not called into).
    func guardMountOnTop(_ row: GuardRecord) -> TopGuard {
        // With a storage on top: not opened, unknown.
        guard case .opened(let h, _)? = try? kernel.openPlaced(row.path) else { return .unknown }
        defer { kernel.close(h) }
        guard let p = try? kernel.probe(h), p.mountState != .unknown else { return .unknown }
        let ours = p.mountState == .mounted && p.device == row.device && p.inode == row.inode
            && hasGuardAttributes(topmostAt: row.path) == true
        guard ours, let id = p.mountID else { return .notAGuard }
        return .guardMount(id: id, unique: p.mountIDIsUnique)
    }

    /// The flag of the directory underneath whatever is mounted at `path`; nil: unknown.
    private func shadowedImmutable(_ path: String) -> Bool? {
        guard let s = try? kernel.openShadowed(path) else { return nil }
        defer { kernel.close(s) }
        return try? kernel.isImmutable(s)
    }
}
