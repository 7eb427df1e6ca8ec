import SystemPackage

/// Whether a directory is the root of a mount. `unknown` never guesses (DESIGN.md).
package enum MountState: String, Sendable, Codable {
    case mounted
    case notMounted = "not-mounted"
    case unknown
}

/// An open directory fd, obtained without following symlinks, on which every check and
/// every action of one target happens. `path` is for messages only.
package struct DirectoryHandle: Sendable, Hashable {
    package let fd: Int32
    package let path: String
    package init(fd: Int32, path: String) { self.fd = fd; self.path = path }
}

/// A canonical path looked at from its parent's side and, unless a storage is mounted
/// there, opened (`KernelOperations.openPlaced`).
package enum PlacedDirectory: Sendable, Hashable {
    case missing
    /// The last component is a symlink: resolve it first.
    case symlink
    /// Another filesystem is mounted there: not opened, never called into.
    case storage
    /// Opened like `openDirectory` (the topmost mount); `mounted`: a bind of the parent's own
    /// filesystem sits there (`MountPlacement.mounted(foreign: false)`).
    case opened(DirectoryHandle, mounted: Bool)

    var placement: MountPlacement {
        switch self {
        case .missing: return .missing
        case .symlink: return .symlink
        case .storage: return .mounted(foreign: true)
        case .opened(_, let mounted): return mounted ? .mounted(foreign: false) : .notMounted
        }
    }
}

extension KernelOperations {
    /// The two calls one after the other (the fake, and the real kernel's fallbacks).
    package func openPlacedInTwoSteps(_ path: String) throws(KernelError) -> PlacedDirectory {
        switch try mountPlacement(path) {
        case .missing: return .missing
        case .symlink: return .symlink
        case .mounted(foreign: true): return .storage
        case .mounted(foreign: false): return .opened(try openMarked(path), mounted: true)
        case .notMounted: return .opened(try openMarked(path), mounted: false)
        }
    }

    private func openMarked(_ path: String) throws(KernelError) -> DirectoryHandle {
        do { return try openDirectory(path) } catch { throw KernelError(error.errno, KernelError.openingDirectory, path) }
    }
}

/// What `statx` says about a directory fd.
package struct DirectoryProbe: Sendable, Hashable {
    package var device: UInt64
    package var inode: UInt64
    package var isDirectory: Bool
    /// Whether the fd is a mount root (`STATX_ATTR_MOUNT_ROOT`), or `unknown` when the
    /// kernel did not fill that attribute and mountinfo could not settle it either.
    package var mountState: MountState
    /// Id of the mount the fd lives on (`STATX_MNT_ID_UNIQUE` when `mountIDIsUnique`).
    package var mountID: UInt64?
    package var mountIDIsUnique: Bool

    package init(device: UInt64, inode: UInt64, isDirectory: Bool, mountState: MountState,
                mountID: UInt64?, mountIDIsUnique: Bool) {
        self.device = device; self.inode = inode; self.isDirectory = isDirectory
        self.mountState = mountState; self.mountID = mountID; self.mountIDIsUnique = mountIDIsUnique
    }
}

/// A failed system call: which one, on what, and the errno.
package struct KernelError: Error, Sendable, Hashable, CustomStringConvertible {
    package var errno: Errno
    package var operation: String
    package var path: String

    package init(_ errno: Errno, _ operation: String, _ path: String) {
        self.errno = errno; self.operation = operation; self.path = path
    }

    /// The filesystem cannot hold the immutable flag (or the kernel lacks the call).
    package var isUnsupported: Bool {
        errno == .notSupported || errno == .noFunction || errno == Errno(rawValue: 25 /* ENOTTY */)
            || errno == Errno(rawValue: 95 /* EOPNOTSUPP */)
    }

    package var description: String { "\(operation) \(path): \(errno)" }

    /// The operation of `openPlaced`'s error when the directory itself (not its parent)
    /// could not be opened: not a directory, out of descriptors, …
    package static let openingDirectory = "open directory"

    /// The operation of the error a bind guard reports when it landed on a mount that
    /// appeared after the probe, and was undone (`makeReadOnlyBind`).
    package static let attachedOnAMount = "attach guard (storage was mounted on the target meanwhile; undone)"

    package var isMountedMeanwhile: Bool { operation == Self.attachedOnAMount }

    /// Out of descriptors or memory: nothing about the target, never a reason to change
    /// the guard kind (issue 13, item 5).
    package var isResourceExhaustion: Bool {
        errno == .tooManyOpenFiles || errno == .tooManyOpenFilesInSystem || errno == .noMemory
    }
}

