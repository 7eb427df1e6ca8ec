import Foundation
import GuardTestSupport
import Testing
import Glibc

/// The real backup clients the end-to-end recipe tests run, where scripts/setup.sh installs
/// them: borg, restic, rsnapshot and rsync from Debian, borgmatic 2.x and 1.9.x from PyPI in
/// venvs under GUARD_HOOKS_TEST_TOOLS (default /opt/guard-hooks-test).
enum RealClient {
    static let toolsDirectory = ProcessInfo.processInfo.environment["GUARD_HOOKS_TEST_TOOLS"] ?? "/opt/guard-hooks-test"

    /// `name` found on the safe PATH, or nil.
    static func onPath(_ name: String) -> String? {
        safePath.split(separator: ":").map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }

    /// borgmatic of one series ("2" or "1.9"), or nil when it is not installed.
    static func borgmatic(_ series: String) -> String? {
        let path = "\(toolsDirectory)/borgmatic-\(series)/bin/borgmatic"
        return access(path, X_OK) == 0 ? path : nil
    }

    /// Enables a test only when every named client is installed: skipped with a message then.
    static func needs(_ names: String..., borgmatic series: String? = nil) -> Testing.ConditionTrait {
        let missing = names.filter { onPath($0) == nil }
            + (series.map { borgmatic($0) == nil ? ["borgmatic \($0) (in \(toolsDirectory)/borgmatic-\($0))"] : [] } ?? [])
        return .enabled(if: missing.isEmpty && Sandbox.isAvailable,
                        Comment(rawValue: missing.isEmpty ? "needs the sandbox (scripts/test)"
                                : "not installed: \(missing.joined(separator: ", ")); scripts/setup.sh installs them as root"))
    }
}

/// One sandbox set up as a host running a real client: the shipped hooks, a small source
/// tree, an offline storage mountpoint (a bare directory), and an environment where the
/// recipes' plain `hook-runner` is the binary under test.
struct ClientHost {
    let dir: SandboxDirectory
    let cli: CLI
    let storage: String
    let source: String

    init(_ name: String) throws {
        dir = try Sandbox.make(name)
        cli = CLI(adapterSandbox: dir)
        try cli.installShippedHooks()
        storage = try dir.mkdir("backup")
        source = try dir.mkdir("src")
        try writeFile(source + "/data.txt", "the data to back up\n")
        let bin = try dir.mkdir("bin")
        try #require(symlink(hookRunnerBinary, bin + "/hook-runner") == 0)
        for sub in ["home", "run", "cache"] { try dir.mkdir(sub) }
    }

    /// The store, hooks and roots of `cli`, `hook-runner` first on PATH, and the clients'
    /// home, cache and runtime directories inside the sandbox.
    var environment: [String: String] {
        var e = cli.environment
        e["PATH"] = dir.sub("bin") + ":" + safePath
        e["HOME"] = dir.sub("home")
        e["XDG_RUNTIME_DIR"] = dir.sub("run")
        e["XDG_CACHE_HOME"] = dir.sub("cache")
        e["BORG_BASE_DIR"] = dir.sub("home")
        e["RESTIC_PASSWORD"] = "recipe-test"
        e["RESTIC_CACHE_DIR"] = dir.sub("cache/restic")
        return e
    }

    /// Runs `argv` as cron or systemd runs a job: in a session of its own, which ends with it.
    func job(_ argv: [String], env extra: [String: String] = [:]) throws -> CommandResult {
        try runCommand(["/usr/bin/setsid", "-w"] + argv, environment: environment.merging(extra) { _, new in new })
    }

    /// The names in the storage directory as seen without the storage (the bare mountpoint).
    func bareContents() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: storage)
    }

    func outstanding() throws -> [[String: Any]] {
        try objects(try cli.json(["guards", "--outstanding"]).1, "guards")
    }

    /// The phases of the recorded runs.
    func runPhases() throws -> [String] {
        try objects(try cli.json(["runs"]).1, "runs").map { $0["phase"] as? String ?? "" }
    }

    /// A recipe file with the storage mountpoint and the source directories replaced by the sandbox's.
    func recipe(_ name: String) throws -> String {
        try String(contentsOfFile: packageRoot + "/recipes/" + name, encoding: .utf8)
            .replacingOccurrences(of: "/mnt/backup", with: storage)
            .replacingOccurrences(of: "    - /etc\n    - /srv\n", with: "    - \(source)\n")
    }

    /// A write to the mountpoint now (a probe file, removed again): 0 or the errno.
    func writeProbe() -> Int32 {
        let fd = open(storage + "/probe", O_WRONLY | O_CREAT | O_EXCL, 0o644)
        if fd < 0 { return errno }
        close(fd)
        unlink(storage + "/probe")
        return 0
    }
}

/// A command started in the background in a session of its own; `finish()` waits for it.
final class BackgroundJob {
    let process = Process()
    let files: OutputFiles

    init(_ argv: [String], environment: [String: String]) throws {
        files = try OutputFiles()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        process.arguments = ["-w"] + argv
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = files.out
        process.standardError = files.err
        try process.run()
    }

    func finish() -> (status: Int32, stdout: String, stderr: String) {
        process.waitUntilExit()
        let (out, err) = files.read()
        files.remove()
        return (process.terminationStatus, out, err)
    }
}

/// Waits (polling, bounded) until `path` exists or `job` ended; true when the file came.
func waitForFile(_ path: String, while job: BackgroundJob, seconds: Double = 120) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if access(path, F_OK) == 0 { return true }
        if !job.process.isRunning { return access(path, F_OK) == 0 }
        usleep(50_000)
    }
    return false
}
