import Foundation
import GuardTestSupport
import Testing
import Glibc

/// A hook that will not stop, and a hook that will not stop talking.
extension HookRunnerTests {
    @Suite struct RunLimits {
        @Test(sandboxed) func timeoutKillsTheWholeProcessGroup() throws {
            let dir = try Sandbox.make("cli-timeout")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let hooks = try makeHooksDir(dir)
            // The hook's grandchild ignores SIGTERM and sleeps; only SIGKILL to the group ends it.
            try writeHook(hooks, "10-stubborn", """
                echo $$ > \(dir.sub("pgid"))
                sh -c 'trap "" TERM; sleep 120 & echo grandchild $!; wait' &
                echo started
                sleep 120
                """)
            let started = Date()
            let r = try cli.run(["run", "--hooks-dir", hooks, "--timeout", "1", "post-mount"])
            expectStatus(r, 1)
            #expect(Date().timeIntervalSince(started) < 60, "the runner did not wait for the sleeps")
            #expect(r.stdout.contains("[10-stubborn] started"))
            #expect(r.stdout.contains("timed out"))

            let pgid = try #require(Int32(try String(contentsOfFile: dir.sub("pgid"), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(!liveProcesses(inGroup: getpgrp()).isEmpty, "the /proc scan sees a live group")
            var left = liveProcesses(inGroup: pgid)
            for _ in 0..<40 where !left.isEmpty {  // SIGKILL is sent; give the kernel a moment to finish them
                usleep(50_000)
                left = liveProcesses(inGroup: pgid)
            }
            #expect(left.isEmpty, "processes of the hook's group survived: \(left)")

            let run = try #require(try objects(try cli.json(["runs"]).1, "runs").last)
            let hook = try #require(try objects(run, "hooks").first)
            #expect(hook["timed_out"] as? Bool == true)
            #expect(hook["outcome"] as? String == "failed")
            #expect((hook["reason"] as? String)?.contains("timed out") == true, "\(hook)")
            #expect((hook["output_tail"] as? String)?.contains("grandchild") == true)
            #expect(run["exit_code"] as? Int == 1)
            // The DETAIL column says it once: "timed out after 1s", not "timed out; timed out after 1s".
            for output in [r.stdout, try cli.run(["runs"]).stdout] {
                let row = try #require(output.split(separator: "\n").first { $0.contains("10-stubborn") && $0.contains("failed") })
                #expect(row.components(separatedBy: "timed out").count == 2 && row.contains("timed out after"), "\(row)")
            }
        }

        @Test(sandboxed, boundsMemory) func twoHundredMegabytesOfOutputCostBoundedMemory() throws {
            let dir = try Sandbox.make("cli-flood")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let hooks = try makeHooksDir(dir)
            try writeHook(hooks, "10-flood", """
                head -c 200000000 /dev/zero | tr '\\000' x
                echo
                echo END-OF-OUTPUT
                """)
            let time = "/usr/bin/time"
            if !FileManager.default.isExecutableFile(atPath: time) {
                _ = try runCommand(["apt-get", "install", "-y", "-qq", "time"],
                                   environment: ["PATH": safePath, "DEBIAN_FRONTEND": "noninteractive"])
            }
            try #require(FileManager.default.isExecutableFile(atPath: time), "needs GNU time (apt-get install time)")
            let rss = dir.sub("rss")
            // The streamed output goes to /dev/null, not into a test file.
            let r = try cli.run(["run", "--hooks-dir", hooks, "post-mount"],
                                prefix: ["/bin/sh", "-c", "exec \"$@\" >/dev/null", "sh", time, "-f", "%M", "-o", rss])
            expectStatus(r, 0)
            let kib = try #require(Int(try String(contentsOfFile: rss, encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(kib < 64 * 1024, "peak RSS \(kib) KiB")

            let run = try #require(try objects(try cli.json(["runs"]).1, "runs").first)
            let hook = try #require(try objects(run, "hooks").first)
            #expect(hook["outcome"] as? String == "ok")
            let tail = try #require(hook["output_tail"] as? String)
            #expect(tail.utf8.count <= 64 * 1024 && tail.utf8.count > 1024, "tail of \(tail.utf8.count) bytes")
            #expect(tail.hasSuffix("xxx\nEND-OF-OUTPUT\n"))
        }
    }
}
