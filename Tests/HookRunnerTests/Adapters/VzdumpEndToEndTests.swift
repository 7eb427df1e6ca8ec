import Foundation
import GuardTestSupport
import Testing
import Glibc

/// Replays what vzdump does for a snapshot-mode job of two guests (argv, the replaced
/// environment, and its own writes into DUMPDIR between the calls) against the binary,
/// through the shipped wrapper recipes/vzdump-hook and the shipped hooks.d.
extension AdapterTests {
    @Suite struct VzdumpEndToEnd {
        struct Step { var argv: [String]; var env: [String: String] }

        /// The calls of `vzdump 101 102 --storage nfs1 --mode snapshot`, in order.
        static func calls(storeID: String, dumpDir: String) -> [Step] {
            var steps = [Step(argv: ["job-init"], env: ["STOREID": storeID]),          // before activation: no DUMPDIR
                         Step(argv: ["job-start"], env: ["STOREID": storeID, "DUMPDIR": dumpDir])]
            for vmid in ["101", "102"] {
                let base = "vzdump-qemu-\(vmid)-2026_11_21-10_00_00"
                let env = ["STOREID": storeID, "DUMPDIR": dumpDir, "VMTYPE": "qemu", "HOSTNAME": "vm\(vmid)",
                           "TARGET": "\(dumpDir)/\(base).vma.zst", "LOGFILE": "\(dumpDir)/\(base).log"]
                for phase in ["backup-start", "pre-stop", "pre-restart", "post-restart", "backup-end", "log-end"] {
                    steps.append(Step(argv: [phase, "snapshot", vmid], env: env))
                }
            }
            steps.append(Step(argv: ["job-end"], env: ["STOREID": storeID, "DUMPDIR": dumpDir]))
            return steps
        }

        /// One call as vzdump makes it: the wrapper, argv, and only vzdump's variables (plus
        /// the lines an operator puts into the wrapper: where the store, roots and hooks are).
        func call(_ cli: CLI, _ step: Step, extra: [String: String] = [:]) throws -> CommandResult {
            var env = step.env
            env["GUARD_HOOKS_BIN"] = hookRunnerBinary
            env["GUARD_HOOKS_DB"] = cli.db
            env["GUARD_HOOKS_ALLOW_ROOTS"] = cli.dir.path
            env["GUARD_HOOKS_DIR"] = cli.hooksDir
            for (k, v) in extra { env[k] = v }
            return try runCommand([packageRoot + "/recipes/vzdump-hook"] + step.argv, environment: env)
        }

        /// What vzdump writes for a guest before and after `backup-start`: its tmpdir, the
        /// archive; after `log-end`'s turn, the log copy. Returns the failures (EROFS etc.).
        func vzdumpWrites(_ dumpDir: String, _ vmid: String) -> [String] {
            var failures: [String] = []
            let tmp = "\(dumpDir)/vzdump-qemu-\(vmid).tmp"
            if mkdir(tmp, 0o755) != 0 { failures.append("mkdir tmpdir: \(String(cString: strerror(errno)))") }
            let archive = "\(dumpDir)/vzdump-qemu-\(vmid).vma.dat"
            if !FileManager.default.createFile(atPath: archive, contents: Data("archive".utf8)) {
                failures.append("archive: not written")
            }
            return failures
        }

