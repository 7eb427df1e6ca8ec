import FoundationEssentials

/// Who relies on a guard: one job, identified without help from the calling tool.
///
/// - `session`: the caller's session (`getsid`) and its leader's start time (against pid
///   reuse): a cron job, a systemd service, a borgmatic run, a shell script.
/// - `process`: one process (and the session it runs in): `hook-runner exec`, a Swift tool's
///   `withGuards` scope (`token` tells two scopes of one process apart).
/// - `key`: an explicit key (`--claim`, `GUARD_HOOKS_CLAIM`) for tools whose pre and post
///   phases come from unrelated processes. Its liveness cannot be told.
package struct ClaimHolder: Sendable, Hashable, Codable {
    package enum Kind: String, Sendable, Hashable, Codable, CaseIterable { case session, process, key }

    package var kind: Kind
    package var pid: Int32?
    /// Start time of `pid` in clock ticks since boot (/proc/PID/stat field 22).
    package var pidStart: UInt64?
    package var sid: Int32?
    /// Start time of the session leader; nil when the leader had already exited.
    package var sidStart: UInt64?
    package var bootID: String
    package var key: String?
    /// A scope inside one process (`withGuards`).
    package var token: String?
    /// For people: the leader's command name, the key, … Not part of the identity.
    package var description: String?

    package init(kind: Kind, pid: Int32? = nil, pidStart: UInt64? = nil, sid: Int32? = nil, sidStart: UInt64? = nil,
                bootID: String, key: String? = nil, token: String? = nil, description: String? = nil) {
        self.kind = kind; self.pid = pid; self.pidStart = pidStart; self.sid = sid; self.sidStart = sidStart
        self.bootID = bootID; self.key = key; self.token = token; self.description = description
    }

    /// The identity as one string: equal for the same job, different for any other.
    package var canonicalKey: String {
        let boot = String(bootID.prefix(8))
        switch kind {
        case .session: return "session:\(sid ?? 0):\(sidStart ?? 0)@\(boot)"
        case .process: return "process:\(pid ?? 0):\(pidStart ?? 0)" + (token.map { ":\($0)" } ?? "") + "@\(boot)"
        case .key: return "key:\(key ?? "")"
        }
    }

    /// How the claim reads in listings: `session 1234 (cron)`, `key nightly`.
    package var summary: String {
        switch kind {
        case .session: return "session \(sid ?? 0)" + (description.map { " (\($0))" } ?? "")
        case .process: return "process \(pid ?? 0)" + (description.map { " (\($0))" } ?? "")
        case .key: return "key \(key ?? "")"
        }
    }
}

/// One claim as stored.
package struct ClaimRecord: Sendable, Hashable, Codable {
    package var id: Int64
    package var guardID: GuardID
    package var holder: ClaimHolder
    package var runID: RunID?
    package var claimedAt: Date
    package var actor: String
    package var releasedAt: Date?
    package var releaseReason: String?
    package var releasedRunID: RunID?

    package var isLive: Bool { releasedAt == nil }
}

/// A claim to release, and why.
package struct ClaimRelease: Sendable, Hashable {
    package var claimID: Int64
    package var reason: String
    package init(claimID: Int64, reason: String) { self.claimID = claimID; self.reason = reason }
}
