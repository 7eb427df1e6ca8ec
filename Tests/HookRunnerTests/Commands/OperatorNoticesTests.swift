import Foundation
import GuardTestSupport
import Testing

/// What an operator trips over (issue 16): fail-open phases, a kind not honoured, a silent
/// `clear --all`, the history's run, and the `status` screen.
extension HookRunnerTests {
    @Suite struct OperatorNotices {
        @Test(sandboxed) func unknownPhasesAreUsageErrors() throws {
            let dir = try Sandbox.make("cli-phases")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let t = try dir.mkdir("t")
            let hooks = try makeHooksDir(dir)
            try writeHook(hooks, "10-guard", "# phases: pre-restore pre-verify\nexit 0")
            expectError(try cli.run(["run", "--hooks-dir", hooks, "pre-restor", t]), 64, "unknown phase \"pre-restor\"")
            expectError(try cli.run(["hooks", "--hooks-dir", hooks, "pre-restor"]), 64, "unknown phase")
            #expect(!FileManager.default.fileExists(atPath: cli.db), "a usage error records no run")
            // Declared by a hook's header, or by the config file: accepted.
            expectStatus(try cli.run(["run", "--hooks-dir", hooks, "pre-verify", t]), 0)
            let config = dir.sub("config.toml")
            try "phases = [\"post-verify\"]\n".write(toFile: config, atomically: false, encoding: .utf8)
            expectError(try cli.run(["run", "--hooks-dir", hooks, "post-verify", t]), 64, "unknown phase")
            expectStatus(try cli.run(["run", "--hooks-dir", hooks, "--config", config, "post-verify", t]), 0)
            expectStatus(try cli.run(["hooks", "--hooks-dir", hooks, "--config", config, "post-verify"]), 0)
        }

        @Test(sandboxed) func aPrePhaseWithNoHookFails() throws {
            let dir = try Sandbox.make("cli-empty-pre")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let t = try dir.mkdir("t")
            let hooks = try makeHooksDir(dir)
            try writeHook(hooks, "90-clear", "# phases: post-restore\nexit 0")
            let r = try cli.run(["run", "--hooks-dir", hooks, "pre-restore", t])
            expectError(r, 1, "pre-restore: no hook runs for this phase", "--allow-empty")
            let run = try #require(try objects(try cli.json(["runs"]).1, "runs").last)
            #expect(run["exit_code"] as? Int == 1 && run["phase"] as? String == "pre-restore", "recorded as failed: \(run)")
            expectError(try cli.run(["run", "--dry-run", "--hooks-dir", hooks, "pre-backup", t]), 1, "no hook runs")
            expectStatus(try cli.run(["run", "--hooks-dir", hooks, "--allow-empty", "pre-restore", t]), 0)
            // Only pre-* phases: a post-* phase with no hook has nothing to undo.
            expectStatus(try cli.run(["run", "--hooks-dir", hooks, "post-mount", t]), 0)
        }

        @Test(sandboxed) func applyOfAnotherKindSaysItWasNotHonoured() throws {
            let dir = try Sandbox.make("cli-kind-kept")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let t = try dir.mkdir("t")
            expectStatus(try cli.run(["apply", "--kind", "bind", t]), 0)
            let (r, doc) = try cli.json(["apply", "--kind", "immutable", t])
            expectStatus(r, 0)
            let result = try #require(try objects(doc, "results").first)
            #expect(result["outcome"] as? String == "already-applied")
            #expect(result["kind"] as? String == "bind")
            #expect(result["reason"] as? String == "kept the existing bind guard #1; requested kind immutable not applied")
            // Asking for what is there, or for auto, needs no word.
            for kind in ["bind", "auto"] {
                let same = try objects(try cli.json(["apply", "--kind", kind, t]).1, "results").first
                #expect(same?["reason"] == nil, "\(kind): \(String(describing: same))")
            }
            #expect(try lsattr(t).contains("i") == false, "no flag was set")
        }

