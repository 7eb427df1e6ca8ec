import FoundationEssentials
import GuardStore

/// What the metrics say, gathered from the store (read-only) at one instant
/// (`GuardEngine.metricsSnapshot(now:)`; GuardRender writes it as Prometheus text).
public struct MetricsSnapshot: Sendable, Hashable {
    /// One outstanding guard, reduced to what the metrics need.
    public struct Guard: Sendable, Hashable {
        public var kind: GuardKind
        public var state: GuardState
        public var lifetime: GuardLifetime
        /// When the guard entered its current status (its last transition).
        public var since: Date
        public init(kind: GuardKind, state: GuardState, lifetime: GuardLifetime, since: Date) {
            self.kind = kind; self.state = state; self.lifetime = lifetime; self.since = since
        }
    }

    /// The newest run of one phase, as the store reads it.
    public typealias LastRun = PhaseLastRun

    /// false when a store exists but cannot be read.
    public var storeUp: Bool
    /// false when there is no store yet (nothing recorded: every value is zero).
    public var storeExists: Bool
    public var guards: [Guard]
    public var lastRuns: [LastRun]
    public var now: Date
    /// Bytes in the bare directory under each recorded or configured mountpoint (`hidden`);
    /// a mountpoint that could not be looked at has no entry.
    public var hiddenBytes: [String: UInt64] = [:]
    /// How many findings `doctor` has of each severity; nil when doctor could not run (the
    /// store cannot be read), so no count is reported rather than a false all-clear.
    package var doctorFindings: [Severity: Int]?
    /// For each configured seal (`sealed` in the config): true when it is not in force.
    package var sealMissing: [String: Bool] = [:]

    public init(storeUp: Bool = true, storeExists: Bool = true, guards: [Guard] = [], lastRuns: [LastRun] = [],
                now: Date) {
        self.storeUp = storeUp; self.storeExists = storeExists; self.guards = guards
        self.lastRuns = lastRuns; self.now = now
    }
}
