import GuardStore

/// The kind an operator asks for: `auto` is bind first, immutable when no bind can be made.
public enum RequestedKind: String, Sendable, Codable, CaseIterable {
    /// A read-only bind mount, or the immutable flag where no bind can be made.
    case auto
    /// A read-only bind mount of the directory over itself.
    case bind
    /// The immutable inode flag (`chattr +i`).
    case immutable
}

/// What the kernel shows at a target, probed on the fd the engine will act on.
package struct TargetFacts: Sendable, Hashable {
    /// Whether the topmost mount at the path is a mount root.
    package var mountState: MountState
    /// Id of the topmost mount at the path.
    package var topMountID: UInt64?
    /// The immutable flag of the directory the fd lands on; nil when it cannot be read.
    package var immutable: Bool?
    /// False when the filesystem at the fd cannot hold the flag.
    package var immutableSupported: Bool
    /// For a recorded bind guard: whether its mount still exists (statmount); nil: unknown.
    package var recordedMountExists: Bool?
    /// Mount points strictly below the target (from the mount table): a guard would hide them.
    package var mountsBelow: [String] = []
    /// For a recorded bind guard: where its mount is attached now when that is not the
    /// target (a parent directory was renamed). The read-only mount is still there.
    package var recordedMountMovedTo: String?

    package init(mountState: MountState, topMountID: UInt64? = nil, immutable: Bool? = false,
                immutableSupported: Bool = true, recordedMountExists: Bool? = nil) {
        self.mountState = mountState; self.topMountID = topMountID; self.immutable = immutable
        self.immutableSupported = immutableSupported; self.recordedMountExists = recordedMountExists
    }
}

/// The part of a guard row decisions look at.
package struct GuardSummary: Sendable, Hashable {
    package var id: GuardID
    package var kind: GuardKind
    package var lifetime: GuardLifetime
    package var status: GuardStatus
    package var mountID: UInt64?

    package init(id: GuardID, kind: GuardKind, lifetime: GuardLifetime, status: GuardStatus, mountID: UInt64?) {
        self.id = id; self.kind = kind; self.lifetime = lifetime; self.status = status; self.mountID = mountID
    }

    package init(_ record: GuardRecord) {
        self.init(id: record.id, kind: record.kind, lifetime: record.lifetime, status: record.status,
                  mountID: record.mountID)
    }

    /// Whether the topmost mount described by `facts` is this (bind) guard.
    func isOnTop(_ facts: TargetFacts) -> Bool {
        kind == .bind && facts.mountState == .mounted && mountID != nil && facts.topMountID == mountID
    }
}

/// What `apply` / `seal` does for one target.
package enum ApplyDecision: Sendable, Hashable {
    /// Record the intent, then make a guard of this kind (`auto`: bind, then immutable).
    case guardNew(RequestedKind)
    /// Retry a `failed` row (failed → pending(applying)), then make the guard.
    case retry(GuardID, RequestedKind)
    /// The flag is already set on the bare directory with no row: record it as applied.
    case adoptImmutable
    /// A deferred clear is withdrawn: the guard stays (pending(clear-deferred) → applied).
    case withdrawClear(GuardID)
    case alreadyApplied(GuardID, String?)
    case skipMounted(String)
    case postpone(String)
    case refuse(String)
    case unsupported(String)
}

/// What `clear` / `unseal` does for one guard or target.
package enum ClearDecision: Sendable, Hashable {
    /// Record pending(clearing), then unmount the pinned guard mount.
    case removeBind(GuardID)
    /// The guard's mount was moved (its parent renamed): record pending(clearing), then
    /// unmount it where it is now.
    case removeMovedBind(GuardID, at: String)
    /// Record pending(clearing) (when there is a row), then clear FS_IMMUTABLE_FL.
    case clearFlag(GuardID?)
    /// The guard is already gone from the kernel: settle the row as cleared.
    case markCleared(GuardID, String)
    /// Unsafe now: leave (or put) the row in pending(clear-deferred).
    case postpone(GuardID, String)
    /// An interrupted apply must be reconciled first: report deferred, write nothing.
    case wait(String)
    case alreadyClear(String?)
    case refuse(String)
}

