import CGuardSys
import FileIO
import SystemPackage
import Glibc

/// The real kernel: every `KernelOperations` call as thin syscalls through `sys`.
/// Mount operations live in LinuxKernel+Mounts.swift, /proc readers in LinuxKernel+Proc.swift.
package struct LinuxKernel: KernelOperations {
    /// Code paths that are normally taken only on older kernels, forced for tests.
    struct Fallbacks: Sendable, Hashable {
        /// Component-wise `openat(O_NOFOLLOW)` as if `openat2` returned ENOSYS.
        var componentWalk = false
        /// `mount(MS_BIND)` + remount as if `open_tree`/`mount_setattr` returned ENOSYS.
        var legacyBind = false
        /// Ignore `STATX_ATTR_MOUNT_ROOT`, as on kernels before 5.8 (mountinfo decides).
        var noMountRootAttribute = false
        /// Decide mount placement from /proc/self/mountinfo, as on kernels without openat2
        /// and statmount/listmount.
        var noMountTableCalls = false
    }

    let fallbacks: Fallbacks
    /// Test hook: runs in `removeBind` between the first check of the topmost mount and
    /// the last one before `umount2`, so tests can mount something in that window.
    var beforeUnmount: (@Sendable () -> Void)?
    /// The parsed mount table, read again only after the kernel reports a change.
    let mountTable = MountInfoCache()

    package init() {
        #if GUARD_HOOKS_FAULT_POINTS
        // Debug builds only: end-to-end tests force the older kernels' paths through the CLI
        // (GUARD_HOOKS_TEST_KERNEL=mountinfo,legacy-bind).
        let forced = (getenv("GUARD_HOOKS_TEST_KERNEL").map { String(cString: $0) } ?? "").split(separator: ",")
        fallbacks = Fallbacks(legacyBind: forced.contains("legacy-bind"),
                              noMountRootAttribute: forced.contains("mountinfo"),
                              noMountTableCalls: forced.contains("mountinfo"))
        #else
        fallbacks = Fallbacks()
        #endif
    }

    init(forceLegacyBind: Bool = false, forceComponentWalk: Bool = false,
         ignoreMountRootAttribute: Bool = false, noMountTableCalls: Bool = false) {
        fallbacks = Fallbacks(componentWalk: forceComponentWalk, legacyBind: forceLegacyBind,
                              noMountRootAttribute: ignoreMountRootAttribute, noMountTableCalls: noMountTableCalls)
    }

    // MARK: Paths and opening

    package func resolve(_ path: String) throws(KernelError) -> String {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = try sys("realpath", path) { gs_realpath(path, &buf, UInt(buf.count)) }
        return String(decoding: buf[0..<Int(n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    package func openDirectory(_ path: String) throws(KernelError) -> DirectoryHandle {
        let fd = try openNoSymlinks(path, flags: O_RDONLY | Int32(GS_O_DIRECTORY) | Int32(GS_O_CLOEXEC))
        return DirectoryHandle(fd: fd, path: path)
    }

    package func openShadowed(_ path: String) throws(KernelError) -> DirectoryHandle {
        let (parent, name) = try split(path)
        let parentFD = try openNoSymlinks(parent, flags: Int32(GS_O_PATH) | Int32(GS_O_DIRECTORY) | Int32(GS_O_CLOEXEC))
        defer { closeFD(parentFD) }
        // A non-recursive clone of the parent's mount carries no submounts, so `name` in it
        // is the bare directory, whatever is mounted on it in the real tree.
        let tree = try sys("open_tree(OPEN_TREE_CLONE)", parent) {
            gs_open_tree(parentFD, "", GS_OPEN_TREE_CLONE | UInt32(GS_OPEN_TREE_CLOEXEC) | UInt32(GS_AT_EMPTY_PATH))
        }
        // The directory fd keeps the detached clone alive after the tree fd is closed.
        defer { closeFD(tree) }
        let fd = try sys("openat", path) {
            gs_openat(tree, name, O_RDONLY | Int32(GS_O_DIRECTORY) | Int32(GS_O_NOFOLLOW) | Int32(GS_O_CLOEXEC), 0)
        }
        return DirectoryHandle(fd: fd, path: path)
    }

    package func close(_ handle: DirectoryHandle) { closeFD(handle.fd) }

    package func createDirectory(_ path: String) throws(KernelError) {
        let (parent, name) = try split(path)
        let parentFD = try openNoSymlinks(parent, flags: Int32(GS_O_PATH) | Int32(GS_O_DIRECTORY) | Int32(GS_O_CLOEXEC))
        defer { closeFD(parentFD) }
        try sys("mkdirat", path) { gs_mkdirat(parentFD, name, 0o755) }
    }

    /// Opens `path` following no symlink in any component: `openat2(RESOLVE_NO_SYMLINKS)`,
    /// or a component-wise `O_NOFOLLOW` walk from "/" when the kernel lacks openat2.
    /// A symlink anywhere fails with ELOOP. The fd lands on the topmost mount.
    func openNoSymlinks(_ path: String, flags: Int32) throws(KernelError) -> Int32 {
        guard path.hasPrefix("/") else { throw KernelError(.invalidArgument, "open", path) }
        if !fallbacks.componentWalk {
            do throws(KernelError) {
                return try sys("openat2", path) {
                    gs_openat2(GS_AT_FDCWD, path, UInt64(UInt32(bitPattern: flags)), 0,
                               GS_RESOLVE_NO_SYMLINKS | GS_RESOLVE_NO_MAGICLINKS)
                }
            } catch {
                guard error.errno == .noFunction else { throw error }
            }
        }
        return try openComponentWise(path, flags: flags)
    }

    private func openComponentWise(_ path: String, flags: Int32) throws(KernelError) -> Int32 {
        let parts = path.split(separator: "/").filter { $0 != "." }.map(String.init)
        let step = Int32(GS_O_PATH) | Int32(GS_O_DIRECTORY) | Int32(GS_O_NOFOLLOW) | Int32(GS_O_CLOEXEC)
        var fd = try sys("open", "/") { gs_openat(GS_AT_FDCWD, "/", parts.isEmpty ? flags : step, 0) }
        for (i, part) in parts.enumerated() {
            let dir = fd
            defer { closeFD(dir) }
            fd = try openChild(dir, part, flags: i == parts.count - 1 ? flags : step, path)
        }
        return fd
    }

    /// openat(dir, name, flags|O_NOFOLLOW) for one component. O_PATH|O_NOFOLLOW|O_DIRECTORY
    /// on a symlink says ENOTDIR; call it ELOOP, as openat2 and O_RDONLY|O_NOFOLLOW do.
    func openChild(_ dir: Int32, _ name: String, flags: Int32, _ path: String) throws(KernelError) -> Int32 {
        do throws(KernelError) {
            return try sys("openat", path) { gs_openat(dir, name, flags | Int32(GS_O_NOFOLLOW), 0) }
        } catch {
            if error.errno == .notDirectory && isSymlink(dir, name) {
                throw KernelError(.tooManySymbolicLinkLevels, "openat", path)
            }
            throw error
        }
    }

    private func isSymlink(_ dir: Int32, _ name: String) -> Bool {
        var st = gs_statx_result()
        let ok = (try? sys("statx", name) {
            gs_statx(dir, name, Int32(GS_AT_SYMLINK_NOFOLLOW), GS_STATX_TYPE, &st)
        }) != nil
        return ok && st.mode & FileMode.typeMask == FileMode.symlink
    }

    /// Parent directory and last component of an absolute path ("/a/b/" → "/a", "b").
    func split(_ path: String) throws(KernelError) -> (parent: String, name: String) {
        guard path.hasPrefix("/"), let name = FileIO.lastComponent(path), name != ".", name != ".." else {
            throw KernelError(.invalidArgument, "split", path)
        }
        return (FileIO.parentDirectory(path), name)
    }

    // MARK: Probing

    package func probe(_ handle: DirectoryHandle) throws(KernelError) -> DirectoryProbe {
        let st = try statx(handle.fd, handle.path,
                           mask: GS_STATX_BASIC_STATS | GS_STATX_MNT_ID | GS_STATX_MNT_ID_UNIQUE)
        let unique = st.mask & GS_STATX_MNT_ID_UNIQUE != 0
        let hasID = unique || st.mask & GS_STATX_MNT_ID != 0
        return DirectoryProbe(
            device: makeDevice(major: st.dev_major, minor: st.dev_minor), inode: st.ino,
            isDirectory: st.mode & FileMode.typeMask == FileMode.directory,
            mountState: mountState(handle.fd, st), mountID: hasID ? st.mnt_id : nil,
            mountIDIsUnique: unique)
    }

    func statx(_ fd: Int32, _ path: String, mask: UInt32) throws(KernelError) -> gs_statx_result {
        var st = gs_statx_result()
        try sys("statx", path) { gs_statx(fd, "", Int32(GS_AT_EMPTY_PATH), mask, &st) }
        return st
    }

    /// `STATX_ATTR_MOUNT_ROOT` when the kernel fills it. Otherwise mountinfo: the fd's own
    /// mount (by its reusable id, which statx gives for STATX_MNT_ID alone) is mounted at
    /// the fd's path or not; without that id, an entry at the path with the fd's device
    /// says mounted, no entry at the path says not mounted, anything else stays unknown.
    func mountState(_ fd: Int32, _ st: gs_statx_result) -> MountState {
        if !fallbacks.noMountRootAttribute, st.attributes_mask & GS_STATX_ATTR_MOUNT_ROOT != 0 {
            return st.attributes & GS_STATX_ATTR_MOUNT_ROOT != 0 ? .mounted : .notMounted
        }
        guard let path = try? fdPath(fd), path.hasPrefix("/"), !path.hasSuffix(" (deleted)"),
              let entries = try? mountInfo() else { return .unknown }
        var oldID: UInt64?
        if st.mask & GS_STATX_MNT_ID != 0, st.mask & GS_STATX_MNT_ID_UNIQUE == 0 {
            oldID = st.mnt_id
        } else if let again = try? statx(fd, path, mask: GS_STATX_MNT_ID), again.mask & GS_STATX_MNT_ID != 0,
                  again.mask & GS_STATX_MNT_ID_UNIQUE == 0 {
            oldID = again.mnt_id
        }
        if let oldID {
            guard let own = entries.first(where: { $0.mountID == oldID }) else { return .unknown }
            return own.mountPoint == path ? .mounted : .notMounted
        }
        let here = entries.filter { $0.mountPoint == path }
        if here.isEmpty { return .notMounted }
        let sameDevice = here.contains { $0.deviceMajor == st.dev_major && $0.deviceMinor == st.dev_minor }
        return sameDevice ? .mounted : .unknown
    }

    /// What `/proc/self/fd/N` points at (the fd's path in this process's root).
    func fdPath(_ fd: Int32) throws(KernelError) -> String {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
        let link = procFDPath(fd)
        let n = try sys("readlink", link) { gs_readlinkat(GS_AT_FDCWD, link, &buf, UInt(buf.count)) }
        return String(decoding: buf[0..<Int(n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    package func hasEntries(_ handle: DirectoryHandle) throws(KernelError) -> Bool {
        // A fresh open file description of the same directory: reading it does not move
        // the handle's offset, and "." does not cross into anything mounted on top.
        let fd = try sys("openat", handle.path) {
            gs_openat(handle.fd, ".", O_RDONLY | Int32(GS_O_DIRECTORY) | Int32(GS_O_CLOEXEC), 0)
        }
        defer { closeFD(fd) }
        var found = false
        try forEachEntry(fd, handle.path) { name in
            found = !(name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")])
            return !found
        }
        return found
    }

    /// Calls `body` with each entry name of the directory fd until it returns false.
    func forEachEntry(_ fd: Int32, _ path: String, _ body: (ArraySlice<UInt8>) -> Bool) throws(KernelError) {
        var buf = [UInt8](repeating: 0, count: 32 * 1024)
        while true {
            let n = Int(try sys("getdents64", path) { gs_getdents64(fd, &buf, UInt(buf.count)) })
            if n == 0 { return }
            // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[].
            var off = 0
            while off + 19 < n {
                let reclen = Int(UInt16(buf[off + 16]) | UInt16(buf[off + 17]) << 8)
                guard reclen > 19, off + reclen <= n else {
                    throw KernelError(.ioError, "getdents64 (bad record)", path)
                }
                let nameBytes = buf[(off + 19)..<(off + reclen)]
                let end = nameBytes.firstIndex(of: 0) ?? nameBytes.endIndex
                if !body(nameBytes[..<end]) { return }
                off += reclen
            }
        }
    }

    // MARK: Immutable flag

    package func isImmutable(_ handle: DirectoryHandle) throws(KernelError) -> Bool {
        var flags: Int32 = 0
        try sys("FS_IOC_GETFLAGS", handle.path) { gs_get_inode_flags(handle.fd, &flags) }
        return flags & Int32(GS_FS_IMMUTABLE_FL) != 0
    }

    package func setImmutable(_ handle: DirectoryHandle, _ on: Bool) throws(KernelError) {
        var flags: Int32 = 0
        try sys("FS_IOC_GETFLAGS", handle.path) { gs_get_inode_flags(handle.fd, &flags) }
        let wanted = on ? flags | Int32(GS_FS_IMMUTABLE_FL) : flags & ~Int32(GS_FS_IMMUTABLE_FL)
        if wanted == flags { return }
        try sys("FS_IOC_SETFLAGS", handle.path) { gs_set_inode_flags(handle.fd, wanted) }
    }
}
