import Foundation
import GuardTestSupport
import Testing
import Glibc

/// Every error class: its exit code, and one line on stderr starting with `hook-runner: `.
extension HookRunnerTests {
    @Suite struct Errors {
        static let subcommands = ["run", "hooks", "apply", "clear", "seal", "unseal", "guards", "history", "runs",
                                  "doctor", "reconcile"]

        @Test func helpOnEverySubcommand() throws {
            for name in Self.subcommands {
                let r = try runCommand([hookRunnerBinary, name, "--help"], environment: ["PATH": safePath])
                #expect(r.status == 0, "\(name) --help exited \(r.status)")
                #expect(r.stdout.contains("Example"), "\(name) --help has no example")
            }
            let top = try runCommand([hookRunnerBinary, "--help"], environment: ["PATH": safePath])
            #expect(top.status == 0 && top.stdout.contains("Exit codes"))
        }

        @Test func usageErrorsExit64() throws {
            let env = ["PATH": safePath, "GUARD_HOOKS_DB": "/nonexistent-guard-hooks-test/g.db"]
            let cases: [([String], String)] = [
                (["apply", "--bogus", "/mnt/x"], "Unknown option '--bogus'"),
                (["guards", "--db"], "Missing value for '--db <path>'"),
                (["apply"], "apply needs at least one target"),
                (["unseal"], "Missing expected argument"),
                (["clear", "--all", "/mnt/x"], "give targets or --all, not both"),
                (["clear"], "clear needs targets or --all"),
                (["runs", "--limit", "0"], "--limit must be at least 1"),
                (["history", "--limit", "0"], "--limit must be at least 1"),
                (["history", "--guard", "1", "/mnt/x"], "not both"),
                (["run", "Pre_Restore"], "phase \"Pre_Restore\""),
                (["hooks", "BAD"], "phase \"BAD\""),
                (["run", "--timeout", "0", "pre-restore"], "--timeout"),
                (["guards", "--state", "bogus"], "'bogus' is invalid for '--state"),
                (["apply", "--kind", "weird", "/mnt/x"], "'weird' is invalid for '--kind"),
                (["apply", "--lifetime", "persistent", "/mnt/x"], "needs --kind immutable"),
                (["nosuchcommand"], "nosuchcommand"),
                (["guards", "--allow-root", "relative"], "--allow-root relative"),
            ]
            for (args, message) in cases {
                let r = try runCommand([hookRunnerBinary] + args, environment: env)
                expectError(r, 64, message)
                #expect(r.stdout.isEmpty, "\(args): \(r.stdout)")
            }
        }

        @Test(sandboxed) func badTargetsExit65NamingThePath() throws {
            let dir = try Sandbox.make("cli-badtarget")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            try #require(FileManager.default.createFile(atPath: dir.sub("file"), contents: Data()))
            let cases: [(String, String)] = [
                ("/etc", "not below an allowed root (\(dir.path))"),
                ("relative/dir", "not an absolute path"),
                (dir.sub("bad\nname"), "control character"),
                (dir.sub("file"), "not a directory"),
                (dir.sub("missing"), "does not exist"),
            ]
            for (target, reason) in cases {
                for command in [["apply"], ["seal"], ["clear"], ["unseal"]] {
                    let r = try cli.run(command + [target])
                    expectStatus(r, 65)
                    let shown = target.replacingOccurrences(of: "\n", with: "\\n")
                    let line = r.stdout.split(separator: "\n").dropFirst().first.map(String.init) ?? ""
                    #expect(line.hasPrefix("refused  \(shown)  "), "\(command) \(target.debugDescription): \(r.stdout)")
                    #expect(line.contains(reason), "\(command): \(r.stdout)")
                    #expect(r.stdout.split(separator: "\n").count == 2, "one row per target: \(r.stdout.debugDescription)")
                }
                let (r, doc) = try cli.json(["apply", target])
                expectStatus(r, 65)
                #expect(doc["exit_code"] as? Int == 65)
                let result = try #require(try objects(doc, "results").first)
                #expect(result["target"] as? String == target)
                #expect(result["outcome"] as? String == "refused")
                #expect((result["reason"] as? String)?.contains(reason) == true)
            }
            // Queries refuse a path they cannot even name.
            expectError(try cli.run(["history", "relative"]), 65, "relative")
            expectError(try cli.run(["guards", "--path", "relative"]), 65, "relative")
        }

        @Test(sandboxed) func busyLockExits75() throws {
            let dir = try Sandbox.make("cli-busy")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let t = try dir.mkdir("t")
            expectStatus(try cli.run(["apply", t]), 0)
            let holder = Process()
            holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
            holder.arguments = ["-x", cli.db + ".lock", "sleep", "5"]
            try holder.run()
            defer { holder.terminate(); holder.waitUntilExit() }
            // Wait until flock holds the lock.
            var held = false
            for _ in 0..<50 where !held {
                held = try runCommand(["flock", "-n", cli.db + ".lock", "true"]).status != 0
                if !held { usleep(50_000) }
            }
            try #require(held, "flock never took the lock")
            let busy: [String: String?] = ["GUARD_HOOKS_LOCK_TIMEOUT": "0.2"]
            for args in [["apply", t], ["clear", t], ["clear", "--all"], ["seal", t], ["reconcile"],
                         ["run", "--hooks-dir", try makeHooksDir(dir), "pre-restore"]] {
                let r = try cli.run(args, env: busy)
                expectError(r, 75, "another hook-runner holds the lock")
            }
            // Readers do not wait for the writers' lock.
            expectStatus(try cli.run(["guards"], env: busy), 0)
            #expect(try findmnt(t).count == 1, "nothing was changed while busy")
        }

