import FoundationEssentials

/// How a guard refuses writes.
public enum GuardKind: String, Sendable, Codable, CaseIterable {
    /// A read-only self-bind mount of the directory: writes fail with `EROFS`; gone at reboot.
    case bind
    /// `FS_IMMUTABLE_FL` on the bare directory: writes fail with `EPERM`; survives reboot.
    case immutable
}

/// Whether `clear` may remove the guard (`transient`) or only `unseal` (`persistent`).
public enum GuardLifetime: String, Sendable, Codable, CaseIterable {
    case transient
    case persistent
}

/// The state of one guard row. See DESIGN.md, "The guard state machine".
public enum GuardState: String, Sendable, Codable, CaseIterable {
    case pending
    case applied
    case failed
    case cleared

    /// Every state but `cleared` is outstanding: something is, or should be, in the kernel.
    package var isOutstanding: Bool { self != .cleared }
}

/// What a `pending` guard is waiting for. Only `pending` rows carry one.
public enum PendingAction: String, Sendable, Codable, CaseIterable {
    /// Intent committed, kernel not yet confirmed (write-ahead of apply).
    case applying
    /// Intent to remove committed, kernel not yet confirmed (write-ahead of clear).
    case clearing
    /// Clear requested but unsafe now (mounted, shadowed, lock held); finish later.
    case clearDeferred = "clear-deferred"
}

/// A state together with its pending action: the unit the state machine reasons about.
public struct GuardStatus: Sendable, Hashable, Codable, CustomStringConvertible {
    public var state: GuardState
    public var action: PendingAction?

    package init(_ state: GuardState, _ action: PendingAction? = nil) {
        self.state = state
        self.action = action
    }

    package static let applying = GuardStatus(.pending, .applying)
    package static let clearing = GuardStatus(.pending, .clearing)
    package static let clearDeferred = GuardStatus(.pending, .clearDeferred)
    package static let applied = GuardStatus(.applied)
    package static let failed = GuardStatus(.failed)
    package static let cleared = GuardStatus(.cleared)

    /// A status is well formed when exactly the `pending` state carries an action.
    public var isWellFormed: Bool { (state == .pending) == (action != nil) }

    public var description: String {
        action.map { "\(state.rawValue)(\($0.rawValue))" } ?? state.rawValue
    }
}

/// The legal transitions, as data. `from == nil` is the creation of a row.
package enum GuardStateMachine {
    package static let legalTransitions: Set<Edge> = [
        Edge(nil, .applying),
        // apply settles
        Edge(.applying, .applied),
        Edge(.applying, .failed),
        Edge(.applying, .cleared),          // reconcile: interrupted apply that never reached the kernel
        // clear
        Edge(.applied, .clearing),
        Edge(.applied, .clearDeferred),
        Edge(.applied, .cleared),           // reconcile: bind guard gone with a reboot / namespace
        Edge(.clearDeferred, .clearing),
        Edge(.clearDeferred, .applied),     // a new apply withdraws the deferred clear
        Edge(.clearDeferred, .cleared),
        Edge(.clearDeferred, .failed),
        Edge(.clearing, .cleared),
        Edge(.clearing, .applied),          // removal failed or interrupted: the guard is still in force
        Edge(.clearing, .clearDeferred),    // became unsafe between intent and act
        Edge(.clearing, .failed),
        // failed
        Edge(.failed, .applying),           // retry
        Edge(.failed, .cleared),
        Edge(.failed, .clearing),           // clear of a failed row whose guard is back (chattr -i, +i)
        Edge(.failed, .clearDeferred),      // …or whose target is mounted now
        Edge(.applied, .failed),            // reconcile: removed outside hook-runner
    ]

    package struct Edge: Hashable, Sendable, CustomStringConvertible {
        package var from: GuardStatus?
        package var to: GuardStatus
        package init(_ from: GuardStatus?, _ to: GuardStatus) { self.from = from; self.to = to }
        package var description: String { "\(from?.description ?? "∅") → \(to)" }
    }

    package static func isLegal(from: GuardStatus?, to: GuardStatus) -> Bool {
        legalTransitions.contains(Edge(from, to))
    }
}

public typealias GuardID = Int64
public typealias RunID = Int64

/// One guard row.
public struct GuardRecord: Sendable, Hashable, Codable {
    public var id: GuardID
    public var path: String
    public var kind: GuardKind
    public var lifetime: GuardLifetime
    public var status: GuardStatus
    /// Why the row is in its status (the reason of its last transition).
    public var reason: String?
    /// Device (`makedev(major, minor)`) and inode of the guarded directory.
    public var device: UInt64?
    public var inode: UInt64?
    /// Bind guards: the unique mount id of the guard mount (`STATX_MNT_ID_UNIQUE`, or the
    /// reusable `STATX_MNT_ID` when `mountIDIsUnique` is false).
    public var mountID: UInt64?
    public var mountIDIsUnique: Bool
    /// Inode of `/proc/self/ns/mnt` of the process that made the guard.
    public var mountNamespace: UInt64?
    /// `/proc/sys/kernel/random/boot_id` when the guard was made.
    public var bootID: String
    public var label: String?
    public var runID: RunID?
    public var createdAt: Date
    public var updatedAt: Date

