import Foundation
import GuardTestSupport
import Testing
import Glibc

/// Issue 13 item 1 (RELIABILITY.md §"A dead storage"): `/mnt/pve/nfs1` is mounted but stops
/// answering, `/mnt/pve/nfs2` is offline. No command may hang, the offline sibling is guarded,
/// the dead one is `unreachable` (75), and no lock is held while waiting on the dead storage.
extension ReliabilityTests {
    @Suite(.serialized) struct DeadStorageSuite {
        static let fixture = Testing.ConditionTrait.enabled(if: DeadStorage.unavailableReason == nil,
                                                            "\(DeadStorage.unavailableReason ?? "")")
        /// The engine's deadline for a call into a possibly dead filesystem, in seconds.
        static let probeTimeout = "2"
        /// Generous: a command that has not returned by then hangs.
        static let outerLimit = 60.0
        /// The binary under test; `DEAD_STORAGE_BINARY` runs the suite against another build
        /// (an old one, to show that it hangs there).
        static let binary = ProcessInfo.processInfo.environment["DEAD_STORAGE_BINARY"] ?? hookRunnerBinary

        /// Shared with one background thread of its own test only.
        struct Setup: @unchecked Sendable {
            let dir: SandboxDirectory
            let cli: CLI
            let nfs1: String, nfs2: String, nfs3: String
            let dead: DeadStorage

            let kernel: String

            init(_ name: String, kernel: String = "") throws {
                self.kernel = kernel
                dir = try Sandbox.make(name)
                cli = CLI(dir: dir)
                nfs1 = try dir.mkdir("pve/nfs1"); nfs2 = try dir.mkdir("pve/nfs2"); nfs3 = try dir.mkdir("pve/nfs3")
                do { dead = try DeadStorage(at: nfs1, trigger: dir.sub("dead-trigger")) } catch { dir.cleanUp(); throw error }
            }

            func tearDown() { dead.tearDown(); dir.cleanUp() }

            var environment: [String: String] {
                cli.environment.merging(["GUARD_HOOKS_PROBE_TIMEOUT": probeTimeout, "GUARD_HOOKS_TEST_KERNEL": kernel]) { _, new in new }
            }

            func run(_ args: [String], env: [String: String] = [:]) throws -> BoundedResult {
                try runBounded([binary] + args, environment: environment.merging(env) { _, new in new },
                               limit: outerLimit, rescue: dead.abort)
            }

            /// Copies the shipped hooks.d (root-owned, 0755, as installed).
            func shippedHooks() throws -> String {
                let hooks = try dir.mkdir("hooks.d")
                try #require(chmod(hooks, 0o755) == 0)
                for name in try FileManager.default.contentsOfDirectory(atPath: packageRoot + "/hooks.d") {
                    try FileManager.default.copyItem(atPath: packageRoot + "/hooks.d/" + name, toPath: hooks + "/" + name)
                    try #require(chmod(hooks + "/" + name, 0o755) == 0)
                }
                return hooks
            }

            /// The outcome word of `path` in a guard command's JSON output.
            func outcome(_ r: BoundedResult.Ended, _ path: String) -> String? {
                let doc = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any]
                let results = doc?["results"] as? [[String: Any]] ?? []
                return results.first { $0["path"] as? String == path }?["outcome"] as? String
            }

            /// Whether the mount table shows a read-only mount at `path`. Read from mountinfo:
            /// findmnt, not finding the path, canonicalises the other mount points, and stats
            /// the dead one.
            func readOnlyMount(_ path: String) throws -> Bool {
                let text = try #require(Sandbox.readProcFile("/proc/self/mountinfo"))
                return text.split(separator: "\n").contains { line in
                    let f = line.split(separator: " ")
                    return f.count > 5 && f[4] == path && f[5].split(separator: ",").contains("ro")
                }
            }
        }

