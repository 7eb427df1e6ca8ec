import FoundationEssentials

/// Who relies on a guard: one job, identified without help from the calling tool.
///
/// - `session`: the caller's session (`getsid`) and its leader's start time (against pid
///   reuse): a cron job, a systemd service, a borgmatic run, a shell script.
/// - `process`: one process (and the session it runs in): `hook-runner exec`, a Swift tool's
///   `withGuards` scope (`token` tells two scopes of one process apart).
/// - `key`: an explicit key (`--claim`, `GUARD_HOOKS_CLAIM`) for tools whose pre and post
///   phases come from unrelated processes. Its liveness cannot be told.
public struct ClaimHolder: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable { case session, process, key }

    public var kind: Kind
    public var pid: Int32?
    /// Start time of `pid` in clock ticks since boot (/proc/PID/stat field 22).
    public var pidStart: UInt64?
    public var sid: Int32?
    /// Start time of the session leader; nil when the leader had already exited.
    public var sidStart: UInt64?
    public var bootID: String
    public var key: String?
    /// A scope inside one process (`withGuards`).
    public var token: String?
    /// For people: the leader's command name, the key, … Not part of the identity.
    public var description: String?

    public init(kind: Kind, pid: Int32? = nil, pidStart: UInt64? = nil, sid: Int32? = nil, sidStart: UInt64? = nil,
                bootID: String, key: String? = nil, token: String? = nil, description: String? = nil) {
        self.kind = kind; self.pid = pid; self.pidStart = pidStart; self.sid = sid; self.sidStart = sidStart
        self.bootID = bootID; self.key = key; self.token = token; self.description = description
    }

    /// The identity as one string: equal for the same job, different for any other.
    public var canonicalKey: String {
        let boot = String(bootID.prefix(8))
        switch kind {
        case .session: return "session:\(sid ?? 0):\(sidStart ?? 0)@\(boot)"
        case .process: return "process:\(pid ?? 0):\(pidStart ?? 0)" + (token.map { ":\($0)" } ?? "") + "@\(boot)"
        case .key: return "key:\(key ?? "")"
        }
    }

    /// How the claim reads in listings: `session 1234 (cron)`, `key nightly`.
    public var summary: String {
        switch kind {
        case .session: return "session \(sid ?? 0)" + (description.map { " (\($0))" } ?? "")
        case .process: return "process \(pid ?? 0)" + (description.map { " (\($0))" } ?? "")
        case .key: return "key \(key ?? "")"
        }
    }
}

/// One claim as stored.
public struct ClaimRecord: Sendable, Hashable, Codable {
    public var id: Int64
    public var guardID: GuardID
    public var holder: ClaimHolder
    public var runID: RunID?
    public var claimedAt: Date
    public var actor: String
    public var releasedAt: Date?
    public var releaseReason: String?
    public var releasedRunID: RunID?

    public var isLive: Bool { releasedAt == nil }
}

/// A claim to release, and why.
public struct ClaimRelease: Sendable, Hashable {
    public var claimID: Int64
    public var reason: String
    public init(claimID: Int64, reason: String) { self.claimID = claimID; self.reason = reason }
}
