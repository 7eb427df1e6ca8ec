import Foundation
import GuardTestSupport
import Testing
import Glibc

/// `--dry-run` prints the honest plan (`would-…`) and changes neither the kernel nor the
/// store; it creates no store either.
extension HookRunnerTests {
    @Suite struct DryRun {
        /// The shipped hooks.d, installed root-owned 0755 into the sandbox.
        static func installShippedHooks(_ dir: SandboxDirectory) throws -> String {
            let hooks = try makeHooksDir(dir)
            for name in ["10-guard-offline", "90-clear-transient"] {
                let text = try String(contentsOfFile: "\(packageRoot)/hooks.d/\(name)", encoding: .utf8)
                try #require(FileManager.default.createFile(atPath: "\(hooks)/\(name)", contents: Data(text.utf8)))
                try #require(chmod("\(hooks)/\(name)", 0o755) == 0)
            }
            return hooks
        }

        @Test(sandboxed) func dryRunWithoutAStoreCreatesNone() throws {
            let dir = try Sandbox.make("cli-dry")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let hooks = try Self.installShippedHooks(dir)
            let t = try dir.mkdir("t"), m = try dir.mkdir("m")
            try mountTmpfs(m)
            let before = try [kernelState(t), kernelState(m)]

            var r = try cli.run(["apply", "--dry-run", t, m])
            expectStatus(r, 0)
            #expect(tableRow(r.stdout, t).prefix(3) == ["would-apply", t, "bind"], "\(r.stdout)")
            #expect(tableRow(r.stdout, m).first == "skipped-mounted")
            let (jr, doc) = try cli.json(["apply", "--dry-run", t])
            expectStatus(jr, 0)
            #expect(doc["dry_run"] as? Bool == true)
            #expect(try objects(doc, "results").first?["outcome"] as? String == "would-apply")

            r = try cli.run(["apply", "--dry-run", "--create", dir.sub("new")])
            expectStatus(r, 0)
            #expect(r.stdout.contains("would-apply"), "\(r.stdout)")
            #expect(!FileManager.default.fileExists(atPath: dir.sub("new")))

            r = try cli.run(["seal", "--dry-run", t])
            expectStatus(r, 0)
            #expect(tableRow(r.stdout, t).prefix(3) == ["would-apply", t, "immutable"], "\(r.stdout)")
            expectStatus(try cli.run(["clear", "--dry-run", t]), 0)
            expectStatus(try cli.run(["clear", "--dry-run", "--all"]), 0)
            expectStatus(try cli.run(["unseal", "--dry-run", t]), 0)
            r = try cli.run(["reconcile", "--dry-run"])
            expectStatus(r, 0)
            #expect(r.stdout.contains("nothing to change"))
            #expect(try cli.json(["reconcile", "--dry-run"]).1["dry_run"] as? Bool == true)

            r = try cli.run(["run", "--dry-run", "--hooks-dir", hooks, "pre-restore", t])
            expectStatus(r, 0)
            #expect(r.stdout.contains("dry run pre-restore: ok (1 hooks)"), "\(r.stdout)")
            #expect(tableRow(r.stdout, t).first == "[10-guard-offline] would-apply", "\(r.stdout)")
            let (rr, rdoc) = try cli.json(["run", "--dry-run", "--hooks-dir", hooks, "pre-restore", t])
            expectStatus(rr, 0)
            #expect(rdoc["dry_run"] as? Bool == true && rdoc["run_id"] == nil)

            #expect(!FileManager.default.fileExists(atPath: dir.sub("state")), "a dry run created the store")
            #expect(try [kernelState(t), kernelState(m)] == before)
            #expect(try canWrite(t))
        }

        @Test(sandboxed) func dryRunLeavesKernelAndStoreAlone() throws {
            let dir = try Sandbox.make("cli-dry2")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let hooks = try Self.installShippedHooks(dir)
            let a = try dir.mkdir("a"), s = try dir.mkdir("s"), b = try dir.mkdir("b"), m = try dir.mkdir("m")
            expectStatus(try cli.run(["apply", a, b, m]), 0)
            expectStatus(try cli.run(["seal", s]), 0)
            try umount(b)  // b's guard removed by hand: drift for reconcile
            try mountTmpfs(m)  // storage over m's guard: its clear would be deferred
            func snapshot() throws -> [String] {
                try [a, s, b, m].map(kernelState) + [try cli.run(["guards", "--json"]).stdout,
                                                    try cli.run(["history", "--json"]).stdout,
                                                    try cli.run(["runs", "--json"]).stdout]
            }
            let before = try snapshot()

            var r = try cli.run(["clear", "--dry-run", a])
            expectStatus(r, 0)
            #expect(tableRow(r.stdout, a).prefix(4) == ["would-clear", a, "bind", "#1"], "\(r.stdout)")
            r = try cli.run(["clear", "--dry-run", m])
            expectStatus(r, 75)
            #expect(tableRow(r.stdout, m).first == "would-defer", "\(r.stdout)")
            r = try cli.run(["unseal", "--dry-run", s])
            expectStatus(r, 0)
            #expect(tableRow(r.stdout, s).prefix(3) == ["would-clear", s, "immutable"], "\(r.stdout)")
            r = try cli.run(["reconcile", "--dry-run"])
            expectStatus(r, 0)
            #expect(r.stdout.contains("would be failed"), "\(r.stdout)")
            let (jr, doc) = try cli.json(["reconcile", "--dry-run"])
            expectStatus(jr, 0)
            #expect(try objects(doc, "changes").first?["to"] as? String == "failed")
            r = try cli.run(["apply", "--dry-run", a])
            expectStatus(r, 0)
            #expect(r.stdout.contains("already-applied"))
            r = try cli.run(["run", "--dry-run", "--hooks-dir", hooks, "post-mount", a])
            expectStatus(r, 0)
            #expect(tableRow(r.stdout, a).first == "[90-clear-transient] would-clear", "\(r.stdout)")

            #expect(try snapshot() == before, "a dry run changed the kernel or the store")
            #expect(try !canWrite(a))
        }
    }
}
