import Glibc

/// The storage an operator expects at a mountpoint (`[storage."PATH"]` in config.toml).
/// A nil key accepts anything.
package struct ExpectedStorage: Sendable, Hashable, Codable {
    package var fsType: String?
    package var source: String?
    /// Filesystem UUID, as blkid shows it; compared by the device of `/dev/disk/by-uuid/UUID`.
    package var uuid: String?

    package init(fsType: String? = nil, source: String? = nil, uuid: String? = nil) {
        self.fsType = fsType; self.source = source; self.uuid = uuid
    }

    package var description: String {
        [fsType.map { "fstype \($0)" }, source.map { "source \($0)" }, uuid.map { "uuid \($0)" }]
            .compactMap { $0 }.joined(separator: ", ")
    }
}

/// Every expectation of an engine, and where identities are looked up.
package struct StorageExpectations: Sendable, Hashable {
    /// By normalized mountpoint.
    package var byPath: [String: ExpectedStorage] = [:]
    /// Directory of the UUID links (udev's `/dev/disk/by-uuid`).
    package var diskByUUID = Settings.Default.diskByUUID
    /// Proxmox VE's storage list, read by `doctor` when it exists.
    package var pveStorageConfig = Settings.Default.pveStorageConfig

    package init() {}

    package init(_ settings: Settings) {
        byPath = settings.storage; diskByUUID = settings.diskByUUID; pveStorageConfig = settings.pveStorageConfig
    }
}

/// What is mounted at a path, as the mount table says: read without entering the mounted
/// filesystem, which may be dead.
package struct MountedStorage: Sendable, Hashable {
    package var fsType: String
    package var source: String
    package var deviceMajor: UInt32
    package var deviceMinor: UInt32
    package var mountID: UInt64
    /// A read-only bind of the directory onto itself: a guard (ours or another tool's), not storage.
    package var isReadOnlySelfBind: Bool

    package var description: String { "\(fsType) \(source) (\(deviceMajor):\(deviceMinor))" }
}

/// Identity of mounted storage from the mount table (mountinfo's fstype, source and
/// major:minor) and, for a UUID, from the device number of its `/dev/disk/by-uuid` link's
/// target. Pure apart from `uuidDevice`, which stats a device node, never the storage.
package enum StorageIdentity {
    /// The topmost mount at `path`: the entry at that mount point no other entry there is
    /// stacked on. nil when nothing is mounted at `path`.
    package static func topmost(at path: String, in entries: [MountInfoEntry]) -> MountedStorage? {
        let here = entries.filter { $0.mountPoint.utf8.elementsEqual(path.utf8) }
        let parents = Set(here.map(\.parentID))
        guard let top = here.last(where: { !parents.contains($0.mountID) }) ?? here.last else { return nil }
        return MountedStorage(fsType: top.fsType, source: top.source, deviceMajor: top.deviceMajor,
                              deviceMinor: top.deviceMinor, mountID: top.mountID,
                              isReadOnlySelfBind: isReadOnlySelfBind(top, entries))
    }

    /// A read-only mount of the same filesystem as its parent mount, whose root is the very
    /// directory it is mounted on: what a bind guard looks like in the mount table.
    static func isReadOnlySelfBind(_ m: MountInfoEntry, _ entries: [MountInfoEntry]) -> Bool {
        guard m.isReadOnly, let parent = entries.first(where: { $0.mountID == m.parentID }),
              parent.deviceMajor == m.deviceMajor, parent.deviceMinor == m.deviceMinor else { return false }
        // The directory's path inside the parent's filesystem: the parent's root joined with
        // the mount point's path below the parent's mount point.
        let below = parent.mountPoint == "/" ? m.mountPoint : String(m.mountPoint.dropFirst(parent.mountPoint.count))
        let expectedRoot = parent.root == "/" ? below : parent.root + below
        return m.root == expectedRoot
    }

    /// Why `found` is not the `expected` storage; nil when it is.
    package static func mismatch(_ found: MountedStorage, _ expected: ExpectedStorage, diskByUUID: String) -> String? {
        var wrong: [String] = []
        if let t = expected.fsType, t != found.fsType { wrong.append("fstype \(found.fsType), expected \(t)") }
        if let s = expected.source, s != found.source { wrong.append("source \(found.source), expected \(s)") }
        if let uuid = expected.uuid {
            switch uuidDevice(uuid, directory: diskByUUID) {
            case .success(let (major, minor)):
                if major != found.deviceMajor || minor != found.deviceMinor {
                    wrong.append("device \(found.deviceMajor):\(found.deviceMinor), expected uuid \(uuid) (\(major):\(minor))")
                }
            case .failure(let why):
                wrong.append("uuid \(uuid): \(why.text)")
            }
        }
        return wrong.isEmpty ? nil : "found \(found.description): " + wrong.joined(separator: "; ")
    }

    struct Why: Error { var text: String }

    /// glibc's `gnu_dev_major`/`gnu_dev_minor` (the inverse of `makeDevice`), which Swift
    /// does not import.
    static func splitDevice(_ dev: UInt64) -> (UInt32, UInt32) {
        let major = ((dev >> 8) & 0x0000_0fff) | ((dev >> 32) & 0xffff_f000)
        let minor = (dev & 0x0000_00ff) | ((dev >> 12) & 0xffff_ff00)
        return (UInt32(truncatingIfNeeded: major), UInt32(truncatingIfNeeded: minor))
    }

    /// The device number of the block device `directory/uuid` links to (stat follows the
    /// link to the device node; the filesystem on it is not entered).
    static func uuidDevice(_ uuid: String, directory: String) -> Result<(UInt32, UInt32), Why> {
        guard !uuid.contains("/") else { return .failure(Why(text: "not a UUID")) }
        var st = stat()
        let link = directory + "/" + uuid
        if stat(link, &st) != 0 {
            let e = errno
            return .failure(Why(text: e == ENOENT ? "no such filesystem is attached (\(link) missing)"
                                                  : "\(link): \(String(cString: strerror(e)))"))
        }
        guard st.st_mode & S_IFMT == S_IFBLK else { return .failure(Why(text: "\(link) is not a block device")) }
        return .success(splitDevice(UInt64(st.st_rdev)))
    }
}

extension ExpectedStorage {
    enum CodingKeys: String, CodingKey { case fsType = "fstype", source, uuid }
}

extension MountedStorage: Encodable {
    private enum DocumentKeys: String, CodingKey { case device, fsType = "fstype", readOnlySelfBind, source }

    /// `device` as `major:minor`, as mountinfo writes it.
    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: DocumentKeys.self)
        try c.encode("\(deviceMajor):\(deviceMinor)", forKey: .device)
        try c.encode(fsType, forKey: .fsType); try c.encode(isReadOnlySelfBind, forKey: .readOnlySelfBind)
        try c.encode(source, forKey: .source)
    }
}
