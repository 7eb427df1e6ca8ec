import Foundation
import GuardStore
import GuardTestSupport
import Testing
import Glibc

/// Issue 14, the hook runner's side of the trust boundary: each test reproduces one attack
/// or misuse against the real kernel in the sandbox (an unprivileged attacker is uid 65534
/// through `setpriv`), and checks that root does not act for the attacker.
extension ReliabilityTests {
    @Suite(.serialized) struct RunnerTrust {
        static let attacker = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "--"]

        /// A sandbox, a CLI on its store and an empty hooks.d in it; the caller cleans up.
        static func sandboxWithHooks(_ name: String) throws -> (SandboxDirectory, CLI, String) {
            let dir = try Sandbox.make(name)
            return (dir, CLI(dir: dir), try dir.mkdir("hooks.d"))
        }

        static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

        /// Waits (up to `seconds`) until `condition` holds; a wait, not a timing assertion.
        static func waitFor(_ seconds: Double = 20, _ condition: () -> Bool) -> Bool {
            let end = monotonicNow() + seconds
            while monotonicNow() < end {
                if condition() { return true }
                usleep(20_000)
            }
            return condition()
        }

        // MARK: item 2: hooks.d swapped after it was checked

        /// The parent of hooks.d is writable by uid 65534: while the first hook runs, the
        /// attacker renames hooks.d away and puts their own file in its place. The run must
        /// refuse the directory, and the attacker's file must never run as root.
        @Test(sandboxed) func attackerWritableAncestorIsRefused() throws {
            let dir = try Sandbox.make("trust-ancestor")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let parent = try dir.mkdir("parent")
            chown(parent, 65534, 65534)
            let hooks = try dir.mkdir("parent/hooks.d")
            let owned = dir.sub("attacker-ran")
            let swap = dir.sub("swap.sh")
            try writeScript(swap, """
                mv '\(hooks)' '\(parent)/old' && mkdir '\(hooks)' && chmod 755 '\(hooks)'
                printf '#!/bin/sh\\ntouch \(owned)\\n' > '\(hooks)/20-second'; chmod 755 '\(hooks)/20-second'
                """)
            try writeScript("\(hooks)/10-first", (Self.attacker + ["/bin/sh", swap]).joined(separator: " "))
            try writeScript("\(hooks)/20-second", "true")
            let r = try cli.run(["run", "post-mount", "--hooks-dir", hooks])
            #expect(!Self.exists(owned), "root ran the attacker's file: \(r.stdout)\(r.stderr)")
            #expect(r.status == 1, "exit \(r.status): \(r.stdout)\(r.stderr)")
            #expect((r.stdout + r.stderr).contains("owned by uid 65534"), "\(r.stdout)\(r.stderr)")
        }

        /// A root-owned tree, swapped during the first hook (by root, standing in for any
        /// writer): the second hook runs from the vetted directory fd, not by path again.
        @Test(sandboxed) func hooksRunFromTheVettedDirectory() throws {
            let (dir, cli, hooks) = try Self.sandboxWithHooks("trust-fd")
            defer { dir.cleanUp() }
            let original = dir.sub("original-ran"), swapped = dir.sub("swapped-ran")
            try writeScript("\(hooks)/10-first", """
                mv '\(hooks)' '\(dir.sub("moved"))' && mkdir '\(hooks)'
                printf '#!/bin/sh\\ntouch \(swapped)\\n' > '\(hooks)/20-second'; chmod 755 '\(hooks)/20-second'
                """)
            try writeScript("\(hooks)/20-second", "touch '\(original)'")
            let r = try cli.run(["run", "post-mount", "--hooks-dir", hooks])
            #expect(!Self.exists(swapped), "the swapped-in file ran: \(r.stdout)\(r.stderr)")
            #expect(Self.exists(original), "the vetted hook did not run: \(r.stdout)\(r.stderr)")
            #expect(r.status == 0, "exit \(r.status): \(r.stdout)\(r.stderr)")
        }

        // MARK: item 3: signals orphan running hooks

