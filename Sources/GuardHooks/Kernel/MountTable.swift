import CGuardSys
import FileIO
import SystemPackage
import Glibc
import Synchronization

/// Where a resolved path stands in the mount table, decided without calling into any
/// mounted filesystem (DESIGN.md, "Never touch a storage to decide"): a dead NFS server
/// blocks every such call forever.
package enum MountPlacement: Sendable, Hashable {
    /// Nothing is mounted at the path: the directory lives on its parent's filesystem.
    case notMounted
    /// A mount sits at the path. `foreign`: another filesystem than the parent's (storage,
    /// whose server may not answer); false for a bind of the parent's own filesystem, such
    /// as our bind guards, which is as safe to touch as the parent already was.
    case mounted(foreign: Bool)
    /// The last component is a symlink: resolve it first.
    case symlink
    case missing
}

/// The one API every command uses for a bounded mount-state probe (apply, seal, clear,
/// unseal, import, reconcile, doctor, check): `reachable(path)` first (bounded, in a child
/// process), then `mountPlacement` (never enters a mount) and whatever the command does there.
/// One gate per operation (`GuardEngine.operation`): a mount that answered (or did not) is
/// asked once, 300 targets below one dead server cost one deadline, not 300; and the next
/// operation asks again (a library engine lives long: a storage alive at its first operation
/// may be dead at the tenth, or back).
final class ReachabilityGate: Sendable {
    /// The gate of the operation this task is running. Per task: another task's operation
    /// on the same engine has its own, so it never drops this one's answers (which would
    /// make it ask again under the writers' lock).
    @TaskLocal static var current: ReachabilityGate?

    private let kernel: any KernelOperations
    private let seconds: Double
    private struct Cache {
        var mountPoints: MountIndex??
        /// By the mount point of the deepest mount at or above a path.
        var answered: [String: Bool] = [:]
    }
    /// Threads an operation may use share its cache, under a lock.
    private let cache = Mutex(Cache())

    init(kernel: any KernelOperations, seconds: Double) {
        self.kernel = kernel; self.seconds = seconds
    }

    /// Whether every filesystem on the way to `path` answers within the probe deadline. A
    /// mount already asked in this operation is not asked again.
    func reachable(_ path: String) -> Bool {
        let points = cache.withLock { c in
            if c.mountPoints == nil { c.mountPoints = .some((try? kernel.mountInfo()).map(MountIndex.init)) }
            return c.mountPoints ?? nil
        }
        let key = points?.deepestPoint(atOrAbove: path)
        if let key, let known = cache.withLock({ $0.answered[key] }) { return known }
        let answer = kernel.answers(path, within: seconds)
        if let key { cache.withLock { $0.answered[key] = answer } }
        return answer
    }
}

extension GuardEngine {
    /// See `ReachabilityGate.reachable`: the operation's gate; outside an operation nothing
    /// is kept (asked every time).
    func reachable(_ path: String) -> Bool {
        ReachabilityGate.current?.reachable(path) ?? kernel.answers(path, within: configuration.probeTimeout)
    }

    /// Runs one operation (apply, clear, import, reconcile, doctor) with a reachability gate
    /// of its own; an operation inside another (seal's apply, metrics' doctor) shares it.
    func operation<T>(_ body: () throws -> T) rethrows -> T {
        if ReachabilityGate.current != nil { return try body() }
        return try ReachabilityGate.$current.withValue(ReachabilityGate(kernel: kernel, seconds: configuration.probeTimeout)) {
            try body()
        }
    }

    /// Asks every storage on the way to the targets, before the writers' lock is taken: the
    /// waits on a dead one happen here, and under the lock the answers are known.
    func askAhead(_ targets: [String]) {
        for target in targets { if case .success(let p) = PathPolicy.normalize(target) { _ = reachable(p) } }
    }

    /// The words of an `unreachable` outcome.
    var unreachableReason: String {
        let s = configuration.probeTimeout
        return "storage not responding (no answer within \(s == s.rounded() ? String(Int(s)) : String(s)) s)"
    }
}

