import Foundation
import GuardTestSupport
import Testing
import Glibc

/// recipes/borgmatic.yaml (borgmatic 2.x) and recipes/borgmatic-legacy.yaml (1.9) run by the
/// real borgmatic with the real borg: offline, every action fails and nothing lands on the
/// bare mountpoint; online, the backup (create, prune, compact, check) succeeds on the
/// storage; afterwards no guard is outstanding.
extension AdapterTests {
    @Suite struct RecipeEndToEndBorgmatic {
        /// One borgmatic series and the recipe written for it.
        struct Borgmatic {
            let series: String
            var binary: String { RealClient.borgmatic(series) ?? "borgmatic-\(series)-missing" }
            var recipe: String { series == "2" ? "borgmatic.yaml" : "borgmatic-legacy.yaml" }

            /// Config lines (appended at the end of the recipe) running `command` before each
            /// repository's create action.
            func beforeCreate(_ command: String) -> String {
                series == "2"
                    ? "    - before: action\n      when: [create]\n      run:\n          - \(command)\n"
                    : "before_backup:\n    - \(command)\n"
            }
        }

        /// The recipe for this host, with `repositories` repositories on the one storage.
        func config(_ host: ClientHost, _ borgmatic: Borgmatic, name: String, repositories: Int = 1,
                    extra: String = "") throws -> String {
            var text = try host.recipe(borgmatic.recipe)
            for n in stride(from: repositories, to: 1, by: -1) {
                text = text.replacingOccurrences(of: "      label: usb\n",
                                                 with: "      label: usb\n    - path: \(host.storage)/borg\(n)\n      label: usb\(n)\n")
            }
            let path = host.dir.sub(name)
            try writeFile(path, text + extra)
            return path
        }

        func offlineThenOnline(_ borgmatic: Borgmatic) throws {
            let host = try ClientHost("recipe-borgmatic")
            defer { host.dir.cleanUp() }
            let config = try config(host, borgmatic, name: "config.yaml")
            let repoCreate = [borgmatic.binary, "-c", config, "repo-create", "--encryption", "none"]

            // No hook-runner on borgmatic's PATH: the before hook fails, so no action runs.
            if RealClient.onPath("hook-runner") == nil {
                let r = try host.job(repoCreate, env: ["PATH": safePath])
                #expect(r.status != 0, "\(r.stdout)\(r.stderr)")
                #expect(try host.bareContents().isEmpty, "repo-create ran without hook-runner")
            }

            // Offline: repo-create is refused by the guard (it used to create the repository
            // on the bare mountpoint), and so is the backup.
            var r = try host.job(repoCreate)
            #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
            #expect((r.stdout + r.stderr).contains("Read-only file system"), "\(r.stdout)\(r.stderr)")
            #expect(try host.bareContents().isEmpty)
            if borgmatic.series == "2" {
                #expect(try host.outstanding().isEmpty, "after: configuration ran after the failure")
            } else {
                // 1.9 runs no hook after a failed repo-create: the guard stays, claimed by a
                // borgmatic run whose session has ended; the next run releases that claim.
                #expect(try host.outstanding().count == 1)
            }
            r = try host.job([borgmatic.binary, "-c", config])
            #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
            #expect(try host.bareContents().isEmpty)
            #expect(try host.outstanding().isEmpty)
            let phases = try host.runPhases()
            if borgmatic.series == "2" {
                // One pre-backup and one post-backup per borgmatic run, also when it failed.
                #expect(phases.filter { $0 == "pre-backup" }.count == 2, "\(phases)")
                #expect(phases.filter { $0 == "post-backup" }.count == 2, "\(phases)")
            }

            // Online: nothing guarded; repo-create and the whole default run succeed (prune
            // has its retention settings), and the archive is on the storage.
            try mountTmpfs(host.storage)
            r = try host.job(repoCreate)
            expectStatus(r, 0)
            r = try host.job([borgmatic.binary, "-c", config])
            expectStatus(r, 0)
            r = try host.job(["borg", "list", "--short", host.storage + "/borg"])
            expectStatus(r, 0)
            #expect(r.stdout.split(separator: "\n").count == 1, "one archive: \(r.stdout)")
            try umount(host.storage)
            #expect(try host.bareContents().isEmpty, "the repository went to the storage")
            #expect(try host.outstanding().isEmpty)
        }

        @Test(RealClient.needs("borg", borgmatic: "2"))
        func borgmatic2OfflineThenOnline() throws { try offlineThenOnline(Borgmatic(series: "2")) }

