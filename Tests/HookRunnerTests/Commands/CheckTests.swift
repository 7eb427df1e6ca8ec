import Foundation
import GuardTestSupport
import Testing
import Glibc

/// `check` and the expected storage identity, on the real kernel: tmpfs storages, a bind
/// guard, loop-mounted ext4 by UUID, and a non-root caller.
extension HookRunnerTests {
    @Suite struct Check {
        /// A config file naming the storage expected at each path; returns its path.
        func config(_ dir: SandboxDirectory, _ tables: [(String, String)], extra: String = "") throws -> String {
            let text = extra + tables.map { "[storage.\"\($0.0)\"]\n\($0.1)\n" }.joined(separator: "\n")
            let path = dir.sub("config.toml")
            try #require(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
            return path
        }

        func result(_ doc: [String: Any]) throws -> [String: Any] {
            let results = try objects(doc, "results")
            try #require(results.count == 1)
            return results[0]
        }

        @Test(sandboxed) func checkTellsTheExpectedStorageFromAWrongSourceOrFstype() throws {
            let dir = try Sandbox.make("check-tmpfs")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let store = try dir.mkdir("store"), other = try dir.mkdir("other")
            let cfg = try config(dir, [(store, "fstype = \"tmpfs\"\nsource = \"realstore\""), (other, "fstype = \"ext4\"")])
            let env = ["GUARD_HOOKS_CONFIG": cfg]

            try mountTmpfs(store, source: "realstore")
            var (r, doc) = try cli.json(["check", store], env: env)
            expectStatus(r, 0)
            #expect(try result(doc)["state"] as? String == "online")

            try umount(store)
            try mountTmpfs(store, source: "usb-by-mistake")
            (r, doc) = try cli.json(["check", store], env: env)
            expectStatus(r, 1)
            let wrong = try result(doc)
            #expect(wrong["state"] as? String == "wrong-storage")
            #expect((wrong["reason"] as? String)?.contains("source usb-by-mistake, expected realstore") == true, "\(wrong)")

            // Another fstype than expected.
            try mountTmpfs(other, source: "anything")
            (r, doc) = try cli.json(["check", other], env: env)
            expectStatus(r, 1)
            #expect((try result(doc)["reason"] as? String)?.contains("fstype tmpfs, expected ext4") == true)

            // apply neither guards a wrong storage nor takes it for online.
            let before = try findmnt(store)
            (r, doc) = try cli.json(["apply", store, other], env: env)
            expectStatus(r, 1)
            let outcomes = try objects(doc, "results").map { $0["outcome"] as? String }
            #expect(outcomes == ["wrong-storage", "wrong-storage"])
            #expect(try findmnt(store) == before, "no guard made")
            try umount(store); try umount(other)
        }

        @Test(sandboxed) func bindGuardIsOfflineWithItsID() throws {
            let dir = try Sandbox.make("check-guard")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let store = try dir.mkdir("store")
            var (r, doc) = try cli.json(["check", store])
            expectStatus(r, 75)
            #expect(try result(doc)["state"] as? String == "offline")
            expectStatus(try cli.run(["apply", store]), 0)
            (r, doc) = try cli.json(["check", store])
            expectStatus(r, 75)
            let c = try result(doc)
            #expect(c["state"] as? String == "offline")
            #expect(c["guard_id"] as? Int == 1)
            #expect((c["mounted"] as? [String: Any])?["read_only_self_bind"] as? Bool == true)
            // Text, and a missing target is a bad target (65), which outranks offline.
            r = try cli.run(["check", store, dir.sub("missing")])
            expectStatus(r, 65)
            #expect(tableRow(r.stdout, store).first == "offline")
            #expect(tableRow(r.stdout, dir.sub("missing")).first == "bad-target")
            expectStatus(try cli.run(["clear", store]), 0)
        }

        @Test(sandboxed) func worksForAnUnprivilegedUser() throws {
            let dir = try Sandbox.make("check-nobody")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let online = try dir.mkdir("online"), offline = try dir.mkdir("offline")
            try mountTmpfs(online)
            expectStatus(try cli.run(["apply", offline]), 0)
            let nobody = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
            var r = try cli.run(["check", online], prefix: nobody)
            expectStatus(r, 0)
            r = try cli.run(["check", online, offline], prefix: nobody)
            expectStatus(r, 75)
            #expect(tableRow(r.stdout, offline).first == "offline")
            #expect(r.stderr.isEmpty, "no lock, no store needed: \(r.stderr)")
            expectStatus(try cli.run(["clear", offline]), 0)
            try umount(online)
        }

