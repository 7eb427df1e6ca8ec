import Foundation
import GuardTestSupport
import Synchronization
import Testing
import GuardHooks
import Glibc

/// Every runner suite nests in here, so `swift test --filter RunnerTests` selects them all.
@Suite enum RunnerTests {}

/// A fresh hooks directory under /tmp (root-owned, 0755 unless asked), removed by `remove()`.
struct HookDir {
    let path: String

    init(mode: mode_t = 0o755) throws {
        var template = Array("/tmp/gh-runner-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
        path = String(cString: made)
        chmod(path, mode)
    }

    func sub(_ name: String) -> String { "\(path)/\(name)" }

    /// Writes an executable (by default) file; `chmod` after writing so umask cannot interfere.
    @discardableResult
    func write(_ name: String, _ contents: String, mode: mode_t = 0o755) throws -> String {
        let p = sub(name)
        try contents.write(toFile: p, atomically: false, encoding: .utf8)
        chmod(p, mode)
        return p
    }

    /// A `/bin/sh` hook.
    @discardableResult
    func script(_ name: String, _ body: String, mode: mode_t = 0o755) throws -> String {
        try write(name, "#!/bin/sh\n\(body)\n", mode: mode)
    }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: sub(name)) }

    func read(_ name: String) -> String? { try? String(contentsOfFile: sub(name), encoding: .utf8) }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Collects what the runner prints, for tests that look at output lines.
final class LineLog: Sendable {
    private let lines = Mutex<[HookOutputLine]>([])
    var all: [HookOutputLine] { lines.withLock { $0 } }
    var sink: @Sendable (HookOutputLine) -> Void { { line in self.lines.withLock { $0.append(line) } } }
}

/// Records observer calls in order.
final class ObserverLog: HookRunObserver {
    let events = Mutex<[String]>([])
    func hookStarted(_ hook: PlannedHook) async { events.withLock { $0.append("start \(hook.name)") } }
    func hookFinished(_ result: HookResult) async {
        events.withLock { $0.append("finish \(result.name) \(result.outcome.rawValue)") }
    }
}

func testContext(timeout: Duration = .seconds(30), grace: Duration = .milliseconds(300),
                 keepGoing: Bool = false, dryRun: Bool = false,
                 limits: OutputLimits = OutputLimits()) -> HookContext {
    HookContext(runID: "42", dryRun: dryRun, databasePath: "/tmp/gh-test.db",
                binaryPath: "/usr/local/bin/hook-runner", timeout: timeout, gracePeriod: grace,
                keepGoing: keepGoing, outputLimits: limits)
}

/// Discovers `dir` for `phase` as root would and runs the phase.
func runPhase(_ phase: String, in dir: HookDir, targets: [String] = ["/mnt/t1"],
              context: HookContext = testContext(), swiftHooks: [any SwiftHook] = [],
              observer: (any HookRunObserver)? = nil,
              output: @escaping @Sendable (HookOutputLine) -> Void = { _ in }) async throws -> PhaseReport {
    let hooks = try HookDiscovery.discover(directory: dir.path, phase: phase, policy: .current)
    return await HookRunner().run(phase: phase, targets: targets, context: context, hooks: hooks,
                                  swiftHooks: swiftHooks, observer: observer, output: output)
}

/// Waits (briefly: SIGKILL takes effect asynchronously) until the group has no live process.
func groupIsGone(_ pgid: Int32, within seconds: Double = 2) async -> Bool {
    let end = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < end {
        if liveProcesses(inGroup: pgid).isEmpty { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return liveProcesses(inGroup: pgid).isEmpty
}

/// This process's peak resident set (VmHWM) in KiB.
func peakResidentKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
    return Int(line.split(separator: " ")[1]) ?? 0
}
