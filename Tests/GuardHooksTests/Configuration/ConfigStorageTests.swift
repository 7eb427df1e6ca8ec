import Foundation
@testable import GuardHooks
import Testing

/// `[storage."PATH"]` tables: what they hold, and errors that name the file and the line.
@Suite struct ConfigStorageTests {
    @Test func tablesAfterTopLevelKeys() throws {
        let c = try ConfigFile.parse("""
            store = "/var/lib/g/guards.db"
            disk_by_uuid = "/run/test/by-uuid"

            [storage."/mnt/pve/nfs1/"]   # trailing slash normalized
            fstype = "nfs4"
            source = "nas:/export/pve"

            [storage.'/mnt/usb']
            uuid = "0c8b4d9e-5a41-4f57-9d2e-1f6a3b7c0001"
            """, file: "c.toml")
        #expect(c.store == "/var/lib/g/guards.db")
        #expect(c.diskByUUID == "/run/test/by-uuid")
        #expect(c.storage == [
            "/mnt/pve/nfs1": ExpectedStorage(fsType: "nfs4", source: "nas:/export/pve"),
            "/mnt/usb": ExpectedStorage(uuid: "0c8b4d9e-5a41-4f57-9d2e-1f6a3b7c0001"),
        ])
        // The same key in two tables is no duplicate.
        let two = try ConfigFile.parse("[storage.\"/a\"]\nfstype = \"ext4\"\n[storage.\"/b\"]\nfstype = \"xfs\"", file: "c.toml")
        #expect(two.storage.count == 2)
    }

    /// (text, line, fragment)
    static let refused: [(String, Int, String)] = [
        ("[storage.\"/mnt/x\"]\nfstyp = \"ext4\"", 2, "unknown key \"fstyp\" in [storage.\"/mnt/x\"] (known: fstype, source, uuid)"),
        ("[storage.\"/mnt/x\"]\nfstype = 4", 2, "storage fstype must be a string, not an integer"),
        ("[storage.\"/mnt/x\"]\nfstype = \"ext 4\"", 2, "not a filesystem type"),
        ("[storage.\"/mnt/x\"]\nuuid = \"not-a-uuid!\"", 2, "not a filesystem UUID"),
        ("[storage.\"/mnt/x\"]\nsource = \"\"", 2, "storage source is empty"),
        ("\n[storage.\"relative\"]\nfstype = \"ext4\"", 2, "[storage.\"relative\"]"),
        ("[mounts.\"/mnt/x\"]\nfstype = \"ext4\"", 1, "unknown table [mounts.…]"),
        ("[storage]\nfstype = \"ext4\"", 1, "tables other than"),
        ("[storage.\"/a\"]\nfstype = \"ext4\"\nfstype = \"xfs\"", 3, "given twice"),
        ("[storage.\"/a\"]\n[storage.\"/a\"]", 2, "given twice (first on line 1)"),
        ("[storage.\"/a\" ", 1, "expected ']'"),
        ("[storage.\"/a\"] x", 1, "unexpected 'x'"),
    ]

    @Test(arguments: refused) func refuses(_ text: String, _ line: Int, _ fragment: String) {
        do {
            let c = try ConfigFile.parse(text, file: "/etc/guard-hooks/config.toml")
            Issue.record("accepted \(text.debugDescription) as \(c)")
        } catch {
            #expect(error.line == line, "\(text.debugDescription): \(error)")
            #expect(error.message.contains(fragment), "\(text.debugDescription): \(error)")
            #expect(error.description.hasPrefix("/etc/guard-hooks/config.toml:\(line): "))
        }
    }

    @Test func settingsCarryTheExpectations() throws {
        let file = try ConfigFile.parse("pve_storage_cfg = \"/tmp/storage.cfg\"\n[storage.\"/mnt/a\"]\nfstype = \"ext4\"", file: "c")
        let s = try Settings.resolve(flags: .init(), environment: [:], file: file)
        #expect(s.storage == ["/mnt/a": ExpectedStorage(fsType: "ext4")])
        #expect(s.pveStorageConfig == "/tmp/storage.cfg")
        #expect(s.diskByUUID == "/dev/disk/by-uuid")
        let engine = GuardEngineConfiguration(settings: s, actor: "t")
        #expect(engine.storage.byPath == s.storage)
    }
}