        /// Two loop-mounted ext4 images; the UUID links live in a directory of the sandbox
        /// (no udev here), named by `disk_by_uuid`.
        @Test(sandboxed) func ext4ByUUID() throws {
            let dir = try Sandbox.make("check-uuid")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let target = try dir.mkdir("disk"), links = try dir.mkdir("by-uuid")
            let uuids = ["0c8b4d9e-5a41-4f57-9d2e-1f6a3b7c0001", "0c8b4d9e-5a41-4f57-9d2e-1f6a3b7c0002"]
            var loops: [String] = []
            defer {
                _ = try? runCommand(["umount", target])
                for loop in loops { _ = try? runCommand(["losetup", "-d", loop]) }
            }
            for (i, uuid) in uuids.enumerated() {
                let image = dir.sub("disk\(i).img")
                try #require(try runCommand(["truncate", "-s", "8M", image]).status == 0)
                try #require(try runCommand(["mkfs.ext4", "-q", "-F", "-U", uuid, image]).status == 0)
                let attach = try runCommand(["losetup", "--find", "--show", image])
                try #require(attach.status == 0, "losetup: \(attach.stderr)")
                let loop = attach.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                loops.append(loop)
                try #require(symlink(loop, "\(links)/\(uuid)") == 0)
            }
            try #require(try runCommand(["mount", loops[0], target]).status == 0)
            let extra = "disk_by_uuid = \"\(links)\"\n"
            var cfg = try config(dir, [(target, "uuid = \"\(uuids[0])\"\nfstype = \"ext4\"")], extra: extra)
            var (r, doc) = try cli.json(["check", target], env: ["GUARD_HOOKS_CONFIG": cfg])
            expectStatus(r, 0)
            #expect(try result(doc)["state"] as? String == "online")

            cfg = try config(dir, [(target, "uuid = \"\(uuids[1])\"")], extra: extra)
            (r, doc) = try cli.json(["check", target], env: ["GUARD_HOOKS_CONFIG": cfg])
            expectStatus(r, 1)
            let c = try result(doc)
            #expect(c["state"] as? String == "wrong-storage")
            #expect((c["reason"] as? String)?.contains("expected uuid \(uuids[1])") == true, "\(c)")
            (r, doc) = try cli.json(["apply", target], env: ["GUARD_HOOKS_CONFIG": cfg])
            expectStatus(r, 1)
            #expect(try objects(doc, "results").first?["outcome"] as? String == "wrong-storage")

            // A UUID no attached device has.
            cfg = try config(dir, [(target, "uuid = \"0000-FFFF\"")], extra: extra)
            (r, doc) = try cli.json(["check", target], env: ["GUARD_HOOKS_CONFIG": cfg])
            expectStatus(r, 1)
            #expect((try result(doc)["reason"] as? String)?.contains("no such filesystem is attached") == true)
        }

        /// A FUSE mount nobody serves: the connection's fd is held here and never read, so
        /// every lookup in it waits forever for an answer. `check` gives up at its deadline.
        @Test(sandboxed) func deadFUSEIsUnreachable() throws {
            let dir = try Sandbox.make("check-fuse")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let target = try dir.mkdir("dead")
            try #require(FileManager.default.createFile(atPath: "\(target)/lost", contents: Data(count: 10)))
            let fuse = open("/dev/fuse", O_RDWR | O_CLOEXEC)
            try #require(fuse >= 0, "no /dev/fuse")
            let options = "fd=\(fuse),rootmode=40000,user_id=0,group_id=0"
            guard mount("deadfuse", target, "fuse.dead", 0, options) == 0 else {
                close(fuse)
                Issue.record("mount fuse: \(String(cString: strerror(errno)))")
                return
            }
            defer {
                close(fuse)  // aborts the connection: waiting lookups fail with ENOTCONN
                umount2(target, Int32(MNT_DETACH))
            }
            let (r, doc) = try cli.json(["check", "--deadline", "1", target])
            expectStatus(r, 75)
            let c = try result(doc)
            #expect(c["state"] as? String == "unreachable")
            #expect((c["mounted"] as? [String: Any])?["fstype"] as? String == "fuse.dead")
            #expect((c["reason"] as? String)?.contains("no answer within 1") == true, "\(c)")
            // hidden and the metric look under it without entering it.
            let cfg = try config(dir, [(target, "fstype = \"ext4\"")])
            let (h, hidden) = try cli.json(["hidden", target])
            expectStatus(h, 1)
            #expect(try objects(hidden, "results").first?["bytes"] as? Int == 10)
            let metrics = try cli.run(["metrics"], env: ["GUARD_HOOKS_CONFIG": cfg])
            #expect(metrics.stdout.contains("guard_hooks_hidden_bytes{mountpoint=\"\(target)\"} 10\n"), "\(metrics.stdout)")
        }

        @Test(sandboxed) func doctorWarnsWhereABindGuardFoolsProxmoxVE() throws {
            let dir = try Sandbox.make("check-pve")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let usb = try dir.mkdir("usb1")
            let storageCfg = dir.sub("storage.cfg")
            try #require(FileManager.default.createFile(atPath: storageCfg, contents: Data("""
                dir: local
                \tpath /var/lib/vz
                \tcontent iso

                dir: usb1
                \tpath \(usb)
                \tcontent backup
                \tis_mountpoint yes

                """.utf8)))
            let cfg = try config(dir, [], extra: "pve_storage_cfg = \"\(storageCfg)\"\n")
            expectStatus(try cli.run(["apply", usb]), 0)
            let (_, doc) = try cli.json(["doctor"], env: ["GUARD_HOOKS_CONFIG": cfg])
            let fooled = try objects(doc, "findings").filter { $0["code"] as? String == "host-check-fooled" }
            try #require(fooled.count == 1, "\(doc)")
            #expect(fooled[0]["path"] as? String == usb)
            #expect((fooled[0]["message"] as? String)?.contains("'usb1'") == true)
            expectStatus(try cli.run(["clear", usb]), 0)
            let (_, after) = try cli.json(["doctor"], env: ["GUARD_HOOKS_CONFIG": cfg])
            #expect(try objects(after, "findings").allSatisfy { $0["code"] as? String != "host-check-fooled" })
        }
    }
}
