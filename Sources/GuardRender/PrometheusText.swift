import FoundationEssentials
import GuardHooks
import GuardStore

/// The Prometheus text exposition format (version 0.0.4) for a snapshot: `# HELP` and
/// `# TYPE` for every family, one sample per line, label values escaped, families in a
/// fixed order. Every (kind, state, lifetime) combination of an outstanding guard is
/// always present, zero when there is none, so alerts never see an absent series.
package enum PrometheusText {
    package static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    package static func render(_ s: MetricsSnapshot) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(escapeHelp(help))\n# TYPE \(name) \(type)\n"
        }
        func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
            out += name
            if !labels.isEmpty {
                out += "{" + labels.map { "\($0.0)=\"\(escapeLabelValue($0.1))\"" }.joined(separator: ",") + "}"
            }
            out += " " + format(value) + "\n"
        }

        family("guard_hooks_store_up", "gauge",
               "1 when the guard store could be read (or does not exist yet), 0 when it exists but cannot be read.")
        sample("guard_hooks_store_up", [], s.storeUp ? 1 : 0)

        family("guard_hooks_guards", "gauge", "Outstanding guards (pending, applied, failed) by kind, state and lifetime.")
        var counts: [String: Int] = [:]
        for g in s.guards where g.state.isOutstanding { counts["\(g.kind.rawValue)/\(g.state.rawValue)/\(g.lifetime.rawValue)", default: 0] += 1 }
        for kind in GuardKind.allCases {
            for state in GuardState.allCases where state.isOutstanding {
                for lifetime in GuardLifetime.allCases {
                    sample("guard_hooks_guards", [("kind", kind.rawValue), ("state", state.rawValue), ("lifetime", lifetime.rawValue)],
                           Double(counts["\(kind.rawValue)/\(state.rawValue)/\(lifetime.rawValue)"] ?? 0))
                }
            }
        }

        family("guard_hooks_oldest_pending_age_seconds", "gauge",
               "Seconds the oldest pending guard has been pending; 0 when none is.")
        let oldestPending = s.guards.filter { $0.state == .pending }.map(\.since).min()
        sample("guard_hooks_oldest_pending_age_seconds", [], oldestPending.map { max(0, s.now.timeIntervalSince($0)) } ?? 0)

        let runs = s.lastRuns.sorted { $0.phase < $1.phase }
        family("guard_hooks_last_run_timestamp_seconds", "gauge", "Start time of the newest hook run of each phase (Unix seconds).")
        for r in runs { sample("guard_hooks_last_run_timestamp_seconds", [("phase", r.phase)], r.startedAt.timeIntervalSince1970) }
        family("guard_hooks_last_run_exit_code", "gauge",
               "Exit code of the newest finished hook run of each phase (absent while that run is unfinished).")
        for r in runs { if let code = r.exitCode { sample("guard_hooks_last_run_exit_code", [("phase", r.phase)], Double(code)) } }
        family("guard_hooks_last_run_finished", "gauge", "1 when the newest hook run of each phase has finished, 0 while it runs (or was killed).")
        for r in runs { sample("guard_hooks_last_run_finished", [("phase", r.phase)], r.finishedAt == nil ? 0 : 1) }

        family("guard_hooks_hidden_bytes", "gauge",
               "Bytes written into the bare directory under each recorded or configured mountpoint (hook-runner hidden); absent where it could not be looked at.")
        for (mountpoint, bytes) in s.hiddenBytes.sorted(by: { $0.key < $1.key }) {
            sample("guard_hooks_hidden_bytes", [("mountpoint", mountpoint)], Double(bytes))
        }

        family("guard_hooks_doctor_findings", "gauge",
               "Findings of hook-runner doctor by severity (every severity, 0 when none); absent when doctor could not run.")
        if let findings = s.doctorFindings {
            for severity in Severity.allCases {
                sample("guard_hooks_doctor_findings", [("severity", severity.rawValue)], Double(findings[severity] ?? 0))
            }
        }
        family("guard_hooks_seal_missing", "gauge",
               "1 for each configured seal that is not in force (offline without the immutable flag, unsupported, or missing), else 0.")
        for (mountpoint, missing) in s.sealMissing.sorted(by: { $0.key < $1.key }) {
            sample("guard_hooks_seal_missing", [("mountpoint", mountpoint)], missing ? 1 : 0)
        }
        return out
    }

    /// Label values: backslash, double quote and newline escaped.
    package static func escapeLabelValue(_ v: String) -> String { escape(v, quotes: true) }

    /// HELP text: backslash and newline escaped.
    package static func escapeHelp(_ v: String) -> String { escape(v, quotes: false) }

    private static func escape(_ v: String, quotes: Bool) -> String {
        var out = ""
        for c in v.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"" where quotes: out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// Integers without a fraction, milliseconds kept for times; `NaN`/`+Inf` as Prometheus spells them.
    package static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        let ms = (v * 1000).rounded() / 1000
        return String(ms)
    }
}
