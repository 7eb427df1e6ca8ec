import Glibc
import FileIO
import GuardStore
import SystemPackage

/// Settings of one engine: where the store is, which roots may be guarded, who acts.
public struct GuardEngineConfiguration: Sendable {
    /// The SQLite store, absolute (a relative path is anchored to the current directory).
    public var storePath: String
    /// Only directories below these may be guarded.
    public var allowedRoots: [String]
    /// Seconds to wait for the writers' lock before reporting busy (exit 75).
    public var lockTimeout: Double
    /// Recorded on every event ("hook-runner apply", "backup-tool 2.1", …).
    public var actor: String
    /// The hook run the changes belong to, if any (`GUARD_HOOKS_RUN_ID`).
    public var runID: RunID?
    /// The job this engine acts for: `apply` adds its claim, `clear` releases it (README,
    /// "How guards work"). nil: the operator, who holds no claim.
    package var claimant: ClaimHolder?
    /// `clear` removes a guard although other jobs hold claims on it (the operator's override).
    public var forceClear = false
    /// `doctor` warns about a guard held by a claim older than this many seconds.
    public var claimWarnAfter: Double = 86_400
    #if GUARD_HOOKS_FAULT_POINTS
    /// Test-only: stop the process dead at a point of the write-ahead protocol.
    package var faultPoint: FaultPoint?
    #endif
    /// Seconds a call into a possibly dead storage may take; its target is then `unreachable`.
    public var probeTimeout: Double = Settings.Default.probeTimeout
    /// `doctor` warns about a guard pending longer than this many seconds.
    public var pendingWarnAfter: Double
    /// The storage expected at each configured mountpoint, and where identities are looked up.
    package var storage = StorageExpectations()

    /// hook-runner's store: `/var/lib/guard-hooks/guards.db`.
    public static let defaultStorePath = "/var/lib/guard-hooks/guards.db"

    /// Guard only below these roots unless told otherwise: `/mnt`, `/media`, `/run/media`.
    public static let defaultAllowedRoots = PathPolicy.defaultAllowedRoots

    /// Whether a store that does not exist at `storePath` is created by the first write (and
    /// reads as empty until then). false: every operation throws `GuardEngineError.storeMissing`,
    /// so a mistyped path cannot start a second, empty store. hook-runner passes true.
    public var createStoreIfMissing: Bool

    /// A configuration; the defaults are hook-runner's, except that the store must exist.
    public init(storePath: String = GuardEngineConfiguration.defaultStorePath,
                allowedRoots: [String] = GuardEngineConfiguration.defaultAllowedRoots, lockTimeout: Double = 10,
                actor: String = "guard-hooks", runID: RunID? = nil, pendingWarnAfter: Double = 86_400,
                createStoreIfMissing: Bool = false) {
        // A relative store path would mean another store for every working directory (hooks
        // run with cwd /): anchored once, here, for every layer below.
        self.storePath = FileIO.absolutePath(storePath)
        self.allowedRoots = allowedRoots; self.lockTimeout = lockTimeout
        self.actor = actor; self.runID = runID; self.pendingWarnAfter = pendingWarnAfter
        self.createStoreIfMissing = createStoreIfMissing
    }

    /// An engine's configuration from resolved settings.
    package init(settings: Settings, actor: String, runID: RunID? = nil) {
        // hook-runner creates its store on the first write, wherever it is configured.
        self.init(storePath: settings.storePath, allowedRoots: settings.allowedRoots,
                  lockTimeout: settings.lockTimeout, actor: actor, runID: runID, createStoreIfMissing: true)
        claimWarnAfter = settings.claimWarnAfter
        storage = StorageExpectations(settings)
        probeTimeout = settings.probeTimeout
    }

    var storeDirectory: String { FileIO.parentDirectory(storePath) }
}

