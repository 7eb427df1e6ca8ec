import Foundation
import GuardHooks
import GuardHooksTesting
import GuardRender
import GuardTestSupport
import Testing
import Glibc

/// `hook-runner import proxsave`: a real index file, real flags (set with chattr, as ProxSave
/// does), checked with lsattr and the store's own queries.
extension AdapterTests {
    @Suite struct ProxsaveImportTests {
        @Test func indexLinesAreNumberedAndBadOnesRefusedWithAReason() {
            let bytes = Array("/mnt/a\n\nrelative/x\n/mnt/b\r\n/mnt/a/\n/mnt/c\u{1}d\n/mnt//a\n".utf8) + [0xFF, 0x0A]
            let lines = ProxsaveImport.lines(bytes)
            #expect(lines.map(\.number) == [1, 3, 4, 5, 6, 7, 8])
            #expect(lines.last?.invalidUTF8 == true)
            let (refused, candidates) = ProxsaveImport.validate(lines)
            #expect(candidates.map(\.1) == ["/mnt/a"])
            let reasons = Dictionary(uniqueKeysWithValues: refused.map { ($0.line, $0.reason) })
            #expect(reasons[3] == "not an absolute path")
            #expect(reasons[4]?.contains("control character (U+000D)") == true)
            #expect(reasons[5] == "duplicate of line 1")
            #expect(reasons[6]?.contains("control character (U+0001)") == true)
            #expect(reasons[7] == "duplicate of line 1")
            #expect(reasons[8] == "path is not valid UTF-8")
            #expect(SysExitCode.forImport(refused) == .badTarget)
            #expect(SysExitCode.forImport([]) == .ok)
        }

        /// The output line of index line `n`.
        func line(_ out: String, _ n: Int) -> String {
            out.split(separator: "\n").map(String.init).first { $0.hasPrefix("line \(n): ") } ?? ""
        }

        @Test(sandboxed) func importAdoptsOnlyFlaggedOfflineDirectories() throws {
            let dir = try Sandbox.make("import")
            defer { dir.cleanUp() }
            let cli = CLI(adapterSandbox: dir)
            let flagged = try dir.mkdir("pve/nfs1"), plain = try dir.mkdir("pve/nfs2"), mounted = try dir.mkdir("pve/nfs3")
            try chattr("+i", flagged)
            try mountTmpfs(mounted)
            let outside = "/tmp"
            let index = dir.sub("chattr-targets")
            try writeFile(index, [flagged, plain, "relative/dir", dir.sub("x\u{7}y"), outside, mounted,
                                  dir.sub("missing"), flagged].joined(separator: "\n") + "\n", mode: 0o600)

            // Dry run: the plan, nothing created.
            var r = try cli.run(["import", "proxsave", "--dry-run", index])
            expectStatus(r, 65)
            #expect(line(r.stdout, 1).contains("would-adopt"), "\(r.stdout)")
            #expect(!FileManager.default.fileExists(atPath: cli.db), "a dry run creates no store")

            r = try cli.run(["import", "proxsave", index])
            expectStatus(r, 65)
            #expect(line(r.stdout, 1) == "line 1: \(flagged): adopted (guard #1): already immutable: adopted", "\(r.stdout)")
            #expect(line(r.stdout, 2).hasPrefix("line 2: \(plain): skipped: not immutable"), "\(r.stdout)")
            #expect(line(r.stdout, 3) == "line 3: relative/dir: refused: not an absolute path", "\(r.stdout)")
            #expect(line(r.stdout, 4).contains("refused: path contains a control character (U+0007)"), "\(r.stdout)")
            #expect(line(r.stdout, 4).contains("x\\u{7}y"), "control characters are shown escaped: \(r.stdout)")
            #expect(line(r.stdout, 5).contains("refused: /tmp is not below an allowed root"), "\(r.stdout)")
            #expect(line(r.stdout, 6).hasPrefix("line 6: \(mounted): skipped: storage is mounted"), "\(r.stdout)")
            #expect(line(r.stdout, 7).hasPrefix("line 7: \(dir.sub("missing")): skipped: does not exist"), "\(r.stdout)")
            #expect(line(r.stdout, 8) == "line 8: \(flagged): refused: duplicate of line 1", "\(r.stdout)")

            // The kernel is as it was: the flag kept, nothing flagged or mounted by the import.
            #expect(try lsattr(flagged).contains("i"))
            #expect(try !lsattr(plain).contains("i"))
            #expect(try findmnt(flagged).isEmpty && findmnt(plain).isEmpty)

            // The store: one applied immutable guard labelled imported, with its history.
            let (_, guards) = try cli.json(["guards"])
            let rows = try objects(guards, "guards")
            try #require(rows.count == 1, "\(rows)")
            #expect(rows[0]["path"] as? String == flagged)
            #expect(rows[0]["state"] as? String == "applied")
            #expect(rows[0]["kind"] as? String == "immutable")
            #expect(rows[0]["lifetime"] as? String == "transient")
            #expect(rows[0]["label"] as? String == "imported")
            let (_, history) = try cli.json(["history", flagged])
            let events = try objects(history, "events")
            #expect(events.map { $0["to_state"] as? String ?? "" } == ["pending", "applied"])
            #expect(events.last?["reason"] as? String == "already immutable: adopted")
            #expect((events.last?["actor"] as? String)?.hasPrefix("hook-runner import proxsave") == true)

            // Again: already recorded; and with only valid lines the exit code is 0.
            try writeFile(index, "\(flagged)\n\(plain)\n")
            r = try cli.run(["import", "proxsave", index])
            expectStatus(r, 0)
            #expect(line(r.stdout, 1).contains("already-recorded (guard #1)"), "\(r.stdout)")

            // An imported guard is ours now: clear removes the flag like any transient guard.
            r = try cli.run(["clear", flagged])
            expectStatus(r, 0)
            #expect(try !lsattr(flagged).contains("i"))
        }

