import Foundation
import GuardHooks
import GuardStore
import GuardTestSupport
import Testing
import Glibc

/// Crash consistency (RELIABILITY.md §1): `hook-runner apply` or `clear` on 50 targets is
/// killed with SIGKILL at a random moment (a random delay after spawn, or one of the
/// write-ahead fault points); then `hook-runner reconcile`, then the invariant. The CI run
/// makes 20 trials; `scripts/reliability crash N` sets `RELIABILITY_CRASH_TRIALS=N`.
extension ReliabilityTests {
    @Suite(.serialized) struct Crash {
        enum Kill: String, CaseIterable { case delay, afterIntent = "after-intent", afterKernel = "after-kernel" }

        @Test(sandboxed) func killedCommandsAreSettledByReconcile() throws {
            let trials = knob("RELIABILITY_CRASH_TRIALS", 20)
            let seed = SplitMix64.seed(for: "ReliabilityTests.Crash", variables: ["RELIABILITY_SEED", SplitMix64.replayVariable])
            var rng = SplitMix64(seed: seed)
            let dir = try Sandbox.make("rel-crash")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let targets = try (0..<50).map { try dir.mkdir(String(format: "t%02d", $0)) }

            // Typical run time of a full apply and a full clear (the range the kill delay is drawn from).
            var t0 = monotonicNow()
            try #require(try cli.run(["apply", "--kind", "bind"] + targets).status == 0)
            let applyTime = monotonicNow() - t0
            t0 = monotonicNow()
            try #require(try cli.run(["clear"] + targets).status == 0)
            let clearTime = monotonicNow() - t0

            var counts: [String: Int] = [:]
            var violations: [String] = []
            var settled = 0
            for trial in 1...trials {
                let kill = Kill.allCases[Int(rng.next() % 3)]
                let op: [String]
                let kindWord = ["bind", "immutable", "auto"][Int(rng.next() % 3)]
                let shuffled = targets.shuffled(using: &rng)
                switch rng.next() % 10 {
                case 0..<5: op = ["apply", "--kind", kindWord] + shuffled
                case 5..<9: op = ["clear"] + shuffled
                default: op = ["clear", "--all"]
                }
                var env = cli.environment
                if kill != .delay { env["GUARD_HOOKS_TEST_FAULT"] = kill.rawValue }
                let child = try Child([hookRunnerBinary] + op, environment: env)
                if kill == .delay {
                    let typical = op[0] == "apply" ? applyTime : clearTime
                    let delay = Double(rng.next() % 1_000_000) / 1_000_000 * typical
                    usleep(useconds_t(delay * 1_000_000))
                    child.kill()
                }
                let status = child.wait()
                let name = op[0] == "apply" ? "apply-\(kindWord)" : (op.count == 2 ? "clear-all" : "clear")
                counts["\(name)/\(kill.rawValue)/\(status == 137 ? "killed" : "exit \(status)")", default: 0] += 1

                let rec = try cli.run(["reconcile", "--json"])
                if rec.status != 0 {
                    violations.append("trial \(trial): reconcile exit \(rec.status): \(rec.stderr)")
                } else if let doc = try? JSONSerialization.jsonObject(with: Data(rec.stdout.utf8)) as? [String: Any] {
                    settled += (doc["changes"] as? [Any])?.count ?? 0
                }
                for v in try invariantViolations(dir: dir, db: cli.db, targets: targets) {
                    violations.append("trial \(trial) (\(op.prefix(3).joined(separator: " ")) …, \(kill.rawValue)): \(v)")
                }
            }
            let killed = counts.filter { $0.key.hasSuffix("killed") }.values.reduce(0, +)
            report("crash: trials=\(trials) killed=\(killed) finished-before-kill=\(trials - killed) "
                   + "rows-settled-by-reconcile=\(settled) violations=\(violations.count) seed=\(seed) "
                   + String(format: "typical-apply=%.3fs typical-clear=%.3fs", applyTime, clearTime))
            for (k, v) in counts.sorted(by: { $0.key < $1.key }) { report("crash:   \(k): \(v)") }
            for v in violations.prefix(20) { report("crash: VIOLATION \(v)") }
            #expect(violations.isEmpty, "\(violations.count) violations, first: \(violations.prefix(5))")
            #expect(killed > 0, "no trial was actually interrupted")
        }
    }
}
