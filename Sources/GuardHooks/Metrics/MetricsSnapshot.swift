import FoundationEssentials
import GuardStore

/// What the metrics say, gathered from the store (read-only) at one instant
/// (`GuardEngine.metricsSnapshot(now:)`; GuardRender writes it as Prometheus text).
package struct MetricsSnapshot: Sendable, Hashable {
    /// One outstanding guard, reduced to what the metrics need.
    package struct Guard: Sendable, Hashable {
        package var kind: GuardKind
        package var state: GuardState
        package var lifetime: GuardLifetime
        /// When the guard entered its current status (its last transition).
        package var since: Date
        package init(kind: GuardKind, state: GuardState, lifetime: GuardLifetime, since: Date) {
            self.kind = kind; self.state = state; self.lifetime = lifetime; self.since = since
        }
    }

    /// The newest run of one phase, as the store reads it.
    package typealias LastRun = PhaseLastRun

    /// false when a store exists but cannot be read.
    package var storeUp: Bool
    /// false when there is no store yet (nothing recorded: every value is zero).
    package var storeExists: Bool
    package var guards: [Guard]
    package var lastRuns: [LastRun]
    package var now: Date
    /// Bytes in the bare directory under each recorded or configured mountpoint (`hidden`);
    /// a mountpoint that could not be looked at has no entry.
    package var hiddenBytes: [String: UInt64] = [:]
    /// How many findings `doctor` has of each severity; nil when doctor could not run (the
    /// store cannot be read), so no count is reported rather than a false all-clear.
    package var doctorFindings: [Severity: Int]?
    /// For each configured seal (`sealed` in the config): true when it is not in force.
    package var sealMissing: [String: Bool] = [:]

    package init(storeUp: Bool = true, storeExists: Bool = true, guards: [Guard] = [], lastRuns: [LastRun] = [],
                now: Date) {
        self.storeUp = storeUp; self.storeExists = storeExists; self.guards = guards
        self.lastRuns = lastRuns; self.now = now
    }
}
