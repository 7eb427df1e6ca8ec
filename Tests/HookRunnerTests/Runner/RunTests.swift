import Foundation
import GuardTestSupport
import Testing
import Glibc

/// `run` and `hooks`: phase semantics, refusals, and the environment a hook sees.
extension HookRunnerTests {
    @Suite struct Run {
        /// The hooks of the last run, from `runs --json`.
        func lastRunHooks(_ cli: CLI) throws -> (run: [String: Any], hooks: [[String: Any]]) {
            let run = try #require(try objects(try cli.json(["runs", "--limit", "1"]).1, "runs").first)
            return (run, try objects(run, "hooks"))
        }

        /// 10-first ok, 20-middle exits `middleExit`, 30-last leaves a marker.
        func threeHooks(_ dir: SandboxDirectory, middleExit: Int) throws -> String {
            let hooks = try makeHooksDir(dir)
            try writeHook(hooks, "10-first", "echo first")
            try writeHook(hooks, "20-middle", "echo middle; exit \(middleExit)")
            try writeHook(hooks, "30-last", "touch \(dir.sub("last-ran"))")
            return hooks
        }

        @Test(sandboxed) func failingPreHookStopsThePhase() throws {
            let dir = try Sandbox.make("cli-run-fail")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let hooks = try threeHooks(dir, middleExit: 3)
            let env: [String: String?] = ["GUARD_HOOKS_DIR": hooks]

            var r = try cli.run(["run", "pre-restore", dir.sub("x")], env: env)
            expectStatus(r, 1)
            #expect(r.stdout.contains("\nrun #1 pre-restore: failed (3 hooks)\n"), "\(r.stdout)")
            #expect(r.stdout.contains("[10-first] first\n") && r.stdout.contains("[20-middle] middle\n"))
            #expect(tableRow(r.stdout, "20-middle").prefix(4) == ["20-middle", "failed", "3", "exit 3"])
            #expect(!FileManager.default.fileExists(atPath: dir.sub("last-ran")), "a failed pre-* hook stops the phase")
            var (run, results) = try lastRunHooks(cli)
            #expect(run["exit_code"] as? Int == 1)
            #expect(results.map { $0["outcome"] as? String } == ["ok", "failed", "skipped"])
            #expect(results[2]["reason"] as? String == "stopped after failure of 20-middle")

            let (jr, doc) = try cli.json(["run", "pre-restore", dir.sub("x")], env: env)
            expectStatus(jr, 1)
            #expect(doc["run_id"] as? Int == 2 && doc["exit_code"] as? Int == 1 && doc["phase"] as? String == "pre-restore")
            #expect(try objects(doc, "hooks").map { $0["outcome"] as? String } == ["ok", "failed", "skipped"])
            #expect(jr.stderr.contains("[20-middle] middle"), "with --json, hook output goes to stderr")

            r = try cli.run(["run", "--keep-going", "pre-restore", dir.sub("x")], env: env)
            expectStatus(r, 1)
            #expect(FileManager.default.fileExists(atPath: dir.sub("last-ran")), "--keep-going runs the rest")
            #expect(try lastRunHooks(cli).hooks.map { $0["outcome"] as? String } == ["ok", "failed", "ok"])

            unlink(dir.sub("last-ran"))
            r = try cli.run(["run", "post-mount", dir.sub("x")], env: env)
            expectStatus(r, 1)
            #expect(FileManager.default.fileExists(atPath: dir.sub("last-ran")), "post-* phases run every hook")
            (run, results) = try lastRunHooks(cli)
            #expect(results.map { $0["outcome"] as? String } == ["ok", "failed", "ok"])
            #expect(run["phase"] as? String == "post-mount" && run["exit_code"] as? Int == 1)
        }

        @Test(sandboxed) func softSkipEndsThePhaseSuccessfully() throws {
            let dir = try Sandbox.make("cli-run-skip")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let hooks = try threeHooks(dir, middleExit: 75)
            for phase in ["pre-restore", "post-mount"] {
                let r = try cli.run(["run", "--hooks-dir", hooks, phase])
                expectStatus(r, 0)
                #expect(r.stdout.contains("\(phase): ok (3 hooks)"))
                #expect(!FileManager.default.fileExists(atPath: dir.sub("last-ran")))
                let results = try lastRunHooks(cli).hooks
                #expect(results.map { $0["outcome"] as? String } == ["ok", "soft-skip", "skipped"])
                #expect(results[1]["exit_code"] as? Int == 75)
                #expect(results[2]["reason"] as? String == "soft skip by 20-middle")
            }
        }