/// Errors that stop a whole command (per-target problems are outcomes, not errors).
public enum GuardEngineError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The writers' lock is held by another process (exit 75).
    case busy(String)
    /// The store cannot be opened or written (exit 70): never recreated over.
    case store(String)
    /// A bad argument for the whole command (exit 64).
    case usage(String)
    /// The command could not do what it is for, e.g. a pre-* phase with no hook (exit 1).
    case failed(String)
    /// Out of descriptors or memory (exit 70): says nothing about any target.
    case resources(String)
    /// No store at this path, and the configuration does not say to create one
    /// (`createStoreIfMissing`) (exit 70): nothing was read, written or run.
    case storeMissing(path: String)

    public var description: String {
        switch self {
        case .busy(let m), .store(let m), .usage(let m), .failed(let m), .resources(let m): return m
        case .storeMissing(let path):
            return "\(path): no store there (set GuardEngineConfiguration.createStoreIfMissing to create it)"
        }
    }

    /// The exit code hook-runner gives this error (`SysExitCode`): 75, 70, 64 or 1.
    public var exitStatus: Int32 {
        switch self {
        case .busy: SysExitCode.tryAgainLater.rawValue
        case .store, .resources, .storeMissing: SysExitCode.internalError.rawValue
        case .usage: SysExitCode.usage.rawValue
        case .failed: SysExitCode.actionFailed.rawValue
        }
    }
}

/// The guard engine: apply, clear, seal, unseal, reconcile and doctor over a kernel and
/// a store. Decisions are pure functions (`GuardDecisions`, `ReconcileDecisions`,
/// `DoctorClassifier`); this type gathers their inputs and carries out their verdicts,
/// write-ahead: intents committed before the kernel is touched, outcomes settled after,
/// each in one batch transaction.
public final class GuardEngine: Sendable {
    package let kernel: any KernelOperations
    /// Where a claim's liveness is looked up.
    package let processes: any ProcessTable
    /// What this engine was built with.
    public let configuration: GuardEngineConfiguration
    let policy: PathPolicy

    /// An engine on this host's kernel and process table.
    public convenience init(configuration: GuardEngineConfiguration) {
        self.init(kernel: LinuxKernel(), configuration: configuration)
    }

    package init(kernel: any KernelOperations, processes: any ProcessTable = LinuxProcessTable(),
                configuration: GuardEngineConfiguration) {
        self.kernel = kernel
        self.processes = processes
        self.configuration = configuration
        self.policy = PathPolicy(allowedRoots: configuration.allowedRoots,
                                 protectedPaths: Self.spellings(ofDirectory: configuration.storeDirectory, kernel: kernel))
    }

