import Foundation
import GuardTestSupport
import Testing
import Glibc

/// A job that shares a storage with others, as cron or systemd starts one: its own session
/// (`setsid`), whose leader, a shell, lives for the whole job. The script waits at named
/// points for the test to let it go on, so jobs can be overlapped exactly.
final class Job {
    let name: String
    let dir: SandboxDirectory
    let process = Process()

    /// `steps` run in order; before each one after the first the job waits for the file
    /// `<name>.go<N>`, and after each it touches `<name>.done<N>` (N from 1).
    init(_ name: String, _ dir: SandboxDirectory, env: [String: String], steps: [String]) throws {
        self.name = name
        self.dir = dir
        // `$$` is the shell, the session leader setsid made: the job's session id.
        var script = "set -u\necho $$ > '\(dir.sub("\(name).sid"))'\n"
        for (i, step) in steps.enumerated() {
            let n = i + 1
            if i > 0 { script += "while [ ! -e '\(dir.sub("\(name).go\(n)"))' ]; do sleep 0.02; done\n" }
            script += "\(step)\necho $? > '\(dir.sub("\(name).done\(n)"))'\n"
        }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        process.arguments = ["-w", "/bin/sh", "-c", script]
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        let log = dir.sub("\(name).log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardError = process.standardOutput
        try process.run()
    }

    /// Waits for step `n` to finish; returns its exit status.
    @discardableResult
    func waitForStep(_ n: Int, seconds: Double = 60) throws -> Int32 {
        let file = dir.sub("\(name).done\(n)")
        let deadline = Date().addingTimeInterval(seconds)
        while !FileManager.default.fileExists(atPath: file) {
            guard Date() < deadline else {
                throw JobError("\(name): step \(n) did not finish; log: \((try? String(contentsOfFile: dir.sub("\(name).log"), encoding: .utf8)) ?? "")")
            }
            usleep(20_000)
        }
        usleep(20_000)  // the status line is written right after the file appears
        return Int32((try String(contentsOfFile: file, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    func go(_ n: Int) { _ = FileManager.default.createFile(atPath: dir.sub("\(name).go\(n)"), contents: nil) }

    /// The job's session id (its shell's pid).
    var session: pid_t {
        get throws {
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                if let s = try? String(contentsOfFile: dir.sub("\(name).sid"), encoding: .utf8),
                   let sid = pid_t(s.trimmingCharacters(in: .whitespacesAndNewlines)) { return sid }
                usleep(20_000)
            }
            throw JobError("\(name): no session id")
        }
    }

    /// Waits until no process is left in the job's session.
    func waitUntilGone() throws {
        let sid = try session
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let members = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.contains { pid in
                guard Int(pid) != nil, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { return false }
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                return fields.count > 3 && fields[3] == "\(sid)"
            } ?? true
            if !members { return }
            usleep(20_000)
        }
        throw JobError("\(name): session \(sid) still has processes")
    }

    var log: String { (try? String(contentsOfFile: dir.sub("\(name).log"), encoding: .utf8)) ?? "" }

    deinit {
        if let s = try? String(contentsOfFile: dir.sub("\(name).sid"), encoding: .utf8),
           let sid = pid_t(s.trimmingCharacters(in: .whitespacesAndNewlines)) { Glibc.kill(-sid, SIGKILL) }
    }
}

struct JobError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Issue 12: a guard stays while any job still relies on it.
extension HookRunnerTests {
    @Suite(.serialized) struct Claims {
        struct World {
            let dir: SandboxDirectory
            let cli: CLI
            let hooks: String
            var env: [String: String] { cli.environment.merging(["GUARD_HOOKS_DIR": hooks]) { $1 } }
            var bin: String { hookRunnerBinary }

            init(_ name: String) throws {
                dir = try Sandbox.make(name)
                cli = CLI(dir: dir)
                hooks = try DryRun.installShippedHooks(dir)
            }

            func guardPresent(_ target: String) throws -> Bool {
                try findmnt(target).contains { $0.contains("ro,") }
            }

            func claims(_ target: String) throws -> [[String: Any]] {
                let g = try objects(try cli.json(["guards", "--outstanding"]).1, "guards").filter { $0["path"] as? String == target }
                return g.first?["claims"] as? [[String: Any]] ?? []
            }
        }

        /// Job A and job B overlap on one offline storage. A's post phase must leave the guard
        /// B relies on; B's own post phase removes it.
        @Test(sandboxed) func twoOverlappingJobsKeepTheGuardUntilTheLastEnds() throws {
            let w = try World("claims-overlap")
            defer { w.dir.cleanUp() }
            let nfs1 = try w.dir.mkdir("pve/nfs1")
            let a = try Job("A", w.dir, env: w.env, steps: ["\(w.bin) run pre-restore \(nfs1)", "\(w.bin) run post-restore \(nfs1)"])
            let b = try Job("B", w.dir, env: w.env, steps: ["\(w.bin) run pre-restore \(nfs1)", "\(w.bin) run post-restore \(nfs1)"])
            #expect(try a.waitForStep(1) == 0, "\(a.log)")
            #expect(try b.waitForStep(1) == 0, "\(b.log)")
            #expect(try w.claims(nfs1).count == 2, "one claim per job")

            a.go(2)
            #expect(try a.waitForStep(2) == 0, "\(a.log)")
            #expect(try w.guardPresent(nfs1), "A's post phase left B's guard")
            #expect(try !canWrite(nfs1), "B's next write is still refused")
            #expect(a.log.contains("held"), "A is told the guard is held: \(a.log)")
            let left = try w.claims(nfs1)
            let sessionB = Int(try b.session)
            #expect(left.count == 1 && (left.first?["session"] as? Int) == sessionB, "\(left)")

            b.go(2)
            #expect(try b.waitForStep(2) == 0, "\(b.log)")
            #expect(try !w.guardPresent(nfs1), "the last job's post phase removed it")
            #expect(try canWrite(nfs1))
        }

        /// A post phase without targets (whose shipped hook runs `clear --all`) leaves the
        /// guards other running jobs hold, on any storage.
        @Test(sandboxed) func postPhaseWithoutTargetsLeavesOtherJobsGuards() throws {
            let w = try World("claims-post-all")
            defer { w.dir.cleanUp() }
            let nfs1 = try w.dir.mkdir("pve/nfs1"), nfs2 = try w.dir.mkdir("pve/nfs2")
            let a = try Job("A", w.dir, env: w.env, steps: ["\(w.bin) run pre-backup \(nfs1)", "true"])
            let c = try Job("C", w.dir, env: w.env, steps: ["\(w.bin) run pre-backup \(nfs2)", "\(w.bin) run post-mount"])
            #expect(try a.waitForStep(1) == 0, "\(a.log)")
            #expect(try c.waitForStep(1) == 0, "\(c.log)")
            c.go(2)
            #expect(try c.waitForStep(2) == 0, "\(c.log)")
            #expect(try w.guardPresent(nfs1), "A's guard stays: \(c.log)")
            #expect(try !w.guardPresent(nfs2), "C's own guard went with its post phase")
            a.go(2)
            _ = try a.waitForStep(2)
        }

        /// rsnapshot skips its post command when it fails: the job's session ends with its
        /// claim still recorded. The next run releases the claim as stale and the guard goes.
        @Test(sandboxed) func aFailedJobsClaimIsReleasedOnceItsSessionIsGone() throws {
            let w = try World("claims-stale")
            defer { w.dir.cleanUp() }
            let nfs1 = try w.dir.mkdir("pve/nfs1")
            let a = try Job("A", w.dir, env: w.env, steps: ["\(w.bin) run pre-backup \(nfs1)", "exit 1"])
            #expect(try a.waitForStep(1) == 0, "\(a.log)")
            a.go(2)
            try a.waitUntilGone()
            #expect(try w.guardPresent(nfs1) && w.claims(nfs1).count == 1, "the failed job never ran its post phase")

            // Another job's post-mount (no targets): the stale claim is released, the guard cleared.
            let d = try Job("D", w.dir, env: w.env, steps: ["\(w.bin) run post-mount"])
            #expect(try d.waitForStep(1) == 0, "\(d.log)")
            #expect(try !w.guardPresent(nfs1), "\(d.log)")
            let rows = try w.cli.run(["guards", "--json"])
            #expect(rows.stdout.contains("\"state\":\"cleared\""), "\(rows.stdout)")
            let released = try sql(w.cli.db, "SELECT release_reason FROM claims")
            #expect(released.hasPrefix("stale: session ") && released.contains("ended"), "\(released)")
        }

        /// An operator's plain clear leaves a guard a live job holds (held, exit 0); --force
        /// removes it and records the override on the claim.
        @Test(sandboxed) func operatorClearIsHeldAndForceOverrides() throws {
            let w = try World("claims-force")
            defer { w.dir.cleanUp() }
            let nfs1 = try w.dir.mkdir("pve/nfs1")
            let a = try Job("A", w.dir, env: w.env, steps: ["\(w.bin) run pre-restore \(nfs1)", "true"])
            #expect(try a.waitForStep(1) == 0, "\(a.log)")
            var r = try w.cli.run(["clear", nfs1])
            expectStatus(r, 0)
            #expect(tableRow(r.stdout, nfs1).first == "held", "\(r.stdout)")
            let sessionA = try a.session
            #expect(r.stdout.contains("held by session \(sessionA)"), "\(r.stdout)")
            #expect(try w.guardPresent(nfs1))
            r = try w.cli.run(["clear", "--all"])
            expectStatus(r, 0)
            #expect(try w.guardPresent(nfs1), "clear --all without a claim leaves claimed guards")
            r = try w.cli.run(["clear", "--force", nfs1])
            expectStatus(r, 0)
            #expect(try !w.guardPresent(nfs1))
            #expect(try sql(w.cli.db, "SELECT release_reason FROM claims") == "released by the operator (clear --force)")
            a.go(2)
            _ = try a.waitForStep(2)
        }

        /// Two `exec`s overlap on one offline storage: after the first ends, the second job's
        /// write is still refused; exec passes its command's exit status on.
        @Test(sandboxed) func overlappingExecsAndExitStatus() throws {
            let w = try World("claims-exec")
            defer { w.dir.cleanUp() }
            let nfs1 = try w.dir.mkdir("pve/nfs1")
            let waitGo = { (n: String) in "while [ ! -e \(w.dir.sub(n)) ]; do sleep 0.02; done" }
            let a = try Job("A", w.dir, env: w.env, steps: [
                "\(w.bin) exec \(nfs1) -- sh -c 'touch \(w.dir.sub("A.in")); \(waitGo("A.out"))'"])
            let b = try Job("B", w.dir, env: w.env, steps: [
                "\(w.bin) exec \(nfs1) -- sh -c 'touch \(w.dir.sub("B.in")); \(waitGo("B.out")); touch \(nfs1)/written-by-B'"])
            for f in ["A.in", "B.in"] {
                let deadline = Date().addingTimeInterval(60)
                while !FileManager.default.fileExists(atPath: w.dir.sub(f)) && Date() < deadline { usleep(20_000) }
            }
            _ = FileManager.default.createFile(atPath: w.dir.sub("A.out"), contents: nil)
            #expect(try a.waitForStep(1) == 0, "\(a.log)")
            #expect(try w.guardPresent(nfs1), "A's exec ended; B still holds the guard")
            _ = FileManager.default.createFile(atPath: w.dir.sub("B.out"), contents: nil)
            #expect(try b.waitForStep(1) == 1, "B's write was refused, and exec passed touch's status on: \(b.log)")
            #expect(!FileManager.default.fileExists(atPath: nfs1 + "/written-by-B"))
            #expect(try !w.guardPresent(nfs1), "the last exec's post phase removed the guard")

            var r = try w.cli.run(["exec", nfs1, "--", "sh", "-c", "exit 7"], env: ["GUARD_HOOKS_DIR": w.hooks])
            #expect(r.status == 7, "\(r)")
            r = try w.cli.run(["exec", nfs1, "--", "sh", "-c", "kill -TERM $$"], env: ["GUARD_HOOKS_DIR": w.hooks])
            #expect(r.status == 128 + SIGTERM, "\(r)")
            #expect(try !w.guardPresent(nfs1))
            let runs = try objects(try w.cli.json(["runs", "--phase", "exec"]).1, "runs")
            #expect(runs.compactMap { $0["exit_code"] as? Int }.suffix(2) == [7, 143], "\(runs)")
            let command = (runs.last?["hooks"] as? [[String: Any]])?.first
            #expect(command?["path"] as? String == "sh -c kill -TERM $$" && command?["signal"] as? Int == Int(SIGTERM), "\(runs)")
        }

        /// A failing pre phase: COMMAND never starts, exec exits 1 with the reason, and the
        /// post phase still releases what the pre phase claimed.
        @Test(sandboxed) func commandNeverStartsWhenPreFails() throws {
            let w = try World("claims-prefail")
            defer { w.dir.cleanUp() }
            let nfs1 = try w.dir.mkdir("pve/nfs1")
            _ = try writeHook(w.hooks, "50-refuse", "#!/bin/sh\n# phases: pre-backup\necho storage check failed\nexit 3\n")
            let marker = w.dir.sub("started")
            let r = try w.cli.run(["exec", nfs1, "--", "touch", marker], env: ["GUARD_HOOKS_DIR": w.hooks])
            // Hook output goes to stderr (stdout is COMMAND's); the error is the last line.
            #expect(r.status == 1, "\(r)")
            #expect(r.stderr.hasSuffix("\n") && r.stderr.split(separator: "\n").last?.hasPrefix("hook-runner: exec: pre-backup failed (50-refuse") == true, "\(r.stderr)")
            #expect(r.stderr.contains("[50-refuse] storage check failed"))
            #expect(!FileManager.default.fileExists(atPath: marker))
            #expect(try !w.guardPresent(nfs1), "the post phase ran")
        }

        /// A killed COMMAND ends exec's job normally (post phase, 128+9). A killed exec leaves
        /// its command running in the job's session: the guard stays while that runs, and goes
        /// with the next clear once the session is empty.
        @Test(sandboxed) func killedCommandAndKilledExec() throws {
            let w = try World("claims-killed")
            defer { w.dir.cleanUp() }
            let nfs1 = try w.dir.mkdir("pve/nfs1")
            let a = try Job("A", w.dir, env: w.env, steps: ["\(w.bin) exec \(nfs1) -- sh -c 'echo $$ > \(w.dir.sub("A.pid")); exec sleep 600'"])
            let pidA = try waitForPid(w.dir.sub("A.pid"))
            kill(pidA, SIGKILL)
            #expect(try a.waitForStep(1) == 128 + SIGKILL, "\(a.log)")
            #expect(try !w.guardPresent(nfs1), "exec ran the post phase after its command was killed")

            // exec itself is the session leader here (setsid exec …), so killing it leaves the
            // command in its session. The command tells its own pid and its session (exec's pid).
            let script = "echo $$ > \(w.dir.sub("B.pid")); cut -d' ' -f6 /proc/$$/stat > \(w.dir.sub("B.exec")); exec sleep 600"
            let b = Process()
            b.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
            b.arguments = ["-w", w.bin, "exec", nfs1, "--", "sh", "-c", script]
            b.environment = w.env
            b.standardInput = FileHandle.nullDevice
            try b.run()
            let pidB = try waitForPid(w.dir.sub("B.pid"))
            defer { kill(pidB, SIGKILL) }
            let execB = try waitForPid(w.dir.sub("B.exec"))
            kill(execB, SIGKILL)
            let deadline = Date().addingTimeInterval(30)
            while FileManager.default.fileExists(atPath: "/proc/\(execB)/exe") && Date() < deadline { usleep(20_000) }
            #expect(try w.guardPresent(nfs1))
            var r = try w.cli.run(["clear", "--all"])
            #expect(try w.guardPresent(nfs1), "the command still runs in exec's session: \(r.stdout)")
            kill(pidB, SIGKILL)
            usleep(200_000)
            r = try w.cli.run(["clear", "--all"])
            expectStatus(r, 0)
            #expect(try !w.guardPresent(nfs1), "stale once the session is empty: \(r.stdout)")
        }

        func waitForPid(_ file: String) throws -> pid_t {
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                if let s = try? String(contentsOfFile: file, encoding: .utf8), let pid = pid_t(s.trimmingCharacters(in: .whitespacesAndNewlines)) {
                    return pid
                }
                usleep(20_000)
            }
            throw JobError("no pid in \(file)")
        }
    }
}
