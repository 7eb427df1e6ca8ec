import Foundation
import GuardTestSupport
import Testing

/// guards, history, runs: filters, JSON field names and time format; and the global options
/// (after the subcommand name, and through their environment variables) on every command.
extension HookRunnerTests {
    @Suite struct Queries {
        @Test(sandboxed) func guardsListsSnakeCaseFieldsAndFiltersOutstanding() throws {
            let dir = try Sandbox.make("cli-guards")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let a = try dir.mkdir("a"), b = try dir.mkdir("b")
            #expect(try cli.run(["guards"]).stdout == "no guards\n", "no store yet: nothing recorded")
            expectStatus(try cli.run(["apply", "--label", "L", a, b]), 0)
            expectStatus(try cli.run(["clear", b]), 0)

            let (r, doc) = try cli.json(["guards"])
            expectStatus(r, 0)
            let all = try objects(doc, "guards")
            #expect(all.map { $0["path"] as? String } == [a, b])
            let g = all[0]
            for key in ["id", "path", "kind", "lifetime", "state", "device", "inode", "mount_id", "mount_id_unique",
                        "boot_id", "label", "created_at", "updated_at"] {
                #expect(g[key] != nil, "guards JSON lacks \(key): \(g.keys.sorted())")
            }
            #expect(g.keys.allSatisfy { $0 == $0.lowercased() && !$0.contains("-") }, "snake_case: \(g.keys.sorted())")
            #expect(isRFC3339UTC(g["created_at"]) && isRFC3339UTC(g["updated_at"]), "\(g)")
            #expect(g["label"] as? String == "L")

            let outstanding = try objects(try cli.json(["guards", "--outstanding"]).1, "guards")
            #expect(outstanding.map { $0["path"] as? String } == [a])
            let cleared = try objects(try cli.json(["guards", "--state", "cleared"]).1, "guards")
            #expect(cleared.map { $0["path"] as? String } == [b])
            #expect(cleared.first?["reason"] as? String == "bind guard unmounted")
            let byPath = try objects(try cli.json(["guards", "--path", b + "/"]).1, "guards")
            #expect(byPath.map { $0["id"] as? Int } == [2])

            let text = try cli.run(["guards", "--outstanding"])
            expectStatus(text, 0)
            let lines = text.stdout.split(separator: "\n")
            #expect(lines.count == 2 && lines[0].hasPrefix("ID  PATH"))
            #expect(lines.last?.hasPrefix("#1  \(a)  bind  transient  applied  ") == true, "\(text.stdout)")
            // No job holds it (an operator's apply): "-" under HELD BY, then the reason.
            #expect(lines.last?.contains("Z  -  ") == true && lines.last?.hasSuffix("  read-only bind") == true, "\(text.stdout)")
        }

        @Test(sandboxed) func historyListsEveryTransitionNewestLast() throws {
            let dir = try Sandbox.make("cli-history")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let a = try dir.mkdir("a"), b = try dir.mkdir("b")
            expectStatus(try cli.run(["apply", a]), 0)
            expectStatus(try cli.run(["apply", b]), 0)
            expectStatus(try cli.run(["clear", a]), 0)

            let events = try objects(try cli.json(["history"]).1, "events")
            // Newest last: a applying, a applied, b applying, b applied, a clearing, a cleared.
            #expect(events.map { $0["guard_id"] as? Int } == [1, 1, 2, 2, 1, 1])
            #expect(events.map { $0["to_state"] as? String } == ["pending", "applied", "pending", "applied", "pending", "cleared"])
            #expect(events.map { $0["id"] as? Int } == (events.map { $0["id"] as? Int }).sorted { ($0 ?? 0) < ($1 ?? 0) })
            #expect(events.allSatisfy { isRFC3339UTC($0["at"]) })
            #expect(events[0]["from_state"] == nil && events[0]["to_action"] as? String == "applying")
            #expect((events[0]["actor"] as? String)?.hasPrefix("hook-runner apply (uid 0") == true)

            let forA = try objects(try cli.json(["history", a]).1, "events")
            #expect(forA.count == 4 && forA.allSatisfy { $0["path"] as? String == a })
            let guard2 = try objects(try cli.json(["history", "--guard", "2"]).1, "events")
            #expect(guard2.map { $0["to_state"] as? String } == ["pending", "applied"])
            let last2 = try objects(try cli.json(["history", "--limit", "2"]).1, "events")
            #expect(last2.map { $0["to_state"] as? String } == ["pending", "cleared"], "the newest two, oldest first")
            #expect(last2.map { $0["guard_id"] as? Int } == [1, 1])

            let text = try cli.run(["history", a, "--limit", "1"])
            expectStatus(text, 0)
            let lines = text.stdout.split(separator: "\n")
            #expect(lines.count == 2 && lines[0].hasPrefix("AT  "))
            #expect(tableRow(text.stdout, a).dropFirst().prefix(5).joined(separator: "|")
                    == "#1|\(a)|pending(clearing)|cleared|bind guard unmounted", "\(text.stdout)")
        }

