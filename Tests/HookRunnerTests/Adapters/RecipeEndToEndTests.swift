import Foundation
import GuardTestSupport
import Testing
import Glibc

/// The rsync, restic and rsnapshot recipes run with the real clients: offline, the backup
/// fails and nothing lands on the bare mountpoint; online, it succeeds and the data is on
/// the storage; afterwards no guard is outstanding. Without hook-runner the wrappers fail
/// (127) before the client starts.
extension AdapterTests {
    @Suite struct RecipeEndToEnd {
        let recipes = packageRoot + "/recipes"

        /// The wrapper's own missing-hook-runner path: a clear failure, the client never started
        /// (checked online, where the client would have succeeded).
        func expectFailsWithoutHookRunner(_ host: ClientHost, _ argv: [String], leavesNo path: String) throws {
            let r = try host.job(argv, env: ["HOOK_RUNNER": host.dir.sub("no-such-hook-runner")])
            expectStatus(r, 127)
            #expect(!FileManager.default.fileExists(atPath: path), "the client ran without hook-runner")
        }

        /// rsync through rsync-wrapper.sh, and through guarded-backup.sh.
        @Test(RealClient.needs("rsync"), arguments: ["rsync-wrapper.sh", "guarded-backup.sh"])
        func rsync(_ wrapper: String) throws {
            let host = try ClientHost("recipe-rsync")
            defer { host.dir.cleanUp() }
            let copied = host.storage + "/data/data.txt"
            let argv = [recipes + "/" + wrapper, host.storage] + (wrapper == "guarded-backup.sh" ? ["--", "rsync"] : [])
                + ["-a", host.source + "/", host.storage + "/data/"]

            var r = try host.job(argv)
            #expect(r.status != 0, "\(r.stdout)\(r.stderr)")
            #expect(r.stderr.contains("Read-only file system"), "\(r.stderr)")
            #expect(try host.bareContents().isEmpty)
            #expect(try host.outstanding().isEmpty)

            try mountTmpfs(host.storage)
            try expectFailsWithoutHookRunner(host, argv, leavesNo: copied)
            r = try host.job(argv)
            expectStatus(r, 0)
            #expect(FileManager.default.fileExists(atPath: copied))
            try umount(host.storage)
            #expect(try host.bareContents().isEmpty)
            #expect(try host.outstanding().isEmpty)
        }

        @Test(RealClient.needs("restic"))
        func restic() throws {
            let host = try ClientHost("recipe-restic")
            defer { host.dir.cleanUp() }
            let wrapper = recipes + "/restic-wrapper.sh", repository = host.storage + "/restic"
            let initialize = [wrapper, host.storage, "-r", repository, "init"]
            let backup = [wrapper, host.storage, "-r", repository, "backup", host.source]

            for argv in [initialize, backup] {
                let r = try host.job(argv)
                #expect(r.status != 0, "\(argv.last ?? ""): \(r.stdout)\(r.stderr)")
                #expect(try host.bareContents().isEmpty, "\(argv.last ?? "") wrote to the bare mountpoint")
                #expect(try host.outstanding().isEmpty)
            }

            try mountTmpfs(host.storage)
            try expectFailsWithoutHookRunner(host, initialize, leavesNo: repository)
            expectStatus(try host.job(initialize), 0)
            expectStatus(try host.job(backup), 0)
            let r = try host.job(["restic", "-r", repository, "snapshots", "--json"])
            expectStatus(r, 0)
            let snapshots = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [Any]
            #expect(snapshots?.count == 1, "\(r.stdout)")
            try umount(host.storage)
            #expect(try host.bareContents().isEmpty)
            #expect(try host.outstanding().isEmpty)
        }

        /// An rsnapshot.conf from the recipe, made runnable: the sandbox's paths, rsync, a
        /// lockfile, one retain level and the source. `lines` are added (or uncommented).
        func rsnapshotConfig(_ host: ClientHost, _ lines: [String]) throws -> String {
            let recipe = try host.recipe("rsnapshot.conf")
            let path = host.dir.sub("rsnapshot.conf")
            try writeFile(path, (["config_version\t1.2", recipe, "cmd_rsync\t/usr/bin/rsync",
                                  "lockfile\t\(host.dir.sub("rsnapshot.pid"))", "retain\tdaily\t7",
                                  "backup\t\(host.source)/\tlocalhost/"] + lines).joined(separator: "\n") + "\n")
            return path
        }