        @Test(sandboxed) func notRootExits77ButQueriesWork() throws {
            let dir = try Sandbox.make("cli-nonroot")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let a = try dir.mkdir("a"), b = try dir.mkdir("b")
            expectStatus(try cli.run(["apply", a]), 0)
            // Let an unprivileged user read the store.
            try #require(chmod(dir.path, 0o755) == 0 && chmod(dir.sub("state"), 0o755) == 0)
            for name in try FileManager.default.contentsOfDirectory(atPath: dir.sub("state")) {
                try #require(chmod(dir.sub("state/\(name)"), 0o644) == 0)
            }
            let nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            for args in [["apply", b], ["clear", a], ["seal", b], ["unseal", a], ["reconcile"], ["run", "pre-restore"]] {
                let r = try cli.run(args, prefix: nobody)
                expectError(r, 77, "\(args[0]) changes the kernel and the store: run it as root")
            }
            let (r, doc) = try cli.json(["guards"], prefix: nobody)
            expectStatus(r, 0)
            #expect(try objects(doc, "guards").map { $0["path"] as? String } == [a])
            expectStatus(try cli.run(["history", a], prefix: nobody), 0)
            expectStatus(try cli.run(["apply", "--dry-run", b], prefix: nobody), 0)
            #expect(try findmnt(b).isEmpty)
        }

        @Test(sandboxed) func corruptStoreExits70Untouched() throws {
            let dir = try Sandbox.make("cli-corrupt")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let t = try dir.mkdir("t")
            try dir.mkdir("state")
            var rng = SplitMix64.seeded(for: "HookRunnerTests.Errors.corruptStoreExits70Untouched")
            let original = Data(rng.bytes(8192))
            try original.write(to: URL(fileURLWithPath: cli.db))
            for args in [["guards"], ["history"], ["runs"], ["doctor"], ["apply", t], ["clear", "--all"], ["seal", t],
                         ["reconcile"], ["run", "--hooks-dir", try makeHooksDir(dir), "pre-restore"]] {
                let r = try cli.run(args)
                expectError(r, 70, cli.db)
                #expect(try Data(contentsOf: URL(fileURLWithPath: cli.db)) == original, "\(args) changed the store")
            }
            #expect(try findmnt(t).isEmpty, "nothing guarded without a store to record it")
            let left = try FileManager.default.contentsOfDirectory(atPath: dir.sub("state")).sorted()
            #expect(left.allSatisfy { $0 == "guards.db" || $0 == "guards.db.lock" }, "\(left)")
        }

        /// The table escapes every control character (C0, DEL, C1) so a hostile target cannot
        /// break or forge lines, and aligns columns by characters, not bytes.
        @Test func tableEscapesControlCharactersAndAlignsByCharacter() throws {
            let env = ["PATH": safePath, "GUARD_HOOKS_DB": "/nonexistent-guard-hooks-test/g.db",
                       "GUARD_HOOKS_ALLOW_ROOTS": "/nonexistent-guard-hooks-root"]
            let targets = ["/mnt/a\nb", "/mnt/\u{85}c", "/mnt/\u{7F}", "/mnt/\u{1B}[2J", "/mnt/ééé", "/mnt/plain"]
            let r = try runCommand([hookRunnerBinary, "apply", "--dry-run"] + targets, environment: env)
            #expect(r.status == 65, "exit \(r.status): \(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 1 + targets.count, "one line per target: \(r.stdout.debugDescription)")
            for shown in ["/mnt/a\\nb ", "/mnt/\\u{85}c ", "/mnt/\\u{7f} ", "/mnt/\\u{1b}[2J ", "/mnt/ééé ", "/mnt/plain "] {
                #expect(lines.contains { $0.contains(shown) }, "\(shown) not in \(r.stdout)")
            }
            #expect(!r.stdout.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" || (0x7F...0x9F).contains($0.value) })
            // Every row's third column (KIND) starts at the same character offset.
            let kindColumn = Set(lines.map { line in
                Array(line).indices.first { i in i > 0 && Array(line)[i - 1] == " " && Array(line)[i] != " "
                    && Array(line)[..<i].split(separator: " ", omittingEmptySubsequences: true).count == 2 }
            })
            #expect(kindColumn.count == 1, "columns are not aligned: \(r.stdout)")
            #expect(lines.allSatisfy { !$0.hasSuffix(" ") }, "trailing spaces")
        }

        /// Two names that Swift's String equality calls equal (precomposed and decomposed
        /// "é") are two directories to the kernel: both are guarded, neither is reported as
        /// "same directory as" the other, and both clear.
        @Test(sandboxed) func canonicallyEqualNamesAreTwoDirectories() throws {
            let dir = try Sandbox.make("cli-nfc-nfd")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let composed = try dir.mkdir("caf\u{E9}"), decomposed = try dir.mkdir("cafe\u{301}")
            #expect(composed == decomposed && !composed.utf8.elementsEqual(decomposed.utf8))
            let applied = try cli.run(["apply", "--kind", "immutable", composed, decomposed])
            expectStatus(applied, 0)
            #expect(!applied.stdout.contains("same directory"), "\(applied.stdout)")
            #expect(try lsattr(composed).contains("i") && lsattr(decomposed).contains("i"))
            let listed = try cli.run(["guards", "--outstanding", "--json"])
            #expect(listed.stdout.components(separatedBy: "\"state\":\"applied\"").count - 1 == 2, "\(listed.stdout)")
            expectStatus(try cli.run(["clear", composed, decomposed]), 0)
            #expect(try !lsattr(composed).contains("i") && !lsattr(decomposed).contains("i"))
        }
    }
}