        @Test(sandboxed) func clearAllWithNothingToClearSaysSo() throws {
            let dir = try Sandbox.make("cli-clear-nothing")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let r = try cli.run(["clear", "--all"])
            expectStatus(r, 0)
            #expect(r.stdout == "nothing to clear: no outstanding transient guard\n")
            let (j, doc) = try cli.json(["clear", "--all"])
            expectStatus(j, 0)
            #expect(try objects(doc, "results").isEmpty)
        }

        @Test(sandboxed) func historyShowsTheRun() throws {
            let dir = try Sandbox.make("cli-history-run")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let t = try dir.mkdir("t")
            let hooks = try makeHooksDir(dir)
            try writeHook(hooks, "10-guard", "# phases: pre-restore\nshift\nexec \"$GUARD_HOOKS_BIN\" apply \"$@\"")
            expectStatus(try cli.run(["run", "--hooks-dir", hooks, "pre-restore", t]), 0)
            // The run's job (this test's session) still holds the guard: the operator forces it.
            expectStatus(try cli.run(["clear", "--force", t]), 0)
            let text = try cli.run(["history", t])
            expectStatus(text, 0)
            // The cell before BY (the last): the run an event was made under, "-" for none.
            let runCells = text.stdout.split(separator: "\n").map { line in
                let cells = line.replacingOccurrences(of: " {2,}", with: "\u{1}", options: .regularExpression).split(separator: "\u{1}")
                return cells.count >= 2 ? String(cells[cells.count - 2]) : ""
            }
            // Rows: applying, applied, the run's claim added (#1), its release by the operator's
            // --force, clearing, cleared.
            #expect(runCells == ["RUN", "#1", "#1", "#1", "-", "-", "-"], "applied under run #1, cleared by hand: \(text.stdout)")
        }

        @Test(sandboxed) func statusOnOneScreen() throws {
            let dir = try Sandbox.make("cli-status")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let a = try dir.mkdir("a"), b = try dir.mkdir("b")
            let empty = try cli.run(["status"])
            expectStatus(empty, 0)
            #expect(empty.stdout.hasPrefix("guards: 0 outstanding\n"), "\(empty.stdout)")
            #expect(empty.stdout.contains("runs: none recorded"))
            #expect(!FileManager.default.fileExists(atPath: cli.db), "status only reads")

            let hooks = try makeHooksDir(dir)
            try writeHook(hooks, "10-guard", "# phases: pre-restore\nshift\nexec \"$GUARD_HOOKS_BIN\" apply \"$@\"")
            expectStatus(try cli.run(["run", "--hooks-dir", hooks, "pre-restore", a, b]), 0)
            expectStatus(try cli.run(["clear", "--force", b]), 0)
            let text = try cli.run(["status"])
            expectStatus(text, 0)
            #expect(text.stdout.hasPrefix("guards: 1 outstanding\n"), "\(text.stdout)")
            #expect(!tableRow(text.stdout, a).isEmpty && tableRow(text.stdout, b).isEmpty)
            #expect(text.stdout.contains("run #1  pre-restore"))
            #expect(text.stdout.contains("doctor: "))

            let (r, doc) = try cli.json(["status", "--runs", "1"])
            expectStatus(r, 0)
            #expect(doc["outstanding"] as? Int == 1)
            #expect(try objects(doc, "guards").map { $0["path"] as? String } == [a])
            #expect(try objects(doc, "runs").map { $0["phase"] as? String } == ["pre-restore"])
            #expect(["ok", "warn", "fail"].contains(doc["doctor_worst"] as? String ?? ""), "\(doc)")
            #expect(doc["findings"] is [Any])

            // A guard removed by hand: doctor fails, and so does status (as doctor does).
            try umount(a)
            let failing = try cli.json(["status"])
            expectStatus(failing.0, 1)
            #expect(failing.1["doctor_worst"] as? String == "fail")
            #expect(try objects(failing.1, "findings").contains { $0["path"] as? String == a })
        }
    }
}