        @Test(sandboxed) func hooksListsEveryEntryAndWhy() throws {
            let dir = try Sandbox.make("cli-hooks")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let hooks = try makeHooksDir(dir)
            try writeHook(hooks, "10-run", "exit 0")
            try writeHook(hooks, "20-other", "# phases: post-mount\nexit 0")
            for name in ["foo.sh", ".hidden", "x.dpkg-old", "backup~"] { try writeHook(hooks, name, "exit 0") }
            try writeHook(hooks, "40-noexec", "exit 0", mode: 0o644)
            try dir.mkdir("hooks.d/50-dir")
            try writeHook(hooks, "60-world", "exit 0", mode: 0o777)
            try writeHook(hooks, "65-group", "exit 0", mode: 0o775)
            try writeHook(hooks, "70-foreign", "exit 0")
            try #require(chown("\(hooks)/70-foreign", 65534, 65534) == 0)

            let r = try cli.run(["hooks", "pre-restore", "--hooks-dir", hooks])
            expectStatus(r, 0)
            let expected: [String: String] = [
                "10-run": "run", "20-other": "skip: not for phase pre-restore",
                "foo.sh": "skip: name does not match ^[a-zA-Z0-9_-]+$", ".hidden": "skip: name does not match ^[a-zA-Z0-9_-]+$",
                "x.dpkg-old": "skip: name does not match ^[a-zA-Z0-9_-]+$", "backup~": "skip: name does not match ^[a-zA-Z0-9_-]+$",
                "40-noexec": "skip: not executable", "50-dir": "skip: not a regular file",
                "60-world": "skip: refused: world-writable", "65-group": "skip: refused: group-writable",
                "70-foreign": "skip: refused: owned by uid 65534",
            ]
            for (name, decision) in expected {
                #expect(tableRow(r.stdout, name).dropFirst().first == decision, "\(name): \(r.stdout)")
            }
            let lines = r.stdout.split(separator: "\n").dropFirst().map { String($0.prefix { $0 != " " }) }
            #expect(lines == lines.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }, "byte order")

            let doc = try parseJSON(try cli.run(["hooks", "pre-restore", "--hooks-dir", hooks, "--json"]))
            #expect(doc["directory"] as? String == hooks && doc["phase"] as? String == "pre-restore")
            let byName = Dictionary(uniqueKeysWithValues: try objects(doc, "hooks").map { ($0["name"] as? String ?? "", $0) })
            #expect(byName.count == expected.count)
            #expect(byName["10-run"]?["decision"] as? String == "run" && byName["10-run"]?["reason"] == nil)
            #expect(byName["60-world"]?["decision"] as? String == "refuse")
            #expect(byName["60-world"]?["reason"] as? String == "refused: world-writable")
            #expect(byName["70-foreign"]?["reason"] as? String == "refused: owned by uid 65534")
            #expect(byName["20-other"]?["decision"] as? String == "skip")
            #expect(byName["20-other"]?["phases"] as? [String] == ["post-mount"])
            #expect(byName["10-run"]?["path"] as? String == "\(hooks)/10-run")

            let missing = try cli.run(["hooks", "--hooks-dir", dir.sub("nope")])
            expectError(missing, 64, dir.sub("nope"))
        }

        @Test(sandboxed) func refusedHooksAreRecordedAsFailed() throws {
            let dir = try Sandbox.make("cli-refused")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let hooks = try makeHooksDir(dir)
            try writeHook(hooks, "10-ok", "exit 0")
            try writeHook(hooks, "20-world", "touch \(dir.sub("world-ran"))", mode: 0o777)
            try writeHook(hooks, "30-after", "exit 0")

            var r = try cli.run(["run", "--hooks-dir", hooks, "pre-restore"])
            expectStatus(r, 1)
            #expect(tableRow(r.stdout, "20-world").prefix(2) == ["20-world", "failed"], "\(r.stdout)")
            #expect(r.stdout.contains("refused: world-writable"))
            #expect(!FileManager.default.fileExists(atPath: dir.sub("world-ran")), "a refused hook never runs")
            var results = try lastRunHooks(cli).hooks
            #expect(results.map { $0["outcome"] as? String } == ["ok", "failed", "skipped"])
            #expect(results[1]["reason"] as? String == "refused: world-writable")
            #expect(results[1]["exit_code"] == nil)
            #expect(results[2]["reason"] as? String == "stopped after refusal of 20-world")

            try #require(chmod("\(hooks)/20-world", 0o755) == 0 && chown("\(hooks)/20-world", 65534, 65534) == 0)
            r = try cli.run(["run", "--hooks-dir", hooks, "post-mount"])
            expectStatus(r, 1)
            results = try lastRunHooks(cli).hooks
            #expect(results.map { $0["outcome"] as? String } == ["ok", "failed", "ok"])
            #expect(results[1]["reason"] as? String == "refused: owned by uid 65534")
            #expect(!FileManager.default.fileExists(atPath: dir.sub("world-ran")))

            // A world-writable directory makes every hook in it suspect.
            try #require(chmod(hooks, 0o777) == 0)
            r = try cli.run(["run", "--hooks-dir", hooks, "pre-restore"])
            expectStatus(r, 1)
            results = try lastRunHooks(cli).hooks
            #expect(results.first?["reason"] as? String == "refused: directory \(hooks) is world-writable")
        }

