import FileIO
import GuardStore

/// Doctor's findings that need no configured path (issue 13, item 8): rows a killed command
/// left pending, and data hidden under mountpoints nobody configured.
extension GuardEngine {
    /// At most this many unconfigured mountpoints are looked under per doctor run.
    static let unconfiguredMountpointBudget = 256

    /// The pending(applying) and pending(clearing) rows while no command holds the writers'
    /// lock: every such row is written and settled under that lock, so its command is gone.
    /// Empty when a command holds the lock or the lock cannot be read (the age rule then
    /// still applies).
    func orphanedPendingRows(_ store: GuardStore) throws -> Set<GuardID> {
        try StoreLock.withoutWriters(path: configuration.storePath + ".lock") {
            Set(try store.outstandingGuards().filter { $0.status == .applying || $0.status == .clearing }.map(\.id))
        } ?? []
    }

    /// `info` for each storage mountpoint strictly below an allowed root that doctor did not
    /// examine otherwise and whose bare directory holds files. From the mount table, then one
    /// directory read on the parent's filesystem through a clone of the parent mount: the
    /// storage itself is never entered, and a parent that does not answer is skipped.
    func unconfiguredHiddenData(mounts: [MountInfoEntry], examined: Set<PathKey>) -> [DoctorFinding] {
        var seen = examined
        let index = MountIndex(mounts)
        let candidates = mounts.map(\.mountPoint).filter { point in
            policy.allowedRoots.contains { PathPolicy.isStrictlyBelow(point, $0) }
                && index.isForeign(point) && seen.insert(PathKey(point)).inserted
        }
        return candidates.prefix(Self.unconfiguredMountpointBudget).compactMap { point in
            guard reachable(FileIO.parentDirectory(point)), let bare = try? kernel.openShadowed(point) else { return nil }
            defer { kernel.close(bare) }
            guard (try? kernel.hasEntries(bare)) == true else { return nil }
            return DoctorFinding(severity: .info, path: point, code: "hidden-data",
                                 message: "files are hidden under this mounted storage (not a configured mountpoint), "
                                     + "using space on the parent filesystem: see hook-runner hidden \(point)",
                                 guardID: nil)
        }
    }
}