/// A read-only self-bind guard that was attached.
package struct BindGuardMount: Sendable, Hashable {
    package var mountID: UInt64
    package var mountIDIsUnique: Bool
    /// True when the new mount API was missing and bind + remount was used instead
    /// (the guard was writable for the instant between the two calls).
    package var usedFallback: Bool

    package init(mountID: UInt64, mountIDIsUnique: Bool, usedFallback: Bool) {
        self.mountID = mountID; self.mountIDIsUnique = mountIDIsUnique; self.usedFallback = usedFallback
    }
}

/// What happened when removing a bind guard.
package enum BindRemoval: Sendable, Hashable {
    /// The topmost mount at the path was our guard and it is gone now.
    case removed
    /// The topmost mount at the path is another mount (storage mounted over the guard,
    /// or our guard is gone and something else is there): nothing was unmounted.
    case notTopmost(topmostMountID: UInt64?)
    /// The path is not a mount root at all: the guard is not there.
    case notMounted
}

/// One line of `/proc/self/mountinfo`.
package struct MountInfoEntry: Sendable, Hashable {
    package var mountID: UInt64
    package var parentID: UInt64
    package var deviceMajor: UInt32
    package var deviceMinor: UInt32
    package var root: String
    package var mountPoint: String
    package var options: String
    package var optionalFields: [String]
    package var fsType: String
    package var source: String
    package var superOptions: String

    package init(mountID: UInt64, parentID: UInt64, deviceMajor: UInt32, deviceMinor: UInt32,
                root: String, mountPoint: String, options: String, optionalFields: [String],
                fsType: String, source: String, superOptions: String) {
        self.mountID = mountID; self.parentID = parentID; self.deviceMajor = deviceMajor
        self.deviceMinor = deviceMinor; self.root = root; self.mountPoint = mountPoint
        self.options = options; self.optionalFields = optionalFields; self.fsType = fsType
        self.source = source; self.superOptions = superOptions
    }

    package var isReadOnly: Bool { options.split(separator: ",").contains("ro") }

    /// The per-mount options carry ro, nosuid, nodev and noexec: a guard's attributes.
    package var hasGuardAttributes: Bool {
        let o = Set(options.split(separator: ","))
        return ["ro", "nosuid", "nodev", "noexec"].allSatisfy { o.contains(Substring($0)) }
    }
}

/// Where a mount is attached in this mount namespace, read from the mount table
/// (`statmount`, or mountinfo), never by a call into the mounted filesystem.
package struct MountWhereabouts: Sendable, Hashable {
    package var mountPoint: String
    /// ro, nosuid, nodev and noexec are all set: a guard's attributes.
    package var hasGuardAttributes: Bool
    /// The mounted filesystem's device, to tell a reused mountinfo id from the guard.
    package var device: UInt64?

    package init(mountPoint: String, hasGuardAttributes: Bool, device: UInt64?) {
        self.mountPoint = mountPoint; self.hasGuardAttributes = hasGuardAttributes; self.device = device
    }
}

/// The answer of `KernelOperations.lookUpMount`.
package enum MountLookup: Sendable, Hashable {
    /// No mount with that id in this namespace.
    case absent
    case found(MountWhereabouts)
    /// The kernel cannot tell (no statmount for a unique id, unreadable mountinfo).
    case unknown

    /// The mountinfo answer for a reusable id (kernels without statmount).
    package static func inMountInfo(id: UInt64, _ entries: [MountInfoEntry]) -> MountLookup {
        guard let e = entries.first(where: { $0.mountID == id }) else { return .absent }
        return .found(MountWhereabouts(mountPoint: e.mountPoint, hasGuardAttributes: e.hasGuardAttributes,
                                       device: makeDevice(major: e.deviceMajor, minor: e.deviceMinor)))
    }
}

