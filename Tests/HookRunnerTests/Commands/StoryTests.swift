import Foundation
import GuardTestSupport
import Testing

/// The whole story of scripts/demo-steps, with the shipped hooks, checked through JSON.
extension HookRunnerTests {
    @Suite struct Story {
        @Test(sandboxed) func restoreMountUnmountWithTheShippedHooks() throws {
            let dir = try Sandbox.make("cli-story")
            defer { dir.cleanUp() }
            let hooks = try DryRun.installShippedHooks(dir)
            let nfs1 = try dir.mkdir("pve/nfs1")
            let cli = CLI(dir: dir)
            let env: [String: String?] = ["GUARD_HOOKS_DIR": hooks]

            // 1. The restore tool calls pre-restore while nfs1 is offline: it is guarded.
            let hooksList = try cli.run(["hooks", "pre-restore"], env: env)
            #expect(tableRow(hooksList.stdout, "10-guard-offline").prefix(2) == ["10-guard-offline", "run"])
            #expect(tableRow(hooksList.stdout, "90-clear-transient").dropFirst().first == "skip: not for phase pre-restore")
            var r = try cli.run(["run", "pre-restore", nfs1], env: env)
            expectStatus(r, 0)
            #expect(r.stdout.contains("\nrun #1 pre-restore: ok (1 hooks)\n"), "\(r.stdout)")
            #expect(tableRow(r.stdout, nfs1).first == "[10-guard-offline] applied", "\(r.stdout)")

            // 2. A write to the offline mountpoint is refused; findmnt shows the read-only guard.
            let touch = try runCommand(["touch", nfs1 + "/restored.img"])
            #expect(touch.status != 0 && touch.stderr.contains("Read-only file system"), "\(touch)")
            #expect(try findmnt(nfs1).last?.contains("ro,") == true)

            // 3. The storage mounts over the guard and takes writes.
            try mountTmpfs(nfs1, source: "nfs1-storage")
            #expect(try canWrite(nfs1, "restored.img"))

            // 4. post-mount while mounted: the guard is shadowed and stays pending; the shipped
            //    clear hook maps the deferral (75) to success.
            r = try cli.run(["run", "post-mount", nfs1], env: env)
            expectStatus(r, 0)
            #expect(tableRow(r.stdout, nfs1).first == "[90-clear-transient] deferred", "\(r.stdout)")
            #expect(r.stdout.contains("some guards stay pending"))
            var g = try #require(try objects(try cli.json(["guards"]).1, "guards").first)
            #expect(g["state"] as? String == "pending" && g["pending_action"] as? String == "clear-deferred", "\(g)")
            #expect(try findmnt(nfs1).count == 2)

            // 5. Unmounted: the guard is on top again; post-mount now clears it.
            try umount(nfs1)
            #expect(try !canWrite(nfs1))
            r = try cli.run(["run", "post-mount", nfs1], env: env)
            expectStatus(r, 0)
            #expect(tableRow(r.stdout, nfs1).first == "[90-clear-transient] cleared", "\(r.stdout)")
            #expect(try findmnt(nfs1).isEmpty)
            #expect(try canWrite(nfs1))

            // 6. What the store recorded.
            let guards = try objects(try cli.json(["guards"]).1, "guards")
            try #require(guards.count == 1)
            g = guards[0]
            #expect(g["path"] as? String == nfs1 && g["kind"] as? String == "bind" && g["lifetime"] as? String == "transient")
            #expect(g["state"] as? String == "cleared" && g["reason"] as? String == "bind guard unmounted")
            #expect(g["run_id"] as? Int == 1, "created by the pre-restore run")
            #expect(g["label"] as? String == "pre-restore (run 1)")
            #expect(try objects(try cli.json(["guards", "--outstanding"]).1, "guards").isEmpty)

            let events = try objects(try cli.json(["history", nfs1]).1, "events")
            #expect(events.count == 5, "\(events)")
            #expect(events.map { $0["from_state"] as? String } == [nil, "pending", "applied", "pending", "pending"])
            #expect(events.map { $0["to_state"] as? String } == ["pending", "applied", "pending", "pending", "cleared"])
            #expect(events.map { $0["to_action"] as? String } == ["applying", nil, "clear-deferred", "clearing", nil])
            #expect(events.map { $0["run_id"] as? Int } == [1, 1, 2, 3, 3])
            #expect(events.map { ($0["actor"] as? String)?.split(separator: " ").prefix(2).joined(separator: " ") }
                    == ["hook-runner apply", "hook-runner apply", "hook-runner clear", "hook-runner clear", "hook-runner clear"])
            #expect(events.allSatisfy { isRFC3339UTC($0["at"]) })

            let runs = try objects(try cli.json(["runs"]).1, "runs")
            #expect(runs.map { $0["id"] as? Int } == [1, 2, 3])
            #expect(runs.map { $0["phase"] as? String } == ["pre-restore", "post-mount", "post-mount"])
            #expect(runs.map { $0["exit_code"] as? Int } == [0, 0, 0])
            #expect(runs.allSatisfy { $0["targets"] as? [String] == [nfs1] && isRFC3339UTC($0["finished_at"]) })
            let hookRows = try runs.map { try objects($0, "hooks") }
            #expect(hookRows.map { $0.map { $0["name"] as? String } }
                    == [["10-guard-offline"], ["90-clear-transient"], ["90-clear-transient"]])
            #expect(hookRows.allSatisfy { $0.allSatisfy { $0["outcome"] as? String == "ok" && $0["exit_code"] as? Int == 0 } })
            #expect((hookRows[0][0]["output_tail"] as? String)?.contains("applied") == true)
            #expect((hookRows[1][0]["output_tail"] as? String)?.contains("some guards stay pending") == true)
            #expect((hookRows[2][0]["output_tail"] as? String)?.contains("cleared") == true)
        }
    }
}