package enum GuardDecisions {
    /// `apply` (transient) and `seal` (persistent immutable) for one offline-or-not target.
    /// Says that an existing guard of another kind was kept: the target is guarded (exit 0),
    /// but not the way the caller asked, and an operator must see that.
    static func keptKind(_ row: GuardSummary, _ requested: RequestedKind) -> String? {
        guard requested != .auto, requested.rawValue != row.kind.rawValue else { return nil }
        return "kept the existing \(row.kind.rawValue) guard #\(row.id); requested kind \(requested.rawValue) not applied"
    }

    package static func apply(requested: RequestedKind, lifetime: GuardLifetime,
                             facts: TargetFacts, existing: GuardSummary?) -> ApplyDecision {
        if facts.mountState == .unknown {
            return .refuse("mount state unknown (statx and mountinfo cannot tell): refusing to guess")
        }
        if let row = existing {
            if row.lifetime != lifetime && lifetime == .persistent {
                return .refuse("has a transient \(row.kind.rawValue) guard #\(row.id); clear it before sealing")
            }
            if row.status == .applying || row.status == .clearing {
                return .postpone("guard #\(row.id) is \(row.status): an earlier run was interrupted; run reconcile")
            }
            if row.isOnTop(facts) {
                switch row.status.state {
                case .applied: return .alreadyApplied(row.id, keptKind(row, requested))
                case .pending: return .withdrawClear(row.id)
                default: return .postpone("guard #\(row.id) is \(row.status) but in the kernel; run reconcile")
                }
            }
        }
        if facts.mountState == .mounted {
            return .skipMounted(existing.map { "storage is mounted over guard #\($0.id)" } ?? "storage is mounted")
        }
        if !facts.mountsBelow.isEmpty {
            return .refuse(mountsBelowReason(facts.mountsBelow))
        }
        // Offline from here on.
        if let row = existing {
            switch (row.kind, row.status.state) {
            case (.immutable, .applied) where facts.immutable == true:
                return .alreadyApplied(row.id, row.lifetime == lifetime ? keptKind(row, requested) : "sealed (persistent)")
            case (.immutable, .pending) where facts.immutable == true:
                return .withdrawClear(row.id)
            case (_, .failed):
                return retryOrUnsupported(row.id, requested, facts)
            default:
                return .refuse("guard #\(row.id) is \(row.status) but the kernel shows no guard; run reconcile")
            }
        }
        if facts.immutable == true && requested != .bind {
            return .adoptImmutable
        }
        if requested == .immutable && !facts.immutableSupported {
            return .unsupported("the filesystem does not support the immutable flag")
        }
        return .guardNew(requested)
    }

    /// Names the mounts a guard would hide (the first few of many).
    package static func mountsBelowReason(_ mounts: [String]) -> String {
        let shown = mounts.prefix(3).joined(separator: ", ")
        return "mounts below it would be hidden by a guard: \(shown)" + (mounts.count > 3 ? " and \(mounts.count - 3) more" : "")
    }

    private static func retryOrUnsupported(_ id: GuardID, _ requested: RequestedKind, _ facts: TargetFacts) -> ApplyDecision {
        if requested == .immutable && !facts.immutableSupported {
            return .unsupported("the filesystem does not support the immutable flag")
        }
        return .retry(id, requested)
    }

    /// `clear` (transient guards only) and `unseal` (persistent ones, `operatorUnseal`).
    package static func clear(row: GuardSummary?, facts: TargetFacts?, operatorUnseal: Bool) -> ClearDecision {
        guard let row else {
            guard operatorUnseal, let facts else { return .alreadyClear("no guard recorded") }
            switch facts.mountState {
            case .mounted: return .refuse("target is mounted: unseal only an offline mountpoint")
            case .unknown: return .refuse("mount state unknown: refusing to guess")
            case .notMounted:
                if facts.immutable == true { return .clearFlag(nil) }
                return .alreadyClear("not immutable")
            }
        }
        if row.lifetime == .persistent && !operatorUnseal {
            return .refuse("guard #\(row.id) is a persistent seal: only unseal removes it")
        }
        if operatorUnseal && row.lifetime == .transient {
            return .refuse("guard #\(row.id) is transient: use clear")
        }
        if row.status == .applying {
            return .wait("guard #\(row.id) is \(row.status): an earlier run was interrupted; run reconcile")
        }
        if row.status == .clearing {
            return .postpone(row.id, "guard #\(row.id) is \(row.status): an earlier run was interrupted; run reconcile")
        }
        guard let facts else { return .postpone(row.id, "cannot probe the target now") }
        if operatorUnseal && facts.mountState == .mounted {
            return .refuse("target is mounted: unseal only an offline mountpoint")
        }
        switch row.kind {
        case .bind:
            if row.isOnTop(facts) { return .removeBind(row.id) }
            if let moved = facts.recordedMountMovedTo, facts.recordedMountExists == true {
                return .removeMovedBind(row.id, at: moved)
            }
            switch (facts.mountState, facts.recordedMountExists) {
            case (.mounted, .some(true)):
                return .postpone(row.id, "shadowed: storage is mounted over the guard")
            case (.mounted, nil), (.unknown, _):
                return .postpone(row.id, "cannot tell whether the guard is still under the mounted storage")
            default:
                return .markCleared(row.id, "guard mount already gone")
            }
        case .immutable:
            switch facts.mountState {
            case .mounted: return .postpone(row.id, "target mounted: the flag is cleared once the storage is unmounted")
            case .unknown: return .postpone(row.id, "mount state unknown: refusing to guess")
            case .notMounted:
                switch facts.immutable {
                case .some(true): return .clearFlag(row.id)
                case .some(false): return .markCleared(row.id, "flag already removed")
                case nil: return .postpone(row.id, "cannot read the inode flags now")
                }
            }
        }
    }
}
