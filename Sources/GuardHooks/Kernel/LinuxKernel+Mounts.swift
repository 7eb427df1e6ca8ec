import CGuardSys
import SystemPackage
import Glibc

extension LinuxKernel {
    private static let guardAttributes = GS_MOUNT_ATTR_RDONLY | GS_MOUNT_ATTR_NOSUID
        | GS_MOUNT_ATTR_NODEV | GS_MOUNT_ATTR_NOEXEC
    private static let idMask = GS_STATX_MNT_ID | GS_STATX_MNT_ID_UNIQUE

    package func makeReadOnlyBind(_ handle: DirectoryHandle) throws(KernelError) -> BindGuardMount {
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
        // The mount the bare directory lives on: the guard's parent once attached.
        let bare = try mountIDs(handle.fd, handle.path)
        try sys("mount_setattr", handle.path) {
            gs_mount_setattr(tree, "", UInt32(GS_AT_EMPTY_PATH), Self.guardAttributes, 0)
        }
        try sys("move_mount", handle.path) {
            gs_move_mount(tree, "", handle.fd, "", GS_MOVE_MOUNT_F_EMPTY_PATH | GS_MOVE_MOUNT_T_EMPTY_PATH)
        }
        // The tree fd now refers to the attached guard's root. move_mount attaches on top
        // of whatever is mounted at the directory by now: storage mounted since the probe
        // would be hidden. Verify the guard hangs on the bare directory's mount, else
        // undo it at once through its own fd.
        let st = try statx(tree, handle.path, mask: Self.idMask)
        if isAttached(try mountIDs(tree, handle.path), to: bare) == false {
            try sys("umount2(guard fd, MNT_DETACH)", handle.path) { gs_umount2(procFDPath(tree), Int32(GS_MNT_DETACH)) }
            throw KernelError(.resourceBusy, KernelError.attachedOnAMount, handle.path)
        }
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
        let st: gs_statx_result
        do throws(KernelError) {
            st = try statx(bind, handle.path, mask: GS_STATX_BASIC_STATS | Self.idMask)
        } catch {
            closeFD(bind)
            throw KernelError(error.errno, "statx new bind (left mounted, not read-only)", handle.path)
        }
        guard st.ino == before.ino, st.dev_major == before.dev_major, st.dev_minor == before.dev_minor,
              st.mnt_id != before.mnt_id else {
            closeFD(bind)
            throw KernelError(.resourceBusy, "find new bind (left mounted, not read-only)", handle.path)
        }
        let unique = st.mask & GS_STATX_MNT_ID_UNIQUE != 0
        if isAttached(try mountIDs(bind, handle.path), to: try mountIDs(handle.fd, handle.path)) == false {
            closeFD(bind)
            if (try? removeBind(at: handle.path, mountID: st.mnt_id, mountIDIsUnique: unique)) == .removed {
                throw KernelError(.resourceBusy, KernelError.attachedOnAMount, handle.path)
            }
            throw KernelError(.resourceBusy, "bind landed on a mount (left mounted, not read-only)", handle.path)
        }
        let remount = GS_MS_REMOUNT | GS_MS_BIND | GS_MS_RDONLY | GS_MS_NOSUID | GS_MS_NODEV | GS_MS_NOEXEC
        do throws(KernelError) {
            try sys("mount(MS_REMOUNT|MS_BIND|MS_RDONLY)", handle.path) {
                gs_mount(nil, procFDPath(bind), nil, remount, nil)
            }
            closeFD(bind)
        } catch {
            closeFD(bind) // an fd on the bind would make the undo EBUSY
            // Undo the writable bind the same careful way a guard is removed.
            let undone = try? removeBind(at: handle.path, mountID: st.mnt_id, mountIDIsUnique: unique)
            if undone == .removed { throw error }
            throw KernelError(error.errno, "\(error.operation) (writable bind left mounted)", handle.path)
        }
        return BindGuardMount(mountID: st.mnt_id, mountIDIsUnique: unique, usedFallback: true)
    }

