import FoundationEssentials
import GuardStore

extension GuardEngine {
    /// The store's state for the metrics, read-only like every query (no lock, no store
    /// created): outstanding guards and the newest run of each phase, on one snapshot. No
    /// store yet: a snapshot with nothing in it (`storeExists` false). A store that exists
    /// but cannot be read throws.
    package func metricsSnapshot(now: Date = Date()) throws -> MetricsSnapshot {
        guard let store = try openSession(forWriting: false).store else {
            return MetricsSnapshot(storeExists: false, now: now)
        }
        defer { store.close() }
        return try store.readTransaction {
            let guards = try store.outstandingGuards().map {
                MetricsSnapshot.Guard(kind: $0.kind, state: $0.state, lifetime: $0.lifetime, since: $0.updatedAt)
            }
            return MetricsSnapshot(guards: guards, lastRuns: try store.lastRunPerPhase(), now: now)
        }
    }

    /// Hidden bytes under every recorded or configured mountpoint, for the metrics. Bounded:
    /// at most `budget` entries per mountpoint and 256 mountpoints, so a runaway tree cannot
    /// stall the scrape; a mountpoint that cannot be looked at (no root for the clone) is left out.
    package func hiddenBytes(sealed: [String], budget: Int = 100_000) -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        for report in hidden(Array(recordedAndConfiguredMountpoints(sealed: sealed).prefix(256)), budget: budget) {
            if let path = report.path, let scan = report.scan { out[path] = scan.bytes }
        }
        return out
    }
}