/// Every kernel call the engine makes, behind one seam: `LinuxKernel` for real,
/// an in-memory fake in tests (the GuardHooksTesting target). Paths given here are absolute and already validated by policy.
package protocol KernelOperations: Sendable {
    /// Resolves symlinks and `..` (realpath); the result is what policy checks.
    func resolve(_ path: String) throws(KernelError) -> String
    /// Opens an existing directory with `O_RDONLY|O_DIRECTORY|O_CLOEXEC`, following no
    /// symlink in any component (`openat2` + `RESOLVE_NO_SYMLINKS`, or component-wise
    /// `O_NOFOLLOW`). The fd lands on the topmost mount at the path.
    func openDirectory(_ path: String) throws(KernelError) -> DirectoryHandle
    /// Opens the directory *underneath* whatever is mounted at `path`, through a
    /// non-recursive clone of the parent's mount; for looking at shadowed inodes.
    func openShadowed(_ path: String) throws(KernelError) -> DirectoryHandle
    func close(_ handle: DirectoryHandle)
    /// Creates the last component of `path` (mode 0755), its parent opened without symlinks.
    func createDirectory(_ path: String) throws(KernelError)

    func probe(_ handle: DirectoryHandle) throws(KernelError) -> DirectoryProbe
    /// Whether something is mounted at `path` (resolved), read from the mount table without
    /// calling into any mounted filesystem (MountTable.swift). Opens the parent only.
    func mountPlacement(_ path: String) throws(KernelError) -> MountPlacement
    /// `mountPlacement` and, unless a storage is mounted there, `openDirectory`, in one
    /// step: the engine's way from a canonical path to a directory it may act on. When the
    /// directory itself cannot be opened the error's operation is `KernelError.openingDirectory`.
    func openPlaced(_ path: String) throws(KernelError) -> PlacedDirectory
    /// `probe` of the root of the mount at `path`: a call into that filesystem. May block
    /// forever on a dead server: ask `answers` first.
    func probeMountRoot(_ path: String) throws(KernelError) -> DirectoryProbe
    /// Whether resolving `path` (every component, a mount's root at the path included)
    /// finishes within `seconds`, tried where a blocked call cannot keep this process from
    /// exiting (a child process).
    func answers(_ path: String, within seconds: Double) -> Bool
    /// Whether the directory has any entry besides `.` and `..`.
    func hasEntries(_ handle: DirectoryHandle) throws(KernelError) -> Bool

    /// `FS_IOC_GETFLAGS` & `FS_IMMUTABLE_FL`. Unsupported filesystems throw `ENOTTY`/`EOPNOTSUPP`.
    func isImmutable(_ handle: DirectoryHandle) throws(KernelError) -> Bool
    /// Read-modify-write of the inode flags with `FS_IMMUTABLE_FL` set or cleared.
    func setImmutable(_ handle: DirectoryHandle, _ on: Bool) throws(KernelError)

    /// Attaches a read-only, nosuid, nodev, noexec self-bind on the handle's directory.
    func makeReadOnlyBind(_ handle: DirectoryHandle) throws(KernelError) -> BindGuardMount
    /// Unmounts the bind guard at `path` only if the topmost mount there is `mountID` with
    /// nothing mounted on or inside it (never by bare path, never by "highest id").
    /// umount2 always takes the topmost mount at a path, even through `/proc/self/fd/N`, so
    /// the check is repeated just before umount2 through a pinned parent directory, and a
    /// mount that races in during those microseconds is reported (EBUSY), not hidden.
    /// Throws EBUSY also when the guard is in use (an open fd or cwd inside it).
    func removeBind(at path: String, mountID: UInt64, mountIDIsUnique: Bool) throws(KernelError) -> BindRemoval
    /// Whether a mount with this unique id exists in this mount namespace
    /// (`statmount`); nil when the kernel cannot tell.
    func mountExists(uniqueID: UInt64) -> Bool?
    /// Where the mount with this id is attached here and with which attributes: statmount
    /// for a unique id, mountinfo for a reusable one (which may name another mount since:
    /// callers compare the device and attributes).
    func lookUpMount(id: UInt64, unique: Bool) -> MountLookup

    func mountInfo() throws(KernelError) -> [MountInfoEntry]
    func bootID() throws(KernelError) -> String
    /// Inode of `/proc/self/ns/mnt`.
    func mountNamespace() -> UInt64?
    /// Whether any process still has this mount namespace (scan of `/proc/*/ns/mnt`);
    /// nil when it cannot be told. With `guardMountID` (a unique mount id), a namespace whose
    /// root mount is newer than that guard is another one that reuses the inode number: every
    /// mount of a namespace made after the guard has a larger unique id.
    func mountNamespaceAlive(_ namespace: UInt64, madeBeforeMount guardMountID: UInt64?) -> Bool?
}

extension KernelOperations {
    /// `mountNamespaceAlive` by the inode alone.
    public func mountNamespaceAlive(_ namespace: UInt64) -> Bool? {
        mountNamespaceAlive(namespace, madeBeforeMount: nil)
    }
}
