import Foundation
import GuardTestSupport
import Testing
import Glibc

/// The recipes, run for real in the sandbox: the wrappers with a fake tool standing in for
/// rsync/restic (a script that writes into its last argument), the rsnapshot scripts, and
/// the YAML parsed by PyYAML.
extension AdapterTests {
    @Suite struct Recipes {
        let recipes = packageRoot + "/recipes"

        /// A fake backup tool: writes `backup.dat` into its last argument (a directory); exits
        /// 23 (rsync's "partial transfer") when it cannot.
        func fakeTool(_ dir: SandboxDirectory) throws -> String {
            let path = dir.sub("fake-tool")
            try writeFile(path, """
                #!/bin/sh
                for last; do :; done
                echo "fake tool writing into $last"
                echo backup > "$last/backup.dat" || exit 23
                touch "\(dir.sub("tool-ran"))"
                """, mode: 0o755)
            return path
        }

        func env(_ cli: CLI, _ extra: [String: String] = [:]) -> [String: String] {
            var e = cli.environment
            e["HOOK_RUNNER"] = hookRunnerBinary
            for (k, v) in extra { e[k] = v }
            return e
        }

        func outstanding(_ cli: CLI) throws -> [[String: Any]] {
            try objects(try cli.json(["guards", "--outstanding"]).1, "guards")
        }

        @Test(sandboxed, arguments: ["rsync-wrapper.sh", "restic-wrapper.sh"])
        func wrapperOfflineFailsLoudlyOnlineWrites(_ wrapper: String) throws {
            let dir = try Sandbox.make("recipe")
            defer { dir.cleanUp() }
            let cli = CLI(adapterSandbox: dir)
            try cli.installShippedHooks()
            let tool = try fakeTool(dir)
            let storage = try dir.mkdir("backup")
            let toolVariable = wrapper.hasPrefix("rsync") ? "RSYNC" : "RESTIC"

            // Offline: pre-backup guards, the tool's write fails, the wrapper fails, post-backup clears;
            // `exec` records the command as a run of its own.
            var r = try runCommand([recipes + "/" + wrapper, storage, "-a", "/srv/data/", storage],
                                   environment: env(cli, [toolVariable: tool]))
            expectStatus(r, 23)
            #expect(r.stdout.contains("fake tool writing into \(storage)"), "\(r.stdout)")
            #expect(r.stderr.contains("Read-only file system"), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: storage + "/backup.dat"))
            #expect(try findmnt(storage).isEmpty, "post-backup removed the guard")
            #expect(try outstanding(cli).isEmpty)
            let (_, history) = try cli.json(["history", storage])
            #expect(try objects(history, "events").map { $0["to_state"] as? String ?? "" } == ["pending", "applied", "pending", "cleared"])
            let (_, runs) = try cli.json(["runs"])
            // By start time: exec's run started first (it encloses its pre and post phases).
            #expect(try objects(runs, "runs").map { $0["phase"] as? String ?? "" } == ["exec", "pre-backup", "post-backup"])

            // Online: nothing guarded, the write lands on the storage.
            try mountTmpfs(storage)
            r = try runCommand([recipes + "/" + wrapper, storage, storage], environment: env(cli, [toolVariable: tool]))
            expectStatus(r, 0)
            #expect(r.stderr.contains("skipped-mounted"), "\(r.stderr)")
            #expect(FileManager.default.fileExists(atPath: storage + "/backup.dat"))
            try umount(storage)
            #expect(!FileManager.default.fileExists(atPath: storage + "/backup.dat"), "it went to the storage, not under it")
            #expect(try outstanding(cli).isEmpty)
        }

        @Test(sandboxed) func failingPreBackupStopsTheToolAndStillClears() throws {
            let dir = try Sandbox.make("recipe-pre")
            defer { dir.cleanUp() }
            let cli = CLI(adapterSandbox: dir)
            try cli.installShippedHooks()
            let tool = try fakeTool(dir)
            // /srv is outside the allowed roots: `exec` refuses the target (65) before any hook
            // runs, so the tool never starts and nothing is recorded.
            let r = try runCommand([recipes + "/guarded-backup.sh", "/srv/outside", "--", tool, dir.path],
                                   environment: env(cli))
            expectStatus(r, 65)
            #expect(r.stderr.contains("/srv/outside is not below an allowed root"), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.sub("tool-ran")), "the tool did not run")
            let (_, runs) = try cli.json(["runs"])
            #expect(try objects(runs, "runs").isEmpty)
        }

        /// A pre-backup hook that fails after the guard hook: the tool never starts (exit 1), and
        /// the post phase still releases the claim and removes the guard.
        @Test(sandboxed) func failingPreBackupHookFailsClosed() throws {
            let dir = try Sandbox.make("recipe-pre-hook")
            defer { dir.cleanUp() }
            let cli = CLI(adapterSandbox: dir)
            try cli.installShippedHooks()
            try writeFile(cli.hooksDir + "/20-fail", "#!/bin/sh\n# phases: pre-backup\nexit 3\n", mode: 0o755)
            let tool = try fakeTool(dir)
            let storage = try dir.mkdir("backup")
            let r = try runCommand([recipes + "/guarded-backup.sh", storage, "--", tool, storage], environment: env(cli))
            expectStatus(r, 1)
            #expect(r.stderr.contains("pre-backup failed"), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.sub("tool-ran")), "the tool did not run")
            #expect(try findmnt(storage).isEmpty, "post-backup removed the guard")
            #expect(try outstanding(cli).isEmpty)
        }

