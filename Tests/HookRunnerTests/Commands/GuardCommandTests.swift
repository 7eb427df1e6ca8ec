import Foundation
import GuardTestSupport
import Testing

/// The commands that change guards: text and JSON output and exit codes, checked against
/// what findmnt, lsattr and touch say.
extension HookRunnerTests {
    @Suite struct GuardCommands {
        /// The text row of `path` in a command's table, or "" when there is none.
        func row(_ output: String, _ path: String) -> String {
            output.split(separator: "\n").map(String.init).first { $0.contains(" \(path) ") } ?? ""
        }

        @Test(sandboxed) func applyGuardsTheOfflineTargetAndSkipsTheMountedOne() throws {
            let dir = try Sandbox.make("cli-apply")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let offline = try dir.mkdir("pve/nfs1"), online = try dir.mkdir("pve/nfs2")
            try mountTmpfs(online)

            var r = try cli.run(["apply", "--label", "t1", offline, online])
            expectStatus(r, 0)
            #expect(r.stdout.hasPrefix("OUTCOME "))
            #expect(row(r.stdout, offline).hasPrefix("applied "))
            #expect(row(r.stdout, offline).contains(" bind "))
            #expect(row(r.stdout, offline).contains("#1"))
            #expect(row(r.stdout, online).hasPrefix("skipped-mounted "))
            #expect(row(r.stdout, online).contains("storage is mounted"))
            #expect(r.stderr.isEmpty)
            #expect(try findmnt(offline).last?.contains("ro,") == true)
            #expect(try !canWrite(offline))
            #expect(try findmnt(online).count == 1, "no guard under the mounted storage")

            r = try cli.run(["apply", offline])
            expectStatus(r, 0)
            #expect(row(r.stdout, offline).hasPrefix("already-applied "))
            #expect(try findmnt(offline).count == 1, "no second guard stacked")
        }

        @Test(sandboxed) func applyJSONCarriesOnlyTheDocumentedFields() throws {
            let dir = try Sandbox.make("cli-apply-json")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let target = try dir.mkdir("pool")
            let (r, doc) = try cli.json(["apply", "--kind", "immutable", "--label", "seal me", target])
            expectStatus(r, 0)
            #expect(doc["command"] as? String == "apply")
            #expect(doc["dry_run"] as? Bool == false)
            #expect(doc["exit_code"] as? Int == 0)
            let results = try objects(doc, "results")
            try #require(results.count == 1)
            let allowed: Set<String> = ["target", "path", "outcome", "kind", "lifetime", "guard_id", "reason"]
            #expect(Set(results[0].keys).isSubset(of: allowed), "\(results[0].keys)")
            #expect(results[0]["target"] as? String == target)
            #expect(results[0]["path"] as? String == target)
            #expect(results[0]["outcome"] as? String == "applied")
            #expect(results[0]["kind"] as? String == "immutable")
            #expect(results[0]["lifetime"] as? String == "transient")
            #expect(results[0]["guard_id"] as? Int == 1)
            #expect(try lsattr(target).contains("i"))
            #expect(try !canWrite(target))
        }

        @Test(sandboxed) func clearRemovesAGuardDefersAShadowedOneAndClearAllTakesTheRest() throws {
            let dir = try Sandbox.make("cli-clear")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let a = try dir.mkdir("a"), b = try dir.mkdir("b"), c = try dir.mkdir("c")
            expectStatus(try cli.run(["apply", a, b, c]), 0)

            var r = try cli.run(["clear", a])
            expectStatus(r, 0)
            #expect(row(r.stdout, a).hasPrefix("cleared "))
            #expect(try findmnt(a).isEmpty)
            #expect(try canWrite(a))

            // Storage mounted over b's guard: the clear is deferred, exit 75.
            try mountTmpfs(b)
            let (deferred, doc) = try cli.json(["clear", b])
            expectStatus(deferred, 75)
            #expect(doc["exit_code"] as? Int == 75)
            let result = try #require(try objects(doc, "results").first)
            #expect(result["outcome"] as? String == "deferred")
            #expect((result["reason"] as? String)?.contains("shadowed") == true)
            #expect(try findmnt(b).count == 2, "guard and storage both still there")
            let (_, pending) = try cli.json(["guards", "--path", b])
            let g = try #require(try objects(pending, "guards").first)
            #expect(g["state"] as? String == "pending")
            #expect(g["pending_action"] as? String == "clear-deferred")

            r = try cli.run(["clear", "--all"])
            expectStatus(r, 75)
            #expect(row(r.stdout, b).hasPrefix("deferred "))
            #expect(row(r.stdout, c).hasPrefix("cleared "))
            try umount(b)
            r = try cli.run(["clear", "--all"])
            expectStatus(r, 0)
            #expect(row(r.stdout, b).hasPrefix("cleared "))
            #expect(try findmnt(b).isEmpty && findmnt(c).isEmpty)
            let (_, none) = try cli.json(["guards", "--outstanding"])
            #expect(try objects(none, "guards").isEmpty)
        }

