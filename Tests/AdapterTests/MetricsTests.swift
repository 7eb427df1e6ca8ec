import Foundation
import GuardHooks
import GuardStore
import GuardTestSupport
import Testing
import Glibc

/// `hook-runner metrics`: the rendering as a table of cases, and the command's output parsed
/// by the real `prometheus_client` parser (PyPI).
extension AdapterTests {
    @Suite struct Metrics {
        static let now = Date(timeIntervalSince1970: 1_800_000_000)

        /// The sample lines (no comments) of a rendering.
        func samples(_ text: String) -> [String] {
            text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
        }

        @Test func emptyStoreRendersEveryGuardSeriesAsZero() {
            let text = PrometheusMetrics.render(MetricsSnapshot(storeExists: false, now: Self.now))
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
            let lines = samples(PrometheusMetrics.render(snapshot))
            for e in expected { #expect(lines.contains(e), "\(e) in \(lines)") }
            #expect(!lines.contains { $0.contains("state=\"cleared\"") })
        }

        @Test func lastRunsPerPhase() {
            let snapshot = MetricsSnapshot(lastRuns: [
                .init(phase: "pre-restore", startedAt: Date(timeIntervalSince1970: 1_700_000_000.25),
                      finishedAt: Date(timeIntervalSince1970: 1_700_000_001), exitCode: 1),
                .init(phase: "post-mount", startedAt: Date(timeIntervalSince1970: 1_700_000_100), finishedAt: nil, exitCode: nil),
            ], now: Self.now)
            let lines = samples(PrometheusMetrics.render(snapshot))
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
            #expect(PrometheusMetrics.escapeLabelValue(raw) == escaped)
        }

        @Test func unreadableStoreIsDown() {
            let text = PrometheusMetrics.render(MetricsSnapshot(storeUp: false, now: Self.now))
            #expect(samples(text).contains("guard_hooks_store_up 0"))
        }

        // MARK: the command, parsed by prometheus_client

        /// `python3` with `prometheus_client` importable, installing it from PyPI when missing;
        /// nil (the test then says why it cannot check) when that is impossible.
        static let prometheusClientAvailable: String? = {
            guard let r = try? runCommand(["python3", "-c", "import prometheus_client"]) else { return "no python3" }
            if r.status == 0 { return nil }
            let pip = try? runCommand(["python3", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "prometheus_client"])
            if pip?.status == 0, (try? runCommand(["python3", "-c", "import prometheus_client"]))?.status == 0 { return nil }
            return "prometheus_client is not installed and pip could not install it: \(pip?.stderr ?? "no pip")"
        }()

        /// Parses the exposition with prometheus_client; returns `name{labels} value` lines, sorted.
        func parse(_ text: String) throws -> [String] {
            let script = """
                import sys
                from prometheus_client.parser import text_string_to_metric_families
                out = []
                for fam in text_string_to_metric_families(sys.stdin.read()):
                    assert fam.type == "gauge", (fam.name, fam.type)
                    assert fam.documentation, fam.name
                    for s in fam.samples:
                        labels = ",".join(f'{k}={v}' for k, v in sorted(s.labels.items()))
                        out.append(f"{s.name}{{{labels}}} {s.value:g}")
                print("\\n".join(sorted(out)))
                """
            let r = try runCommand(["python3", "-c", script], stdin: text)
            try #require(r.status == 0, "prometheus_client rejected the output: \(r.stderr)\n\(text)")
            return r.stdout.split(separator: "\n").map(String.init)
        }

        @Test func noStoreGivesZeroValuedMetrics() throws {
            if let why = Self.prometheusClientAvailable { print("skipping the parser check: \(why)"); return }
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gh-metrics-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let r = try runCommand([hookRunnerBinary, "metrics", "--db", dir + "/none.db"], environment: ["PATH": safePath])
            expectStatus(r, 0)
            #expect(!FileManager.default.fileExists(atPath: dir), "metrics creates nothing")
            let parsed = try parse(r.stdout)
            #expect(parsed.contains("guard_hooks_store_up{} 1"))
            #expect(parsed.contains("guard_hooks_guards{kind=bind,lifetime=transient,state=applied} 0"), "\(parsed)")
        }

        @Test(sandboxed) func textfileFromARealStore() throws {
            if let why = Self.prometheusClientAvailable { print("skipping the parser check: \(why)"); return }
            let dir = try Sandbox.make("metrics")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            try cli.installShippedHooks()
            let a = try dir.mkdir("a"), b = try dir.mkdir("b")
            expectStatus(try cli.run(["apply", "--kind", "immutable", a]), 0)
            expectStatus(try cli.run(["run", "pre-backup", b]), 0)
            // b's guard shadowed by storage: its clear is deferred (pending).
            try mountTmpfs(b)
            expectStatus(try cli.run(["clear", b]), 75)

            let textDir = try dir.mkdir("textfile")
            let file = textDir + "/guard_hooks.prom"
            var r = try cli.run(["metrics", "--textfile", file])
            expectStatus(r, 0)
            #expect(r.stdout.isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: textDir) == ["guard_hooks.prom"], "no temporary file left")
            let parsed = try parse(try String(contentsOfFile: file, encoding: .utf8))
            #expect(parsed.contains("guard_hooks_guards{kind=immutable,lifetime=transient,state=applied} 1"), "\(parsed)")
            #expect(parsed.contains("guard_hooks_guards{kind=bind,lifetime=transient,state=pending} 1"), "\(parsed)")
            #expect(parsed.contains("guard_hooks_last_run_exit_code{phase=pre-backup} 0"), "\(parsed)")
            #expect(parsed.contains("guard_hooks_last_run_finished{phase=pre-backup} 1"), "\(parsed)")
            #expect(parsed.contains { $0.hasPrefix("guard_hooks_oldest_pending_age_seconds{} ") })

            // A reader who is not root: readable store (0644 in a 0755 directory) works.
            try #require(chmod(dir.sub("state"), 0o755) == 0 && chmod(cli.db, 0o644) == 0)
            for side in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: cli.db + side) {
                _ = chmod(cli.db + side, 0o644)
            }
            r = try runCommand(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", hookRunnerBinary, "metrics"],
                               environment: ["PATH": safePath, "GUARD_HOOKS_DB": cli.db])
            expectStatus(r, 0)
            #expect(r.stdout.contains(#"guard_hooks_guards{kind="immutable",state="applied",lifetime="transient"} 1"#), "\(r.stdout)")

            // An unreadable store: store_up 0 is still written, and the error is reported (70).
            try #require(chmod(cli.db, 0o600) == 0)
            r = try runCommand(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", hookRunnerBinary, "metrics"],
                               environment: ["PATH": safePath, "GUARD_HOOKS_DB": cli.db])
            expectStatus(r, 70)
            #expect(r.stdout.contains("guard_hooks_store_up 0"), "\(r.stdout)")
            #expect(r.stderr.hasPrefix("hook-runner: "), "\(r.stderr)")
            try umount(b)
        }
    }
}