    public var state: GuardState { status.state }
    public var pendingAction: PendingAction? { status.action }
}

/// An intent to guard a path: becomes a `pending(applying)` row.
package struct GuardIntent: Sendable, Hashable {
    package var path: String
    package var kind: GuardKind
    package var lifetime: GuardLifetime
    package var device: UInt64?
    package var inode: UInt64?
    package var mountNamespace: UInt64?
    package var bootID: String
    package var label: String?
    package var reason: String?

    package init(path: String, kind: GuardKind, lifetime: GuardLifetime, device: UInt64? = nil,
                inode: UInt64? = nil, mountNamespace: UInt64? = nil, bootID: String,
                label: String? = nil, reason: String? = nil) {
        self.path = path; self.kind = kind; self.lifetime = lifetime; self.device = device
        self.inode = inode; self.mountNamespace = mountNamespace; self.bootID = bootID
        self.label = label; self.reason = reason
    }
}

/// A requested transition of an existing row, with the kernel facts learned on the way.
package struct GuardTransition: Sendable, Hashable {
    package var guardID: GuardID
    package var to: GuardStatus
    package var reason: String?
    /// When set, replace the row's kind (an `auto` apply that fell back to immutable).
    package var kind: GuardKind?
    /// When set, record the guard mount's id (bind guards once applied).
    package var mountID: UInt64?
    package var mountIDIsUnique: Bool?
    package var device: UInt64?
    package var inode: UInt64?

    package init(guardID: GuardID, to: GuardStatus, reason: String? = nil, kind: GuardKind? = nil,
                mountID: UInt64? = nil, mountIDIsUnique: Bool? = nil,
                device: UInt64? = nil, inode: UInt64? = nil) {
        self.guardID = guardID; self.to = to; self.reason = reason; self.kind = kind
        self.mountID = mountID; self.mountIDIsUnique = mountIDIsUnique
        self.device = device; self.inode = inode
    }
}

/// One row of the append-only history.
public struct GuardEvent: Sendable, Hashable, Codable {
    public var id: Int64
    public var guardID: GuardID
    public var path: String
    public var from: GuardStatus?
    public var to: GuardStatus
    public var reason: String?
    public var at: Date
    public var runID: RunID?
    public var actor: String
}

/// Who changed the store: recorded on every event and run ("hook-runner apply", "uid 0", …).
package struct Actor: Sendable, Hashable {
    package var name: String
    package init(_ name: String) { self.name = name }
}

/// One `hook-runner run` (or an in-process phase run).
public struct RunRecord: Sendable, Hashable, Codable {
    public var id: RunID
    public var phase: String
    public var targets: [String]
    public var dryRun: Bool
    public var startedAt: Date
    public var finishedAt: Date?
    /// The run's exit code once finished (sysexits vocabulary).
    public var exitCode: Int32?
    public var actor: String
    public var hooks: [HookResultRecord]
    /// The signal that ended the run early (hook-runner got SIGINT/SIGTERM/SIGHUP, or was
    /// found gone: SIGKILL), or nil.
    public var interruptedBy: Int32? = nil
    /// The hook-runner process that ran it and its start time (`/proc/PID/stat` field 22).
    public var pid: Int32? = nil
    public var pidStart: UInt64? = nil
}

/// A run left unfinished by a hook-runner that is gone (SIGKILL): `doctor` reports it,
/// `reconcile` and the next `run` record it interrupted.
package struct AbandonedRun: Sendable, Hashable {
    package var id: RunID
    package var phase: String
    package var pid: Int32
    package var pidStart: UInt64
}

/// How one hook ended.
public enum HookOutcome: String, Sendable, Codable, CaseIterable {
    case ok            // exit 0
    case softSkip = "soft-skip"   // exit 75: the rest of the phase is skipped, run succeeds
    case failed        // any other exit, a signal, or a timeout
    case skipped       // not run (soft skip earlier, pre-* stopped, refused as insecure)
}

/// One hook's result inside a run.
public struct HookResultRecord: Sendable, Hashable, Codable {
    public var name: String
    public var path: String
    public var outcome: HookOutcome
    public var exitCode: Int32?
    public var signal: Int32?
    public var timedOut: Bool
    public var startedAt: Date?
    public var finishedAt: Date?
    /// The last bytes of the hook's combined output (bounded by the runner).
    public var outputTail: String
    /// For `skipped`/`failed`: why.
    public var reason: String?

    package init(name: String, path: String, outcome: HookOutcome, exitCode: Int32? = nil,
                signal: Int32? = nil, timedOut: Bool = false, startedAt: Date? = nil,
                finishedAt: Date? = nil, outputTail: String = "", reason: String? = nil) {
        self.name = name; self.path = path; self.outcome = outcome; self.exitCode = exitCode
        self.signal = signal; self.timedOut = timedOut; self.startedAt = startedAt
        self.finishedAt = finishedAt; self.outputTail = outputTail; self.reason = reason
    }
}