    /// The store's (and its lock's) directory as typed, with `//`, `/./` and `..` folded,
    /// and as the kernel resolves it (symlinks followed, up to the deepest existing
    /// ancestor): a guard overlapping any of them would make the store read-only, so
    /// another spelling must not get round the check (issue 13, item 6).
    static func spellings(ofDirectory dir: String, kernel: any KernelOperations) -> [String] {
        var parts: [Substring] = []
        for part in dir.split(separator: "/") where part != "." {
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        let folded = "/" + parts.joined(separator: "/")
        var resolved = folded
        for keep in stride(from: parts.count, through: 0, by: -1) {
            guard let base = try? kernel.resolve("/" + parts.prefix(keep).joined(separator: "/")) else { continue }
            let rest = parts.dropFirst(keep).joined(separator: "/")
            resolved = rest.isEmpty ? base : (base == "/" ? "/" : base + "/") + rest
            break
        }
        var seen = Set<PathKey>()
        return [dir, folded, resolved].filter { seen.insert(PathKey($0)).inserted }
    }

    var actor: Actor { Actor(configuration.actor) }

    // MARK: sessions

    /// The lock and the store one command works with. A dry run takes no lock and opens
    /// the store read-only if it exists: it creates nothing.
    struct Session {
        var lock: StoreLock?
        var store: GuardStore?
    }

    func openSession(forWriting: Bool) throws -> Session {
        if !configuration.createStoreIfMissing, access(configuration.storePath, F_OK) != 0, errno == ENOENT {
            throw GuardEngineError.storeMissing(path: configuration.storePath)
        }
        if !forWriting {
            // Only a store that does not exist reads as empty; one we may not see (EACCES on
            // its directory) is an error, or a non-root reader would be told "no guards".
            guard access(configuration.storePath, F_OK) == 0 || errno != ENOENT else { return Session(lock: nil, store: nil) }
            return Session(lock: nil, store: try openStore(mode: .readOnly, create: false))
        }
        try ensureStoreDirectory()
        // Before the lock file is created beside it: `--db /etc/passwd` must not leave an
        // /etc/passwd.lock, and root must not lock beside files another user controls.
        try mappingStoreErrors { try GuardStore.checkBeforeLocking(path: configuration.storePath) }
        let lock = try acquireLock()
        return Session(lock: lock, store: try openStore(mode: .readWrite, create: true))
    }

    /// The writers' lock next to the store, waited on for `lockTimeout` seconds.
    func acquireLock() throws -> StoreLock {
        do {
            return try StoreLock.acquire(path: configuration.storePath + ".lock", timeout: configuration.lockTimeout)
        } catch let failure {
            switch failure {
            case .busy: throw GuardEngineError.busy(failure.description)
            case .cannotOpen, .untrusted: throw GuardEngineError.store(failure.description)
            }
        }
    }

    func openStore(mode: GuardStore.Mode, create: Bool) throws -> GuardStore {
        do {
            return try GuardStore.open(path: configuration.storePath, mode: mode, create: create)
        } catch {
            throw GuardEngineError.store("\(configuration.storePath): \(error)")
        }
    }

    private func ensureStoreDirectory() throws {
        let dir = configuration.storeDirectory
        if access(dir, F_OK) == 0 { return }
        var prefix = ""
        for part in dir.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw GuardEngineError.store("\(prefix): cannot create the store directory: \(String(cString: strerror(errno)))")
            }
        }
        _ = chmod(dir, 0o700)
    }

    /// Store failures (a full disk, a corrupt file) reach callers as one error type naming
    /// the store, whichever call met them.
    @discardableResult
    func mappingStoreErrors<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as GuardEngineError { throw e } catch let e as StoreError {
            throw GuardEngineError.store("\(configuration.storePath): \(e)")
        } catch let e as DatabaseError {
            throw GuardEngineError.store("\(configuration.storePath): \(e)")
        }
    }

    /// Facts about the target for the decision tables, read on the prepared fd. No fd: a
    /// storage is mounted there, and its root's flag is not read (a call into the storage).
    func facts(_ handle: DirectoryHandle?, probe: DirectoryProbe, row: GuardRecord?) -> TargetFacts {
        var f = TargetFacts(mountState: probe.mountState, topMountID: probe.mountID)
        if let handle {
            do { f.immutable = try kernel.isImmutable(handle) } catch {
                if error.isUnsupported { f.immutable = false; f.immutableSupported = false } else { f.immutable = nil }
            }
        } else {
            f.immutable = nil
        }
        if let row, row.kind == .bind, row.mountID != nil {
            let recorded = recordedBind(row)
            f.recordedMountExists = recorded.exists
            if case .moved(let to) = recorded { f.recordedMountMovedTo = to }
        }
        return f
    }

    /// Where a recorded bind guard's own mount is now (issue 13, item 7).
    enum RecordedBind: Equatable {
        /// At the row's path; `inForce`: still read-only, nosuid, nodev, noexec.
        case atPath(inForce: Bool)
        /// The same mount, attached elsewhere (`mv` of a parent directory).
        case moved(to: String)
        case gone
        case unknown

        var exists: Bool? {
            switch self {
            case .atPath, .moved: return true
            case .gone: return false
            case .unknown: return nil
            }
        }
    }

    /// Looks the row's guard mount up by its id in the mount table (statmount's mount point
    /// and attributes; mountinfo for a reusable id), never by calling into a filesystem.
    func recordedBind(_ row: GuardRecord) -> RecordedBind {
        guard row.kind == .bind, let id = row.mountID else { return .unknown }
        switch kernel.lookUpMount(id: id, unique: row.mountIDIsUnique) {
        case .unknown: return .unknown
        case .absent: return .gone
        case .found(let m):
            if m.mountPoint.utf8.elementsEqual(row.path.utf8) { return .atPath(inForce: m.hasGuardAttributes) }
            // A reusable id elsewhere is ours only on the same filesystem with a guard's attributes.
            if !row.mountIDIsUnique && (row.device == nil || m.device != row.device || !m.hasGuardAttributes) { return .gone }
            return .moved(to: m.mountPoint)
        }
    }

    func bootID() throws -> String {
        do { return try kernel.bootID() } catch { throw GuardEngineError.store("cannot read the boot id: \(error)") }
    }
}