        /// SIGTERM, SIGINT and SIGHUP to hook-runner end the running hook's group, record the
        /// run `interrupted`, release the lock and exit 128+N.
        @Test(sandboxed, arguments: [SIGTERM, SIGINT, SIGHUP])
        func signalEndsTheHookAndRecordsTheRun(signal: Int32) throws {
            let (dir, cli, hooks) = try Self.sandboxWithHooks("trust-signal")
            defer { dir.cleanUp() }
            let started = dir.sub("started"), marker = "4243.\(signal)"
            try writeScript("\(hooks)/10-slow", "touch '\(started)'; exec sleep \(marker)")
            try #require(try cli.run(["apply", try dir.mkdir("t")]).status == 0)  // creates the store
            let child = try Child([hookRunnerBinary, "run", "post-mount", "--hooks-dir", hooks], environment: cli.environment)
            #expect(Self.waitFor { Self.exists(started) && processRunning(argument: marker) }, "the hook never started")
            kill(child.process.processIdentifier, signal)
            #expect(child.wait() == 128 + signal)
            #expect(Self.waitFor { !processRunning(argument: marker) }, "the hook outlived hook-runner")
            let runs = try cli.run(["runs"])
            #expect(runs.stdout.contains("interrupted"), "\(runs.stdout)")
            let json = try cli.run(["runs", "--json"])
            #expect(json.stdout.contains("\"interrupted\""), "\(json.stdout)")
            // The lock was released: the next write goes through at once.
            #expect(try cli.run(["apply", dir.sub("t")]).status == 0)
        }

        /// SIGKILL to hook-runner: the hook dies with it (PDEATHSIG); once its process is
        /// gone, `runs` says the run was interrupted, `doctor` warns, `reconcile` records it.
        @Test(sandboxed) func sigkillTakesTheHookAlong() throws {
            let (dir, cli, hooks) = try Self.sandboxWithHooks("trust-sigkill")
            defer { dir.cleanUp() }
            let started = dir.sub("started"), marker = "4243.9"
            try writeScript("\(hooks)/10-slow", "touch '\(started)'; exec sleep \(marker)")
            try #require(try cli.run(["apply", try dir.mkdir("t")]).status == 0)
            let child = try Child([hookRunnerBinary, "run", "post-mount", "--hooks-dir", hooks], environment: cli.environment)
            #expect(Self.waitFor { Self.exists(started) && processRunning(argument: marker) }, "the hook never started")
            child.kill()
            #expect(child.wait() == 128 + SIGKILL)
            #expect(Self.waitFor { !processRunning(argument: marker) }, "the hook outlived hook-runner's SIGKILL")
            let runs = try cli.run(["runs"])
            #expect(runs.stdout.contains("interrupted (hook-runner gone)"), "\(runs.stdout)")
            let doctor = try cli.run(["doctor"])
            #expect(doctor.stdout.contains("run-interrupted"), "\(doctor.stdout)")
            let dry = try cli.run(["reconcile", "--dry-run"])
            #expect(dry.status == 0 && dry.stdout.contains("WOULD BE RECORDED"), "\(dry.stdout)\(dry.stderr)")
            let reconcile = try cli.run(["reconcile", "--json"])
            #expect(reconcile.status == 0 && reconcile.stdout.contains("\"interrupted_runs\":[{"), "\(reconcile.stdout)\(reconcile.stderr)")
            let recorded = try cli.run(["runs", "--json"])
            #expect(recorded.stdout.contains("\"interrupted_by\":9"), "\(recorded.stdout)")
            #expect(!(try cli.run(["doctor"])).stdout.contains("run-interrupted"))
            #expect(try cli.run(["reconcile"]).stdout.contains("nothing to change"))
        }

        // MARK: item 4: descendants escape supervision

        @Test(sandboxed) func setsidDescendantIsKilledWithItsHook() throws {
            let (dir, cli, hooks) = try Self.sandboxWithHooks("trust-setsid")
            defer { dir.cleanUp() }
            let pidFile = dir.sub("daemon-pid")
            // The hook waits until its descendant has left the session, then exits.
            try writeScript("\(hooks)/10-daemon", """
                setsid sh -c 'echo $$ > \(pidFile); exec sleep 4244.5' >/dev/null 2>&1 < /dev/null &
                while [ ! -s '\(pidFile)' ]; do sleep 0.01; done
                exit 0
                """)
            let r = try cli.run(["run", "post-mount", "--hooks-dir", hooks])
            #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
            let gone = Self.waitFor(2) { !processRunning(argument: "4244.5") }
            if !gone { _ = try? runCommand(["pkill", "-f", "sleep 4244.5"]) }  // the old build's escapee
            #expect(gone, "a setsid() descendant survived its hook")
        }

        // MARK: item 5: run targets are validated, output escaped