        @Test(sandboxed) func runsListsEachPhaseRunWithItsHooks() throws {
            let dir = try Sandbox.make("cli-runs")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let hooks = try makeHooksDir(dir)
            try writeHook(hooks, "10-hello", "echo hello $1\nexit 0")
            try writeHook(hooks, "20-fail", "# phases: post-mount\necho broken >&2\nexit 3")
            for phase in ["pre-restore", "post-mount", "pre-restore"] {
                _ = try cli.run(["run", "--hooks-dir", hooks, phase, dir.sub("t")])
            }
            let (r, doc) = try cli.json(["runs"])
            expectStatus(r, 0)
            let runs = try objects(doc, "runs")
            #expect(runs.map { $0["phase"] as? String } == ["pre-restore", "post-mount", "pre-restore"])
            #expect(runs.map { $0["exit_code"] as? Int } == [0, 1, 0])
            #expect(runs.map { $0["id"] as? Int } == [1, 2, 3])
            let run2 = runs[1]
            #expect(run2["targets"] as? [String] == [dir.sub("t")])
            #expect(run2["dry_run"] as? Bool == false)
            #expect(isRFC3339UTC(run2["started_at"]) && isRFC3339UTC(run2["finished_at"]))
            let hooks2 = try objects(run2, "hooks")
            #expect(hooks2.map { $0["name"] as? String } == ["10-hello", "20-fail"])
            #expect(hooks2[0]["outcome"] as? String == "ok" && hooks2[0]["exit_code"] as? Int == 0)
            #expect(hooks2[0]["output_tail"] as? String == "hello post-mount\n")
            #expect(hooks2[1]["outcome"] as? String == "failed" && hooks2[1]["exit_code"] as? Int == 3)
            #expect(hooks2[1]["output_tail"] as? String == "broken\n")
            #expect(hooks2[1]["timed_out"] as? Bool == false)
            #expect(hooks2[1]["path"] as? String == hooks + "/20-fail")

            let pre = try objects(try cli.json(["runs", "--phase", "pre-restore"]).1, "runs")
            #expect(pre.map { $0["id"] as? Int } == [1, 3])
            let last = try objects(try cli.json(["runs", "--limit", "1"]).1, "runs")
            #expect(last.map { $0["id"] as? Int } == [3])
            #expect(try objects(last[0], "hooks").map { $0["name"] as? String } == ["10-hello"])

            let text = try cli.run(["runs", "--phase", "post-mount"])
            expectStatus(text, 0)
            #expect(text.stdout.hasPrefix("run #2  post-mount  "))
            #expect(text.stdout.contains("exit 1  \(dir.sub("t"))"))
            #expect(text.stdout.contains("  20-fail   failed   3"))
        }