        @Test(sandboxed) func importJSONNamesTheVerdictOfEachIndexLine() throws {
            let dir = try Sandbox.make("import-json")
            defer { dir.cleanUp() }
            let cli = CLI(adapterSandbox: dir)
            let flagged = try dir.mkdir("usb")
            try chattr("+i", flagged)
            let index = dir.sub("index")
            try writeFile(index, flagged + "\n")
            let (r, doc) = try cli.json(["import", "proxsave", index])
            expectStatus(r, 0)
            #expect(doc["command"] as? String == "import proxsave")
            #expect(doc["exit_code"] as? Int == 0)
            let lines = try objects(doc, "lines")
            #expect(lines.first?["verdict"] as? String == "adopted")
            #expect(lines.first?["guard_id"] as? Int == 1)
            #expect(lines.first?["line"] as? Int == 1)
        }

        /// No index: ProxSave never fell back to chattr +i, so there is nothing to import (0).
        @Test(sandboxed) func missingIndexIsNothingToImport() throws {
            let dir = try Sandbox.make("import-missing")
            defer { dir.cleanUp() }
            let cli = CLI(adapterSandbox: dir)
            let r = try cli.run(["import", "proxsave", dir.sub("no-such-index")])
            expectStatus(r, 0)
            #expect(r.stdout == "\(dir.sub("no-such-index")): no such file: nothing to import (ProxSave writes it only after a chattr +i fallback)\n")
            #expect(r.stderr.isEmpty)
            let (j, doc) = try cli.json(["import", "proxsave", dir.sub("no-such-index")])
            expectStatus(j, 0)
            #expect(doc["exit_code"] as? Int == 0)
            #expect((doc["lines"] as? [Any])?.isEmpty == true, "\(doc)")
            #expect(!FileManager.default.fileExists(atPath: cli.db))
            // A file that exists but cannot be read as an index is still a usage error.
            let unreadable = try cli.run(["import", "proxsave", dir.path])
            expectStatus(unreadable, 64)
            #expect(unreadable.stderr == "hook-runner: import proxsave: \(dir.path): not a regular file\n")
        }

        /// The import can never guard: its steps adopt a flag that is there and nothing else,
        /// so a failed row (whose retry would set the flag) is reported, not retried, and no
        /// flag is set and no bind mount made, whatever the lines name.
        @Test func importNeverGuards() throws {
            let fake = FakeKernel()
            fake.addDirectory("/mnt/flagged", immutable: true)
            fake.addDirectory("/mnt/plain")
            fake.addDirectory("/mnt/online", immutable: true)
            _ = fake.mountStorage("/mnt/online")
            let dir = NSTemporaryDirectory() + "gh-import-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let engine = GuardEngine(kernel: fake, configuration: GuardEngineConfiguration(
                storePath: dir + "/guards.db", allowedRoots: ["/mnt"], lockTimeout: 1, actor: "test", createStoreIfMissing: true))
            let lines = ProxsaveImport.lines(Array("/mnt/flagged\n/mnt/plain\n/mnt/online\n/mnt/missing\n".utf8))
            let results = try engine.importImmutableIndex(lines)
            #expect(results.map(\.verdict) == [.adopted, .skipped, .skipped, .skipped])
            #expect(!fake.calls.contains { $0.hasPrefix("setImmutable") || $0.hasPrefix("makeReadOnlyBind") || $0.hasPrefix("createDirectory") })
            #expect(fake.openHandles == 0)
        }
    }
}
