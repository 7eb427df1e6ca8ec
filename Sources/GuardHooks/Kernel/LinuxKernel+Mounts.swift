import CGuardSys
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

extension LinuxKernel {
    private static let guardAttributes = GS_MOUNT_ATTR_RDONLY | GS_MOUNT_ATTR_NOSUID
        | GS_MOUNT_ATTR_NODEV | GS_MOUNT_ATTR_NOEXEC
    private static let idMask = GS_STATX_MNT_ID | GS_STATX_MNT_ID_UNIQUE

    public func makeReadOnlyBind(_ handle: DirectoryHandle) throws(KernelError) -> BindGuardMount {
        if !fallbacks.legacyBind {
            do throws(KernelError) {
                return try attachDetachedReadOnlyClone(handle)
            } catch {
                guard error.errno == .noFunction else { throw error }
            }
        }
        return try bindThenRemount(handle)
    }

    /// open_tree(OPEN_TREE_CLONE) makes a detached copy of the directory's mount,
    /// mount_setattr makes it read-only while still detached, and move_mount attaches it
    /// on top of the directory: it is never visible writable.
    private func attachDetachedReadOnlyClone(_ handle: DirectoryHandle) throws(KernelError) -> BindGuardMount {
        let tree = try sys("open_tree(OPEN_TREE_CLONE)", handle.path) {
            gs_open_tree(handle.fd, "", GS_OPEN_TREE_CLONE | UInt32(GS_OPEN_TREE_CLOEXEC) | UInt32(GS_AT_EMPTY_PATH))
        }
        // Closing a tree fd that was never attached dissolves the clone: nothing leaks on error.
        defer { closeFD(tree) }
        try sys("mount_setattr", handle.path) {
            gs_mount_setattr(tree, "", UInt32(GS_AT_EMPTY_PATH), Self.guardAttributes, 0)
        }
        try sys("move_mount", handle.path) {
            gs_move_mount(tree, "", handle.fd, "", GS_MOVE_MOUNT_F_EMPTY_PATH | GS_MOVE_MOUNT_T_EMPTY_PATH)
        }
        // The tree fd now refers to the attached guard's root.
        let st = try statx(tree, handle.path, mask: Self.idMask)
        return BindGuardMount(mountID: st.mnt_id, mountIDIsUnique: st.mask & GS_STATX_MNT_ID_UNIQUE != 0,
                              usedFallback: false)
    }

    /// Kernels before 5.12 (no mount_setattr): bind, then remount the bind read-only.
    /// The guard is writable between the two calls; `usedFallback` records that.
    private func bindThenRemount(_ handle: DirectoryHandle) throws(KernelError) -> BindGuardMount {
        // The magic link names exactly the handle's directory: no symlink can be swapped in.
        let source = procFDPath(handle.fd)
        let before = try statx(handle.fd, handle.path, mask: GS_STATX_BASIC_STATS | Self.idMask)
        try sys("mount(MS_BIND)", handle.path) { gs_mount(source, source, nil, GS_MS_BIND, nil) }
        // /proc/self/fd/N still names the mount *under* the new bind, so remount through
        // an fd on the topmost mount at the path, checked to be a root of the same inode.
        let bind: Int32
        do throws(KernelError) {
            bind = try openNoSymlinks(handle.path, flags: Int32(GS_O_PATH) | Int32(GS_O_DIRECTORY) | Int32(GS_O_CLOEXEC))
        } catch {
            throw KernelError(error.errno, "open new bind (left mounted, not read-only)", handle.path)
        }
        defer { closeFD(bind) }
        let st = try statx(bind, handle.path, mask: GS_STATX_BASIC_STATS | Self.idMask)
        guard st.ino == before.ino, st.dev_major == before.dev_major, st.dev_minor == before.dev_minor,
              st.mnt_id != before.mnt_id else {
            throw KernelError(.resourceBusy, "find new bind (left mounted, not read-only)", handle.path)
        }
        let target = procFDPath(bind)
        let remount = GS_MS_REMOUNT | GS_MS_BIND | GS_MS_RDONLY | GS_MS_NOSUID | GS_MS_NODEV | GS_MS_NOEXEC
        do throws(KernelError) {
            try sys("mount(MS_REMOUNT|MS_BIND|MS_RDONLY)", handle.path) { gs_mount(nil, target, nil, remount, nil) }
        } catch {
            // Undo the writable bind; it has nothing on top yet, so this is exactly ours.
            _ = try? sys("umount2", handle.path) { gs_umount2(target, 0) }
            throw error
        }
        return BindGuardMount(mountID: st.mnt_id, mountIDIsUnique: st.mask & GS_STATX_MNT_ID_UNIQUE != 0,
                              usedFallback: true)
    }

    public func removeBind(at path: String, mountID: UInt64, mountIDIsUnique: Bool) throws(KernelError) -> BindRemoval {
        // O_PATH lands on the topmost mount at the path and pins it.
        let fd = try openNoSymlinks(path, flags: Int32(GS_O_PATH) | Int32(GS_O_DIRECTORY) | Int32(GS_O_CLOEXEC))
        defer { closeFD(fd) }
        let mask = mountIDIsUnique ? GS_STATX_MNT_ID_UNIQUE : GS_STATX_MNT_ID
        let st = try statx(fd, path, mask: GS_STATX_BASIC_STATS | mask)
        guard st.mask & mask != 0, mountIDIsUnique == (st.mask & GS_STATX_MNT_ID_UNIQUE != 0) else {
            // Cannot compare like with like: do not guess which mount is ours.
            throw KernelError(.notSupported, mountIDIsUnique ? "statx(STATX_MNT_ID_UNIQUE)" : "statx(STATX_MNT_ID)", path)
        }
        switch mountState(fd, st) {
        case .notMounted: return .notMounted
        case .unknown where st.mnt_id != mountID: return .notTopmost(topmostMountID: st.mnt_id)
        case .mounted where st.mnt_id != mountID: return .notTopmost(topmostMountID: st.mnt_id)
        default: break // the fd is on our mount and opened at its mount point: it is our root
        }
        beforeUnmount?()
        // Follows the magic link to the pinned mount (no UMOUNT_NOFOLLOW). EBUSY means
        // something got mounted on top meanwhile; nothing is unmounted then.
        try sys("umount2", path) { gs_umount2(procFDPath(fd), 0) }
        return .removed
    }

    public func mountExists(uniqueID: UInt64) -> Bool? {
        var info = gs_mount_info()
        do throws(KernelError) {
            try sys("statmount", "") { gs_statmount(uniqueID, &info) }
            return true
        } catch {
            return error.errno == .noSuchFileOrDirectory ? false : nil
        }
    }

    public func mountInfo() throws(KernelError) -> [MountInfoEntry] {
        MountInfo.parse(try readFile("/proc/self/mountinfo"))
    }
}