        @Test(RealClient.needs("borg", borgmatic: "1.9"))
        func borgmatic19OfflineThenOnline() throws { try offlineThenOnline(Borgmatic(series: "1.9")) }

        /// recipes/borgmatic-check.yaml: offline, `hook-runner check` exits 75 and borgmatic 2
        /// skips the repository (exit 0) for repo-create and the backup alike, writing
        /// nothing and taking no guard; online, both succeed on the storage.
        @Test(RealClient.needs("borg", borgmatic: "2"))
        func borgmaticCheckSkipsWhileOffline() throws {
            let host = try ClientHost("recipe-borgmatic-check")
            defer { host.dir.cleanUp() }
            let borgmatic = Borgmatic(series: "2")
            let path = host.dir.sub("config.yaml")
            try writeFile(path, try host.recipe("borgmatic-check.yaml"))
            let repoCreate = [borgmatic.binary, "-c", path, "repo-create", "--encryption", "none"]
            for argv in [repoCreate, [borgmatic.binary, "-c", path]] {
                let r = try host.job(argv + ["--verbosity", "1"])   // 1 shows the soft-failure line
                expectStatus(r, 0)
                #expect((r.stdout + r.stderr).contains("soft failure"), "\(r.stdout)\(r.stderr)")
                #expect(try host.bareContents().isEmpty)
            }
            #expect(try host.outstanding().isEmpty)
            #expect(try host.runPhases().isEmpty, "check records no run")

            try mountTmpfs(host.storage)
            expectStatus(try host.job(repoCreate), 0)
            expectStatus(try host.job([borgmatic.binary, "-c", path]), 0)
            let r = try host.job(["borg", "list", "--short", host.storage + "/borg"])
            #expect(r.stdout.split(separator: "\n").count == 1, "one archive: \(r.stdout)\(r.stderr)")
            try umount(host.storage)
            #expect(try host.bareContents().isEmpty)
        }

        /// Two repositories on one offline storage, two overlapping borgmatic runs (issue 12):
        /// run A stops before its second repository's create; run B runs to its end. A holds
        /// one claim, B's end leaves A's guard in place (writes still refused), and the guard
        /// goes when A ends.
        func overlappingRuns(_ borgmatic: Borgmatic) throws {
            let host = try ClientHost("recipe-borgmatic-two")
            defer { host.dir.cleanUp() }
            let inside = host.dir.sub("a-inside"), release = host.dir.sub("a-release")
            let pause = host.dir.sub("pause-at-second-repository")
            try writeFile(pause, """
                #!/bin/sh
                n=$(cat "\(pause).count" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "\(pause).count"
                [ "$n" -eq 2 ] || exit 0
                touch "\(inside)"
                while [ ! -e "\(release)" ]; do sleep 0.05; done
                """, mode: 0o755)
            let configA = try config(host, borgmatic, name: "a.yaml", repositories: 2, extra: borgmatic.beforeCreate(pause))
            let configB = try config(host, borgmatic, name: "b.yaml", repositories: 2)

            let a = try BackgroundJob([borgmatic.binary, "-c", configA], environment: host.environment)
            guard waitForFile(inside, while: a) else {
                let r = a.finish()
                Issue.record("run A never reached its second repository (exit \(r.status)): \(r.stdout)\(r.stderr)")
                return
            }
            var guards = try host.outstanding()
            #expect(guards.count == 1)
            #expect((guards.first?["claims"] as? [Any])?.count == 1, "one claim for run A's two repositories: \(guards)")
            #expect(try findmnt(host.storage).last?.contains("ro,") == true)

            let b = try host.job([borgmatic.binary, "-c", configB])
            #expect(b.status == 1, "\(b.stdout)\(b.stderr)")
            guards = try host.outstanding()
            #expect((guards.first?["claims"] as? [Any])?.count == 1, "B released only its own claim: \(guards)")
            #expect(host.writeProbe() == EROFS, "A's guard is still in place after B ended")

            try writeFile(release, "")
            let r = a.finish()
            #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
            #expect(try findmnt(host.storage).isEmpty, "the guard went with the last run")
            #expect(try host.outstanding().isEmpty)
            #expect(try host.bareContents().isEmpty)
        }

        @Test(RealClient.needs("borg", borgmatic: "2"))
        func borgmatic2TwoRepositoriesOverlappingRuns() throws { try overlappingRuns(Borgmatic(series: "2")) }

        @Test(RealClient.needs("borg", borgmatic: "1.9"))
        func borgmatic19TwoRepositoriesOverlappingRuns() throws { try overlappingRuns(Borgmatic(series: "1.9")) }
    }
}
