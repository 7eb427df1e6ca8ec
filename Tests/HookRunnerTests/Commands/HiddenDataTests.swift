import Foundation
import GuardTestSupport
import Testing
import Glibc

/// `hidden`, `rescue` and the hidden-bytes metric: files written into a bare directory,
/// then storage mounted over them.
extension HookRunnerTests {
    @Suite struct HiddenData {
        /// Writes `files` (relative path → content) under `root`, making directories.
        func write(_ root: String, _ files: [String: [UInt8]]) throws {
            for (name, bytes) in files {
                let path = "\(root)/\(name)"
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                        withIntermediateDirectories: true)
                try #require(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
            }
        }

        /// Every regular file below `root`: relative path → content.
        func files(_ root: String) -> [String: [UInt8]] {
            var out: [String: [UInt8]] = [:]
            guard let e = FileManager.default.enumerator(atPath: root) else { return out }
            while let name = e.nextObject() as? String {
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: "\(root)/\(name)", isDirectory: &isDir), !isDir.boolValue,
                   let data = FileManager.default.contents(atPath: "\(root)/\(name)") {
                    out[name] = Array(data)
                }
            }
            return out
        }

        func entries(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

        /// Pseudo-random bytes of a given length (SplitMix64: the same every run).
        func bytes(_ n: Int, seed: UInt64) -> [UInt8] {
            var rng = SplitMix64(seed: seed)
            return (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        }

        /// A bare directory with `lost` in it, then a tmpfs "storage" with one file of its own on top.
        func shadowed(_ dir: SandboxDirectory, _ lost: [String: [UInt8]]) throws -> String {
            let store = try dir.mkdir("store")
            try write(store, lost)
            try mountTmpfs(store, source: "realstore")
            try write(store, ["on-storage": Array("kept\n".utf8)])
            return store
        }

        @Test(sandboxed) func hiddenListsExactBytesAndRescueMovesThem() throws {
            let dir = try Sandbox.make("hidden-rescue")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let lost = ["dump.vma": bytes(3000, seed: 1), "logs/a.log": bytes(100, seed: 2), "logs/b.log": bytes(7, seed: 3)]
            let store = try shadowed(dir, lost)
            let rescued = try dir.mkdir("rescued")
            // Configured, so metrics and a bare `hidden` look at it.
            let cfg = dir.sub("config.toml")
            try #require(FileManager.default.createFile(atPath: cfg, contents: Data("[storage.\"\(store)\"]\nfstype = \"tmpfs\"\n".utf8)))
            let env = ["GUARD_HOOKS_CONFIG": cfg]

            var (r, doc) = try cli.json(["hidden", "--limit", "1"], env: env)
            expectStatus(r, 1)
            let found = try #require(try objects(doc, "results").first)
            #expect(found["path"] as? String == store)
            #expect(found["mounted"] as? Bool == true)
            #expect(found["bytes"] as? Int == 3107)
            #expect(found["entries"] as? Int == 4, "dump.vma, logs, logs/a.log, logs/b.log")
            let largest = try objects(found, "largest")
            #expect(largest.map { $0["name"] as? String } == ["dump.vma"])

            let metrics = try cli.run(["metrics"], env: env)
            #expect(metrics.stdout.contains("guard_hooks_hidden_bytes{mountpoint=\"\(store)\"} 3107\n"), "\(metrics.stdout)")

            // A dry run lists and changes nothing.
            (r, doc) = try cli.json(["rescue", store, "--to", rescued, "--dry-run"])
            expectStatus(r, 0)
            #expect(try objects(doc, "moved").compactMap { $0["name"] as? String }.sorted() == ["dump.vma", "logs"])
            #expect(entries(rescued).isEmpty)
            #expect(try cli.json(["hidden", store]).1["results"].map { ($0 as? [[String: Any]])?.first?["bytes"] as? Int } == 3107)

            (r, doc) = try cli.json(["rescue", store, "--to", rescued])
            expectStatus(r, 0)
            #expect(doc["bytes"] as? Int == 3107)
            #expect(doc["method"] as? String == "rename")
            let destination = try #require(doc["destination"] as? String)
            #expect(destination.hasPrefix("\(rescued)/store-"))
            #expect(files(destination) == lost, "the rescue holds identical content")
            #expect(entries(store) == ["on-storage"], "the storage is untouched")
            expectStatus(try cli.run(["hidden", store]), 0)

            let history = try objects(try cli.json(["history", store]).1, "rescues")
            try #require(history.count == 1)
            #expect(history[0]["path"] as? String == store)
            #expect(history[0]["destination"] as? String == destination)
            #expect(history[0]["bytes"] as? Int == 3107)
            #expect(history[0]["state"] as? String == "done")
            #expect((history[0]["actor"] as? String)?.contains("hook-runner rescue") == true)
            #expect(isRFC3339UTC(history[0]["started_at"]))
            #expect(try cli.run(["history"]).stdout.contains(destination))

            try umount(store)
            #expect(entries(store).isEmpty, "the bare directory is empty")
        }

        @Test(sandboxed) func anotherFilesystemIsRefusedUnlessCopy() throws {
            let dir = try Sandbox.make("hidden-copy")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let lost = ["a": bytes(5000, seed: 4), "d/b": bytes(1, seed: 5)]
            let store = try shadowed(dir, lost)
            let elsewhere = try dir.mkdir("elsewhere")
            try mountTmpfs(elsewhere, source: "otherfs")
            defer { _ = try? runCommand(["umount", elsewhere]) }

            expectError(try cli.run(["rescue", store, "--to", store]), 65, "lies inside")
            let refused = try cli.run(["rescue", store, "--to", elsewhere])
            expectError(refused, 65, "another filesystem", "--copy")
            #expect(entries(elsewhere).isEmpty)

            let (r, doc) = try cli.json(["rescue", store, "--to", elsewhere, "--copy"])
            expectStatus(r, 0)
            #expect(doc["method"] as? String == "copy")
            let destination = try #require(doc["destination"] as? String)
            #expect(files(destination) == lost)
            try umount(store)
            #expect(entries(store).isEmpty)
        }

        @Test(sandboxed) func aFileOpenForWritingStays() throws {
            let dir = try Sandbox.make("hidden-writer")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let store = try dir.mkdir("store")
            try write(store, ["busy.log": Array("still writing".utf8), "done.tar": bytes(10, seed: 6)])
            let fd = open("\(store)/busy.log", O_WRONLY | O_APPEND)
            try #require(fd >= 0)
            defer { close(fd) }
            try mountTmpfs(store)
            let rescued = try dir.mkdir("rescued")
            let (r, doc) = try cli.json(["rescue", store, "--to", rescued])
            expectStatus(r, 1)
            #expect(try objects(doc, "moved").map { $0["name"] as? String } == ["done.tar"])
            let left = try objects(doc, "left_behind")
            #expect(left.map { $0["name"] as? String } == ["busy.log"])
            #expect((left.first?["reason"] as? String)?.contains("open for writing by pid \(getpid())") == true)
            try umount(store)
            #expect(entries(store) == ["busy.log"])
        }

        /// Killed after the third rename: every file is in exactly one of the two places, and
        /// the rescue stays recorded as started (interrupted).
        @Test(sandboxed) func anInterruptedRescueLosesNothing() throws {
            let dir = try Sandbox.make("hidden-kill")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            var lost: [String: [UInt8]] = [:]
            for i in 0..<60 { lost["f\(i)"] = bytes(64 + i, seed: UInt64(100 + i)) }
            let store = try shadowed(dir, lost)
            let rescued = try dir.mkdir("rescued")
            let r = try cli.run(["rescue", store, "--to", rescued], env: ["GUARD_HOOKS_TEST_FAULT": "rescue-midway"])
            expectStatus(r, 128 + SIGKILL)
            let destinations = entries(rescued)
            try #require(destinations.count == 1)
            let moved = files("\(rescued)/\(destinations[0])")
            try umount(store)
            let stayed = files(store)
            #expect(moved.count == 3)
            #expect(Set(moved.keys).isDisjoint(with: stayed.keys), "no file in both places")
            #expect(moved.merging(stayed) { a, _ in a } == lost, "every file in one place, intact")
            let history = try objects(try cli.json(["history"]).1, "rescues")
            #expect(history.map { $0["state"] as? String } == ["started"])
        }
    }
}
