import GuardStore

/// What the kernel says about one recorded guard, gathered by the engine.
package struct GuardObservation: Sendable, Hashable {
    package enum Namespace: Sendable, Hashable {
        case same
        /// Made in another mount namespace that still exists: not ours to judge from here.
        case otherAlive
        /// Made in a mount namespace that no process holds any more: its mounts are gone.
        case otherGone
        case unknown
    }

    /// False when the row's boot id is not this boot's.
    package var sameBoot: Bool
    package var namespace: Namespace
    /// Whether the guard is in force in the kernel; nil when the probe failed.
    package var guardPresent: Bool?
    /// For an interrupted bind apply: the id of the guard mount found at the path.
    package var foundMountID: UInt64?
    /// The row's bind guard mount is attached elsewhere now (a parent directory renamed).
    package var movedTo: String?
    /// The row's bind guard mount is at the path but no longer ro,nosuid,nodev,noexec.
    package var weakened = false
    /// A bind guard made in another mount namespace, seen here as another mount at the
    /// path with the guard's directory and attributes: a shared peer's propagated copy.
    package var peerCopy: (mountID: UInt64, unique: Bool)? {
        get { peerCopyID.map { ($0, peerCopyIDIsUnique) } }
        set { peerCopyID = newValue?.mountID; peerCopyIDIsUnique = newValue?.unique ?? false }
    }
    private var peerCopyID: UInt64?
    private var peerCopyIDIsUnique = false

    package init(sameBoot: Bool = true, namespace: Namespace = .same, guardPresent: Bool?, foundMountID: UInt64? = nil) {
        self.sameBoot = sameBoot; self.namespace = namespace
        self.guardPresent = guardPresent; self.foundMountID = foundMountID
    }
}

package enum ReconcileDecisions {
    /// The status a row must move to so the store matches the kernel, with the reason;
    /// nil when the row already matches or the kernel cannot tell (never invent a change).
    package static func settle(row: GuardSummary, observed o: GuardObservation) -> (GuardStatus, String)? {
        let status = row.status
        if status == .cleared { return nil }
        if row.kind == .bind {
            if !o.sameBoot { return (.cleared, "reboot") }
            switch o.namespace {
            case .otherGone: return (.cleared, "mount namespace exited")
            case .otherAlive: return nil
            case .same, .unknown: break
            }
        }
        guard let present = o.guardPresent else { return nil }
        if let moved = o.movedTo, status != .failed {
            return (.failed, "guard moved to \(moved) (a parent directory was renamed): this path is not guarded; "
                        + "clear removes the read-only mount there")
        }
        if o.weakened, status == .applied {
            return (.failed, "guard mount remounted without ro,nosuid,nodev,noexec: not in force")
        }
        switch (status.state, status.action, present) {
        case (.pending, .applying?, true): return (.applied, "interrupted apply settled by probing: guard in force")
        case (.pending, .applying?, false): return (.failed, "interrupted apply: guard not in force")
        case (.pending, .clearing?, true): return (.applied, "interrupted clear: guard still in force")
        case (.pending, .clearing?, false): return (.cleared, "interrupted clear completed")
        case (.pending, .clearDeferred?, false): return (.cleared, "guard gone while its clear was deferred")
        case (.applied, _, false): return (.failed, "removed outside hook-runner")
        default: return nil
        }
    }
}
