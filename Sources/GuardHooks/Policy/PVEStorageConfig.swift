/// The part of Proxmox VE's `/etc/pve/storage.cfg` that `doctor` needs: directory storages
/// with `is_mountpoint` set. PVE checks such a storage with a plain "is this path a mount
/// point?", which a read-only bind guard answers yes: PVE then writes into the guard and
/// fails instead of skipping the storage.
///
///     dir: usb1
///             path /mnt/usb1
///             content backup
///             is_mountpoint yes          # or 1, or the mount point's own path
package enum PVEStorageConfig {
    package struct MountpointCheck: Sendable, Hashable {
        /// The storage id (`usb1`).
        package var storage: String
        /// The path PVE checks to be a mount point.
        package var path: String
    }

    /// Every directory storage that has PVE check a mount point. Unknown sections and
    /// properties are ignored; the file is PVE's, not ours.
    package static func mountpointChecks(_ text: String) -> [MountpointCheck] {
        var out: [MountpointCheck] = []
        var section: (type: String, id: String)?
        var path: String?
        var isMountpoint: String?
        func flush() {
            if let s = section, s.type == "dir", let value = isMountpoint, !["no", "0", "off", "false"].contains(value) {
                let checked = value.hasPrefix("/") ? value : path
                if let checked { out.append(MountpointCheck(storage: s.id, path: checked)) }
            }
            section = nil; path = nil; isMountpoint = nil
        }
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if raw.first != " " && raw.first != "\t", let colon = line.firstIndex(of: ":") {
                flush()
                section = (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmedBlanks)
                continue
            }
            let parts = line.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "path": path = String(parts[1]).trimmedBlanks
            case "is_mountpoint": isMountpoint = String(parts[1]).trimmedBlanks
            default: break
            }
        }
        flush()
        return out
    }
}

private extension String {
    var trimmedBlanks: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
