import Foundation
@testable import GuardHooks
import Testing

/// The schema on top of the parser, the file loading rules, and the layering.
@Suite struct ConfigFileTests {
    @Test func everyKey() throws {
        let c = try ConfigFile.parse("""
            allowed_roots = ["/mnt", "/srv/storage/"]
            store = "/var/lib/g/guards.db"
            hooks_dir = "/etc/g/hooks.d"
            timeout = 60
            lock_timeout = 2.5
            probe_timeout = 3
            sealed = [
                "/mnt/storage",
                "/mnt/backup",
            ]
            phases = ["pre-verify", "post-verify"]
            """, file: "c.toml")
        #expect(c == ConfigFile(allowedRoots: ["/mnt", "/srv/storage"], store: "/var/lib/g/guards.db", hooksDir: "/etc/g/hooks.d",
                                timeout: 60, lockTimeout: 2.5, probeTimeout: 3, sealed: ["/mnt/storage", "/mnt/backup"],
                                phases: ["pre-verify", "post-verify"]))
        #expect(try ConfigFile.parse("# nothing set\n", file: "c.toml") == ConfigFile())
    }

    /// (text, line, fragment): schema errors name the line of the key.
    static let refused: [(String, Int, String)] = [
        ("store = \"/x\"\ntimeot = 3", 2, "unknown key \"timeot\""),
        ("[paths]\nstore = \"/x\"", 1, "tables"),
        ("allowed_roots = \"/mnt\"", 1, "allowed_roots must be an array of strings, not a string"),
        ("allowed_roots = [1]", 1, "strings only, not an integer"),
        ("allowed_roots = []", 1, "allowed_roots is empty"),
        ("allowed_roots = [\"/\"]", 1, "allowed_roots: /"),
        ("allowed_roots = [\"mnt\"]", 1, "not an absolute path"),
        ("store = 5", 1, "store must be a string, not an integer"),
        ("store = \"guards.db\"", 1, "store must be an absolute path"),
        ("hooks_dir = \"hooks.d\"", 1, "hooks_dir must be an absolute path"),
        ("timeout = \"300\"", 1, "timeout must be a number of seconds, not a string"),
        ("timeout = 0", 1, "more than 0"),
        ("timeout = 90000", 1, "at most 86400"),
        ("lock_timeout = -1", 1, "between 0 and 86400"),
        ("lock_timeout = true", 1, "not a boolean"),
        ("probe_timeout = 0", 1, "probe_timeout must be more than 0"),
        ("probe_timeout = \"5\"", 1, "probe_timeout must be a number of seconds, not a string"),
        ("\n\nsealed = \"/mnt/storage\"", 3, "sealed must be an array of strings"),
        ("sealed = [\"relative\"]", 1, "not an absolute path"),
        ("sealed = [\"/mnt/a\\nb\"]", 1, "control character"),
        ("phases = \"pre-verify\"", 1, "phases must be an array of strings"),
        ("phases = [\"Pre-Verify\"]", 1, "phases: \"Pre-Verify\": use lower-case letters, digits and '-'"),
    ]

    @Test(arguments: refused) func refuses(_ text: String, _ line: Int, _ fragment: String) {
        do {
            _ = try ConfigFile.parse(text, file: "/etc/guard-hooks/config.toml")
            Issue.record("accepted \(text.debugDescription)")
        } catch {
            #expect(error.line == line, "\(error)")
            #expect(error.description.hasPrefix("/etc/guard-hooks/config.toml:\(line): "), "\(error)")
            #expect(error.description.contains(fragment), "\(error)")
        }
    }

    @Test func missingFileIsFineOnlyWhenNotNamed() throws {
        let path = "/nonexistent-\(UInt32.random(in: 0...UInt32.max))/config.toml"
        #expect(try ConfigFile.load(path: path, required: false) == nil)
        #expect(throws: ConfigError(file: path, line: nil, message: "No such file or directory")) {
            try ConfigFile.load(path: path, required: true)
        }
    }

    @Test func loadsAndReportsBadBytesWithTheirLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ops-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.toml").path
        try "sealed = [\"/mnt/s\"]\n".write(toFile: good, atomically: true, encoding: .utf8)
        #expect(try ConfigFile.load(path: good, required: true)?.sealed == ["/mnt/s"])
        let bad = dir.appendingPathComponent("bad.toml").path
        _ = FileManager.default.createFile(atPath: bad, contents: Data(Array("# ok\nstore = \"/x".utf8) + [0xFF] + Array("\"\n".utf8)))
        #expect(throws: ConfigError(file: bad, line: 2, message: "not valid UTF-8")) { try ConfigFile.load(path: bad, required: true) }
        #expect(throws: ConfigError.self) { try ConfigFile.load(path: dir.path, required: true) }
    }

    // MARK: layering

    var file: ConfigFile {
        var f = ConfigFile(allowedRoots: ["/srv"], store: "/file/g.db", hooksDir: "/file/hooks.d", timeout: 30, lockTimeout: 3,
                           probeTimeout: 4, sealed: ["/mnt/file"])
        f.claimWarnAfter = 3600
        return f
    }
    let env = ["GUARD_HOOKS_DB": "/env/g.db", "GUARD_HOOKS_ALLOW_ROOTS": "/env1:/env2", "GUARD_HOOKS_DIR": "/env/hooks.d",
               "GUARD_HOOKS_TIMEOUT": "20", "GUARD_HOOKS_LOCK_TIMEOUT": "2", "GUARD_HOOKS_SEAL": "/mnt/e1:/mnt/e2",
               "GUARD_HOOKS_CLAIM_WARN_AFTER": "60", "GUARD_HOOKS_PROBE_TIMEOUT": "1.5"]

    @Test func defaultsWhenNothingIsSet() throws {
        let s = try Settings.resolve(flags: .init(), environment: [:], file: nil)
        #expect(s.storePath == "/var/lib/guard-hooks/guards.db" && s.allowedRoots == ["/mnt", "/media", "/run/media"])
        #expect(s.hooksDir == "/etc/guard-hooks/hooks.d" && s.timeout == 300 && s.lockTimeout == 10 && s.probeTimeout == 5 && s.sealed.isEmpty)
        #expect(Set(s.sources.values) == [.default])
    }

    @Test func fileOverDefault() throws {
        let s = try Settings.resolve(flags: .init(), environment: [:], file: file)
        #expect(s.storePath == "/file/g.db" && s.allowedRoots == ["/srv"] && s.hooksDir == "/file/hooks.d")
        #expect(s.timeout == 30 && s.lockTimeout == 3 && s.probeTimeout == 4 && s.sealed == ["/mnt/file"] && s.claimWarnAfter == 3600)
        #expect(Set(s.sources.values) == [.file])
    }

    @Test func environmentOverFile() throws {
        let s = try Settings.resolve(flags: .init(), environment: env, file: file)
        #expect(s.storePath == "/env/g.db" && s.allowedRoots == ["/env1", "/env2"] && s.hooksDir == "/env/hooks.d")
        #expect(s.timeout == 20 && s.lockTimeout == 2 && s.probeTimeout == 1.5 && s.sealed == ["/mnt/e1", "/mnt/e2"] && s.claimWarnAfter == 60)
        #expect(Set(s.sources.values) == [.environment])
        // Empty means unset: the file shows through.
        let empty = try Settings.resolve(flags: .init(), environment: env.mapValues { _ in "" }, file: file)
        #expect(empty == (try Settings.resolve(flags: .init(), environment: [:], file: file)))
    }

    @Test func flagOverEnvironment() throws {
        let s = try Settings.resolve(flags: .init(store: "/flag/g.db", allowedRoots: ["/flag"], hooksDir: "/flag/hooks.d", timeout: 10),
                                     environment: env, file: file)
        #expect(s.storePath == "/flag/g.db" && s.allowedRoots == ["/flag"] && s.hooksDir == "/flag/hooks.d" && s.timeout == 10)
        #expect(s.sources["store"] == .flag && s.sources["timeout"] == .flag)
        // No flag for these two: the environment still wins over the file.
        #expect(s.lockTimeout == 2 && s.sealed == ["/mnt/e1", "/mnt/e2"])
    }

    @Test(arguments: [("GUARD_HOOKS_TIMEOUT", "0"), ("GUARD_HOOKS_TIMEOUT", "soon"), ("GUARD_HOOKS_LOCK_TIMEOUT", "-1"),
                      ("GUARD_HOOKS_LOCK_TIMEOUT", "1e9"), ("GUARD_HOOKS_PROBE_TIMEOUT", "0"), ("GUARD_HOOKS_ALLOW_ROOTS", "/mnt:relative")])
    func badEnvironmentIsAnError(_ name: String, _ value: String) {
        let error = #expect(throws: SettingsError.self) { try Settings.resolve(flags: .init(), environment: [name: value], file: nil) }
        #expect(error?.description.hasPrefix(name) == true, "\(String(describing: error))")
    }

    @Test func whichConfigFile() {
        #expect(Settings.configFile(flag: nil, environment: [:]) == ("/etc/guard-hooks/config.toml", false))
        #expect(Settings.configFile(flag: nil, environment: ["GUARD_HOOKS_CONFIG": "/e.toml"]) == ("/e.toml", true))
        #expect(Settings.configFile(flag: "/f.toml", environment: ["GUARD_HOOKS_CONFIG": "/e.toml"]) == ("/f.toml", true))
        #expect(Settings.configFile(flag: nil, environment: ["GUARD_HOOKS_CONFIG": ""]) == ("/etc/guard-hooks/config.toml", false))
    }
}
