import Foundation
import GuardTestSupport
import Testing

/// Log lines carry the syslog priority when, and only when, stderr is the journal stream.
@Suite struct JournalTests {
    @Test func errorLinesGetPriority3() throws {
        let r = try hookRunnerAsJournalStream(["guards", "--config", "/nonexistent/config.toml"])
        #expect(r.status == 64)
        #expect(r.stderr == "<3>hook-runner: /nonexistent/config.toml: No such file or directory\n", "\(r.stderr)")
    }

    @Test func bestEffortWarningGetsPriority4() throws {
        let t = try TempDir("journal")
        defer { t.remove() }
        let empty = try t.write("config.toml", "# no sealed list\n")
        let r = try hookRunnerAsJournalStream(["seal", "--best-effort", "--config", empty, "--db", t.sub("g.db")])
        #expect(r.status == 0)
        #expect(r.stderr.hasPrefix("<4>hook-runner: warning: seal (best effort): "), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }

    @Test func debugLinesGetPriority7AndOnlyAtThatLevel() throws {
        let t = try TempDir("journal-debug")
        defer { t.remove() }
        let target = try t.mkdir("roots/pool")
        let args = ["seal", "--dry-run", "--best-effort", "--db", t.sub("state/g.db"), "--allow-root", t.sub("roots"), "--config", try t.write("c.toml", ""), target]
        let debug = try hookRunnerAsJournalStream(args, env: ["GUARD_HOOKS_LOG_LEVEL": "debug"])
        #expect(debug.status == 0)
        #expect(debug.stderr.contains("<7>hook-runner: debug: seal \(target): would-apply"), "\(debug.stderr)")
        let quiet = try hookRunnerAsJournalStream(args)
        #expect(quiet.stderr.isEmpty, "default level is warning: \(quiet.stderr)")
    }

    /// A JOURNAL_STREAM that does not name stderr (inherited, then stderr redirected) adds nothing.
    @Test func noPrefixWhenStderrIsNotTheJournal() throws {
        let r = try hookRunnerRun(["guards", "--config", "/nonexistent/config.toml"], env: ["JOURNAL_STREAM": "1:1"])
        expectError(r, 64, "/nonexistent/config.toml")
        #expect(!r.stderr.hasPrefix("<"))
    }
}

/// The seal unit passes `systemd-analyze verify` (packaging/check-unit points ExecStart at
/// the binary under test, since verify insists the command exists).
@Suite struct SealUnitTests {
    static let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: analyze != nil, "systemd-analyze is not installed (apt-get install systemd): the unit is not verified"))
    func sealUnitVerifies() throws {
        let r = try runCommand(["\(packageRoot)/packaging/check-unit", hookRunnerBinary])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("systemd-analyze verify: ok"))
    }

    @Test func unitRunsTheDocumentedCommandHardened() throws {
        let unit = try String(contentsOfFile: "\(packageRoot)/packaging/guard-hooks-seal.service", encoding: .utf8)
        let lines = Set(unit.split(separator: "\n").map(String.init))
        for expected in ["ExecStart=/usr/bin/hook-runner seal --best-effort", "Type=oneshot", "After=local-fs.target",
                         "CapabilityBoundingSet=CAP_LINUX_IMMUTABLE", "NoNewPrivileges=yes", "ProtectSystem=strict",
                         "StateDirectory=guard-hooks", "PrivateTmp=yes", "ProtectHome=yes", "ProtectKernelTunables=yes"] {
            #expect(lines.contains(expected), "missing \(expected)")
        }
        #expect(!lines.contains { $0.hasPrefix("RemainAfterExit=yes") }, "a oneshot that stays active is not re-run by its target")
        #expect(!lines.contains { $0.hasPrefix("PrivateMounts=") || $0.hasPrefix("ProcSubset=") })
    }
}
