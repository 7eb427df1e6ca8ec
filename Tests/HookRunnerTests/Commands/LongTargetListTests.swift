import Foundation
import GuardTestSupport
import Testing

extension HookRunnerTests {
    /// Long target lists bypass the argument parser's quadratic path (LongTargetList): the
    /// same commands must mean the same thing with 3 targets or 150.
    @Suite(.enabled(if: Sandbox.isAvailable, "needs root in a private mount namespace with a tmpfs on /mnt (scripts/test)"))
    struct LongTargetLists {
        static let count = 150

        func targets(_ dir: SandboxDirectory) throws -> [String] {
            try (1...Self.count).map { try dir.mkdir(String(format: "t%03d", $0)) }
        }

        @Test func applyAndClearEveryTargetWithOptionsBeforeThem() throws {
            let dir = try Sandbox.make("long")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let paths = try targets(dir)
            let (r, doc) = try cli.json(["apply", "--kind", "immutable", "--label", "bulk"] + paths)
            expectStatus(r, 0)
            let results = try objects(doc, "results")
            #expect(results.count == Self.count)
            #expect(results.allSatisfy { $0["outcome"] as? String == "applied" })
            #expect(results.map { $0["path"] as? String } == paths)
            let (_, guards) = try cli.json(["guards", "--outstanding"])
            let rows = try objects(guards, "guards")
            #expect(rows.count == Self.count && rows.allSatisfy { $0["label"] as? String == "bulk" })
            #expect(try lsattr(paths[Self.count - 1]).contains("i"))

            // After `--`, as the shipped hooks call it.
            let c = try cli.run(["clear", "--json", "--"] + paths)
            expectStatus(c, 0)
            let cleared = try parseJSON(c)
            #expect(try objects(cleared, "results").allSatisfy { $0["outcome"] as? String == "cleared" })
            #expect(try !lsattr(paths[0]).contains("i"))
        }

        @Test func runPassesThePhaseAndEveryTarget() throws {
            let dir = try Sandbox.make("long-run")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let hooks = try makeHooksDir(dir)
            let out = dir.sub("seen")
            try writeHook(hooks, "10-count", "echo \"$1 $(($# - 1))\" > '\(out)'; printf '%s\\n' \"$GUARD_HOOKS_TARGETS\" | wc -l >> '\(out)'")
            let paths = (1...Self.count).map { dir.sub("absent-\($0)") }
            expectStatus(try cli.run(["run", "--hooks-dir", hooks, "--timeout", "30", "post-mount"] + paths), 0)
            let seen = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            #expect(seen == ["post-mount \(Self.count)", "\(Self.count)"])
        }

        @Test func commandsWithoutATargetListStillRefuseExtraArguments() throws {
            let dir = try Sandbox.make("long-refuse")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let paths = (1...Self.count).map { dir.sub("x\($0)") }
            expectError(try cli.run(["unseal"] + paths), 64)
            expectError(try cli.run(["history"] + paths), 64)
            expectError(try cli.run(["clear", "--all"] + paths), 64, "not both")
        }
    }
}
