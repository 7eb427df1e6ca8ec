import Foundation
import Testing

/// The trait of every test that mounts, guards or writes a store in the sandbox.
package let sandboxed = Testing.ConditionTrait.enabled(
    if: Sandbox.isAvailable, "needs root in a private mount namespace with a tmpfs on /mnt (scripts/test)")

/// hook-runner pointed at one sandbox directory: its store lives in `<dir>/state`, the
/// only allowed root is the directory itself, and the environment is exactly what we give.
package struct SandboxCLI: Sendable {
    package let dir: SandboxDirectory
    package init(dir: SandboxDirectory) { self.dir = dir }

    package var db: String { dir.sub("state/guards.db") }

    package var environment: [String: String] {
        ["PATH": safePath, "GUARD_HOOKS_DB": db, "GUARD_HOOKS_ALLOW_ROOTS": dir.path]
    }

    /// Runs `hook-runner args…`; `env` adds to (or, with a nil value, removes from) the base environment.
    @discardableResult
    package func run(_ args: [String], env: [String: String?] = [:], prefix: [String] = []) throws -> CommandResult {
        var e = environment
        for (k, v) in env { e[k] = v }
        return try runCommand(prefix + [hookRunnerBinary] + args, environment: e)
    }
}

/// The trait of a test that bounds peak memory. Under AddressSanitizer (scripts/reliability
/// sanitizers sets GUARD_HOOKS_SANITIZER) freed buffers stay resident in its quarantine and
/// shadow memory, so an RSS bound measures the sanitizer, not us.
package let boundsMemory = Testing.ConditionTrait.disabled(
    if: ProcessInfo.processInfo.environment["GUARD_HOOKS_SANITIZER"] == "address",
    "peak RSS bounds do not hold under AddressSanitizer (its quarantine keeps freed memory resident)")
