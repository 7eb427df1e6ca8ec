import Foundation
import GuardStore
import Synchronization
import Testing
import GuardHooks

extension RunnerTests {
    @Suite struct Execution {
        @Test func hookSeesExactlyTheContractsInvocation() async throws {
            let dir = try HookDir()
            defer { dir.remove() }
            // /proc/$$/environ is the environment as exec'd, before the shell adds its own.
            try dir.script("10-probe", """
                # dry-run: yes
                cat /proc/$$/environ > '\(dir.sub("env"))'
                printf '%s\\0' "$0" "$@" > '\(dir.sub("argv"))'
                pwd -P > '\(dir.sub("cwd"))'
                readlink /proc/$$/fd/0 > '\(dir.sub("stdin-link"))'
                head -c 1 | wc -c > '\(dir.sub("stdin-bytes"))'
                """)
            let context = testContext(dryRun: true)
            let report = try await runPhase("pre-restore", in: dir, targets: ["/mnt/a b", "/mnt/c"], context: context)
            #expect(report.results.map(\.outcome) == [.ok])

            let env = try #require(dir.read("env")).split(separator: "\0").map { pair -> (String, String) in
                let eq = pair.firstIndex(of: "=")!
                return (String(pair[..<eq]), String(pair[pair.index(after: eq)...]))
            }
            #expect(Dictionary(uniqueKeysWithValues: env) == [
                "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "GUARD_HOOKS_PHASE": "pre-restore",
                "GUARD_HOOKS_TARGETS": "/mnt/a b\n/mnt/c",
                "GUARD_HOOKS_RUN_ID": "42",
                "GUARD_HOOKS_DRY_RUN": "1",
                "GUARD_HOOKS_DB": "/tmp/gh-test.db",
                "GUARD_HOOKS_ALLOW_ROOTS": "/mnt:/media:/run/media",
                "GUARD_HOOKS_BIN": "/usr/local/bin/hook-runner",
                "GUARD_HOOKS_HOOK": "10-probe",
                "GUARD_HOOKS_HOOK_PATH": dir.sub("10-probe"),
            ])
            #expect(env.count == 10)
            // Executed from the vetted directory fd: the interpreter names the script by its fd.
            let argv = try #require(dir.read("argv")).split(separator: "\0", omittingEmptySubsequences: false)
            #expect(argv.first?.hasPrefix("/dev/fd/") == true, "\(argv)")
            #expect(argv.dropFirst() == ["pre-restore", "/mnt/a b", "/mnt/c", ""])
            #expect(dir.read("cwd") == "/\n")
            #expect(dir.read("stdin-link") == "/dev/null\n")
            #expect(dir.read("stdin-bytes")?.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        }

        @Test func exitSeventyFiveSoftSkipsTheRest() async throws {
            let dir = try HookDir()
            defer { dir.remove() }
            try dir.script("10-ok", "exit 0")
            try dir.script("20-soft", "exit 75")
            try dir.script("30-never", "touch '\(dir.sub("ran"))'")
            let report = try await runPhase("pre-restore", in: dir)
            #expect(report.results.map(\.outcome) == [.ok, .softSkip, .skipped])
            #expect(report.results[1].exitCode == 75)
            #expect(report.results[2].reason == "soft skip by 20-soft")
            #expect(report.exitStatus == 0)
            #expect(!dir.exists("ran"))
        }

        @Test func failingPreHookStopsThePhase() async throws {
            let dir = try HookDir()
            defer { dir.remove() }
            try dir.script("10-fail", "echo no storage >&2; exit 3")
            try dir.script("20-next", "touch '\(dir.sub("ran"))'")
            let report = try await runPhase("pre-restore", in: dir)
            #expect(report.results.map(\.outcome) == [.failed, .skipped])
            #expect(report.results[0].exitCode == 3 && report.results[0].reason == "exit 3")
            #expect(report.results[0].outputTail == "no storage\n")
            #expect(report.results[1].reason == "stopped after failure of 10-fail")
            #expect(report.exitStatus == 1)
            #expect(!dir.exists("ran"))

            let kept = try await runPhase("pre-restore", in: dir, context: testContext(keepGoing: true))
            #expect(kept.results.map(\.outcome) == [.failed, .ok])
            #expect(kept.exitStatus == 1)
            #expect(dir.exists("ran"))
        }

        @Test func otherPhasesRunEveryHookAndReportEveryFailure() async throws {
            let dir = try HookDir()
            defer { dir.remove() }
            try dir.script("10-fail", "exit 1")
            try dir.script("20-killed", "kill -KILL $$")
            try dir.script("30-ok", "touch '\(dir.sub("ran"))'")
            let report = try await runPhase("post-mount", in: dir)
            #expect(report.results.map(\.outcome) == [.failed, .failed, .ok])
            #expect(report.results[1].signal == 9 && report.results[1].exitCode == nil)
            #expect(report.results[1].reason == "killed by signal 9")
            #expect(report.failures.map(\.name) == ["10-fail", "20-killed"])
            #expect(report.exitStatus == 1)
            #expect(dir.exists("ran"))
        }

        @Test func unexecutableFileFailsWithAReason() async throws {
            let dir = try HookDir()
            defer { dir.remove() }
            try dir.write("10-noshebang", "\u{7F}ELF not really")
            let report = try await runPhase("post-mount", in: dir)
            #expect(report.results.map(\.outcome) == [.failed])
            #expect(report.results[0].reason?.hasPrefix("cannot execute") == true)
        }

        @Test func outputIsStreamedPerLineWithTheHookName() async throws {
            let dir = try HookDir()
            defer { dir.remove() }
            try dir.script("10-talk", "echo one; echo two >&2; printf 'x%.0s' $(seq 1 10000); printf '\\nlast'")
            let log = LineLog()
            let context = testContext(limits: OutputLimits(maxLineBytes: 4096, tailBytes: 100))
            let report = try await runPhase("post-mount", in: dir, context: context, output: log.sink)
            let lines = log.all
            #expect(lines.allSatisfy { $0.hook == "10-talk" })
            #expect(lines.map(\.text.count) == [3, 3, 4096, 4096, 1808, 4])
            #expect(lines.map(\.isContinued) == [false, false, true, true, false, false])
            #expect(report.results[0].outputTail.utf8.count == 100)
            #expect(report.results[0].outputTail.hasSuffix("xxx\nlast"))
        }

        @Test func swiftHooksRunInterleavedByName() async throws {
            let dir = try HookDir()
            defer { dir.remove() }
            let order = dir.sub("order")
            try dir.script("10-exec", "echo \"$GUARD_HOOKS_HOOK\" >> '\(order)'")
            try dir.script("30-exec", "echo \"$GUARD_HOOKS_HOOK\" >> '\(order)'")
            let swiftHooks: [any SwiftHook] = [
                RecordingHook(name: "40-swift", file: order, code: 0),
                RecordingHook(name: "20-swift", file: order, code: 0),
                RecordingHook(name: "25-elsewhere", file: order, code: 0, phases: ["post-mount"]),
            ]
            let log = LineLog(), observer = ObserverLog()
            let report = try await runPhase("pre-restore", in: dir, swiftHooks: swiftHooks, observer: observer, output: log.sink)
            #expect(dir.read("order") == "10-exec\n20-swift\n30-exec\n40-swift\n")
            #expect(report.results.map(\.name) == ["10-exec", "20-swift", "30-exec", "40-swift"])
            #expect(report.results.map(\.kind) == [.executable, .swift, .executable, .swift])
            #expect(report.results[1].path == "swift:20-swift")
            #expect(report.results[1].outputTail == "hello from 20-swift\n")
            #expect(log.all.contains(HookOutputLine(hook: "40-swift", text: "hello from 40-swift")))
            #expect(observer.events.withLock { $0 } == [
                "start 10-exec", "finish 10-exec ok", "start 20-swift", "finish 20-swift ok",
                "start 30-exec", "finish 30-exec ok", "start 40-swift", "finish 40-swift ok",
            ])
        }

        @Test func swiftHookOutcomesFollowTheExitRules() async throws {
            let dir = try HookDir()
            defer { dir.remove() }
            let hooks: [any SwiftHook] = [
                ThrowingHook(name: "10-throws"),
                RecordingHook(name: "20-fails", file: nil, code: 2),
                RecordingHook(name: "30-soft", file: nil, code: 75),
                RecordingHook(name: "40-after", file: nil, code: 0),
            ]
            let report = try await runPhase("post-mount", in: dir, swiftHooks: hooks)
            #expect(report.results.map(\.outcome) == [.failed, .failed, .softSkip, .skipped])
            #expect(report.results[0].reason == "threw: storage offline")
            #expect(report.results[0].outputTail.contains("error: storage offline"))
            #expect(report.results[1].exitCode == 2)
            #expect(report.exitStatus == 1)

            let slow = try await runPhase("post-mount", in: dir, context: testContext(timeout: .milliseconds(200)),
                                          swiftHooks: [SleepingHook(name: "10-slow")])
            #expect(slow.results[0].outcome == .failed && slow.results[0].timedOut)
        }

        @Test func resultsMapOntoStoreRecords() async throws {
            let dir = try HookDir()
            defer { dir.remove() }
            try dir.script("10-fail", "echo bye; exit 4")
            let report = try await runPhase("post-mount", in: dir)
            let record = report.records[0]
            #expect(record.name == "10-fail" && record.path == dir.sub("10-fail"))
            #expect(record.outcome == .failed && record.exitCode == 4 && record.signal == nil && !record.timedOut)
            #expect(record.outputTail == "bye\n" && record.reason == "exit 4")
            #expect(record.startedAt != nil && record.finishedAt! >= record.startedAt!)
        }
    }
}

struct RecordingHook: SwiftHook {
    let name: String
    let file: String?
    let code: Int32
    var phases: [String]? = nil

    func run(_ invocation: HookInvocation) async throws -> Int32 {
        if let file {
            let handle = FileHandle(forWritingAtPath: file) ?? {
                _ = FileManager.default.createFile(atPath: file, contents: nil)
                return FileHandle(forWritingAtPath: file)!
            }()
            handle.seekToEndOfFile()
            handle.write(Data("\(invocation.environment["GUARD_HOOKS_HOOK"]!)\n".utf8))
            try handle.close()
        }
        invocation.print("hello from \(name)")
        return code
    }
}

struct ThrowingHook: SwiftHook {
    struct Failure: Error, CustomStringConvertible { var description: String { "storage offline" } }
    let name: String
    func run(_ invocation: HookInvocation) async throws -> Int32 { throw Failure() }
}

struct SleepingHook: SwiftHook {
    let name: String
    func run(_ invocation: HookInvocation) async throws -> Int32 {
        try await Task.sleep(for: .seconds(60))
        return 0
    }
}
