/// Which directories have mount points strictly below them, built from one read of the
/// mount table (never from the mounted filesystems): a target with mounts below it is not
/// offline, because a non-recursive guard would cover them (issue 13, item 3). Lookups
/// cost one hash, so a 10,000-target batch does not compare every target with every mount.
struct MountsBelowIndex {
    private var below: [PathKey: [String]] = [:]

    init(_ mounts: [MountInfoEntry]) {
        for m in mounts where m.mountPoint != "/" {
            var ancestor = m.mountPoint
            while let slash = ancestor.utf8.lastIndex(of: UInt8(ascii: "/")) {
                ancestor = String(ancestor[..<slash])
                if ancestor.isEmpty { break }
                below[PathKey(ancestor), default: []].append(m.mountPoint)
            }
        }
    }

    /// The mount points strictly below `path`, each once, in mount-table order.
    func mounts(below path: String) -> [String] {
        guard let found = below[PathKey(path)] else { return [] }
        var seen = Set<PathKey>()
        return found.filter { seen.insert(PathKey($0)).inserted }
    }
}