        @Test(sandboxed) func guardedBackupUsage() throws {
            let dir = try Sandbox.make("recipe-usage")
            defer { dir.cleanUp() }
            let r = try runCommand([recipes + "/guarded-backup.sh", "/mnt/x", "true"], environment: env(CLI(adapterSandbox: dir)))
            expectStatus(r, 64)
        }

        @Test(sandboxed) func rsnapshotScriptsGuardTheConfiguredStorageWhileItRuns() throws {
            let dir = try Sandbox.make("recipe-rsnapshot")
            defer { dir.cleanUp() }
            let cli = CLI(adapterSandbox: dir)
            try cli.installShippedHooks()
            let storage = try dir.mkdir("backup")
            // rsnapshot passes no arguments: the mountpoint comes from the script's setting.
            let e = env(cli, ["GUARD_HOOKS_RSNAPSHOT_TARGET": storage])
            expectStatus(try runCommand([recipes + "/rsnapshot-preexec"], environment: e), 0)
            #expect(try findmnt(storage).last?.contains("ro,") == true)
            #expect(mkdir(storage + "/rsnapshot", 0o755) != 0 && errno == EROFS)
            expectStatus(try runCommand([recipes + "/rsnapshot-postexec"], environment: e), 0)
            #expect(try findmnt(storage).isEmpty)
            #expect(try outstanding(cli).isEmpty)
        }

        @Test func rsnapshotConfUsesTabsAndTheShippedScripts() throws {
            let conf = try String(contentsOfFile: recipes + "/rsnapshot.conf", encoding: .utf8)
            let directives = conf.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }
            #expect(directives.allSatisfy { $0.contains("\t") && !$0.contains(" ") }, "rsnapshot needs TABs: \(directives)")
            #expect(directives == ["snapshot_root\t/mnt/backup/rsnapshot/"], "\(directives)")
            // The cmd_preexec form is offered commented out, with the shipped scripts' installed paths.
            #expect(conf.contains("\n#cmd_preexec\t/usr/local/lib/guard-hooks/rsnapshot-preexec\n"))
            #expect(conf.contains("\n#cmd_postexec\t/usr/local/lib/guard-hooks/rsnapshot-postexec\n"))
        }

        @Test(arguments: ["borgmatic.yaml", "borgmatic-legacy.yaml"])
        func borgmaticYAMLParses(_ name: String) throws {
            let script = """
                import sys, yaml
                doc = yaml.safe_load(open(sys.argv[1]))
                if "commands" in doc:
                    assert doc["commands"] == [
                        {"before": "configuration", "run": ["hook-runner run pre-backup /mnt/backup"]},
                        {"after": "configuration", "run": ["hook-runner run post-backup /mnt/backup"]}], doc
                else:
                    assert doc["before_actions"] == ["hook-runner run pre-backup /mnt/backup"], doc
                    assert doc["after_actions"] == ["hook-runner run post-backup /mnt/backup"], doc
                    assert doc["on_error"] == ["hook-runner run post-backup /mnt/backup"], doc
                assert doc["keep_daily"] > 0, doc
                assert doc["repositories"][0]["path"].startswith("/mnt/backup/"), doc
                print("ok")
                """
            let r = try runCommand(["python3", "-c", script, recipes + "/" + name])
            #expect(r.status == 0 && r.stdout == "ok\n", "\(name): \(r.stderr)")
        }

        /// The `check` recipes name the command and the mountpoint where each tool runs it.
        @Test func checkRecipes() throws {
            let script = """
                import sys, yaml
                borg = yaml.safe_load(open(sys.argv[1]))
                assert borg["commands"] == [{"before": "repository", "run": ["hook-runner check /mnt/backup"]}], borg
                rp = yaml.safe_load(open(sys.argv[2]))
                assert rp["usb"]["backup"]["run-before"] == ["hook-runner check /mnt/backup"], rp
                assert rp["usb"]["repository"] == "local:/mnt/backup/restic", rp
                print("ok")
                """
            let r = try runCommand(["python3", "-c", script, recipes + "/borgmatic-check.yaml", recipes + "/resticprofile.yaml"])
            #expect(r.status == 0 && r.stdout == "ok\n", "\(r.stderr)")
            let unit = try String(contentsOfFile: recipes + "/backup-check.conf", encoding: .utf8)
            let directives = unit.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }
            #expect(directives == ["[Service]", "ExecCondition=/usr/bin/hook-runner check /mnt/backup"])
        }

        @Test func shellRecipesPassSyntaxCheck() throws {
            for name in ["guarded-backup.sh", "rsync-wrapper.sh", "restic-wrapper.sh", "rsnapshot-preexec",
                         "rsnapshot-postexec", "vzdump-hook"] {
                let r = try runCommand(["sh", "-n", recipes + "/" + name])
                #expect(r.status == 0, "\(name): \(r.stderr)")
                #expect(access(recipes + "/" + name, X_OK) == 0, "\(name) is executable")
            }
        }
    }
}