    /// umount2(2) always acts on the *topmost* mount at the path it is given: its lookup
    /// (LOOKUP_MOUNTPOINT) follows mounts down even after a `/proc/self/fd/N` jump, and an
    /// fd held on the guard only makes it EBUSY. So no fd can pin which mount goes. What
    /// we do instead: pin the parent directory, check as late as possible that the topmost
    /// mount is the recorded guard with nothing on or inside it, unmount through the pinned
    /// parent, then confirm the guard itself is gone.
    package func removeBind(at path: String, mountID: UInt64, mountIDIsUnique: Bool) throws(KernelError) -> BindRemoval {
        let (parentPath, name) = try split(path)
        let parent = try openNoSymlinks(parentPath, flags: Int32(GS_O_PATH) | Int32(GS_O_DIRECTORY) | Int32(GS_O_CLOEXEC))
        defer { closeFD(parent) }

        switch try topmost(parent, name, path, mountID, mountIDIsUnique) {
        case .notMounted: return .notMounted
        case .other(let id): return .notTopmost(topmostMountID: id)
        case .ours: break
        }
        beforeUnmount?()
        // The last check before umount2: still ours, and no mount stacked on or inside it
        // (umount2 would take a mount stacked on top instead of the guard).
        switch try topmost(parent, name, path, mountID, mountIDIsUnique) {
        case .notMounted: return .notMounted
        case .other(let id): return .notTopmost(topmostMountID: id)
        case .ours(let oldID):
            if try hasChildMounts(uniqueID: mountIDIsUnique ? mountID : nil, oldID: oldID) {
                throw KernelError(.resourceBusy, "umount2 (a mount sits on or inside the guard)", path)
            }
        }
        // UMOUNT_NOFOLLOW: a symlink swapped in at `name` is not followed; the magic link
        // of the parent, an inner component, is.
        let target = "\(procFDPath(parent))/\(name)"
        try sys("umount2", path) { gs_umount2(target, Int32(GS_UMOUNT_NOFOLLOW)) }
        if guardStillMounted(path, mountID, mountIDIsUnique) {
            // Something was mounted on top in the last microseconds and umount2 took it.
            throw KernelError(.resourceBusy, "umount2 (a mount raced in on top of the guard and was unmounted instead)", path)
        }
        return .removed
    }

    /// The unique (when the kernel has it) and the reusable id of the mount `fd` lives on.
    private func mountIDs(_ fd: Int32, _ path: String) throws(KernelError) -> (unique: UInt64?, old: UInt64?) {
        let u = try statx(fd, path, mask: GS_STATX_MNT_ID_UNIQUE)
        let o = try statx(fd, path, mask: GS_STATX_MNT_ID)
        return (u.mask & GS_STATX_MNT_ID_UNIQUE != 0 ? u.mnt_id : nil, o.mask & GS_STATX_MNT_ID != 0 ? o.mnt_id : nil)
    }

    /// Whether `mount` hangs directly on `parent`: statmount when the kernel has it (it
    /// does not touch either filesystem), else the mountinfo parent ids; nil when neither
    /// can tell (the guard is then kept: it was attached on the fd as probed).
    private func isAttached(_ mount: (unique: UInt64?, old: UInt64?), to parent: (unique: UInt64?, old: UInt64?)) -> Bool? {
        if let id = mount.unique, let p = parent.unique {
            var info = gs_mount_info()
            if gs_statmount(id, &info) == 0 { return info.mnt_parent_id == p }
        }
        guard let id = mount.old, let p = parent.old,
              let entry = (try? mountInfo())?.first(where: { $0.mountID == id }) else { return nil }
        return entry.parentID == p
    }

    private enum Topmost { case notMounted, other(UInt64?), ours(oldID: UInt64?) }

