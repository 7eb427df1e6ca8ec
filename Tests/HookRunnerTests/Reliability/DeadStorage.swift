import Foundation
import GuardTestSupport
import Testing
import Glibc

/// A FUSE mount that stops answering (Tests/Fixtures/dead_fuse.py): the stand-in for an NFS
/// server that died. Every call into it blocks until the daemon is killed.
final class DeadStorage {
    let mountPoint: String
    private let daemon: Process
    private let trigger: String

    /// Whether the sandbox can run the fixture: /dev/fuse, python3 and fusepy.
    static let unavailableReason: String? = {
        if access("/dev/fuse", R_OK | W_OK) != 0 { return "no /dev/fuse" }
        let r = try? runCommand(["python3", "-c", "try: import fusepy\nexcept ImportError: import fuse"], environment: ["PATH": safePath])
        return r?.status == 0 ? nil : "python3 with fusepy is missing (scripts/setup.sh installs it)"
    }()

    /// Mounts the fixture at `mountPoint` (an existing empty directory), waits until the mount
    /// table shows it, then makes it stop answering.
    init(at mountPoint: String, trigger: String) throws {
        self.mountPoint = mountPoint
        self.trigger = trigger
        daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        daemon.arguments = ["python3", packageRoot + "/Tests/Fixtures/dead_fuse.py", mountPoint, trigger]
        daemon.environment = ["PATH": safePath]
        daemon.standardInput = FileHandle.nullDevice
        try daemon.run()
        var shown = false
        for _ in 0..<200 where !shown {
            shown = Sandbox.mountPoints(under: mountPoint).contains(mountPoint)
            if !shown { usleep(50_000) }
        }
        guard shown else { tearDown(); throw FixtureError("the FUSE fixture did not mount at \(mountPoint)") }
        try #require(FileManager.default.createFile(atPath: trigger, contents: nil))
    }

    /// Waits (at most `limit` seconds) until some caller is blocked in the dead storage.
    func waitUntilSomeoneIsStuck(limit: Double) -> Bool {
        for _ in 0..<Int(limit * 20) {
            if access(trigger + ".blocked", F_OK) == 0 { return true }
            usleep(50_000)
        }
        return false
    }

    /// Kills the daemon: the connection is aborted and every caller blocked in it is released
    /// (a process blocked in a FUSE request that reached the daemon ignores even SIGKILL).
    func abort() {
        if daemon.isRunning { _ = kill(daemon.processIdentifier, SIGKILL) }
    }

    /// Kills the daemon (which aborts the connection and releases every blocked caller),
    /// aborts the connection through fusectl as well when it is mounted, and detaches the mount.
    func tearDown() {
        if daemon.isRunning { _ = kill(daemon.processIdentifier, SIGKILL) }
        if let minor = connectionNumber() {
            let abort = "/sys/fs/fuse/connections/\(minor)/abort"
            if let h = FileHandle(forWritingAtPath: abort) { h.write(Data("1".utf8)); try? h.close() }
        }
        _ = umount2(mountPoint, Int32(MNT_DETACH))
        daemon.waitUntilExit()
        unlink(trigger)
        unlink(trigger + ".blocked")
    }

    /// The FUSE connection number: the mount's device minor, read from mountinfo (never by
    /// stat, which would block).
    private func connectionNumber() -> String? {
        guard let text = Sandbox.readProcFile("/proc/self/mountinfo") else { return nil }
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count > 4, f[4] == mountPoint, let minor = f[2].split(separator: ":").last { return String(minor) }
        }
        return nil
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// How a command run with an outer limit ended: its result, or nil when it had to be killed.
struct BoundedResult {
    struct Ended { var status: Int32; var stdout: String; var stderr: String }
    var result: Ended?
    var seconds: Double
    var returned: Bool { result != nil }
}

/// Runs a command; kills it (SIGKILL) when it has not returned after `limit` seconds, and
/// calls `rescue` (which aborts the dead storage: a process blocked in it ignores SIGKILL).
/// The limit is generous: it tells "returned" from "hung", it measures nothing.
func runBounded(_ argv: [String], environment: [String: String], limit: Double,
                rescue: () -> Void = {}) throws -> BoundedResult {
    let start = monotonicNow()
    let p = Process()
    p.executableURL = URL(fileURLWithPath: argv[0])
    p.arguments = Array(argv.dropFirst())
    p.environment = environment.merging(sanitizerOptions) { given, _ in given }
    let files = try OutputFiles()
    defer { files.remove() }
    p.standardOutput = files.out; p.standardError = files.err; p.standardInput = FileHandle.nullDevice
    let ended = DispatchSemaphore(value: 0)
    p.terminationHandler = { _ in ended.signal() }
    try p.run()
    let inTime = ended.wait(timeout: .now() + limit) == .success
    if !inTime {
        // Its whole process group: a hung `run` leaves its hook and that hook's hook-runner.
        _ = kill(-p.processIdentifier, SIGKILL)
        _ = kill(p.processIdentifier, SIGKILL)
        if ended.wait(timeout: .now() + 5) != .success {
            rescue()
            ended.wait()
        }
    }
    let (stdout, stderr) = files.read()
    let seconds = monotonicNow() - start
    guard inTime else { return BoundedResult(result: nil, seconds: seconds) }
    let status = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
    return BoundedResult(result: BoundedResult.Ended(status: status, stdout: stdout, stderr: stderr), seconds: seconds)
}
