import Foundation
import GuardTestSupport
import Testing

extension HookRunnerTests {
    /// The streaming JSON writer of the query commands: any text survives a round trip
    /// through a real JSON parser, and keys are sorted snake_case.
    @Suite(.enabled(if: Sandbox.isAvailable, "needs root in a private mount namespace with a tmpfs on /mnt (scripts/test)"))
    struct JSONOutput {
        @Test func awkwardTextRoundTrips() throws {
            let dir = try Sandbox.make("json")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let target = try dir.mkdir("a \"quoted\" \\ dir é/ü")
            let label = "q\"b\\s/\t\u{1}\u{1F}\u{7F}é\u{1F600} \r\u{8}\u{C}end"
            expectStatus(try cli.run(["apply", "--label", label, target]), 0)
            let (_, guards) = try cli.json(["guards"])
            let row = try #require(try objects(guards, "guards").first)
            #expect(row["label"] as? String == label)
            #expect(row["path"] as? String == target)
            #expect(row["pending_action"] == nil, "no value: the key is left out")
            let r = try cli.run(["guards", "--json"])
            let keys = try #require(r.stdout.range(of: "\"boot_id\"")?.lowerBound)
            #expect(r.stdout[keys...].hasPrefix("\"boot_id\":\""), "keys sorted: boot_id comes first")
            #expect(r.stdout.hasSuffix("}\n") && !r.stdout.contains("\\/"))

            let (_, history) = try cli.json(["history", target])
            #expect(try objects(history, "events").map { $0["to_state"] as? String } == ["pending", "applied"])
            let (_, runs) = try cli.json(["runs"])
            #expect(try objects(runs, "runs").isEmpty)
        }
    }
}