extension LinuxKernel {
    /// From the parent's side: `openat2(parent, name, O_PATH, RESOLVE_NO_XDEV)` fails with
    /// EXDEV exactly when a mount sits at `name`, without crossing into it. Kernels without
    /// openat2 (or the forced fallback) read /proc/self/mountinfo instead, which the kernel
    /// renders from its own mount table. Which filesystem is mounted comes from mountinfo's
    /// device numbers either way.
    package func mountPlacement(_ path: String) throws(KernelError) -> MountPlacement {
        let (parentPath, name) = try split(path)
        let parent = try openNoSymlinks(parentPath, flags: Int32(GS_O_PATH) | Int32(GS_O_DIRECTORY) | Int32(GS_O_CLOEXEC))
        defer { closeFD(parent) }
        if !fallbacks.componentWalk && !fallbacks.noMountTableCalls {
            let fd = gs_openat2(parent, name, UInt64(GS_O_PATH | GS_O_NOFOLLOW | GS_O_CLOEXEC), 0,
                                GS_RESOLVE_NO_XDEV | GS_RESOLVE_NO_SYMLINKS | GS_RESOLVE_NO_MAGICLINKS)
            switch fd {
            case 0...:
                defer { closeFD(fd) }
                // O_PATH|O_NOFOLLOW hands back a trailing symlink itself; statx of that fd
                // reads the parent's filesystem only.
                let st = try statx(fd, path, mask: GS_STATX_TYPE)
                return st.mode & FileMode.typeMask == FileMode.symlink ? .symlink : .notMounted
            case -Int32(EXDEV): return .mounted(foreign: try isForeign(path))
            case -Int32(ELOOP): return .symlink
            case -Int32(ENOENT): return .missing
            case -Int32(ENOSYS): break
            default: throw KernelError(Errno(rawValue: -fd), "openat2(RESOLVE_NO_XDEV)", path)
            }
        }
        let index = try mountTable.index()
        if index.byPoint[path] != nil { return .mounted(foreign: index.isForeign(path)) }
        // Not a mount point: looking at the name reads the parent's filesystem only.
        var st = gs_statx_result()
        let rc = gs_statx(parent, name, Int32(GS_AT_SYMLINK_NOFOLLOW), GS_STATX_TYPE, &st)
        if rc == -Int32(ENOENT) { return .missing }
        if rc < 0 { throw KernelError(Errno(rawValue: -rc), "statx", path) }
        return st.mode & FileMode.typeMask == FileMode.symlink ? .symlink : .notMounted
    }

    /// `openat2(parent, name, O_PATH, RESOLVE_NO_XDEV|RESOLVE_NO_SYMLINKS)` both tells whether a
    /// mount sits at `name` (EXDEV) and pins the directory when none does; a mount that
    /// appears in between is simply EXDEV. The directory is then opened as `.` of that fd,
    /// which never crosses a mount. O_PATH, because an open for reading (O_RDONLY,
    /// O_DIRECTORY) of an autofs mountpoint triggers its automount before NO_XDEV can say
    /// EXDEV: a sealed NAS mountpoint on `x-systemd.automount` would be mounted (and a dead
    /// NAS waited for) by looking at it. Only our own kind of mount (a bind of the parent's
    /// filesystem) is opened through, as `openDirectory` would.
    package func openPlaced(_ path: String) throws(KernelError) -> PlacedDirectory {
        if fallbacks.componentWalk || fallbacks.noMountTableCalls { return try openPlacedInTwoSteps(path) }
        let (parentPath, name) = try split(path)
        let parent = try openNoSymlinks(parentPath, flags: Int32(GS_O_PATH) | Int32(GS_O_DIRECTORY) | Int32(GS_O_CLOEXEC))
        defer { closeFD(parent) }
        let flags = UInt64(UInt32(bitPattern: O_RDONLY | Int32(GS_O_DIRECTORY) | Int32(GS_O_CLOEXEC)))
        let pinned = gs_openat2(parent, name, UInt64(GS_O_PATH | GS_O_CLOEXEC), 0,
                                GS_RESOLVE_NO_XDEV | GS_RESOLVE_NO_SYMLINKS | GS_RESOLVE_NO_MAGICLINKS)
        switch pinned {
        case 0...:
            defer { closeFD(pinned) }
            let fd = gs_openat(pinned, ".", Int32(truncatingIfNeeded: flags), 0)
            guard fd >= 0 else { throw KernelError(Errno(rawValue: -fd), KernelError.openingDirectory, path) }
            return .opened(DirectoryHandle(fd: fd, path: path), mounted: false)
        case -Int32(EXDEV):
            if try isForeign(path) { return .storage }
            let top = gs_openat2(parent, name, flags, 0, GS_RESOLVE_NO_SYMLINKS | GS_RESOLVE_NO_MAGICLINKS)
            guard top >= 0 else { throw KernelError(Errno(rawValue: -top), KernelError.openingDirectory, path) }
            return .opened(DirectoryHandle(fd: top, path: path), mounted: true)
        case -Int32(ELOOP): return .symlink
        case -Int32(ENOENT): return .missing
        case -Int32(ENOSYS): return try openPlacedInTwoSteps(path)
        default: throw KernelError(Errno(rawValue: -pinned), KernelError.openingDirectory, path)
        }
    }

    private func isForeign(_ path: String) throws(KernelError) -> Bool { try mountTable.index().isForeign(path) }

    /// Runs `gs_answers` (answers.c: why a child process and not a thread). When no child can
    /// be made the path is taken to answer, as before this check existed.
    package func answers(_ path: String, within seconds: Double) -> Bool {
        gs_answers(path, Int32(clamping: Int((seconds * 1000).rounded(.up)))) != 0
    }

    /// statx of the root of the mount at `path`: a call into that filesystem, which may block
    /// forever on a dead server. Callers ask `ReachabilityGate.reachable` first.
    package func probeMountRoot(_ path: String) throws(KernelError) -> DirectoryProbe {
        let fd = try openNoSymlinks(path, flags: Int32(GS_O_PATH) | Int32(GS_O_DIRECTORY) | Int32(GS_O_CLOEXEC))
        defer { closeFD(fd) }
        return try probe(DirectoryHandle(fd: fd, path: path))
    }
}
