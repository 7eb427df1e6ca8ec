import Foundation
import GuardHooks
import GuardStore
import GuardTestSupport
import Testing
import Glibc

/// Claims under concurrency (issue 12): 8 processes, each a /bin/sh loop of 100 operations
/// on 3 shared targets: `apply --claim wN T`, then a write below T that the kernel must refuse
/// (EROFS), then `clear --claim wN T`. A guard must be in the kernel exactly while at least one
/// claim on it is live. The workers see one side (their claim is live: the write fails); a
/// monitor sees both, between commands, by taking the writers' lock: live claims in the store,
/// mounts in mountinfo and a write probe must agree. `RELIABILITY_CLAIM_OPS` sets the
/// operations per worker, `RELIABILITY_SEED` the seed (printed).
extension ReliabilityTests {
    @Suite(.serialized) struct ClaimsConcurrency {
        /// What the monitor saw, shared with its thread.
        final class Observations: @unchecked Sendable {
            let lock = NSLock()
            var samples = 0
            var claimedSamples = 0
            var unclaimedSamples = 0
            var busy = 0
            var mismatches: [String] = []
            var stop = false
            func add(_ body: (Observations) -> Void) { lock.lock(); body(self); lock.unlock() }
            var stopped: Bool { lock.lock(); defer { lock.unlock() }; return stop }
        }

        @Test(sandboxed) func claimsKeepEachGuardExactlyWhileLive() throws {
            let workers = knob("RELIABILITY_WORKERS", 8)
            let ops = knob("RELIABILITY_CLAIM_OPS", 100)
            let seed = SplitMix64.seed(for: "ReliabilityTests.ClaimsConcurrency", variables: ["RELIABILITY_SEED", SplitMix64.replayVariable])
            report("claims-concurrency: seed=\(seed) (RELIABILITY_SEED=\(seed) repeats this run)")
            let dir = try Sandbox.make("rel-claims")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let targets = try (0..<3).map { try dir.mkdir("t\($0)") }
            // The store exists before the monitor starts, so it never races its creation (a
            // query creates no store; a write, even one with nothing to do, does).
            #expect(try cli.run(["clear", "--all"]).status == 0)

            var rng = SplitMix64(seed: seed)
            var children: [Child] = []
            let start = monotonicNow()
            for w in 0..<workers {
                let picks = (0..<ops).map { _ in targets[Int(rng.next() % UInt64(targets.count))] }
                children.append(try Child(["/bin/sh", "-c", Self.workerScript(claim: "w\(w)", targets: picks,
                                                                                results: dir.sub("w\(w).results"))],
                                          environment: cli.environment.merging(["HOOK_RUNNER": hookRunnerBinary]) { $1 }))
            }
            let seen = Observations()
            let monitor = Thread { Self.monitor(db: cli.db, targets: targets, into: seen) }
            monitor.start()
            let statuses = children.map { $0.wait() }
            let elapsed = monotonicNow() - start
            seen.add { $0.stop = true }
            while !monitor.isFinished { usleep(10_000) }

            // What the workers saw, one line per operation: `apply T STATUS OUTCOME`,
            // `write T refused|WRITTEN|other error`, `clear T STATUS OUTCOME` (a failed command: its error line).
            var tally: [String: Int] = [:]
            var bad: [String] = []
            for w in 0..<workers {
                for line in try String(contentsOfFile: dir.sub("w\(w).results"), encoding: .utf8).split(separator: "\n") {
                    let f = line.split(separator: " ", maxSplits: 3).map(String.init)
                    guard f.count >= 3 else { bad.append("w\(w): \(line)"); continue }
                    let key = ([f[0]] + f.dropFirst(2)).joined(separator: " ")
                    tally[key, default: 0] += 1
                    switch (f[0], f[2]) {
                    case ("apply", "0"), ("clear", "0"), ("write", "refused"): break
                    default: bad.append("w\(w): \(line)")
                    }
                }
            }
            let applied = tally.filter { $0.key.hasPrefix("apply 0") }.values.reduce(0, +)

            // At the end: no guard, no mount, every claim released by its job, the store intact.
            let store = try GuardStore.open(path: cli.db, mode: .readOnly)
            defer { store.close() }
            let outstanding = try store.outstandingGuards()
            let allClaims = try store.guards(state: .cleared).flatMap { try store.claims(guardID: $0.id) }
            let liveLeft = try store.liveClaims().values.joined().count
            let mounts = Sandbox.mountPoints(under: dir.path)
            let integrity = try store.database.rows("PRAGMA integrity_check") { $0.text(0) }
            let violations = try invariantViolations(dir: dir, db: cli.db, targets: targets)

            report("claims-concurrency: workers=\(workers) ops-each=\(ops) targets=\(targets.count) "
                   + String(format: "wall=%.1fs ", elapsed) + "worker-exit=\(Set(statuses).sorted()) claims=\(allClaims.count) "
                   + "monitor-samples=\(seen.samples) (claimed \(seen.claimedSamples), unclaimed \(seen.unclaimedSamples), "
                   + "lock-busy \(seen.busy)) mismatches=\(seen.mismatches.count) unexpected=\(bad.count)")
            for (k, v) in tally.sorted(by: { $0.key < $1.key }) { report("claims-concurrency:   \(k): \(v)") }
            for m in seen.mismatches.prefix(10) { report("claims-concurrency: MISMATCH \(m)") }
            for b in bad.prefix(10) { report("claims-concurrency: UNEXPECTED \(b)") }

            #expect(statuses.allSatisfy { $0 == 0 }, "worker exit statuses \(statuses)")
            #expect(bad.isEmpty, "\(bad.prefix(5))")
            #expect(seen.mismatches.isEmpty, "\(seen.mismatches.prefix(5))")
            #expect(tally.values.reduce(0, +) == workers * ops * 3, "every operation reported")
            #expect(tally["clear 0 held", default: 0] > 0, "claims overlapped at least once")
            #expect(outstanding.isEmpty, "\(outstanding.map(\.path))")
            #expect(mounts.isEmpty, "\(mounts)")
            #expect(liveLeft == 0)
            #expect(allClaims.count == applied, "one claim per successful apply")
            #expect(allClaims.allSatisfy { $0.releaseReason == "released by its job" },
                    "\(Set(allClaims.compactMap(\.releaseReason)))")
            #expect(integrity == ["ok"])
            #expect(violations.isEmpty, "\(violations.prefix(5))")
            for t in targets { #expect(canWriteProbe(t) == .writable, "\(t) is writable again") }
        }