        @Test(sandboxed) func runRefusesTargetsTheGuardPolicyRefuses() throws {
            let (dir, cli, hooks) = try Self.sandboxWithHooks("trust-targets")
            defer { dir.cleanUp() }
            let ran = dir.sub("ran")
            try writeScript("\(hooks)/10-hook", "touch '\(ran)'")
            for target in [dir.sub("a") + "\n/etc", dir.sub("a\u{1B}]2;title\u{07}"), "/etc/passwd", "relative"] {
                let r = try cli.run(["run", "post-mount", "--hooks-dir", hooks, target])
                #expect(r.status == 65, "\(target.debugDescription): exit \(r.status)")
                #expect(!r.stderr.contains("\u{1B}") && !r.stdout.contains("\u{1B}"), "raw ESC echoed: \(r.stderr.debugDescription)")
                #expect(!Self.exists(ran), "a hook ran for \(target.debugDescription)")
            }
        }

        @Test(sandboxed) func textOutputEscapesControlBytes() throws {
            let (dir, cli, hooks) = try Self.sandboxWithHooks("trust-escape")
            defer { dir.cleanUp() }
            try writeScript("\(hooks)/10-noisy", "printf 'hi \\033[2J there\\n'")
            try #require(try cli.run(["run", "post-mount", "--hooks-dir", hooks, try dir.mkdir("t")]).status == 0)
            // A run recorded by an older build (or by hand) with a hostile target.
            _ = try sql(cli.db, "UPDATE runs SET targets = '/mnt/x' || char(27) || ']2;owned' || char(7) || char(27) || '[2J'")
            let runs = try cli.run(["runs"])
            #expect(!runs.stdout.contains("\u{1B}"), "runs printed a raw ESC: \(runs.stdout.debugDescription)")
            let rerun = try cli.run(["run", "post-mount", "--hooks-dir", hooks, dir.sub("t")])
            #expect(!rerun.stdout.contains("\u{1B}"), "hook output reached the terminal raw: \(rerun.stdout.debugDescription)")
            for args in [["run", "post-mount", "--hooks-dir", dir.sub("no\u{1B}[2Jhooks")],
                         ["hooks", "--hooks-dir", dir.sub("no\u{1B}[2Jhooks")]] {
                let r = try cli.run(args)
                #expect(r.status == 64, "\(args): exit \(r.status)")
                #expect(!r.stderr.contains("\u{1B}"), "\(args) echoed a raw ESC: \(r.stderr.debugDescription)")
            }
        }

        // MARK: item 6: large target lists reach the hooks

        @Test(sandboxed) func tenThousandTargetsReachEveryHook() throws {
            let (dir, cli, hooks) = try Self.sandboxWithHooks("trust-many")
            defer { dir.cleanUp() }
            let count = dir.sub("count")
            try writeScript("\(hooks)/10-count", """
                shift
                if [ -n "${GUARD_HOOKS_TARGETS_FILE:-}" ]; then n=$(wc -l < "$GUARD_HOOKS_TARGETS_FILE"); else n=$#; fi
                echo "$n" > '\(count)'
                """)
            let targets = (0..<10_000).map { dir.sub(String(format: "storage-target-%05d", $0)) }
            let r = try cli.run(["run", "post-mount", "--hooks-dir", hooks, "--"] + targets)
            #expect(r.status == 0, "\(r.stdout.suffix(500))\(r.stderr.suffix(500))")
            let seen = (try? String(contentsOfFile: count, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(seen == "10000", "the hook saw \(seen ?? "nothing")")
        }

        // MARK: item 8: dry runs execute only hooks that understand them

        @Test(sandboxed) func dryRunExecutesOnlyDeclaredHooks() throws {
            let (dir, cli, hooks) = try Self.sandboxWithHooks("trust-dry")
            defer { dir.cleanUp() }
            let careless = dir.sub("careless-ran"), careful = dir.sub("careful-ran")
            try writeScript("\(hooks)/10-careless", "touch '\(careless)'")
            try writeScript("\(hooks)/20-careful", "# dry-run: yes\necho \"$GUARD_HOOKS_DRY_RUN\" > '\(careful)'")
            let r = try cli.run(["run", "--dry-run", "post-mount", "--hooks-dir", hooks])
            #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
            #expect(!Self.exists(careless), "a hook without '# dry-run: yes' ran in a dry run")
            #expect((try? String(contentsOfFile: careful, encoding: .utf8)) == "1\n")
            #expect(r.stdout.contains("would-run"), "\(r.stdout)")
            let listing = try cli.run(["hooks", "--hooks-dir", hooks])
            #expect(listing.stdout.contains("DRY-RUN"), "\(listing.stdout)")
        }
    }
}
