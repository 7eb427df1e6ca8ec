import Foundation
import Synchronization
import GuardTestSupport
import Testing
@testable import GuardHooks
import Glibc

extension RunnerTests {
    /// Process-group hygiene and bounded resources. No test asserts how long anything took
    /// (the machines are shared and noisy): a run that would hang on a left-over process
    /// is caught by the suite's time limit instead, far above any honest run.
    @Suite(.timeLimit(.minutes(2))) struct Processes {
        @Test func timeoutKillsTheWholeGroupEvenWhenItIgnoresTerm() async throws {
            let dir = try HookDir()
            defer { dir.remove() }
            try dir.script("10-stubborn", """
                echo $$ > '\(dir.sub("pgid"))'
                trap '' TERM
                sh -c 'sleep 1000' &
                sleep 1000
                """)
            let report = try await runPhase("post-mount", in: dir,
                                            context: testContext(timeout: .seconds(1), grace: .milliseconds(300)))
            let result = try #require(report.results.first)
            #expect(result.outcome == .failed && result.timedOut)
            #expect(result.signal == SIGKILL)  // TERM was ignored, so the grace period ran out
            #expect(result.reason == "timed out after 1s")
            let pgid = try #require(Int32(dir.read("pgid")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
            #expect(await groupIsGone(pgid))
        }

        @Test func timeoutSendsTermFirst() async throws {
            let dir = try HookDir()
            defer { dir.remove() }
            try dir.script("10-sleepy", "exec sleep 1000")
            let report = try await runPhase("post-mount", in: dir,
                                            context: testContext(timeout: .milliseconds(300), grace: .seconds(5)))
            #expect(report.results[0].timedOut && report.results[0].signal == SIGTERM)
        }

        @Test func grandchildHoldingThePipeDoesNotHangTheRun() async throws {
            let dir = try HookDir()
            defer { dir.remove() }
            try dir.script("10-daemonish", """
                echo $$ > '\(dir.sub("pgid"))'
                sleep 1000 &
                echo started
                """)
            try dir.script("20-next", "echo next")
            let log = LineLog()
            let report = try await runPhase("post-mount", in: dir, output: log.sink)
            #expect(report.results.map(\.outcome) == [.ok, .ok])
            #expect(log.all.map(\.text) == ["started", "next"])
            let pgid = try #require(Int32(dir.read("pgid")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
            #expect(await groupIsGone(pgid))
        }

        /// A process that left the group (setsid) cannot be killed with it; the runner still
        /// returns, after a bounded drain, instead of waiting for the pipe to close.
        @Test func escapedGrandchildCostsABoundedWait() async throws {
            let dir = try HookDir()
            defer { dir.remove() }
            try dir.script("10-escape", "setsid sh -c 'echo $$ > \(dir.sub("escaped")); exec sleep 1000' &\nsleep 0.2")
            let report = try await runPhase("post-mount", in: dir)
            #expect(report.results[0].outcome == .ok, "\(report.results[0].reason ?? "") \(report.results[0].outputTail)")
            if let pid = Int32(dir.read("escaped")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") {
                kill(pid, SIGKILL)
            }
        }

        @Test func cancellingTheCallerEndsTheHookAndStartsNothingNew() async throws {
            let dir = try HookDir()
            defer { dir.remove() }
            try dir.script("10-long", "echo $$ > '\(dir.sub("pgid"))'\nsleep 1000 &\nsleep 1000")
            try dir.script("20-next", "touch '\(dir.sub("ran"))'")
            let task = Task { try await runPhase("post-mount", in: dir) }
            try await Task.sleep(for: .milliseconds(300))
            task.cancel()
            let report = try await task.value
            #expect(report.results.map(\.outcome) == [.failed, .skipped])
            #expect(report.results[1].reason == "run cancelled")
            #expect(!dir.exists("ran"))
            let pgid = try #require(Int32(dir.read("pgid")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
            #expect(await groupIsGone(pgid))
        }

        @Test(boundsMemory) func gigantOutputCostsBoundedMemory() async throws {
            let dir = try HookDir()
            defer { dir.remove() }
            // 200 MB in 1000-byte lines, plus one 3 MB line without newline.
            try dir.script("10-flood", """
                yes "$(printf '%0999d' 0)" | head -c 200000000
                head -c 3000000 /dev/zero | tr '\\0' y
                """)
            let counts = Mutex<(lines: Int, bytes: Int, longest: Int)>((0, 0, 0))
            let before = peakResidentKiB()
            let context = testContext(timeout: .seconds(120), limits: OutputLimits(maxLineBytes: 4096, tailBytes: 64 * 1024))
            let report = try await runPhase("post-mount", in: dir, context: context) { line in
                counts.withLock { $0.lines += 1; $0.bytes += line.text.utf8.count; $0.longest = max($0.longest, line.text.utf8.count) }
            }
            let growthKiB = peakResidentKiB() - before
            let seen = counts.withLock { $0 }
            #expect(report.results[0].outcome == .ok)
            #expect(seen.bytes == 200_000_000 / 1000 * 999 + 3_000_000)
            #expect(seen.longest <= 4096)
            #expect(report.results[0].outputTail.utf8.count <= 64 * 1024)
            #expect(report.results[0].outputTail.hasSuffix("yyyy"))
            #expect(growthKiB < 64 * 1024, "peak RSS grew by \(growthKiB) KiB")
        }
    }

    @Suite struct OutputBuffers {
        @Test func longLinesAreCutOnCharacterBoundaries() {
            var splitter = LineSplitter(maxLineBytes: 8)
            var lines: [(String, Bool)] = []
            let input = Array("abcdefgé€xyz\nshort\nrest".utf8)
            input.withUnsafeBytes { splitter.feed($0) { lines.append((String(decoding: $0, as: UTF8.self), $1)) } }
            splitter.finish { lines.append((String(decoding: $0, as: UTF8.self), $1)) }
            #expect(lines.map(\.0) == ["abcdefg", "é€xyz", "short", "rest"])
            #expect(lines.map(\.1) == [true, false, false, false])
        }

        @Test func tailStaysWithinItsBoundEvenForInvalidUTF8() {
            var tail = OutputTail(limit: 16)
            let junk = [UInt8](repeating: 0xFF, count: 100)
            junk.withUnsafeBytes { tail.append($0) }
            #expect(tail.text.utf8.count <= 16)
            tail.append("0123456789abcdefXYZ")
            #expect(tail.text == "3456789abcdefXYZ")
            var empty = OutputTail(limit: 0)
            empty.append("anything")
            #expect(empty.text == "")
        }
    }
}