    /// What is topmost at `parent/name`: nothing, another mount, or the recorded guard
    /// (with its reusable mountinfo id, for finding mounts stacked on it).
    private func topmost(_ parent: Int32, _ name: String, _ path: String,
                         _ mountID: UInt64, _ unique: Bool) throws(KernelError) -> Topmost {
        let fd = try openChild(parent, name, flags: Int32(GS_O_PATH) | Int32(GS_O_DIRECTORY) | Int32(GS_O_CLOEXEC), path)
        defer { closeFD(fd) }
        let mask = unique ? GS_STATX_MNT_ID_UNIQUE : GS_STATX_MNT_ID
        let st = try statx(fd, path, mask: GS_STATX_BASIC_STATS | mask)
        guard st.mask & mask != 0, unique == (st.mask & GS_STATX_MNT_ID_UNIQUE != 0) else {
            // Cannot compare like with like: do not guess which mount is ours.
            throw KernelError(.notSupported, unique ? "statx(STATX_MNT_ID_UNIQUE)" : "statx(STATX_MNT_ID)", path)
        }
        let state = mountState(fd, st)
        if state == .notMounted { return .notMounted }
        // Mounted, or unknown but on our mount opened at its mount point: our guard's root.
        guard st.mnt_id == mountID else { return .other(st.mnt_id) }
        if !unique { return .ours(oldID: st.mnt_id) }
        let old = try statx(fd, path, mask: GS_STATX_MNT_ID)
        return .ours(oldID: old.mask & GS_STATX_MNT_ID != 0 ? old.mnt_id : nil)
    }

    /// Whether the recorded guard is still attached at `path` after our umount2. When this
    /// cannot be told (no statmount, unreadable mountinfo), trust the checked umount2.
    private func guardStillMounted(_ path: String, _ mountID: UInt64, _ unique: Bool) -> Bool {
        if unique { return mountExists(uniqueID: mountID) ?? false }
        let entries = (try? mountInfo()) ?? []
        return entries.contains { $0.mountID == mountID && $0.mountPoint == path }
    }

    /// Whether any mount sits on or inside the guard: listmount(2) of its children when the
    /// kernel has it (cost: its children, not every mount of the host: clearing 1000 guards
    /// must not parse a 1000-line mountinfo 1000 times), else the mountinfo parents.
    private func hasChildMounts(uniqueID: UInt64?, oldID: UInt64?) throws(KernelError) -> Bool {
        if let uniqueID {
            var child: UInt64 = 0
            let n = gs_listmount(uniqueID, &child, 1)
            if n >= 0 { return n > 0 }
            if n != -Int32(ENOSYS) && n != -Int32(EINVAL) {
                throw KernelError(Errno(rawValue: -n), "listmount", "mount \(uniqueID)")
            }
        }
        guard let oldID else { return false }
        return try mountInfo().contains { $0.parentID == oldID }
    }

    package func mountExists(uniqueID: UInt64) -> Bool? {
        var info = gs_mount_info()
        do throws(KernelError) {
            try sys("statmount", "") { gs_statmount(uniqueID, &info) }
            return true
        } catch {
            return error.errno == .noSuchFileOrDirectory ? false : nil
        }
    }

    package func lookUpMount(id: UInt64, unique: Bool) -> MountLookup {
        guard unique else {
            guard let entries = try? mountInfo() else { return .unknown }
            return MountLookup.inMountInfo(id: id, entries)
        }
        var info = gs_mount_info()
        var point = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        switch gs_statmount_point(id, &info, &point, UInt64(point.count)) {
        case 0:
            let path = String(decoding: point.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return .found(MountWhereabouts(
                mountPoint: path, hasGuardAttributes: info.mnt_attr & Self.guardAttributes == Self.guardAttributes,
                device: makeDevice(major: info.sb_dev_major, minor: info.sb_dev_minor)))
        case -Int32(ENOENT): return .absent
        default: return .unknown
        }
    }

    package func mountInfo() throws(KernelError) -> [MountInfoEntry] {
        try mountTable.entries()
    }
}