        func run(storageOnline: Bool, configuredTarget: Bool) throws {
            let dir = try Sandbox.make("vzdump")
            defer { dir.cleanUp() }
            let cli = CLI(adapterSandbox: dir)
            try cli.installShippedHooks()
            let storage = try dir.mkdir("pve/nfs1")
            let dumpDir = storage + "/dump"
            if storageOnline { try mountTmpfs(storage, source: "nfs1") }
            let extra = configuredTarget ? ["GUARD_HOOKS_VZDUMP_TARGETS": storage] : [:]

            var writeFailures: [String] = []
            for step in Self.calls(storeID: "nfs1", dumpDir: dumpDir) {
                let phase = step.argv[0]
                if phase == "job-start" {
                    // Between job-init and job-start vzdump activates the storage: a dir storage
                    // with mkdir creates <path>/dump (on / when offline, unless guarded by then).
                    if mkdir(dumpDir, 0o755) != 0 && errno != EEXIST {
                        writeFailures.append("activate: mkdir dump: \(String(cString: strerror(errno)))")
                    }
                }
                if phase == "backup-start" { writeFailures += vzdumpWrites(dumpDir, step.argv[2]) }
                let r = try call(cli, step, extra: extra)
                expectStatus(r, 0)
                #expect(r.stdout.contains("guard-hooks: "), "vzdump's task log gets a line: \(r.stdout)")
                if phase == "job-init" && !configuredTarget {
                    #expect(r.stdout.contains("DUMPDIR is not known"))
                }
                if phase == "job-start" {
                    #expect(r.stdout.contains("pre-backup \(storage)"), "\(r.stdout)")
                    if storageOnline {
                        #expect(r.stdout.contains("skipped-mounted"), "\(r.stdout)")
                        #expect(try findmnt(storage).count == 1, "no guard under the mounted storage")
                    } else {
                        #expect(try findmnt(storage).last?.contains("ro,") == true, "offline storage guarded read-only")
                    }
                }
                if ["pre-stop", "backup-end", "log-end"].contains(phase) {
                    #expect(r.stdout.contains("nothing to do"), "\(r.stdout)")
                }
            }

            // The runs vzdump caused: pre-backup (job-init when configured, job-start, 2× backup-start), post-backup.
            let (_, runsDoc) = try cli.json(["runs"])
            let phases = try objects(runsDoc, "runs").map { $0["phase"] as? String ?? "?" }
            let pre = configuredTarget ? 4 : 3
            #expect(phases == Array(repeating: "pre-backup", count: pre) + ["post-backup"], "\(phases)")
            #expect(try objects(runsDoc, "runs").allSatisfy { ($0["exit_code"] as? Int) == 0 })
            // Nothing is left guarded after job-end.
            let (_, guardsDoc) = try cli.json(["guards", "--outstanding"])
            #expect(try objects(guardsDoc, "guards").isEmpty)

            if storageOnline {
                #expect(writeFailures.isEmpty, "\(writeFailures)")
                #expect(FileManager.default.fileExists(atPath: dumpDir + "/vzdump-qemu-102.vma.dat"))
                try umount(storage)
                #expect(!FileManager.default.fileExists(atPath: dumpDir), "nothing landed under the mountpoint")
            } else {
                // Every write of the backup failed instead of filling the parent filesystem.
                #expect(writeFailures.count >= 4, "\(writeFailures)")
                // EROFS from the guard; with the guard in place from job-init, dump/ was never
                // created, so the later writes fail with ENOENT (vzdump itself would stop earlier).
                #expect(writeFailures.allSatisfy { $0.contains("Read-only file system") || $0.contains("not written")
                                                   || (configuredTarget && $0.contains("No such file or directory")) },
                        "\(writeFailures)")
                #expect(writeFailures.first?.contains("Read-only file system") == true, "\(writeFailures)")
                let (_, history) = try cli.json(["history", storage])
                let to = try objects(history, "events").map { $0["to_state"] as? String ?? "?" }
                #expect(to == ["pending", "applied", "pending", "cleared"], "\(to)")
                #expect(try findmnt(storage).isEmpty, "the guard is gone after job-end")
                let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: dumpDir)) ?? []
                #expect(leftovers.isEmpty, "nothing written under the offline mountpoint: \(leftovers)")
                if configuredTarget {
                    // Guarded from job-init on: even the activation's mkdir of dump/ failed.
                    #expect(!FileManager.default.fileExists(atPath: dumpDir))
                }
            }
        }

        @Test(sandboxed) func offlineStorageFoundFromTheDumpDirIsGuardedThroughTheBackup() throws {
            try run(storageOnline: false, configuredTarget: false)
        }

        @Test(sandboxed) func offlineStorageOfAConfiguredTargetIsGuardedThroughTheBackup() throws {
            try run(storageOnline: false, configuredTarget: true)
        }

        @Test(sandboxed) func onlineStorageIsWrittenAndNeverGuarded() throws {
            try run(storageOnline: true, configuredTarget: false)
        }

        @Test(sandboxed) func localStorageIsLeftAlone() throws {
            let dir = try Sandbox.make("vzdump-local")
            defer { dir.cleanUp() }
            let cli = CLI(adapterSandbox: dir)
            try cli.installShippedHooks()
            let r = try call(cli, Step(argv: ["job-start"], env: ["STOREID": "local", "DUMPDIR": "/var/lib/vz/dump"]))
            expectStatus(r, 0)
            #expect(r.stdout.contains("not below an allowed root"), "\(r.stdout)")
            #expect(!FileManager.default.fileExists(atPath: cli.db), "nothing recorded")
        }

        @Test(sandboxed) func missingPhaseIsAUsageError() throws {
            let dir = try Sandbox.make("vzdump-usage")
            defer { dir.cleanUp() }
            let r = try CLI(adapterSandbox: dir).run(["vzdump"])
            expectStatus(r, 64)
        }
    }
}