        @Test(sandboxed, fixture) func preRestoreGuardsTheOfflineSiblingAndNothingWaitsOnTheLock() throws {
            let s = try Setup("dead-run")
            defer { s.tearDown() }
            let hooks = try s.shippedHooks()
            // An unrelated apply while the run waits on the dead storage: it must not wait for
            // a lock held by a process that waits on the dead storage.
            let background = InBackground { try s.run(["run", "--hooks-dir", hooks, "pre-restore", s.nfs1, s.nfs2]) }
            #expect(s.dead.waitUntilSomeoneIsStuck(limit: Self.outerLimit), "nothing called into the dead storage")
            let other = try s.run(["apply", s.nfs3])
            let run = background.wait()
            report("dead storage: run pre-restore returned=\(run.returned) after \(String(format: "%.1f", run.seconds)) s (probe timeout \(Self.probeTimeout) s)")
            #expect(run.returned, "run pre-restore hung on the dead storage")
            #expect(try s.readOnlyMount(s.nfs2), "the offline sibling nfs2 was not guarded")
            let r = try #require(other.result, "the concurrent apply hung")
            report("dead storage: concurrent apply exited \(r.status) after \(String(format: "%.1f", other.seconds)) s")
            #expect(r.status == 0, "the concurrent apply: exit \(r.status), \(r.stderr)")
            #expect(try s.readOnlyMount(s.nfs3))
        }

        /// Also with the older kernels' paths forced in the real kernel (debug builds:
        /// mountinfo instead of openat2/statx, bind + remount instead of open_tree): item 9.
        @Test(sandboxed, fixture, arguments: ["", "mountinfo,legacy-bind"])
        func everyCommandReturnsAndNamesTheDeadStorageUnreachable(_ kernel: String) throws {
            let s = try Setup("dead-cmds", kernel: kernel)
            defer { s.tearDown() }
            let a = try s.run(["apply", s.nfs1, s.nfs2, "--json"])
            report("dead storage\(kernel.isEmpty ? "" : " (\(kernel))"): apply returned=\(a.returned) after \(String(format: "%.1f", a.seconds)) s")
            let ar = try #require(a.result, "apply hung")
            #expect(ar.status == 75, "apply: \(ar.stdout) \(ar.stderr)")
            #expect(s.outcome(ar, s.nfs1) == "unreachable", "\(ar.stdout)")
            #expect(s.outcome(ar, s.nfs2) == "applied", "\(ar.stdout)")
            #expect(try s.readOnlyMount(s.nfs2))

            // (arguments, the exit code, whether the dead storage is named `unreachable`)
            let below = s.dir.sub("pve/nfs1/below")
            let commands: [([String], Set<Int32>, Bool)] = [
                (["seal", s.nfs1, s.nfs3], [75], true),
                (["apply", "--kind", "immutable", below], [75], true),
                (["doctor", s.nfs1], [0, 1], false),
                (["reconcile"], [0], false),
                (["clear", s.nfs1, s.nfs2], [75], true),
                (["clear", "--all"], [0, 75], false),
            ]
            for (args, codes, unreachable) in commands {
                let b = try s.run(args + ["--json"])
                report("dead storage\(kernel.isEmpty ? "" : " (\(kernel))"): \(args[0]) returned=\(b.returned) after \(String(format: "%.1f", b.seconds)) s")
                let r = try #require(b.result, "\(args) hung on the dead storage")
                #expect(codes.contains(r.status), "\(args): exit \(r.status) \(r.stdout) \(r.stderr)")
                if unreachable { #expect(r.stdout.contains("\"unreachable\""), "\(args): \(r.stdout)") }
            }
            #expect(try !s.readOnlyMount(s.nfs2), "clear did not remove nfs2's guard because nfs1 was dead")
        }
    }
}

/// A bounded command run on a thread of its own while the test does something else.
final class InBackground: @unchecked Sendable {
    private var outcome: BoundedResult?
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () throws -> BoundedResult) {
        Thread {
            self.outcome = try? body()
            self.done.signal()
        }.start()
    }

    func wait() -> BoundedResult {
        done.wait()
        return outcome ?? BoundedResult(result: nil, seconds: 0)
    }
}
