@testable import GuardHooks
import Glibc
import Testing

/// The pure parts of storage identity and of the Proxmox VE storage list.
@Suite struct StorageIdentityTests {
    static let mountinfo = """
        22 1 0:21 / / rw - ext4 /dev/sda1 rw
        40 22 0:40 / /mnt rw - tmpfs sb rw
        41 40 0:40 /store /mnt/store ro,nosuid - tmpfs sb rw
        42 41 0:44 / /mnt/store rw - nfs4 nas:/export rw
        43 40 0:40 /other /mnt/guarded ro - tmpfs sb rw
        44 40 0:45 / /mnt/usb ro - ext4 /dev/sdb1 rw
        """

    @Test func topmostAndGuards() throws {
        let entries = MountInfo.parse(Self.mountinfo)
        let store = try #require(StorageIdentity.topmost(at: "/mnt/store", in: entries))
        #expect(store.fsType == "nfs4" && store.source == "nas:/export" && !store.isReadOnlySelfBind, "storage stacked on a guard")
        #expect(StorageIdentity.topmost(at: "/mnt/nothing", in: entries) == nil)
        // A read-only bind of some other directory is not a self-bind; a read-only ext4 is storage.
        #expect(StorageIdentity.topmost(at: "/mnt/guarded", in: entries)?.isReadOnlySelfBind == false)
        #expect(StorageIdentity.topmost(at: "/mnt/usb", in: entries)?.isReadOnlySelfBind == false)
        let guardOnly = MountInfo.parse("40 22 0:40 / /mnt rw - tmpfs sb rw\n41 40 0:40 /store /mnt/store ro - tmpfs sb rw")
        #expect(StorageIdentity.topmost(at: "/mnt/store", in: guardOnly)?.isReadOnlySelfBind == true)
    }

    @Test(arguments: [
        (ExpectedStorage(fsType: "nfs4"), nil),
        (ExpectedStorage(fsType: "nfs4", source: "nas:/export"), nil),
        (ExpectedStorage(fsType: "nfs"), "fstype nfs4, expected nfs"),
        (ExpectedStorage(source: "nas:/other"), "source nas:/export, expected nas:/other"),
        (ExpectedStorage(uuid: "1234-ABCD"), "no such filesystem is attached"),
    ] as [(ExpectedStorage, String?)])
    func mismatch(_ expected: ExpectedStorage, _ fragment: String?) throws {
        let found = try #require(StorageIdentity.topmost(at: "/mnt/store", in: MountInfo.parse(Self.mountinfo)))
        let why = StorageIdentity.mismatch(found, expected, diskByUUID: "/nonexistent/by-uuid")
        if let fragment { #expect(why?.contains(fragment) == true, "\(why ?? "nil")") } else { #expect(why == nil) }
    }

    /// `check`'s bounded call: a call that returns gives its value; one that never returns
    /// (a dead filesystem) is abandoned at the deadline and gives nil.
    @Test func boundedCallAbandonsACallThatNeverReturns() {
        #expect(BoundedCall.run(seconds: 30) { 42 } == 42)
        final class Never: @unchecked Sendable { var s = sem_t(); init() { sem_init(&s, 0, 0) } }
        let never = Never()
        let r: Int? = BoundedCall.run(seconds: 0.2) { sem_wait(&never.s); return 1 }
        #expect(r == nil)
    }

    @Test func deviceNumbersRoundTrip() {
        for (major, minor) in [(0, 0), (7, 1), (259, 3), (4095, 1_048_575), (4096, 256)] as [(UInt32, UInt32)] {
            let (ma, mi) = StorageIdentity.splitDevice(makeDevice(major: major, minor: minor))
            #expect(ma == major && mi == minor)
        }
    }

    @Test func proxmoxDirectoryStoragesWithMountpointChecks() {
        let cfg = """
            dir: local
            \tpath /var/lib/vz
            \tcontent iso,vztmpl,backup

            dir: usb1
            \tpath /mnt/usb1
            \tcontent backup
            \tis_mountpoint yes

            dir: usb2
                path /mnt/usb2/pve
                is_mountpoint /mnt/usb2

            dir: off
            \tpath /mnt/off
            \tis_mountpoint no

            nfs: nfs1
            \tpath /mnt/pve/nfs1
            \tis_mountpoint 1
            """
        #expect(PVEStorageConfig.mountpointChecks(cfg) == [
            .init(storage: "usb1", path: "/mnt/usb1"), .init(storage: "usb2", path: "/mnt/usb2"),
        ])
        #expect(PVEStorageConfig.mountpointChecks("") == [])
    }
}
