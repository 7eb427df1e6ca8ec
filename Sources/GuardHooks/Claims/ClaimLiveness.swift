import GuardStore

/// Whether the job behind a claim still runs. `unknown` never releases anything.
public enum ClaimLiveness: Sendable, Hashable {
    case alive
    case gone(String)
    case unknown(String)
}

/// What a process lookup in /proc found.
public enum ProcessLookup: Sendable, Hashable {
    /// The process exists; its start time in clock ticks since boot.
    case running(startTime: UInt64)
    case absent
    /// /proc could not be read (hidepid, no permission).
    case unreadable
}

/// The facts about one holder that decide its liveness, read from /proc.
public struct HolderFacts: Sendable, Hashable {
    public var process: ProcessLookup?
    public var sessionLeader: ProcessLookup?
    /// Whether any process still belongs to the holder's session; nil when it cannot be told.
    public var sessionHasMembers: Bool?

    public init(process: ProcessLookup? = nil, sessionLeader: ProcessLookup? = nil, sessionHasMembers: Bool? = nil) {
        self.process = process; self.sessionLeader = sessionLeader; self.sessionHasMembers = sessionHasMembers
    }
}

public enum ClaimDecisions {
    /// The liveness rule (README, "How guards work"), pure over what /proc showed:
    /// - a claim of an earlier boot is gone;
    /// - an explicit key cannot be checked: unknown;
    /// - a process claim is alive while that process (same pid and start time) runs; once it
    ///   is gone the claim falls back to its session, so a command left running by a killed
    ///   `exec` still holds the guard;
    /// - a session is alive while its leader (same start time) runs, or, once the leader is
    ///   gone, while any process is still in the session. The kernel does not reuse a pid
    ///   while a session of that id has members, so a leader pid running with another start
    ///   time proves the session ended.
    public static func liveness(_ h: ClaimHolder, currentBoot: String?, facts: HolderFacts) -> ClaimLiveness {
        guard let currentBoot else { return .unknown("cannot read the boot id") }
        if h.bootID != currentBoot { return .gone("its holder ran in an earlier boot") }
        switch h.kind {
        case .key:
            return .unknown("an explicit key: whether its job still runs cannot be told")
        case .process:
            switch facts.process {
            case .running(let start)? where start == h.pidStart: return .alive
            case .unreadable?, nil: return .unknown("cannot read /proc for process \(h.pid ?? 0)")
            default: break
            }
            guard h.sid != nil else { return .gone("process \(h.pid ?? 0) exited") }
            switch session(h, facts) {
            case .gone(let why): return .gone("process \(h.pid ?? 0) exited and \(why)")
            case let other: return other
            }
        case .session:
            return session(h, facts)
        }
    }

    private static func session(_ h: ClaimHolder, _ facts: HolderFacts) -> ClaimLiveness {
        let sid = h.sid ?? 0
        switch facts.sessionLeader {
        case .running(let start)?:
            if let recorded = h.sidStart, recorded == start { return .alive }
            return .gone("session \(sid) ended (its leader's pid now belongs to another process)")
        case .unreadable?, nil:
            return .unknown("cannot read /proc for session \(sid)")
        case .absent?:
            switch facts.sessionHasMembers {
            case true?: return .alive
            case false?: return .gone("session \(sid) ended")
            case nil: return .unknown("cannot scan /proc for members of session \(sid)")
            }
        }
    }
}
