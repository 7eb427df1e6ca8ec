import Foundation
import GuardHooks
import GuardStore
import GuardTestSupport
import Testing
import Glibc

/// `hook-runner metrics`: the command's output parsed by the real `prometheus_client` parser
/// (PyPI). The rendering's table of cases is in GuardRenderTests.
extension AdapterTests {
    @Suite struct Metrics {
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

        @Test(sandboxed) func textfileOfARealStoreCountsGuardsAndLastRuns() throws {
            if let why = Self.prometheusClientAvailable { print("skipping the parser check: \(why)"); return }
            let dir = try Sandbox.make("metrics")
            defer { dir.cleanUp() }
            let cli = CLI(adapterSandbox: dir)
            try cli.installShippedHooks()
            let a = try dir.mkdir("a"), b = try dir.mkdir("b")
            expectStatus(try cli.run(["apply", "--kind", "immutable", a]), 0)
            expectStatus(try cli.run(["run", "pre-backup", b]), 0)
            // b's guard shadowed by storage: its clear is deferred (pending). The pre-backup job
            // (this test's session) still holds it, so only the operator's --force clears it.
            try mountTmpfs(b)
            expectStatus(try cli.run(["clear", "--force", b]), 75)

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
