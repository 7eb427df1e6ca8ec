import FileIO

extension GuardEngine {
    /// Where a bind guard would fool the host's own mount check: a Proxmox VE directory
    /// storage with `is_mountpoint` whose path holds a read-only bind guard (or has a bind
    /// guard recorded) is taken for mounted storage, and PVE writes into the guard. The
    /// fix is an immutable guard there (nothing is mounted) or `hook-runner check`.
    func hostCheckFindings(mounts: [MountInfoEntry], rows: [GuardRecord]) -> [DoctorFinding] {
        guard let bytes = try? FileIO.readFile(configuration.storage.pveStorageConfig, limit: 4 << 20) else { return [] }
        var findings: [DoctorFinding] = []
        for check in PVEStorageConfig.mountpointChecks(String(decoding: bytes, as: UTF8.self)) {
            let row = rows.first { $0.path == check.path && $0.kind == .bind }
            let onTop = StorageIdentity.topmost(at: check.path, in: mounts)?.isReadOnlySelfBind == true
            guard onTop || row != nil else { continue }
            findings.append(DoctorFinding(
                severity: .warn, path: check.path, code: "host-check-fooled",
                message: "Proxmox VE storage '\(check.storage)' has is_mountpoint set: a bind guard here looks mounted, "
                    + "so PVE writes into the guard and fails instead of skipping; guard it with --kind immutable, "
                    + "or have jobs ask hook-runner check",
                guardID: row?.id))
        }
        return findings
    }
}
