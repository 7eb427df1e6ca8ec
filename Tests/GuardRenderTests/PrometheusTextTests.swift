import FoundationEssentials
import GuardHooks
import GuardRender
import GuardStore
import Testing

/// The Prometheus text exposition of a snapshot, as a table of cases (the command's output
/// through the real parser is in AdapterTests.Metrics).
@Suite struct PrometheusTextTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// The sample lines (no comments) of a rendering.
    func samples(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
    }

    @Test func emptyStoreRendersEveryGuardSeriesAsZero() {
        let text = PrometheusText.render(MetricsSnapshot(storeExists: false, now: Self.now))
        let guardLines = samples(text).filter { $0.hasPrefix("guard_hooks_guards{") }
        #expect(guardLines.count == 2 * 3 * 2, "kind × outstanding state × lifetime")
        #expect(guardLines.allSatisfy { $0.hasSuffix(" 0") })
        #expect(samples(text).contains("guard_hooks_store_up 1"))
        #expect(samples(text).contains("guard_hooks_oldest_pending_age_seconds 0"))
        #expect(!text.contains("guard_hooks_last_run_exit_code{"))
        for family in ["guard_hooks_store_up", "guard_hooks_guards", "guard_hooks_oldest_pending_age_seconds",
                       "guard_hooks_last_run_timestamp_seconds", "guard_hooks_last_run_exit_code"] {
            #expect(text.contains("# HELP \(family) "), "\(family)")
            #expect(text.contains("# TYPE \(family) gauge\n"), "\(family)")
        }
        #expect(text.hasSuffix("\n"))
    }

    @Test(arguments: [
        // (guards as kind/state/lifetime/age seconds, expected sample lines)
        ([("bind", "applied", "transient", 10.0), ("bind", "applied", "transient", 5.0)],
         [#"guard_hooks_guards{kind="bind",state="applied",lifetime="transient"} 2"#,
          "guard_hooks_oldest_pending_age_seconds 0"]),
        ([("immutable", "pending", "persistent", 90.0), ("bind", "pending", "transient", 30.0),
          ("immutable", "failed", "transient", 1.0)],
         [#"guard_hooks_guards{kind="immutable",state="pending",lifetime="persistent"} 1"#,
          #"guard_hooks_guards{kind="bind",state="pending",lifetime="transient"} 1"#,
          #"guard_hooks_guards{kind="immutable",state="failed",lifetime="transient"} 1"#,
          #"guard_hooks_guards{kind="bind",state="applied",lifetime="transient"} 0"#,
          "guard_hooks_oldest_pending_age_seconds 90"]),
        ([("bind", "cleared", "transient", 99.0)],
         [#"guard_hooks_guards{kind="bind",state="applied",lifetime="transient"} 0"#]),
    ] as [([(String, String, String, Double)], [String])])
    func guardCounts(_ guards: [(String, String, String, Double)], _ expected: [String]) {
        let snapshot = MetricsSnapshot(guards: guards.map {
            MetricsSnapshot.Guard(kind: GuardKind(rawValue: $0.0)!, state: GuardState(rawValue: $0.1)!,
                                  lifetime: GuardLifetime(rawValue: $0.2)!, since: Self.now.addingTimeInterval(-$0.3))
        }, now: Self.now)
        let lines = samples(PrometheusText.render(snapshot))
        for e in expected { #expect(lines.contains(e), "\(e) in \(lines)") }
        #expect(!lines.contains { $0.contains("state=\"cleared\"") })
    }

    /// Hidden bytes: one sample per mountpoint, label escaped, sorted; none without data.
    @Test func hiddenBytesPerMountpoint() {
        var snapshot = MetricsSnapshot(now: Self.now)
        #expect(!samples(PrometheusText.render(snapshot)).contains { $0.hasPrefix("guard_hooks_hidden_bytes") })
        snapshot.hiddenBytes = ["/mnt/b": 0, "/mnt/a\"x": 3006]
        let lines = samples(PrometheusText.render(snapshot)).filter { $0.hasPrefix("guard_hooks_hidden_bytes") }
        #expect(lines == [#"guard_hooks_hidden_bytes{mountpoint="/mnt/a\"x"} 3006"#, #"guard_hooks_hidden_bytes{mountpoint="/mnt/b"} 0"#])
        #expect(PrometheusText.render(snapshot).contains("# TYPE guard_hooks_hidden_bytes gauge\n"))
    }

    @Test func lastRunsPerPhase() {
        let snapshot = MetricsSnapshot(lastRuns: [
            .init(phase: "pre-restore", startedAt: Date(timeIntervalSince1970: 1_700_000_000.25),
                  finishedAt: Date(timeIntervalSince1970: 1_700_000_001), exitCode: 1),
            .init(phase: "post-mount", startedAt: Date(timeIntervalSince1970: 1_700_000_100), finishedAt: nil, exitCode: nil),
        ], now: Self.now)
        let lines = samples(PrometheusText.render(snapshot))
        #expect(lines.contains(#"guard_hooks_last_run_timestamp_seconds{phase="pre-restore"} 1700000000.25"#), "\(lines)")
        #expect(lines.contains(#"guard_hooks_last_run_exit_code{phase="pre-restore"} 1"#))
        #expect(lines.contains(#"guard_hooks_last_run_finished{phase="pre-restore"} 1"#))
        #expect(lines.contains(#"guard_hooks_last_run_timestamp_seconds{phase="post-mount"} 1700000100"#))
        #expect(!lines.contains { $0.hasPrefix(#"guard_hooks_last_run_exit_code{phase="post-mount"}"#) })
        #expect(lines.contains(#"guard_hooks_last_run_finished{phase="post-mount"} 0"#))
        // Families are sorted by phase: post-mount before pre-restore.
        let ts = lines.filter { $0.hasPrefix("guard_hooks_last_run_timestamp_seconds") }
        #expect(ts.first?.contains("post-mount") == true)
    }

    @Test(arguments: [("a\"b", #"a\"b"#), ("a\\b", #"a\\b"#), ("a\nb", #"a\nb"#), ("plain", "plain")])
    func labelEscaping(_ raw: String, _ escaped: String) {
        #expect(PrometheusText.escapeLabelValue(raw) == escaped)
    }

    @Test func unreadableStoreIsDown() {
        let text = PrometheusText.render(MetricsSnapshot(storeUp: false, now: Self.now))
        #expect(samples(text).contains("guard_hooks_store_up 0"))
    }

    @Test(arguments: [("a\\b", #"a\\b"#), ("a\nb", #"a\nb"#), ("a\"b", "a\"b"), ("plain", "plain")])
    func helpEscaping(_ raw: String, _ escaped: String) {
        #expect(PrometheusText.escapeHelp(raw) == escaped)
    }

    @Test(arguments: [
        (0.0, "0"), (1, "1"), (-3, "-3"), (-0.0, "0"), (90, "90"),
        (1_700_000_000, "1700000000"), (1_700_000_000.25, "1700000000.25"), (0.5, "0.5"),
        (1.0006, "1.001"),                   // milliseconds kept, no more
        (1e15, "1000000000000000.0"),        // from 1e15 on: Double's own text
        (.nan, "NaN"), (.infinity, "+Inf"), (-.infinity, "-Inf"),
    ] as [(Double, String)])
    func valueFormat(_ value: Double, _ text: String) {
        #expect(PrometheusText.format(value) == text)
    }

    @Test func everyFamilyHasHelpAndTypeBeforeItsSamples() {
        let snapshot = MetricsSnapshot(lastRuns: [
            .init(phase: "pre-backup", startedAt: Self.now, finishedAt: Self.now, exitCode: 0),
        ], now: Self.now)
        var declared: Set<String> = []
        for line in PrometheusText.render(snapshot).split(separator: "\n") {
            let words = line.split(separator: " ", maxSplits: 3)
            if line.hasPrefix("# HELP ") { declared.insert(String(words[2])) }
            else if line.hasPrefix("# TYPE ") { #expect(declared.contains(String(words[2])), "\(line)") }
            else {
                let name = line.prefix { $0 != "{" && $0 != " " }
                #expect(declared.contains(String(name)), "\(line)")
            }
        }
    }
}