        @Test(sandboxed) func aSealIsPersistentImmutableAndUntouchedByClear() throws {
            let dir = try Sandbox.make("cli-seal")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let pool = try dir.mkdir("pool")
            let (r, doc) = try cli.json(["seal", pool])
            expectStatus(r, 0)
            let sealed = try #require(try objects(doc, "results").first)
            #expect(sealed["outcome"] as? String == "applied")
            #expect(sealed["kind"] as? String == "immutable")
            #expect(sealed["lifetime"] as? String == "persistent")
            #expect(try lsattr(pool).contains("i"))

            // clear never touches a seal.
            let cleared = try cli.run(["clear", "--all"])
            expectStatus(cleared, 0)
            #expect(try lsattr(pool).contains("i"))

            try mountTmpfs(pool)
            var u = try cli.run(["unseal", pool])
            expectStatus(u, 65)
            #expect(row(u.stdout, pool).hasPrefix("refused "))
            #expect(u.stdout.contains("target is mounted"))
            try umount(pool)
            #expect(try lsattr(pool).contains("i"), "refused unseal left the seal")

            u = try cli.run(["unseal", pool])
            expectStatus(u, 0)
            #expect(row(u.stdout, pool).hasPrefix("cleared "))
            #expect(try !lsattr(pool).contains("i"))
            #expect(try canWrite(pool))
        }

        @Test(sandboxed) func sealBestEffortAlwaysExitsZero() throws {
            let dir = try Sandbox.make("cli-seal-be")
            defer { dir.cleanUp() }
            let r = try CLI(dir: dir).run(["seal", "--best-effort", dir.sub("missing")])
            expectStatus(r, 0)
            #expect(r.stdout.contains("refused"))
        }

        @Test(sandboxed) func doctorFailsOnDriftUntilReconcileSettlesIt() throws {
            let dir = try Sandbox.make("cli-doctor")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let t = try dir.mkdir("nfs1")
            expectStatus(try cli.run(["apply", t]), 0)

            var (r, doc) = try cli.json(["doctor"])
            expectStatus(r, 0)
            #expect(doc["worst"] as? String == "ok")
            #expect(try objects(doc, "findings").contains { $0["path"] as? String == t && $0["severity"] as? String == "ok" })
            r = try cli.run(["reconcile"])
            expectStatus(r, 0)
            #expect(r.stdout == "store matches the kernel: nothing to change\n")

            // The guard is removed behind our back: doctor fails (drift), exit 1.
            try umount(t)
            (r, doc) = try cli.json(["doctor"])
            expectStatus(r, 1)
            #expect(doc["worst"] as? String == "fail")
            let drift = try objects(doc, "findings").first { $0["code"] as? String == "drift" }
            #expect(drift?["path"] as? String == t)
            #expect(drift?["severity"] as? String == "fail")
            let text = try cli.run(["doctor"])
            expectStatus(text, 1)
            #expect(text.stdout.contains("fail") && text.stdout.contains("drift"))

            (r, doc) = try cli.json(["reconcile"])
            expectStatus(r, 0)
            #expect(doc["dry_run"] as? Bool == false)
            let change = try #require(try objects(doc, "changes").first)
            #expect(change["guard_id"] as? Int == 1)
            #expect(change["path"] as? String == t)
            #expect(change["from"] as? String == "applied")
            #expect(change["to"] as? String == "failed")
            #expect((change["reason"] as? String)?.contains("removed outside hook-runner") == true)

            // Settled: doctor warns at most (a failed guard), exit 0; reconcile has nothing left.
            (r, doc) = try cli.json(["doctor"])
            expectStatus(r, 0)
            #expect(doc["worst"] as? String == "warn")
            r = try cli.run(["reconcile"])
            expectStatus(r, 0)
            #expect(r.stdout.contains("nothing to change"))
        }

        @Test(sandboxed) func reconcileShowsItsChangesAsATable() throws {
            let dir = try Sandbox.make("cli-reconcile")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let t = try dir.mkdir("nfs1")
            expectStatus(try cli.run(["apply", t]), 0)
            try umount(t)
            let r = try cli.run(["reconcile"])
            expectStatus(r, 0)
            #expect(r.stdout.hasPrefix("GUARD  PATH"))
            #expect(row(r.stdout, t).hasPrefix("#1 "))
            #expect(row(r.stdout, t).contains("failed"))
        }
    }
}
