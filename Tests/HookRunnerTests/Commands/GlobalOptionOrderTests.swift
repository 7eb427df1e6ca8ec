import Foundation
import GuardTestSupport
import Testing

/// Every global option works before the subcommand name as well as after it, in both its
/// spellings (`--db X`, `--db=X`); what cannot be a global option is left to the parser.
extension HookRunnerTests {
    @Suite struct GlobalOptionOrder {
        /// `args` with `option` (one or two arguments) before `command` and after it.
        static func bothPositions(_ command: [String], _ option: [String], _ rest: [String] = []) -> [[String]] {
            [option + command + rest, command + option + rest]
        }

        /// The spellings of a valued option: `--name value` and `--name=value`.
        static func spellings(_ name: String, _ value: String) -> [[String]] { [[name, value], ["\(name)=\(value)"]] }

        @Test(sandboxed) func dbAndConfigNameTheStore() throws {
            let dir = try Sandbox.make("cli-order-store")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            // Not SQLite databases: the error names the store a command opened.
            let flagStore = dir.sub("flag.db"), fileStore = dir.sub("file.db")
            try "not a database\n".write(toFile: flagStore, atomically: false, encoding: .utf8)
            try "not a database\n".write(toFile: fileStore, atomically: false, encoding: .utf8)
            let config = dir.sub("config.toml")
            try "store = \"\(fileStore)\"\n".write(toFile: config, atomically: false, encoding: .utf8)
            let bare: [String: String?] = ["GUARD_HOOKS_DB": nil]
            for spelling in Self.spellings("--db", flagStore) {
                for args in Self.bothPositions(["guards"], spelling) {
                    expectError(try cli.run(args, env: bare), 70, flagStore)
                }
            }
            for spelling in Self.spellings("--config", config) {
                for args in Self.bothPositions(["guards"], spelling) {
                    expectError(try cli.run(args, env: bare), 70, fileStore)
                }
            }
            // A nested command: the options go behind `import proxsave`.
            let index = dir.sub("index")
            try "".write(toFile: index, atomically: false, encoding: .utf8)
            for args in Self.bothPositions(["import", "proxsave"], ["--db", flagStore], ["--dry-run", index]) {
                expectError(try cli.run(args, env: bare), 70, flagStore)
            }
        }

        @Test(sandboxed) func allowRootJsonAndDryRunWorkBeforeOrAfterTheCommand() throws {
            let dir = try Sandbox.make("cli-order-flags")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let t = try dir.mkdir("t")
            let elsewhere: [String: String?] = ["GUARD_HOOKS_ALLOW_ROOTS": "/media"]
            for spelling in Self.spellings("--allow-root", dir.path) {
                for args in Self.bothPositions(["apply"], spelling, ["--dry-run", "--json", t]) {
                    let r = try cli.run(args, env: elsewhere)
                    expectStatus(r, 0)
                    #expect(try objects(try parseJSON(r), "results").first?["outcome"] as? String == "would-apply", "\(args)")
                }
            }
            for args in Self.bothPositions(["guards"], ["--json"]) {
                let r = try cli.run(args)
                expectStatus(r, 0)
                #expect(try objects(try parseJSON(r), "guards").isEmpty, "\(args)")
            }
            for args in Self.bothPositions(["apply"], ["--dry-run"], [t]) {
                let r = try cli.run(args)
                expectStatus(r, 0)
                #expect(r.stdout.contains("would-apply"), "\(args): \(r.stdout)")
            }
            #expect(!FileManager.default.fileExists(atPath: cli.db), "dry runs create no store")
            // All of them at once, before the name; the command's own options still after it.
            let r = try cli.run(["--json", "--dry-run", "--allow-root", dir.path, "--db", cli.db, "apply", "--kind", "bind", t],
                                env: elsewhere)
            expectStatus(r, 0)
            #expect(try objects(try parseJSON(r), "results").first?["outcome"] as? String == "would-apply")
        }

        @Test(sandboxed) func whatIsNotAGlobalOptionIsLeftToTheParser() throws {
            let dir = try Sandbox.make("cli-order-parser")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            expectError(try cli.run(["--bogus", "guards"]), 64, "--bogus")
            expectError(try cli.run(["--timeout", "5", "guards"]), 64, "--timeout")
            // --dry-run moved to a command without it: that command says so.
            expectError(try cli.run(["--dry-run", "guards"]), 64, "--dry-run")
            // A value but no subcommand, or no value at all.
            expectStatus(try cli.run(["--db", cli.db]), 64)
            expectStatus(try cli.run(["guards", "--db"]), 64)
            let version = try cli.run(["--version"])
            expectStatus(version, 0)
            #expect(!version.stdout.isEmpty)
            let help = try cli.run(["--json", "guards", "--help"])
            expectStatus(help, 0)
            #expect(help.stdout.contains("--outstanding"), "\(help.stdout)")
            // A global option's value that looks like a subcommand is still a value.
            let r = try cli.run(["--db", dir.sub("guards"), "guards", "--json"])
            expectStatus(r, 0)
            #expect(try objects(try parseJSON(r), "guards").isEmpty)
        }
    }
}