        /// rsnapshot run by the recipe's cron line (`hook-runner exec`), with rsnapshot's
        /// default no_create_root 0 (offline, it would create snapshot_root and back up onto
        /// the bare mountpoint) and with no_create_root 1.
        @Test(RealClient.needs("rsnapshot", "rsync"), arguments: [0, 1])
        func rsnapshotUnderExec(noCreateRoot: Int) throws {
            let host = try ClientHost("recipe-rsnapshot")
            defer { host.dir.cleanUp() }
            let config = try rsnapshotConfig(host, ["no_create_root\t\(noCreateRoot)"])
            let cron = try String(contentsOfFile: recipes + "/rsnapshot.cron", encoding: .utf8)
            let entry = try #require(cron.split(separator: "\n").first { !$0.hasPrefix("#") })
            let fields = entry.split(maxSplits: 6, whereSeparator: { $0 == " " || $0 == "\t" })
            try #require(fields.count == 7 && fields[5] == "root", "m h dom mon dow user command: \(entry)")
            let command = fields[6]
                .replacingOccurrences(of: "/usr/local/bin/hook-runner", with: hookRunnerBinary)
                .replacingOccurrences(of: "/mnt/backup", with: host.storage)
                .replacingOccurrences(of: "rsnapshot daily", with: "rsnapshot -c \(config) daily")
            let snapshot = host.storage + "/rsnapshot/daily.0/localhost" + host.source + "/data.txt"

            var r = try host.job(["/bin/sh", "-c", command])
            expectStatus(r, 1)
            #expect(try host.bareContents().isEmpty, "rsnapshot wrote to the bare mountpoint")
            #expect(try host.outstanding().isEmpty)

            try mountTmpfs(host.storage)
            if noCreateRoot == 1 { try host.dir.mkdir("backup/rsnapshot") }
            r = try host.job(["/bin/sh", "-c", command])
            expectStatus(r, 0)
            #expect(FileManager.default.fileExists(atPath: snapshot))
            try umount(host.storage)
            #expect(try host.bareContents().isEmpty)
            #expect(try host.outstanding().isEmpty)
        }

        /// The cmd_preexec/cmd_postexec form with no_create_root 1, on an offline disk where
        /// snapshot_root exists (left by an earlier unguarded run): the guard refuses the
        /// backup; rsnapshot skips cmd_postexec, so the guard stays, claimed by the run whose
        /// session has ended. The next run releases that stale claim (and holds its own), and
        /// `clear --all` (post-mount's hook) removes the guard once no live claim remains.
        @Test(RealClient.needs("rsnapshot", "rsync"))
        func rsnapshotPreexecFailedRunReleasedByTheNext() throws {
            let host = try ClientHost("recipe-rsnapshot-preexec")
            defer { host.dir.cleanUp() }
            let config = try rsnapshotConfig(host, ["no_create_root\t1", "cmd_preexec\t\(recipes)/rsnapshot-preexec",
                                                    "cmd_postexec\t\(recipes)/rsnapshot-postexec"])
            try host.dir.mkdir("backup/rsnapshot")
            let env = ["GUARD_HOOKS_RSNAPSHOT_TARGET": host.storage]

            var holders: [String] = []
            for run in 1...2 {
                let r = try host.job(["rsnapshot", "-c", config, "daily"], env: env)
                #expect(r.status != 0, "run \(run): \(r.stdout)\(r.stderr)")
                let guards = try host.outstanding()
                let claims = try #require(guards.first?["claims"] as? [[String: Any]], "run \(run) left its guard: \(guards)")
                #expect(claims.count == 1, "run \(run): only the last run's claim is live: \(claims)")
                holders.append(claims.first?["holder"] as? String ?? "")
            }
            #expect(holders[0] != holders[1], "the second run's claim replaced the first's: \(holders)")
            #expect(try host.bareContents() == ["rsnapshot"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: host.storage + "/rsnapshot").isEmpty)

            expectStatus(try host.cli.run(["clear", "--all"]), 0)
            #expect(try host.outstanding().isEmpty)
            #expect(try findmnt(host.storage).isEmpty)
        }
    }
}
