import Glibc
import GuardStore
import SystemPackage

/// What `check` says about one target.
package enum StorageState: String, Sendable, Codable, CaseIterable {
    /// The expected storage is mounted.
    case online
    /// Nothing is mounted, or only a guard.
    case offline
    /// Something is mounted, but not the expected storage.
    case wrongStorage = "wrong-storage"
    /// Mounted but not answering within the deadline.
    case unreachable
    /// Not a directory we can check (bad path, missing, not a directory).
    case badTarget = "bad-target"
}

/// The answer of `check` for one target.
package struct StorageCheck: Sendable, Hashable {
    package var target: String
    package var path: String?
    package var state: StorageState
    /// What is mounted there (the topmost mount), if anything.
    package var mounted: MountedStorage?
    package var expected: ExpectedStorage?
    /// The guard at the path, when the store can be read and has one.
    package var guardID: GuardID?
    package var reason: String?
}

extension GuardEngine {
    /// `check`: is each target's storage there? Reads the mount table and (when readable)
    /// the store; takes no lock, changes nothing, needs no privilege. The only call that
    /// enters a filesystem, resolving the path, is bounded by `deadline` seconds.
    package func check(_ targets: [String], deadline: Double) -> [StorageCheck] {
        let entries = (try? kernel.mountInfo()) ?? []
        // A store we may not read (a non-root caller) only costs the guard ids.
        let rows = (try? reading { store in try store.outstandingGuards() }) ?? nil
        let rowByPath = Dictionary((rows ?? []).map { (PathKey($0.path), $0) }, uniquingKeysWith: { a, _ in a })
        return targets.map { target in
            var c = checkOne(target, deadline: deadline, entries: entries)
            if let path = c.path, let row = rowByPath[PathKey(path)] { c.guardID = row.id }
            return c
        }
    }

    private func checkOne(_ target: String, deadline: Double, entries: [MountInfoEntry]) -> StorageCheck {
        var c = StorageCheck(target: target, path: nil, state: .badTarget)
        let normal: String
        switch PathPolicy.normalize(target) {
        case .failure(let why): c.reason = why.description; return c
        case .success(let p): normal = p
        }
        c.path = normal
        c.expected = configuration.storage.byPath[normal]
        switch boundedResolve(normal, deadline: deadline) {
        case nil:
            c.state = .unreachable
            c.mounted = StorageIdentity.topmost(at: normal, in: entries)
            c.reason = "no answer within \(deadline) s"
            return c
        case .failure(let e)?:
            if let m = StorageIdentity.topmost(at: normal, in: entries), !m.isReadOnlySelfBind {
                // A mount whose root cannot be looked up (ENOTCONN of a dead FUSE daemon, EIO).
                c.state = .unreachable; c.mounted = m; c.reason = "\(e)"
                return c
            }
            c.reason = e.errno == .noSuchFileOrDirectory ? "does not exist" : "\(e)"
            return c
        case .success(let (resolved, isDirectory))?:
            c.path = resolved
            if c.expected == nil { c.expected = configuration.storage.byPath[resolved] }
            guard isDirectory else { c.reason = "not a directory"; return c }
        }
        let path = c.path ?? normal
        guard let top = StorageIdentity.topmost(at: path, in: entries) else {
            c.state = .offline; c.reason = "nothing is mounted"
            return c
        }
        c.mounted = top
        if top.isReadOnlySelfBind {
            c.state = .offline; c.reason = "only a read-only bind guard is mounted"
            return c
        }
        if let expected = c.expected,
           let wrong = StorageIdentity.mismatch(top, expected, diskByUUID: configuration.storage.diskByUUID) {
            c.state = .wrongStorage; c.reason = wrong
            return c
        }
        c.state = .online
        c.reason = c.expected == nil ? "storage is mounted (no identity configured)" : "the expected storage is mounted"
        return c
    }

    /// realpath and stat of the target, bounded: the one call of `check` that enters the
    /// mounted filesystem. nil when it did not answer in time.
    private func boundedResolve(_ path: String, deadline: Double) -> Result<(String, Bool), KernelError>? {
        let kernel = self.kernel
        return BoundedCall.run(seconds: deadline) { () -> Result<(String, Bool), KernelError> in
            do throws(KernelError) {
                let resolved = try kernel.resolve(path)
                var st = stat()
                guard stat(resolved, &st) == 0 else { return .failure(KernelError(Errno(rawValue: errno), "stat", resolved)) }
                return .success((resolved, st.st_mode & S_IFMT == S_IFDIR))
            } catch {
                return .failure(error)
            }
        }
    }

    /// Why the storage mounted at `path` is not the one configured for it; nil when it is,
    /// when nothing (or only a guard) is mounted, or when no identity is configured.
    func wrongStorage(at path: String) -> String? {
        guard let expected = configuration.storage.byPath[path], let entries = try? kernel.mountInfo(),
              let top = StorageIdentity.topmost(at: path, in: entries), !top.isReadOnlySelfBind else { return nil }
        return StorageIdentity.mismatch(top, expected, diskByUUID: configuration.storage.diskByUUID)
    }
}

extension StorageCheck: Encodable {}
