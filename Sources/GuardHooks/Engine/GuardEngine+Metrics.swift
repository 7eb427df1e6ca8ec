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

/// Doctor's verdict as the metrics report it.
package struct DoctorMetrics: Sendable, Hashable {
    package var findings: [Severity: Int]
    /// Keyed by the configured path (normalized): true when its seal is not in force.
    package var sealMissing: [String: Bool]
}

extension GuardEngine {
    /// The doctor codes that say a configured seal is not in force: offline without the flag,
    /// on a filesystem that cannot hold it, or the directory is gone.
    static let sealNotInForceCodes: Set<String> = ["offline-unsealed", "seal-unsupported", "missing"]

    /// Doctor's findings counted by severity, and which configured seals are not in force,
    /// read from one `doctor` run: its checks are already bounded by the reachability gate,
    /// so a dead storage costs one probe timeout and is never entered. A storage that does
    /// not answer is doctor's `unreachable` warning, not a missing seal (something is mounted
    /// there). Without SQLite's quick_check (it reads the whole store): `hook-runner doctor`
    /// runs it. nil when doctor cannot run (the store cannot be read).
    package func doctorMetrics(sealed: [String]) -> DoctorMetrics? {
        operation { doctorMetricsNow(sealed: sealed) }
    }

    private func doctorMetricsNow(sealed: [String]) -> DoctorMetrics? {
        guard let report = try? doctor(targets: [], sealed: sealed, checkIntegrity: false) else { return nil }
        var counts: [Severity: Int] = [:]
        for f in report.findings { counts[f.severity, default: 0] += 1 }
        var missing: [String: Bool] = [:]
        for raw in sealed {
            // An invalid configured path seals nothing: not in force.
            guard case .success(let normal) = PathPolicy.normalize(raw) else { missing[raw] = true; continue }
            let examined = PathKey(examinedPath(normal))
            missing[normal, default: false] = missing[normal, default: false] || report.findings.contains {
                PathKey($0.path) == examined && Self.sealNotInForceCodes.contains($0.code)
            }
        }
        return DoctorMetrics(findings: counts, sealMissing: missing)
    }

    /// The path doctor examined for a configured one: its canonical form when the storage
    /// answers (the gate's answer is cached by then: no new probe), else the path as given.
    private func examinedPath(_ normal: String) -> String {
        (reachable(normal) ? canonicalPath(normal) : nil) ?? normal
    }
}
