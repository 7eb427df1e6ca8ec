import CGuardSys
import FileIO
import SystemPackage
import Glibc

extension LinuxKernel {
    package func bootID() throws(KernelError) -> String {
        let text = try readFile("/proc/sys/kernel/random/boot_id")
        return String(text.filter { !$0.isWhitespace })
    }

    package func mountNamespace() -> UInt64? {
        namespaceInode("/proc/self/ns/mnt")
    }

    /// Scans `/proc/<pid>/ns/mnt` of every process. Not seen: a namespace kept alive only
    /// by a non-leader thread, an open nsfs fd or a bind-mounted nsfs file.
    /// A process is taken to be in the guard's namespace unless its root mount's unique id
    /// shows the namespace was made after the guard (the inode number was reused: parallel
    /// `unshare -m` runs free and take inode numbers all the time). The root is looked at
    /// with AT_STATX_DONT_SYNC: from the mount and the cached inode, no server round trip.
    package func mountNamespaceAlive(_ namespace: UInt64, madeBeforeMount guardMountID: UInt64?) -> Bool? {
        anyProcess { pid in
            guard namespaceInode("/proc/\(pid)/ns/mnt") == namespace else { return false }
            guard let guardMountID else { return true }
            var st = gs_statx_result()
            let root = "/proc/\(pid)/root"
            // The process may have exited since its ns link was read: it then holds nothing.
            guard gs_statx(GS_AT_FDCWD, root, Int32(GS_AT_STATX_DONT_SYNC), GS_STATX_MNT_ID_UNIQUE, &st) == 0 else { return false }
            guard st.mask & GS_STATX_MNT_ID_UNIQUE != 0 else { return true }
            return st.mnt_id < guardMountID
        }
    }

    /// Whether any process (a numeric entry of /proc) satisfies `test`; nil when /proc
    /// cannot be listed. Processes exit while we scan and some are unreadable: `test` sees
    /// them and answers false.
    func anyProcess(_ test: (Int32) -> Bool) -> Bool? {
        guard let proc = try? sys("open", "/proc", {
            gs_openat(GS_AT_FDCWD, "/proc", O_RDONLY | Int32(GS_O_DIRECTORY) | Int32(GS_O_CLOEXEC), 0)
        }) else { return nil }
        defer { closeFD(proc) }
        var found = false
        let scanned: Void? = try? forEachEntry(proc, "/proc") { name in
            guard let pid = Int32(String(decoding: name, as: UTF8.self)) else { return true }
            found = test(pid)
            return !found
        }
        return scanned == nil ? nil : found
    }

    /// Inode of the namespace a `/proc/.../ns/*` magic link points at (`stat -L`).
    private func namespaceInode(_ link: String) -> UInt64? {
        var st = gs_statx_result()
        guard (try? sys("statx", link) { gs_statx(GS_AT_FDCWD, link, 0, GS_STATX_INO, &st) }) != nil,
              st.mask & GS_STATX_INO != 0 else { return nil }
        return st.ino
    }

    /// Reads a whole (small, /proc) file.
    func readFile(_ path: String, limit: Int = 64 << 20) throws(KernelError) -> String {
        do {
            return String(decoding: try FileIO.readFile(path, limit: limit), as: UTF8.self)
        } catch {
            switch error {
            case .open(let e): throw KernelError(e, "open", path)
            case .read(let e): throw KernelError(e, "read", path)
            case .notRegularFile: throw KernelError(.invalidArgument, "read", path)
            case .tooLarge: throw KernelError(.fileTooLarge, "read", path)
            }
        }
    }
}
