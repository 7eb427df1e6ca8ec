import GuardStore

/// What `hidden` found at one target.
public struct HiddenReport: Sendable, Hashable {
    public var target: String
    public var path: String?
    /// Storage (or a guard) is mounted on top: the bare directory was read through a
    /// private clone of the parent mount.
    public var mounted: Bool
    public var scan: HiddenScan?
    /// Why the target could not be looked at (a bad target, no privilege for the clone).
    public var error: String?
}

extension GuardEngine {
    /// The default targets of `hidden` and `metrics`: every recorded (outstanding) guard's
    /// path, every configured `[storage."PATH"]` and every `sealed` mountpoint.
    public func recordedAndConfiguredMountpoints(sealed: [String]) -> [String] {
        let rows = (try? reading { store in try store.outstandingGuards() }) ?? nil
        var seen = Set<PathKey>()
        let all = (rows ?? []).map(\.path) + configuration.storage.byPath.keys.sorted() + sealed
        return all.filter { seen.insert(PathKey($0)).inserted }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Looks at what lies in each target's bare directory, *under* whatever is mounted there,
    /// through a private, non-recursive clone of the parent mount (`open_tree(OPEN_TREE_CLONE)`):
    /// the storage is never unmounted or entered. An offline target's bare directory is what
    /// the path shows. At most `budget` entries per target are visited.
    public func hidden(_ targets: [String], budget: Int = 1_000_000) -> [HiddenReport] {
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

    /// The target's bare directory: the path itself when nothing is mounted there, else the
    /// directory in a clone of the parent mount.
    func openBare(_ target: String) throws(HiddenFailure) -> (path: String, bare: DirectoryHandle, mounted: Bool) {
        switch prepare(target) {
        case .refused(let path, let why): throw HiddenFailure(path: path, reason: why.description)
        case .wouldCreate(let path): throw HiddenFailure(path: path, reason: "does not exist")
        case .ready(let p):
            if p.probe.mountState == .notMounted { return (p.path, p.handle, false) }
            kernel.close(p.handle)
            do {
                return (p.path, try kernel.openShadowed(p.path), true)
            } catch {
                let why = error.errno == .notPermitted
                    ? "looking under the mounted storage needs root (open_tree): \(error)" : "\(error)"
                throw HiddenFailure(path: p.path, reason: why)
            }
        }
    }
}