        @Test(sandboxed) func hookEnvironmentIsExactlyTheContract() throws {
            let dir = try Sandbox.make("cli-env-hook")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let hooks = try makeHooksDir(dir)
            let out = dir.sub("seen")
            // Declares dry runs, so the dry run below executes it too.
            try writeHook(hooks, "50-env", """
                # dry-run: yes
                cat /proc/$$/environ > \(out).env
                printf '%s\\n' "$0" "$@" > \(out).argv
                pwd > \(out).cwd
                readlink /proc/$$/fd/0 > \(out).stdin
                """)
            let a = dir.sub("a"), b = dir.sub("b")
            // The caller's environment has more: none of it may reach the hook.
            let extra: [String: String?] = ["FOO": "bar", "HOME": "/root", "LANG": "C.UTF-8", "GUARD_HOOKS_DIR": hooks,
                                            "LD_LIBRARY_PATH": "/nonexistent", "GUARD_HOOKS_LOCK_TIMEOUT": "3"]
            // Relative --db, from the sandbox: the hook (cwd /) must get it absolute. (The store
            // directory exists first: the engine must not be the one to create a relative one.)
            try dir.mkdir("state")
            let r = try cli.run(["run", "--db", "state/guards.db", "pre-restore", a, b], env: extra,
                                prefix: ["/bin/sh", "-c", "cd \(dir.path) && exec \"$@\"", "sh"])
            expectStatus(r, 0)
            func seen(_ suffix: String) throws -> String { try String(contentsOfFile: out + suffix, encoding: .utf8) }
            var env: [String: String] = [:]
            for entry in try seen(".env").split(separator: "\0") {
                let kv = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                env[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
            }
            let runID = try #require(try lastRunHooks(cli).run["id"] as? Int)
            let binary = URL(fileURLWithPath: hookRunnerBinary).resolvingSymlinksInPath().path
            // The run's job (the caller's session), handed to the hooks so they claim for it.
            let job = try #require(env["GUARD_HOOKS_JOB"])
            let fields = job.split(separator: "|", omittingEmptySubsequences: false)
            #expect(fields.count == 9 && fields[0] == "v1" && fields[1] == "session" && fields[4] == "\(getsid(0))", "\(job)")
            #expect(env == [
                "PATH": safePath,
                "GUARD_HOOKS_PHASE": "pre-restore",
                "GUARD_HOOKS_TARGETS": "\(a)\n\(b)",
                "GUARD_HOOKS_RUN_ID": String(runID),
                "GUARD_HOOKS_DRY_RUN": "0",
                "GUARD_HOOKS_DB": cli.db,
                "GUARD_HOOKS_ALLOW_ROOTS": cli.dir.path,
                "GUARD_HOOKS_BIN": binary,
                "GUARD_HOOKS_HOOK": "50-env",
                "GUARD_HOOKS_HOOK_PATH": "\(hooks)/50-env",
                "GUARD_HOOKS_JOB": job,
            ])
            // Executed from the vetted directory fd: the interpreter names the script by its fd.
            let argv = try seen(".argv").split(separator: "\n", omittingEmptySubsequences: false)
            #expect(argv.first?.hasPrefix("/dev/fd/") == true, "\(argv)")
            #expect(argv.dropFirst() == ["pre-restore", a[...], b[...], ""])
            #expect(try seen(".cwd") == "/\n")
            #expect(try seen(".stdin") == "/dev/null\n")

            // A dry run says so, and has no run id.
            expectStatus(try cli.run(["run", "--dry-run", "pre-restore", a], env: extra), 0)
            let dry = try seen(".env").split(separator: "\0").map(String.init)
            #expect(dry.contains("GUARD_HOOKS_DRY_RUN=1") && dry.contains("GUARD_HOOKS_RUN_ID=dry-run"), "\(dry)")
        }
    }
}
