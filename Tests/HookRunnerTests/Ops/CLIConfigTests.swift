import Foundation
import GuardTestSupport
import Testing

/// The config file through the binary: layering, and the errors an operator sees.
@Suite struct CLIConfigTests {
    /// Which store a command used: `guards` names the store in its error when the file is
    /// not a SQLite database, so each layer gets its own such file.
    @Test func storePrecedenceFlagEnvironmentFileDefault() throws {
        let t = try TempDir("store")
        defer { t.remove() }
        for name in ["file.db", "env.db", "flag.db"] { try t.write(name, "not a database, layer \(name)\n") }
        let config = try t.write("config.toml", "store = \"\(t.sub("file.db"))\"\n")
        let env = ["GUARD_HOOKS_CONFIG": config]
        expectError(try hookRunnerRun(["guards"], env: env), 70, t.sub("file.db"))
        expectError(try hookRunnerRun(["guards"], env: env.merging(["GUARD_HOOKS_DB": t.sub("env.db")]) { $1 }), 70, t.sub("env.db"))
        expectError(try hookRunnerRun(["guards", "--db", t.sub("flag.db")], env: env.merging(["GUARD_HOOKS_DB": t.sub("env.db")]) { $1 }),
                    70, t.sub("flag.db"))
        // --config beats GUARD_HOOKS_CONFIG as well.
        let other = try t.write("other.toml", "store = \"\(t.sub("env.db"))\"\n")
        expectError(try hookRunnerRun(["guards", "--config", other], env: env), 70, t.sub("env.db"))
    }

    /// `/dev/null`, the usual way to say "no config file", is an empty file: every default holds.
    @Test func devNullIsAnEmptyConfig() throws {
        for (args, env) in [(["hooks", "--json"], ["GUARD_HOOKS_CONFIG": "/dev/null"]),
                            (["hooks", "--json", "--config", "/dev/null"], [:])] {
            let r = try hookRunnerRun(args, env: env)
            #expect(r.stdout.contains("/etc/guard-hooks/hooks.d") || r.stderr.contains("/etc/guard-hooks/hooks.d"), "\(r)")
            #expect(!r.stderr.contains("not a regular file"), "\(r.stderr)")
        }
        // Another device is still refused.
        expectError(try hookRunnerRun(["hooks", "--config", "/dev/zero"]), 64, "/dev/zero", "not a regular file")
    }

    @Test func hooksDirPrecedence() throws {
        let t = try TempDir("hooksdir")
        defer { t.remove() }
        for d in ["file.d", "env.d", "flag.d"] { try t.mkdir(d) }
        let config = try t.write("config.toml", "hooks_dir = \"\(t.sub("file.d"))\"\n")
        func directory(_ args: [String], _ env: [String: String]) throws -> String? {
            let r = try hookRunnerRun(["hooks", "--json"] + args, env: env)
            expectStatus(r, 0)
            let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            return doc?["directory"] as? String
        }
        #expect(try directory(["--config", config], [:]) == t.sub("file.d"))
        #expect(try directory(["--config", config], ["GUARD_HOOKS_DIR": t.sub("env.d")]) == t.sub("env.d"))
        #expect(try directory(["--config", config, "--hooks-dir", t.sub("flag.d")], ["GUARD_HOOKS_DIR": t.sub("env.d")]) == t.sub("flag.d"))
        // The default: the file says nothing about hooks_dir.
        let empty = try t.write("empty.toml", "# nothing\n")
        let r = try hookRunnerRun(["hooks", "--config", empty], env: [:])
        #expect((r.stdout + r.stderr).contains("/etc/guard-hooks/hooks.d"), "\(r)")
    }

    /// allowed_roots from the file decide what a dry run would guard; the environment overrides.
    @Test func allowedRootsPrecedence() throws {
        let t = try TempDir("roots")
        defer { t.remove() }
        let target = try t.mkdir("inside/pool")
        let config = try t.write("config.toml", "allowed_roots = \(tomlArray([t.sub("inside")]))\n")
        let byFile = try hookRunnerRun(["apply", "--dry-run", "--json", "--config", config, target])
        expectStatus(byFile, 0)
        #expect(byFile.stdout.contains("\"would-apply\""), "\(byFile.stdout)")
        let byEnv = try hookRunnerRun(["apply", "--dry-run", "--json", "--config", config, target],
                                      env: ["GUARD_HOOKS_ALLOW_ROOTS": "/media"])
        #expect(byEnv.stdout.contains("\"refused\""), "\(byEnv.stdout)")
        let byFlag = try hookRunnerRun(["apply", "--dry-run", "--json", "--config", config, "--allow-root", t.path, target],
                                       env: ["GUARD_HOOKS_ALLOW_ROOTS": "/media"])
        #expect(byFlag.stdout.contains("\"would-apply\""), "\(byFlag.stdout)")
    }

    @Test func malformedFileAndUnknownKeyNameFileAndLine() throws {
        let t = try TempDir("bad")
        defer { t.remove() }
        let unknown = try t.write("unknown.toml", "# site config\nstore = \"/var/lib/guard-hooks/guards.db\"\ntimout = 30\n")
        expectError(try hookRunnerRun(["guards", "--config", unknown]), 64, "\(unknown):3: unknown key \"timout\"")
        let malformed = try t.write("malformed.toml", "sealed = [\n  \"/mnt/a\",\n  /mnt/b,\n]\n")
        expectError(try hookRunnerRun(["seal", "--dry-run", "--config", malformed]), 64, "\(malformed):3:", "strings need quotes")
        // Through GUARD_HOOKS_CONFIG, and for every command (doctor here).
        expectError(try hookRunnerRun(["doctor"], env: ["GUARD_HOOKS_CONFIG": malformed]), 64, "\(malformed):3:")
        // A named file must exist; the default one need not (covered by every other test of the suite).
        expectError(try hookRunnerRun(["guards", "--config", t.sub("missing.toml")]), 64, "\(t.sub("missing.toml")): No such file")
        expectError(try hookRunnerRun(["guards"], env: ["GUARD_HOOKS_CONFIG": t.sub("missing.toml")]), 64, "missing.toml")
        // Bad environment values are usage errors too.
        expectError(try hookRunnerRun(["guards"], env: ["GUARD_HOOKS_LOCK_TIMEOUT": "soon"]), 64, "GUARD_HOOKS_LOCK_TIMEOUT=soon")
        expectError(try hookRunnerRun(["guards"], env: ["GUARD_HOOKS_LOG_LEVEL": "loud"]), 64, "GUARD_HOOKS_LOG_LEVEL=loud")
    }

    @Test func shippedExampleConfigParses() throws {
        let r = try hookRunnerRun(["guards", "--config", "\(packageRoot)/packaging/config.toml", "--db", "/nonexistent/g.db"])
        expectStatus(r, 0)
    }
}