        /// One worker: for each target in turn, claim it, check the kernel refuses a write below
        /// it, release it. Every step appends `OP TARGET RESULT [OUTCOME]` to `results`.
        static func workerScript(claim: String, targets: [String], results: String) -> String {
            """
            set -u
            out='\(results)'
            : > "$out"
            for t in \(targets.map { "'\($0)'" }.joined(separator: " ")); do
                r=$("$HOOK_RUNNER" apply --claim \(claim) "$t" 2>&1); rc=$?
                echo "apply $t $rc $(printf '%s\\n' "$r" | awk -v rc=$rc 'rc != 0 && NR == 1 {print; exit} NR == 2 {print $1}')" >> "$out"
                if touch "$t/probe-\(claim)" 2> "$out.err"; then
                    echo "write $t WRITTEN" >> "$out"; rm -f "$t/probe-\(claim)"
                elif grep -q 'Read-only file system' "$out.err"; then
                    echo "write $t refused" >> "$out"
                else
                    echo "write $t other-error $(head -c 200 "$out.err")" >> "$out"
                fi
                r=$("$HOOK_RUNNER" clear --claim \(claim) "$t" 2>&1); rc=$?
                echo "clear $t $rc $(printf '%s\\n' "$r" | awk -v rc=$rc 'rc != 0 && NR == 1 {print; exit} NR == 2 {print $1}')" >> "$out"
            done
            """
        }

        /// Samples the store and the kernel until told to stop.
        static func monitor(db: String, targets: [String], into seen: Observations) {
            while !seen.stopped {
                defer { usleep(5_000) }
                guard let (claimed, lines) = sample(db: db, targets: targets) else {
                    seen.add { $0.busy += 1 }
                    continue
                }
                seen.add {
                    $0.samples += 1
                    $0.claimedSamples += claimed
                    $0.unclaimedSamples += targets.count - claimed
                    $0.mismatches += lines
                }
            }
        }

        /// One look between commands (holding the writers' lock, so no command is half done):
        /// for each target, a live claim, a mount at the target and a refused write must go
        /// together. Returns how many targets were claimed and each disagreement; nil when the
        /// lock stayed busy.
        static func sample(db: String, targets: [String]) -> (claimed: Int, mismatches: [String])? {
            guard let lock = try? StoreLock.acquire(path: db + ".lock", timeout: 0.5) else { return nil }
            defer { lock.release() }
            let store: GuardStore
            do { store = try GuardStore.open(path: db, mode: .readOnly) } catch { return (0, ["cannot open the store: \(error)"]) }
            defer { store.close() }
            let live = (try? store.liveClaims()) ?? [:]
            let outstanding = (try? store.outstandingGuards()) ?? []
            var lines: [String] = []
            var claimed = 0
            for t in targets {
                let claims = outstanding.filter { $0.path == t }.flatMap { live[$0.id] ?? [] }
                let mounted = Sandbox.mountPoints(under: t).contains(t)
                let probe = canWriteProbe(t)
                if !claims.isEmpty { claimed += 1 }
                let expected: WriteProbe = claims.isEmpty ? .writable : .readOnly
                if mounted == claims.isEmpty || probe != expected {
                    lines.append("\(t): live claims \(claims.map(\.holder.summary)), mounted \(mounted), write \(probe)")
                }
            }
            return (claimed, lines)
        }

        /// The monitor's check can fail: a guard nobody claims (an operator's plain apply) and a
        /// claim whose guard was removed behind the store's back are both seen.
        @Test(sandboxed) func monitorSeesAGuardWithoutAClaimAndAClaimWithoutAGuard() throws {
            let dir = try Sandbox.make("rel-claims-monitor")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let a = try dir.mkdir("a"), b = try dir.mkdir("b")
            #expect(try cli.run(["apply", a]).status == 0)
            #expect(try cli.run(["apply", "--claim", "w0", b]).status == 0)
            let before = try #require(Self.sample(db: cli.db, targets: [a, b]))
            #expect(before.claimed == 1)
            #expect(before.mismatches.count == 1 && before.mismatches[0].hasPrefix("\(a): live claims []"), "\(before.mismatches)")
            #expect(umount2(b, 0) == 0)
            let after = try #require(Self.sample(db: cli.db, targets: [a, b]))
            #expect(after.mismatches.count == 2 && after.mismatches[1].hasPrefix("\(b): live claims [\"key w0\"], mounted false"),
                    "\(after.mismatches)")
        }
    }
}

enum WriteProbe: Equatable { case writable, readOnly, failed(Int32) }

/// Creates and removes a file below `dir`: whether the kernel lets anyone write there.
func canWriteProbe(_ dir: String) -> WriteProbe {
    let path = dir + "/monitor-probe"
    let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
    if fd >= 0 {
        close(fd)
        unlink(path)
        return .writable
    }
    return errno == EROFS ? .readOnly : .failed(errno)
}
