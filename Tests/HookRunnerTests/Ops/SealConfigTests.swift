import Foundation
import GuardTestSupport
import Testing
import Glibc

/// `seal` with no targets seals the configured list; `doctor` checks it. In the sandbox only.
@Suite(.serialized) struct SealConfigTests {
    func config(_ dir: SandboxDirectory, sealed: [String]) throws -> String {
        let path = dir.sub("config.toml")
        try """
            allowed_roots = \(tomlArray([dir.path]))
            store = "\(dir.sub("state/guards.db"))"
            lock_timeout = 5
            sealed = [
            \(sealed.map { "    \"\($0)\", # a configured mountpoint" }.joined(separator: "\n"))
            ]
            """.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    /// The boot unit's exact command line, with the configured list: offline mountpoints
    /// sealed, a mounted one skipped (its storage root untouched), one info line per
    /// change with the journal's `<6>` prefix.
    @Test(sandboxed) func sealsTheConfiguredMountpoints() throws {
        let dir = try Sandbox.make("ops-seal")
        defer { dir.cleanUp() }
        let storage = try dir.mkdir("storage"), backup = try dir.mkdir("backup"), online = try dir.mkdir("online")
        let r0 = try runCommand(["mount", "-t", "tmpfs", "pool", online])
        try #require(r0.status == 0, "\(r0.stderr)")
        let cfg = try config(dir, sealed: [storage, backup, online])

        let r = try hookRunnerAsJournalStream(["seal", "--best-effort"], env: ["GUARD_HOOKS_CONFIG": cfg, "GUARD_HOOKS_LOG_LEVEL": "info"])
        expectStatus(r, 0)
        #expect(try lsattr(storage).contains("i"))
        #expect(try lsattr(backup).contains("i"))
        #expect(try !lsattr(online).contains("i"), "the mounted storage's root must never be sealed")
        #expect(r.stdout.contains("skipped-mounted"), "\(r.stdout)")
        #expect(r.stderr.contains("<6>hook-runner: info: seal \(storage): applied (immutable, guard #"), "\(r.stderr)")
        #expect(r.stderr.contains("<6>hook-runner: info: seal \(backup): applied"), "\(r.stderr)")
        #expect(!r.stderr.contains(online), "a skipped target is a debug line: \(r.stderr)")
        #expect(touch(storage) != 0)

        // Again: nothing changes, nothing is logged at info.
        let again = try hookRunnerAsJournalStream(["seal", "--best-effort"], env: ["GUARD_HOOKS_CONFIG": cfg, "GUARD_HOOKS_LOG_LEVEL": "info"])
        expectStatus(again, 0)
        #expect(again.stdout.contains("already-applied") && again.stderr.isEmpty, "\(again)")

        // GUARD_HOOKS_SEAL is the environment layer of `sealed`: it replaces the file's list.
        let other = try dir.mkdir("other")
        let byEnv = try hookRunnerRun(["seal"], env: ["GUARD_HOOKS_CONFIG": cfg, "GUARD_HOOKS_SEAL": other])
        expectStatus(byEnv, 0)
        #expect(try lsattr(other).contains("i"))
        #expect(!byEnv.stdout.contains(storage), "\(byEnv.stdout)")
    }

    @Test(sandboxed) func doctorReportsAnUnsealedConfiguredMountpoint() throws {
        let dir = try Sandbox.make("ops-doctor")
        defer { dir.cleanUp() }
        let storage = try dir.mkdir("storage"), backup = try dir.mkdir("backup")
        let cfg = try config(dir, sealed: [storage, backup])
        let env = ["GUARD_HOOKS_CONFIG": cfg]

        let before = try hookRunnerRun(["doctor"], env: env)
        expectStatus(before, 0)
        #expect(row(before.stdout, storage).contains("offline-unsealed"), "\(before.stdout)")
        #expect(row(before.stdout, backup).contains("offline-unsealed"), "\(before.stdout)")

        expectStatus(try hookRunnerRun(["seal"], env: env), 0)
        expectStatus(try hookRunnerRun(["unseal", backup], env: env), 0)
        let after = try hookRunnerRun(["doctor"], env: env)
        #expect(!row(after.stdout, storage).contains("offline-unsealed"), "\(after.stdout)")
        #expect(row(after.stdout, backup).contains("offline-unsealed"), "\(after.stdout)")
    }

    func row(_ output: String, _ path: String) -> String {
        output.split(separator: "\n").filter { $0.contains(" \(path) ") }.joined(separator: "\n")
    }

    func touch(_ dir: String) -> Int32 {
        let r = (try? runCommand(["touch", "\(dir)/written-while-offline"]))?.status ?? -1
        unlink("\(dir)/written-while-offline")
        return r
    }
}
