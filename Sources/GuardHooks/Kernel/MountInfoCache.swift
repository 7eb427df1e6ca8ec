import FileIO
import Glibc
import Synchronization
import SystemPackage

/// /proc/self/mountinfo, parsed again only when this namespace's mount table changed.
///
/// The kernel marks an open mountinfo file POLLPRI on every change of the namespace's
/// mount table (seen on 6.18 for a bind mount, `mount_setattr` set and clear, a remount,
/// `move_mount` and `umount`); a poll with no wait says whether the last parse still holds.
/// Without it a batch read and parsed the whole table once per target: 1000 targets under
/// 1000 bind guards cost a million lines (BENCHMARKS.md, workload 2).
final class MountInfoCache: Sendable {
    private struct State {
        var fd: Int32 = -1
        var entries: [MountInfoEntry]?
        var index: MountIndex?
    }
    private let state = Mutex(State())

    /// The current table: the cached parse when the kernel reports no change since it was
    /// read, else a fresh read of the same open file from its start.
    func entries() throws(KernelError) -> [MountInfoEntry] {
        try state.withLock { (s: inout State) throws(KernelError) -> [MountInfoEntry] in
            if s.fd < 0 {
                let fd = retryingInterrupts { open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC) }
                guard fd >= 0 else { throw KernelError(Errno(rawValue: errno), "open", "/proc/self/mountinfo") }
                s.fd = fd
            }
            var p = pollfd(fd: s.fd, events: Int16(POLLPRI), revents: 0)
            // A failed poll counts as a change: the table is read again.
            let unchanged = poll(&p, 1, 0) == 0
            if unchanged, let cached = s.entries { return cached }
            s.index = nil
            guard lseek(s.fd, 0, SEEK_SET) == 0 else {
                throw KernelError(Errno(rawValue: errno), "lseek", "/proc/self/mountinfo")
            }
            let bytes: [UInt8]
            do throws(Errno) { bytes = try FileIO.read(FileDescriptor(rawValue: s.fd), upTo: 64 << 20) } catch {
                throw KernelError(error, "read", "/proc/self/mountinfo")
            }
            let parsed = MountInfo.parse(String(decoding: bytes, as: UTF8.self))
            s.entries = parsed
            return parsed
        }
    }
}

extension MountInfoCache {
    /// The current table by mount point, built once per change of the table.
    func index() throws(KernelError) -> MountIndex {
        let entries = try entries()
        return state.withLock { s in
            if let index = s.index { return index }
            let index = MountIndex(entries)
            s.index = index
            return index
        }
    }
}

/// A mount table by mount point: what is mounted at a path, and the deepest mount at or above
/// it, in as many lookups as the path has components (not one scan of the table per path).
struct MountIndex: Sendable {
    /// Every mount at a mount point, in mountinfo's order (the last one is on top).
    let byPoint: [String: [MountInfoEntry]]

    init(_ entries: [MountInfoEntry]) {
        var byPoint: [String: [MountInfoEntry]] = [:]
        for e in entries { byPoint[e.mountPoint, default: []].append(e) }
        self.byPoint = byPoint
    }

    /// The mount point of the deepest mount at `path` or above it ("/" included), or nil
    /// when the table has none (an unreadable or empty table).
    func deepestPoint(atOrAbove path: String) -> String? {
        var candidate = path
        while true {
            if byPoint[candidate] != nil { return candidate }
            if candidate == "/" || candidate.isEmpty || candidate == "." { return nil }
            candidate = FileIO.parentDirectory(candidate)
        }
    }

    /// The topmost mount at `path` shows another filesystem (device) than the mount that holds
    /// its parent directory. Unknown counts as foreign: it is then never called into unbounded.
    func isForeign(_ path: String) -> Bool {
        guard let top = byPoint[path]?.last, path != "/",
              let holderPoint = deepestPoint(atOrAbove: FileIO.parentDirectory(path)),
              let holder = byPoint[holderPoint]?.first
        else { return true }
        return holder.deviceMajor != top.deviceMajor || holder.deviceMinor != top.deviceMinor
    }
}
