import Foundation
import GuardHooks
import GuardStore
import GuardTestSupport
import Testing
import Glibc

/// Concurrency (RELIABILITY.md §2): 8 processes at a time, each doing random operations
/// (apply, clear, guards, history, reconcile) through the CLI on 20 shared targets, with the
/// default lock timeout (10 s). Every exit code must be one the operation may legitimately
/// return; no path may ever show two outstanding guards; the invariant holds at the end.
/// CI: 8 × 12 operations; `scripts/reliability concurrency` sets `RELIABILITY_OPS=100`.
extension ReliabilityTests {
    @Suite(.serialized) struct Concurrency {
        /// The exit codes each operation may return (README: exit codes). apply: 0, or 75 when a
        /// guard stays pending or the lock is busy; clear: 0, or 75 for a deferred clear / busy.
        static let legitimate: [String: Set<Int32>] = [
            "apply": [0, 75], "clear": [0, 75], "clear-all": [0, 75],
            "guards": [0], "history": [0], "reconcile": [0, 75],
        ]

        final class Tally: @unchecked Sendable {
            let lock = NSLock()
            var codes: [String: Int] = [:]
            var busy = 0
            var unexpected: [String] = []
            var duplicates: [String] = []
            func add(_ body: (Tally) -> Void) { lock.lock(); body(self); lock.unlock() }
        }

        @Test(sandboxed) func eightWritersKeepTheInvariant() throws {
            let workers = knob("RELIABILITY_WORKERS", 8)
            let ops = knob("RELIABILITY_OPS", 12)
            // One seed; worker w draws from seed + w·7919 (the interleaving stays the kernel's).
            let seed = SplitMix64.seed(for: "ReliabilityTests.Concurrency", variables: ["RELIABILITY_SEED", SplitMix64.replayVariable])
            let dir = try Sandbox.make("rel-conc")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let targets = try (0..<20).map { try dir.mkdir(String(format: "c%02d", $0)) }
            let tally = Tally()
            let done = DispatchSemaphore(value: 0)
            let start = monotonicNow()

            for w in 0..<workers {
                let thread = Thread {
                    var rng = SplitMix64(seed: seed &+ UInt64(w) &* 7919)
                    for _ in 0..<ops {
                        let pick = { (n: Int) in (0..<n).map { _ in targets[Int(rng.next() % 20)] } }
                        let name: String, args: [String]
                        switch rng.next() % 100 {
                        case 0..<35:
                            let kind = ["bind", "immutable", "auto"][Int(rng.next() % 3)]
                            name = "apply"; args = ["apply", "--kind", kind] + pick(1 + Int(rng.next() % 5))
                        case 35..<60: name = "clear"; args = ["clear"] + pick(1 + Int(rng.next() % 5))
                        case 60..<65: name = "clear-all"; args = ["clear", "--all"]
                        case 65..<80: name = "guards"; args = ["guards", "--outstanding", "--json"]
                        case 80..<90: name = "history"; args = ["history"] + pick(Int(rng.next() % 2))
                        default: name = "reconcile"; args = ["reconcile"]
                        }
                        guard let r = try? cli.run(args) else {
                            tally.add { $0.unexpected.append("\(args): could not spawn") }
                            continue
                        }
                        let isBusy = r.status == 75 && r.stderr.contains("another hook-runner holds the lock")
                        var duplicate: String?
                        if name == "guards", r.status == 0,
                           let doc = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
                           let rows = doc["guards"] as? [[String: Any]] {
                            let paths = rows.compactMap { $0["path"] as? String }
                            if Set(paths).count != paths.count { duplicate = paths.sorted().joined(separator: ",") }
                        }
                        tally.add { t in
                            t.codes["\(name) \(r.status)\(isBusy ? " (lock busy)" : "")", default: 0] += 1
                            if isBusy { t.busy += 1 }
                            if !(Self.legitimate[name]?.contains(r.status) ?? false) {
                                t.unexpected.append("\(args.joined(separator: " ")) → \(r.status): \(r.stderr.prefix(300))")
                            }
                            if let duplicate { t.duplicates.append(duplicate) }
                        }
                    }
                    done.signal()
                }
                thread.start()
            }
            for _ in 0..<workers { done.wait() }
            let elapsed = monotonicNow() - start

            let rec = try cli.run(["reconcile"])
            #expect(rec.status == 0, "final reconcile: \(rec.stderr)")
            let violations = try invariantViolations(dir: dir, db: cli.db, targets: targets)
            let total = tally.codes.values.reduce(0, +)
            report("concurrency: workers=\(workers) ops-each=\(ops) total=\(total) unexpected-exit-codes=\(tally.unexpected.count) "
                   + "lock-busy-75=\(tally.busy) duplicate-outstanding=\(tally.duplicates.count) "
                   + "invariant-violations=\(violations.count) seed=\(seed) " + String(format: "wall=%.1fs", elapsed))
            for (k, v) in tally.codes.sorted(by: { $0.key < $1.key }) { report("concurrency:   \(k): \(v)") }
            for u in tally.unexpected.prefix(10) { report("concurrency: UNEXPECTED \(u)") }
            for v in violations.prefix(10) { report("concurrency: VIOLATION \(v)") }
            #expect(tally.unexpected.isEmpty, "\(tally.unexpected.prefix(5))")
            #expect(tally.duplicates.isEmpty, "\(tally.duplicates.prefix(5))")
            #expect(violations.isEmpty, "\(violations.prefix(5))")
        }
    }
}