        @Test(sandboxed) func globalOptionsAfterTheSubcommand() throws {
            let dir = try Sandbox.make("cli-global")
            defer { dir.cleanUp() }
            let t = try dir.mkdir("t"), elsewhere = try dir.mkdir("elsewhere")
            let hooks = try makeHooksDir(dir)
            try writeHook(hooks, "10-ok", "exit 0")
            let db = dir.sub("other/g.db")
            // Nothing from the environment: only flags, given after the subcommand's name.
            let cli = CLI(dir: dir)
            let bare: [String: String?] = ["GUARD_HOOKS_DB": nil, "GUARD_HOOKS_ALLOW_ROOTS": nil]
            func run(_ args: [String]) throws -> CommandResult { try cli.run(args, env: bare) }

            var r = try run(["apply", t, "--db", db, "--allow-root", elsewhere])
            expectStatus(r, 65)
            #expect(r.stdout.contains("not below an allowed root (\(elsewhere))"))
            r = try run(["apply", t, "--db", db, "--allow-root", elsewhere, "--allow-root", dir.path, "--json"])
            expectStatus(r, 0)
            #expect(try objects(try parseJSON(r), "results").first?["outcome"] as? String == "applied")
            #expect(FileManager.default.fileExists(atPath: db))
            #expect(try objects(try parseJSON(try run(["guards", "--db", db, "--json"])), "guards").count == 1)
            #expect(try objects(try parseJSON(try run(["history", "--db", db, "--json"])), "events").count == 2)
            expectStatus(try run(["run", "--db", db, "--hooks-dir", hooks, "post-mount", t]), 0)
            #expect(try objects(try parseJSON(try run(["runs", "--db", db, "--json"])), "runs").count == 1)
            let doctor = try parseJSON(try run(["doctor", "--db", db, "--allow-root", dir.path, "--json"]))
            #expect(try objects(doctor, "findings").contains { $0["path"] as? String == t })
            expectStatus(try run(["reconcile", "--db", db, "--allow-root", dir.path]), 0)
            r = try run(["clear", t, "--db", db, "--allow-root", dir.path])
            expectStatus(r, 0)
            #expect(r.stdout.contains("cleared"))
            expectStatus(try run(["seal", t, "--db", db, "--allow-root", dir.path]), 0)
            r = try run(["unseal", t, "--db", db, "--allow-root", dir.path])
            expectStatus(r, 0)
            #expect(r.stdout.contains("cleared"))
            #expect(try objects(try parseJSON(try run(["guards", "--db", db, "--json"])), "guards").count == 2)
            #expect(!FileManager.default.fileExists(atPath: cli.db), "the environment's store was never used")
        }

        @Test(sandboxed) func everyCommandTakesTheStoreAndRootsFromTheEnvironment() throws {
            let dir = try Sandbox.make("cli-env")
            defer { dir.cleanUp() }
            let t = try dir.mkdir("t"), elsewhere = try dir.mkdir("elsewhere")
            let hooks = try makeHooksDir(dir)
            try writeHook(hooks, "10-ok", "exit 0")
            let cli = CLI(dir: dir)  // GUARD_HOOKS_DB and GUARD_HOOKS_ALLOW_ROOTS
            let env: [String: String?] = ["GUARD_HOOKS_DIR": hooks, "GUARD_HOOKS_ALLOW_ROOTS": "\(elsewhere):\(dir.path)"]
            func run(_ args: [String]) throws -> CommandResult { try cli.run(args, env: env) }

            let refused = try cli.run(["apply", t], env: ["GUARD_HOOKS_ALLOW_ROOTS": elsewhere])
            expectStatus(refused, 65)
            #expect(refused.stdout.contains("not below an allowed root (\(elsewhere))"))
            // The flag wins over the environment.
            expectStatus(try cli.run(["apply", t, "--allow-root", dir.path], env: ["GUARD_HOOKS_ALLOW_ROOTS": elsewhere]), 0)
            #expect(FileManager.default.fileExists(atPath: cli.db))
            expectStatus(try run(["clear", t]), 0)
            expectStatus(try run(["apply", t]), 0)
            #expect(try run(["guards", "--outstanding"]).stdout.contains(t))
            #expect(try run(["history", t]).stdout.contains("read-only bind"))
            #expect(try run(["hooks"]).stdout.contains("10-ok"))
            expectStatus(try run(["run", "pre-restore", t]), 0)
            #expect(try run(["runs"]).stdout.contains("run #1  pre-restore"))
            #expect(try run(["doctor"]).stdout.contains(t))
            expectStatus(try run(["reconcile"]), 0)
            expectStatus(try run(["clear", "--all"]), 0)
            expectStatus(try run(["seal", t]), 0)
            expectStatus(try run(["unseal", t]), 0)
            // GUARD_HOOKS_SEAL names seal's targets when none are given.
            let sealed = try cli.run(["seal"], env: ["GUARD_HOOKS_SEAL": t])
            expectStatus(sealed, 0)
            #expect(sealed.stdout.contains("applied"))
            #expect(try lsattr(t).contains("i"))
            expectStatus(try run(["unseal", t]), 0)
        }
    }
}
