import Foundation
import GuardTestSupport
import Testing
import Glibc

/// Issue 14 item 4, the stronger form: where a cgroup v2 of ours is writable, each hook runs
/// in a cgroup of its own that is killed and removed at its end; elsewhere (and with the
/// debug builds' switch) the subreaper sweep does the same job. Real kernel, real cgroups.
extension ReliabilityTests {
    @Suite(.serialized) struct HookContainment {
        typealias Trust = RunnerTrust

        /// Where the cgroup2 hierarchy is mounted (its root mounted, as on this host), or "".
        static let cgroupMount: String = {
            let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
            guard let mount = mounts.split(separator: "\n").first(where: { $0.contains(" - cgroup2 ") }) else { return "" }
            let fields = mount.split(separator: " ")
            return fields.count > 4 && fields[3] == "/" ? String(fields[4]) : ""
        }()

        /// The directory of this process's cgroup v2 (the `0::` line of /proc/self/cgroup),
        /// when root may make cgroups in it; nil otherwise.
        static let ownCgroup: String? = {
            guard !cgroupMount.isEmpty, let own = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8),
                  let line = own.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else { return nil }
            let path = cgroupMount + (line == "0::/" ? "" : String(line.dropFirst(3)))
            return access(path, W_OK) == 0 ? path : nil
        }()
        static let cgroupWritable = Testing.ConditionTrait.enabled(if: ownCgroup != nil, "no writable cgroup v2 here")

        /// A hook that notes its cgroup, starts a grandchild that left its session (setsid,
        /// then a second fork, so it is nobody's child the hook knows), waits for it, exits.
        static func daemonizingHook(_ hooks: String, _ dir: SandboxDirectory, marker: String, then: String = "exit 0") throws {
            try writeScript("\(hooks)/10-daemon", """
                grep '^0::' /proc/self/cgroup | cut -c4- > '\(dir.sub("cgroup"))'
                setsid sh -c 'sh -c "echo \\$$ > \(dir.sub("daemon-pid")); exec sleep \(marker)" & exit 0' >/dev/null 2>&1 </dev/null
                while [ ! -s '\(dir.sub("daemon-pid"))' ]; do sleep 0.01; done
                \(then)
                """)
        }

        static func hookCgroup(_ dir: SandboxDirectory) -> String {
            ((try? String(contentsOfFile: dir.sub("cgroup"), encoding: .utf8)) ?? "").trimmingCharacters(in: .newlines)
        }

        /// Ends a survivor so one failure does not leak a process into the next test.
        static func ensureGone(_ marker: String) -> Bool {
            let gone = Trust.waitFor { !processRunning(argument: marker) }
            if !gone { _ = try? runCommand(["pkill", "-f", "sleep \(marker)"]) }
            return gone
        }

        @Test(sandboxed, cgroupWritable) func cgroupKillsADaemonizedDescendantAtTheHooksEnd() throws {
            let (dir, cli, hooks) = try Trust.sandboxWithHooks("contain-cgroup")
            defer { dir.cleanUp() }
            let marker = "4245.1"
            try Self.daemonizingHook(hooks, dir, marker: marker)
            let r = try cli.run(["--json", "run", "post-mount", "--hooks-dir", hooks], env: ["GUARD_HOOKS_LOG_LEVEL": "debug"])
            #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
            #expect(r.stdout.contains("\"containment\":\"cgroup\""), "\(r.stdout)")
            #expect(r.stderr.contains("descendants contained by cgroup"), "\(r.stderr)")
            #expect(Self.ensureGone(marker), "a setsid()+fork descendant survived its hook's cgroup")
            let cgroup = Self.hookCgroup(dir)
            #expect(cgroup.split(separator: "/").last?.hasPrefix("guard-hooks-") == true, "the hook ran in \(cgroup.debugDescription)")
            #expect(!FileManager.default.fileExists(atPath: Self.cgroupMount + cgroup), "the hook's cgroup was left behind")
        }

        /// A timeout ends the whole cgroup, the escaped descendant included, and removes it.
        @Test(sandboxed, cgroupWritable) func timeoutEndsTheHooksCgroup() throws {
            let (dir, cli, hooks) = try Trust.sandboxWithHooks("contain-timeout")
            defer { dir.cleanUp() }
            let marker = "4245.2"
            try Self.daemonizingHook(hooks, dir, marker: marker, then: "exec sleep 4245.3")
            let r = try cli.run(["--json", "run", "post-mount", "--hooks-dir", hooks, "--timeout", "1"])
            #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
            #expect(r.stdout.contains("\"containment\":\"cgroup\"") && r.stdout.contains("\"timed_out\":true"), "\(r.stdout)")
            #expect(Self.ensureGone(marker) && Self.ensureGone("4245.3"), "a process of the timed-out hook survived")
            #expect(!FileManager.default.fileExists(atPath: Self.cgroupMount + Self.hookCgroup(dir)), "the hook's cgroup was left behind")
        }

        /// hook-runner SIGKILLed mid-hook: the hook dies with it (PDEATHSIG), its daemonized
        /// descendant stays in the hook's cgroup until the next run, which kills it and
        /// removes the cgroup.
        @Test(sandboxed, cgroupWritable) func nextRunRemovesTheCgroupOfAKilledRun() throws {
            let (dir, cli, hooks) = try Trust.sandboxWithHooks("contain-stale")
            defer { dir.cleanUp() }
            let marker = "4245.4"
            try Self.daemonizingHook(hooks, dir, marker: marker, then: "exec sleep 4245.5")
            let child = try Child([hookRunnerBinary, "run", "post-mount", "--hooks-dir", hooks], environment: cli.environment)
            #expect(Trust.waitFor { processRunning(argument: "4245.5") }, "the hook never got to its sleep")
            child.kill()
            #expect(child.wait() == 128 + SIGKILL)
            let stale = Self.cgroupMount + Self.hookCgroup(dir)
            #expect(processRunning(argument: marker) && FileManager.default.fileExists(atPath: stale),
                    "expected the escaped descendant alive in the killed run's cgroup")
            let next = try dir.mkdir("next.d")
            try writeScript("\(next)/10-true", "true")
            let r = try cli.run(["run", "post-mount", "--hooks-dir", next])
            #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
            #expect(Self.ensureGone(marker), "the killed run's descendant survived the next run")
            #expect(!FileManager.default.fileExists(atPath: stale), "the killed run's cgroup was left behind")
        }

        #if DEBUG
        /// The fallback, forced by the debug builds' switch: no cgroup is made, and the
        /// subreaper sweep kills the same daemonized descendant.
        @Test(sandboxed) func forcedFallbackSweepsAsTheSubreaper() throws {
            let (dir, cli, hooks) = try Trust.sandboxWithHooks("contain-fallback")
            defer { dir.cleanUp() }
            let marker = "4245.6"
            try Self.daemonizingHook(hooks, dir, marker: marker)
            let r = try cli.run(["--json", "run", "post-mount", "--hooks-dir", hooks],
                                env: ["GUARD_HOOKS_TEST_CONTAINMENT": "subreaper"])
            #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
            #expect(r.stdout.contains("\"containment\":\"subreaper\""), "\(r.stdout)")
            #expect(!Self.hookCgroup(dir).contains("guard-hooks-"), "a cgroup was made: \(Self.hookCgroup(dir))")
            #expect(Self.ensureGone(marker), "a setsid()+fork descendant survived the subreaper sweep")
        }
        #endif
    }
}
