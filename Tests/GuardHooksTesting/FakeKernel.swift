import GuardHooks
import Synchronization
import SystemPackage

/// An in-memory kernel for the engine tests (a test target: never in the product):
/// directories with inode flags, a stack of mounts per path, symlinks, and injectable
/// errors, so every branch (unsupported filesystem, unknown mount state, EPERM) is reachable.
package final class FakeKernel: KernelOperations, Sendable {
    package struct Directory: Sendable {
        package var inode: UInt64
        package var immutable = false
        package var immutableSupported = true
        package var hasEntries = false
        package var isDirectory = true
    }

    package struct Mount: Sendable {
        package var id: UInt64
        package var isBindGuard: Bool
        package var readOnly: Bool
        /// Storage roots carry their own flag (a sealed *mounted* root is a doctor failure).
        package var rootImmutable = false
        package var hasEntries = false
    }

    struct State {
        var directories: [String: Directory] = [:]
        var mounts: [String: [Mount]] = [:]
        var symlinks: [String: String] = [:]
        var unknownMountState: Set<String> = []
        var failures: [String: Errno] = [:]
        var handles: [Int32: (path: String, depth: Int)] = [:]
        var nextFD: Int32 = 100
        var nextInode: UInt64 = 1000
        var nextMountID: UInt64 = 0x2000_0000
        var bootID = "00000000-0000-4000-8000-000000000001"
        var namespace: UInt64 = 4_026_531_840
        var liveNamespaces: Set<UInt64> = [4_026_531_840]
        var statmountAvailable = true
        /// False: a kernel before 6.8, whose statx gives only mountinfo's reusable mount ids.
        var uniqueMountIDs = true
        /// True: a kernel without open_tree/mount_setattr (bind, then remount read-only).
        var legacyBind = false
        /// Paths at and below which nothing answers (a dead NFS server).
        var dead: Set<String> = []
        var calls: [String] = []
    }

    let state = Mutex(State())
    package static let device: UInt64 = 0x801

    package init() {}

    // MARK: arranging the world

    package func addDirectory(_ path: String, immutableSupported: Bool = true, immutable: Bool = false,
                             hasEntries: Bool = false) {
        state.withLock {
            $0.nextInode += 1
            $0.directories[path] = Directory(inode: $0.nextInode, immutable: immutable,
                                             immutableSupported: immutableSupported, hasEntries: hasEntries)
        }
    }

    package func addFile(_ path: String) {
        state.withLock {
            $0.nextInode += 1
            $0.directories[path] = Directory(inode: $0.nextInode, isDirectory: false)
        }
    }

    package func addSymlink(_ path: String, to target: String) { state.withLock { $0.symlinks[path] = target } }

    /// Mounts storage (a new filesystem) on top of whatever is at `path`; returns its id.
    @discardableResult
    package func mountStorage(_ path: String, rootImmutable: Bool = false, hasEntries: Bool = false) -> UInt64 {
        state.withLock {
            $0.nextMountID += 1
            $0.mounts[path, default: []].append(Mount(id: $0.nextMountID, isBindGuard: false, readOnly: false,
                                                      rootImmutable: rootImmutable, hasEntries: hasEntries))
            return $0.nextMountID
        }
    }

    /// Unmounts the topmost mount at `path` (storage going offline, or a guard removed by hand).
    package func unmountTop(_ path: String) { state.withLock { _ = $0.mounts[path]?.popLast() } }

    package func setImmutableByHand(_ path: String, _ on: Bool) {
        state.withLock { $0.directories[path]?.immutable = on }
    }

    package func setMountStateUnknown(_ path: String) { state.withLock { _ = $0.unknownMountState.insert(path) } }

    /// Makes every later call of `operation` (a protocol method name) fail with `errno`.
    package func fail(_ operation: String, with errno: Errno) { state.withLock { $0.failures[operation] = errno } }
    package func stopFailing(_ operation: String) { state.withLock { _ = $0.failures.removeValue(forKey: operation) } }

    package func reboot(newBootID: String) {
        state.withLock { s in
            s.bootID = newBootID
            for (path, stack) in s.mounts { s.mounts[path] = stack.filter { !$0.isBindGuard } }
        }
    }

    /// This process moves to mount namespace `ns`; the guards made so far lived only in the
    /// old one (made there by a process in a private child namespace) and are not seen here.
    package func enterNewNamespace(_ ns: UInt64, oldAlive: Bool) {
        state.withLock { s in
            for (path, stack) in s.mounts { s.mounts[path] = stack.filter { !$0.isBindGuard } }
            if !oldAlive { s.liveNamespaces.remove(s.namespace) }
            s.namespace = ns
            s.liveNamespaces.insert(ns)
        }
    }

    package func setStatmountAvailable(_ on: Bool) { state.withLock { $0.statmountAvailable = on } }

    /// A kernel before 6.8: no statmount/listmount and no unique mount ids (mountinfo only).
    package func useMountInfoOnly() {
        state.withLock { $0.statmountAvailable = false; $0.uniqueMountIDs = false }
    }

    /// A kernel without open_tree/mount_setattr: guards are made by bind + remount.
    package func useLegacyBind() { state.withLock { $0.legacyBind = true } }

    /// `mv from to`: the directory, everything below it and the mounts on them move along
    /// (a guard mount keeps its id at its new place).
    package func rename(_ from: String, to: String) {
        func moved(_ p: String) -> String? { p == from ? to : p.hasPrefix(from + "/") ? to + p.dropFirst(from.count) : nil }
        state.withLock { s in
            s.directories = Dictionary(uniqueKeysWithValues: s.directories.map { (moved($0.key) ?? $0.key, $0.value) })
            s.mounts = Dictionary(uniqueKeysWithValues: s.mounts.map { (moved($0.key) ?? $0.key, $0.value) })
        }
    }

    /// The guards made so far were made in this process's mount namespace, a shared peer of
    /// `ns`. That namespace exits and the process goes on in `ns`, which holds the propagated
    /// copies of the guards, each with a mount id of its own.
    package func leaveExitedPeerNamespace(for ns: UInt64) {
        state.withLock { s in
            for (path, stack) in s.mounts {
                s.mounts[path] = stack.map { m in
                    guard m.isBindGuard else { return m }
                    s.nextMountID += 1
                    var copy = m
                    copy.id = s.nextMountID
                    return copy
                }
            }
            s.liveNamespaces.remove(s.namespace)
            s.namespace = ns
            s.liveNamespaces.insert(ns)
        }
    }

    /// A self-bind of the directory made by hand (`mount --bind`, then maybe `-o remount,ro`).
    @discardableResult
    package func bindByHand(_ path: String, readOnly: Bool) -> UInt64 {
        state.withLock {
            $0.nextMountID += 1
            $0.mounts[path, default: []].append(Mount(id: $0.nextMountID, isBindGuard: true, readOnly: readOnly))
            return $0.nextMountID
        }
    }

    /// Nothing at or below `path` answers any more (`answers` says false).
    package func stopAnswering(_ path: String) { state.withLock { _ = $0.dead.insert(path) } }
    package func answerAgain(_ path: String) { state.withLock { _ = $0.dead.remove(path) } }

    // MARK: observing

    package func isImmutable(path: String) -> Bool { state.withLock { $0.directories[path]?.immutable ?? false } }
    package func mountStack(_ path: String) -> [Mount] { state.withLock { $0.mounts[path] ?? [] } }
    package var calls: [String] { state.withLock { $0.calls } }
    package var openHandles: Int { state.withLock { $0.handles.count } }

    // MARK: KernelOperations

    private func check(_ s: inout State, _ op: String, _ path: String) throws(KernelError) {
        s.calls.append("\(op) \(path)")
        if let e = s.failures[op] { throw KernelError(e, op, path) }
    }

    package func resolve(_ path: String) throws(KernelError) -> String {
        try state.withLock { (s: inout State) throws(KernelError) -> String in
            try check(&s, "resolve", path)
            var current = path
            for _ in 0..<40 {
                guard let (link, target) = s.symlinks.first(where: { current == $0.key || current.hasPrefix($0.key + "/") })
                else {
                    // Ancestors of an arranged directory exist implicitly.
                    let prefix = current == "/" ? "/" : current + "/"
                    guard s.directories[current] != nil || s.directories.keys.contains(where: { $0.hasPrefix(prefix) }) else {
                        throw KernelError(.noSuchFileOrDirectory, "resolve", path)
                    }
                    return current
                }
                current = target + current.dropFirst(link.count)
            }
            throw KernelError(.tooManySymbolicLinkLevels, "resolve", path)
        }
    }

    package func openDirectory(_ path: String) throws(KernelError) -> DirectoryHandle {
        try open(path, shadowed: false)
    }

    package func openShadowed(_ path: String) throws(KernelError) -> DirectoryHandle {
        try open(path, shadowed: true)
    }

    private func open(_ path: String, shadowed: Bool) throws(KernelError) -> DirectoryHandle {
        try state.withLock { (s: inout State) throws(KernelError) -> DirectoryHandle in
            try check(&s, shadowed ? "openShadowed" : "openDirectory", path)
            if s.symlinks.keys.contains(where: { path == $0 || path.hasPrefix($0 + "/") }) {
                throw KernelError(.tooManySymbolicLinkLevels, "openat2", path)
            }
            guard let dir = s.directories[path] else { throw KernelError(.noSuchFileOrDirectory, "openat2", path) }
            guard dir.isDirectory else { throw KernelError(.notDirectory, "openat2", path) }
            s.nextFD += 1
            s.handles[s.nextFD] = (path, shadowed ? 0 : (s.mounts[path]?.count ?? 0))
            return DirectoryHandle(fd: s.nextFD, path: path)
        }
    }

    package func close(_ handle: DirectoryHandle) { state.withLock { _ = $0.handles.removeValue(forKey: handle.fd) } }

    package func createDirectory(_ path: String) throws(KernelError) {
        try state.withLock { (s: inout State) throws(KernelError) in
            try check(&s, "createDirectory", path)
            if s.directories[path] != nil { throw KernelError(.fileExists, "mkdirat", path) }
            s.nextInode += 1
            s.directories[path] = Directory(inode: s.nextInode)
        }
    }

    /// The mount the handle's fd sits on (nil: the bare directory), read under the lock.
    private func layer(_ s: State, _ handle: DirectoryHandle) throws(KernelError) -> (String, Mount?) {
        guard let h = s.handles[handle.fd] else { throw KernelError(.badFileDescriptor, "fd", handle.path) }
        let stack = s.mounts[h.path] ?? []
        return (h.path, h.depth > 0 && h.depth <= stack.count ? stack[h.depth - 1] : nil)
    }

    package func probe(_ handle: DirectoryHandle) throws(KernelError) -> DirectoryProbe {
        try state.withLock { (s: inout State) throws(KernelError) -> DirectoryProbe in
            try check(&s, "probe", handle.path)
            let (path, mount) = try layer(s, handle)
            let dir = s.directories[path]!
            let mountState: MountState = s.unknownMountState.contains(path) ? .unknown : (mount == nil ? .notMounted : .mounted)
            let storage = mount.map { !$0.isBindGuard } ?? false
            return DirectoryProbe(device: storage ? Self.device + (mount!.id & 0xff) : Self.device,
                                  inode: storage ? 2 : dir.inode, isDirectory: true, mountState: mountState,
                                  mountID: mount?.id ?? 1, mountIDIsUnique: s.uniqueMountIDs)
        }
    }

    package func mountPlacement(_ path: String) throws(KernelError) -> MountPlacement {
        try state.withLock { (s: inout State) throws(KernelError) -> MountPlacement in
            try check(&s, "mountPlacement", path)
            if s.symlinks[path] != nil { return .symlink }
            if let top = s.mounts[path]?.last { return .mounted(foreign: !top.isBindGuard) }
            return s.directories[path] == nil ? .missing : .notMounted
        }
    }

    package func openPlaced(_ path: String) throws(KernelError) -> PlacedDirectory { try openPlacedInTwoSteps(path) }

    package func answers(_ path: String, within seconds: Double) -> Bool {
        state.withLock { s in
            s.calls.append("answers \(path)")
            return !s.dead.contains { path == $0 || path.hasPrefix($0 + "/") }
        }
    }

    package func probeMountRoot(_ path: String) throws(KernelError) -> DirectoryProbe {
        let handle = try openDirectory(path)
        defer { close(handle) }
        try state.withLock { (s: inout State) throws(KernelError) in try check(&s, "probeMountRoot", path) }
        return try probe(handle)
    }

    package func hasEntries(_ handle: DirectoryHandle) throws(KernelError) -> Bool {
        try state.withLock { (s: inout State) throws(KernelError) -> Bool in
            try check(&s, "hasEntries", handle.path)
            let (path, mount) = try layer(s, handle)
            if let mount, !mount.isBindGuard { return mount.hasEntries }
            return s.directories[path]!.hasEntries
        }
    }

    package func isImmutable(_ handle: DirectoryHandle) throws(KernelError) -> Bool {
        try state.withLock { (s: inout State) throws(KernelError) -> Bool in
            try check(&s, "isImmutable", handle.path)
            let (path, mount) = try layer(s, handle)
            if let mount, !mount.isBindGuard { return mount.rootImmutable }
            let dir = s.directories[path]!
            guard dir.immutableSupported else { throw KernelError(Errno(rawValue: 25), "FS_IOC_GETFLAGS", path) }
            return dir.immutable
        }
    }

    package func setImmutable(_ handle: DirectoryHandle, _ on: Bool) throws(KernelError) {
        try state.withLock { (s: inout State) throws(KernelError) in
            try check(&s, "setImmutable", handle.path)
            let (path, mount) = try layer(s, handle)
            if let mount, !mount.isBindGuard {
                s.mounts[path]![s.mounts[path]!.firstIndex { $0.id == mount.id }!].rootImmutable = on
                return
            }
            if mount?.readOnly == true { throw KernelError(.readOnlyFileSystem, "FS_IOC_SETFLAGS", path) }
            guard s.directories[path]!.immutableSupported else {
                throw KernelError(Errno(rawValue: 25), "FS_IOC_SETFLAGS", path)
            }
            s.directories[path]!.immutable = on
        }
    }

    package func makeReadOnlyBind(_ handle: DirectoryHandle) throws(KernelError) -> BindGuardMount {
        try state.withLock { (s: inout State) throws(KernelError) -> BindGuardMount in
            try check(&s, "makeReadOnlyBind", handle.path)
            let (path, _) = try layer(s, handle)
            s.nextMountID += 1
            s.mounts[path, default: []].append(Mount(id: s.nextMountID, isBindGuard: true, readOnly: true))
            return BindGuardMount(mountID: s.nextMountID, mountIDIsUnique: s.uniqueMountIDs, usedFallback: s.legacyBind)
        }
    }

    package func removeBind(at path: String, mountID: UInt64, mountIDIsUnique: Bool) throws(KernelError) -> BindRemoval {
        try state.withLock { (s: inout State) throws(KernelError) -> BindRemoval in
            try check(&s, "removeBind", path)
            guard let top = s.mounts[path]?.last else { return .notMounted }
            guard top.id == mountID else { return .notTopmost(topmostMountID: top.id) }
            s.mounts[path]!.removeLast()
            return .removed
        }
    }

    package func mountExists(uniqueID: UInt64) -> Bool? {
        state.withLock { s in
            s.statmountAvailable ? s.mounts.values.contains { $0.contains { $0.id == uniqueID } } : nil
        }
    }

    package func lookUpMount(id: UInt64, unique: Bool) -> MountLookup {
        guard unique else {
            guard let entries = try? mountInfo() else { return .unknown }
            return MountLookup.inMountInfo(id: id, entries)
        }
        return state.withLock { s in
            guard s.statmountAvailable else { return .unknown }
            guard let (path, m) = s.mounts.lazy.flatMap({ p, stack in stack.map { (p, $0) } }).first(where: { $0.1.id == id })
            else { return .absent }
            return .found(MountWhereabouts(mountPoint: path, hasGuardAttributes: m.readOnly,
                                           device: m.isBindGuard ? Self.device : Self.device + (m.id & 0xff)))
        }
    }

    package func mountInfo() throws(KernelError) -> [MountInfoEntry] {
        try state.withLock { (s: inout State) throws(KernelError) -> [MountInfoEntry] in
            try check(&s, "mountInfo", "/proc/self/mountinfo")
            return s.mounts.sorted { $0.key < $1.key }.flatMap { path, stack in
                stack.map { m in
                    MountInfoEntry(mountID: m.id, parentID: 1, deviceMajor: 8, deviceMinor: m.isBindGuard ? 1 : 99,
                                   root: m.isBindGuard ? path : "/", mountPoint: path,
                                   options: m.readOnly ? "ro,nosuid,nodev,noexec" : "rw", optionalFields: [],
                                   fsType: m.isBindGuard ? "ext4" : "tmpfs", source: m.isBindGuard ? "/dev/sda1" : "storage",
                                   superOptions: "rw")
                }
            }
        }
    }

    package func bootID() throws(KernelError) -> String {
        try state.withLock { (s: inout State) throws(KernelError) -> String in
            try check(&s, "bootID", "/proc/sys/kernel/random/boot_id")
            return s.bootID
        }
    }

    package func mountNamespace() -> UInt64? { state.withLock { $0.namespace } }
    package func mountNamespaceAlive(_ namespace: UInt64, madeBeforeMount guardMountID: UInt64?) -> Bool? {
        state.withLock { $0.liveNamespaces.contains(namespace) }
    }
}
