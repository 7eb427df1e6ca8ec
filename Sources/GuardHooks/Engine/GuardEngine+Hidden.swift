import FileIO
import GuardStore

/// What `hidden` found at one target.
package struct HiddenReport: Sendable, Hashable {
    package var target: String
    package var path: String?
    /// Storage (or a guard) is mounted on top: the bare directory was read through a
    /// private clone of the parent mount.
    package var mounted: Bool
    package var scan: HiddenScan?
    /// Why the target could not be looked at (a bad target, no privilege for the clone).
    package var error: String?
}

extension GuardEngine {
    /// The default targets of `hidden` and `metrics`: every recorded (outstanding) guard's
    /// path, every configured `[storage."PATH"]` and every `sealed` mountpoint.
    package func recordedAndConfiguredMountpoints(sealed: [String]) -> [String] {
        let rows = (try? reading { store in try store.outstandingGuards() }) ?? nil
        var seen = Set<PathKey>()
        let all = (rows ?? []).map(\.path) + configuration.storage.byPath.keys.sorted() + sealed
        return all.filter { seen.insert(PathKey($0)).inserted }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Looks at what lies in each target's bare directory, *under* whatever is mounted there,
    /// through a private, non-recursive clone of the parent mount (`open_tree(OPEN_TREE_CLONE)`):
    /// the storage is never unmounted or entered. An offline target's bare directory is what
    /// the path shows. At most `budget` entries per target are visited.
    package func hidden(_ targets: [String], budget: Int = 1_000_000) -> [HiddenReport] {
        targets.map { target in
            var report = HiddenReport(target: target, path: nil, mounted: false)
            do throws(HiddenFailure) {
                let (path, bare, mounted) = try openBare(target)
                defer { kernel.close(bare) }
                report.path = path
                report.mounted = mounted
                do { report.scan = try HiddenScanner.scan(bare.fd, path: path, budget: budget) } catch {
                    report.error = "\(error)"
                }
            } catch {
                report.path = error.path
                report.error = error.reason
            }
            return report
        }
    }

    struct HiddenFailure: Error {
        var path: String?
        var reason: String
    }

    /// The target's bare directory, found without entering whatever is mounted on it (a
    /// dead NFS or FUSE mount must not hang `hidden` or a metrics scrape): the parent is
    /// resolved, never the target, the mount table says whether something is mounted, and
    /// the directory is opened in a clone of the parent mount. Without the privilege for the
    /// clone, an offline target is opened directly (no symlink followed).
    func openBare(_ target: String) throws(HiddenFailure) -> (path: String, bare: DirectoryHandle, mounted: Bool) {
        let normal: String
        switch PathPolicy.normalize(target) {
        case .failure(let why): throw HiddenFailure(path: nil, reason: why.description)
        case .success(let p): normal = p
        }
        guard let name = FileIO.lastComponent(normal), normal != "/" else { throw HiddenFailure(path: normal, reason: "not a mountpoint") }
        var path: String
        do {
            let parent = try kernel.resolve(FileIO.parentDirectory(normal))
            path = (parent == "/" ? "" : parent) + "/" + name
        } catch {
            throw HiddenFailure(path: normal, reason: error.errno == .noSuchFileOrDirectory ? "does not exist" : "\(error)")
        }
        switch policy.check(resolved: path) {
        case .failure(let why): throw HiddenFailure(path: path, reason: why.description)
        case .success(let p): path = p
        }
        let mounted = ((try? kernel.mountInfo()).flatMap { StorageIdentity.topmost(at: path, in: $0) }) != nil
        do {
            return (path, try kernel.openShadowed(path), mounted)
        } catch let shadow {
            if shadow.errno == .notPermitted && !mounted {
                do { return (path, try kernel.openDirectory(path), false) } catch {
                    throw HiddenFailure(path: path, reason: describe(error))
                }
            }
            let why = shadow.errno == .notPermitted
                ? "looking under the mounted storage needs root (open_tree): \(shadow)" : describe(shadow)
            throw HiddenFailure(path: path, reason: why)
        }
    }

    private func describe(_ error: KernelError) -> String {
        switch error.errno {
        case .noSuchFileOrDirectory: return "does not exist"
        case .notDirectory: return "not a directory"
        case .tooManySymbolicLinkLevels: return "a symlink (not followed)"
        default: return "\(error)"
        }
    }
}

extension HiddenReport: Encodable {
    private enum DocumentKeys: String, CodingKey { case target, path, mounted, error, bytes, entries, largest, truncated }

    /// The scan's totals and entries (`largest`) as fields of the report.
    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: DocumentKeys.self)
        try c.encode(target, forKey: .target); try c.encodeIfPresent(path, forKey: .path)
        try c.encode(mounted, forKey: .mounted); try c.encodeIfPresent(error, forKey: .error)
        guard let scan else { return }
        try c.encode(scan.bytes, forKey: .bytes); try c.encode(scan.entries, forKey: .entries)
        try c.encode(scan.top, forKey: .largest); try c.encode(scan.truncated, forKey: .truncated)
    }
}
