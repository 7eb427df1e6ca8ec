import Foundation
import Glibc
import Testing

/// The trait of every test that mounts, guards or writes a store in the sandbox.
package let sandboxed = Testing.ConditionTrait.enabled(
    if: Sandbox.isAvailable, "needs root in a private mount namespace with a tmpfs on /mnt (scripts/test)")

/// hook-runner pointed at one sandbox directory: its store lives in `<dir>/state`, the
/// only allowed root is the directory itself, and the environment is exactly what we give;
/// with `hooksDirInSandbox`, `GUARD_HOOKS_DIR` is `<dir>/hooks.d` (see `installShippedHooks`).
package struct SandboxCLI: Sendable {
    package let dir: SandboxDirectory
    package let hooksDirInSandbox: Bool
    package init(dir: SandboxDirectory) { self.init(dir: dir, hooksDirInSandbox: false) }
    package init(dir: SandboxDirectory, hooksDirInSandbox: Bool) {
        self.dir = dir
        self.hooksDirInSandbox = hooksDirInSandbox
    }

    package var db: String { dir.sub("state/guards.db") }
    package var hooksDir: String { dir.sub("hooks.d") }

    package var environment: [String: String] {
        var e = ["PATH": safePath, "GUARD_HOOKS_DB": db, "GUARD_HOOKS_ALLOW_ROOTS": dir.path]
        if hooksDirInSandbox { e["GUARD_HOOKS_DIR"] = hooksDir }
        return e
    }

    /// Runs `hook-runner args…`; `env` adds to (or, with a nil value, removes from) the base environment.
    @discardableResult
    package func run(_ args: [String], env: [String: String?] = [:], prefix: [String] = []) throws -> CommandResult {
        var e = environment
        for (k, v) in env { e[k] = v }
        return try runCommand(prefix + [hookRunnerBinary] + args, environment: e)
    }

    /// Runs with `--json` appended and parses stdout as one JSON object.
    package func json(_ args: [String], env: [String: String?] = [:], prefix: [String] = []) throws -> (CommandResult, [String: Any]) {
        let r = try run(args + ["--json"], env: env, prefix: prefix)
        return (r, try parseJSON(r))
    }

    /// Copies the shipped hooks.d to `hooksDir` (root-owned, 0755, as installed).
    package func installShippedHooks() throws {
        try FileManager.default.createDirectory(atPath: hooksDir, withIntermediateDirectories: true)
        try #require(chmod(hooksDir, 0o755) == 0)
        for name in try FileManager.default.contentsOfDirectory(atPath: packageRoot + "/hooks.d") {
            let dest = hooksDir + "/" + name
            try FileManager.default.copyItem(atPath: packageRoot + "/hooks.d/" + name, toPath: dest)
            try #require(chmod(dest, 0o755) == 0)
        }
    }
}

/// The trait of a test that bounds peak memory. Under AddressSanitizer (scripts/reliability
/// sanitizers sets GUARD_HOOKS_SANITIZER) freed buffers stay resident in its quarantine and
/// shadow memory, so an RSS bound measures the sanitizer, not us.
package let boundsMemory = Testing.ConditionTrait.disabled(
    if: ProcessInfo.processInfo.environment["GUARD_HOOKS_SANITIZER"] == "address",
    "peak RSS bounds do not hold under AddressSanitizer (its quarantine keeps freed memory resident)")
