import Glibc
import CGuardSys
import FileIO
import Synchronization
import SystemPackage

/// How a hook's descendants were contained: what ended the processes it left behind.
package enum Containment: String, Sendable, Hashable {
    /// A cgroup v2 of its own: every process the hook started, `setsid` or not, is in it
    /// from the first instruction and is killed with `cgroup.kill` when the hook ends.
    case cgroup
    /// hook-runner is a child subreaper: what left the hook's process group is reparented to
    /// it when its parent dies, and killed at the end of the hook (Descendants).
    case subreaper
    /// Only the hook's process group: a program that embeds the runner, without a writable
    /// cgroup v2 (its own children are not ours to sweep).
    case processGroup = "process-group"
}

/// Where the hooks' cgroups are made: a leaf child of this process's own cgroup v2, one per
/// hook, named `guard-hooks-<pid>-<start time>-<n>`.
///
/// A child of our own cgroup, not a sibling: the hook stays under the limits and accounting
/// of whoever runs hook-runner (a systemd unit's MemoryMax covers its subtree), and needs no
/// write access beyond our own cgroup. The no-internal-processes rule allows it: a non-root
/// cgroup that holds processes (us) has no domain controllers enabled for its children, and
/// a child without controllers may hold processes; the root cgroup is exempt. Where the
/// kernel still says no (a threaded cgroup, no CLONE_INTO_CGROUP, no `cgroup.kill`, a
/// read-only or foreign hierarchy), the first hook's spawn finds out and every hook falls
/// back to the subreaper sweep.
package final class HookCgroups: Sendable {
    /// This process's, or nil when no cgroup v2 of ours is writable. Located on first use.
    static let shared: HookCgroups? = HookCgroups.locate()

    /// Our own cgroup directory (`O_RDONLY|O_DIRECTORY`), parent of the hooks' cgroups.
    private let directoryFD: Int32
    /// Its path, for the sweep of stale cgroups and for messages.
    let path: String
    private let prefix: String
    private let serial = Atomic<Int>(0)
    private let unusable = Atomic<Bool>(false)

    private init(directoryFD: Int32, path: String, prefix: String) {
        self.directoryFD = directoryFD; self.path = path; self.prefix = prefix
    }

    /// Which containment a hook gets when it cannot have a cgroup.
    static var fallback: Containment { Descendants.sweeping ? .subreaper : .processGroup }

    /// A new empty cgroup for one hook, or nil (then the hook is contained by `fallback`).
    func make() -> HookCgroup? {
        guard !unusable.load(ordering: .relaxed) else { return nil }
        let name = prefix + String(serial.wrappingAdd(1, ordering: .relaxed).newValue)
        guard gs_mkdirat(directoryFD, name, 0o700) == 0 else {
            disable()
            return nil
        }
        let fd = openat(directoryFD, name, O_RDONLY | GS_O_DIRECTORY | GS_O_NOFOLLOW | GS_O_CLOEXEC)
        // No cgroup.kill before Linux 5.14: nothing to end the cgroup with in one step.
        guard fd >= 0, faccessat(fd, "cgroup.kill", W_OK, 0) == 0 else {
            if fd >= 0 { close(fd) }
            unlinkat(directoryFD, name, AT_REMOVEDIR)
            disable()
            return nil
        }
        return HookCgroup(parentFD: directoryFD, name: name, fd: fd)
    }

    /// Stops making cgroups in this process (the kernel refused one).
    func disable() { unusable.store(true, ordering: .relaxed) }

    /// Our cgroup v2 directory: the `0::` line of /proc/self/cgroup under the cgroup2 mount
    /// of /proc/self/mountinfo that holds it. Nil when there is none or it is not writable.
    private static func locate() -> HookCgroups? {
        #if GUARD_HOOKS_FAULT_POINTS
        // Debug builds only: the fallback test's switch.
        if getenv("GUARD_HOOKS_TEST_CONTAINMENT").map({ String(cString: $0) }) == "subreaper" { return nil }
        #endif
        guard let own = try? FileIO.readFile("/proc/self/cgroup", limit: 1 << 16),
              let line = String(decoding: own, as: UTF8.self).split(separator: "\n").first(where: { $0.hasPrefix("0::") }),
              let mounts = try? FileIO.readFile("/proc/self/mountinfo", limit: 64 << 20)
        else { return nil }
        let cgroupPath = String(line.dropFirst(3))
        for mount in MountInfo.parse(String(decoding: mounts, as: UTF8.self)) where mount.fsType == "cgroup2" {
            // The mount shows the hierarchy from `root` down (a cgroup namespace, a bind).
            let root = mount.root == "/" ? "" : mount.root
            guard cgroupPath == root || cgroupPath.hasPrefix(root + "/") else { continue }
            let below = String(cgroupPath.dropFirst(root.count))
            let path = mount.mountPoint == "/" ? (below.isEmpty ? "/" : below) : mount.mountPoint + below
            let fd = open(path, O_RDONLY | GS_O_DIRECTORY | GS_O_CLOEXEC)
            guard fd >= 0 else { continue }
            guard faccessat(fd, ".", W_OK, 0) == 0 else {
                close(fd)
                continue
            }
            let me = getpid()
            let start = ProcStat.read(me)?.startTime ?? 0
            let cgroups = HookCgroups(directoryFD: fd, path: path, prefix: "guard-hooks-\(me)-\(start)-")
            cgroups.removeStale()
            return cgroups
        }
        return nil
    }

    /// Removes the hooks' cgroups of runs whose process is gone (a hook-runner that was
    /// SIGKILLed: its hooks died with it, but what they started in the background lives on
    /// in their cgroup). Killed, then removed; a cgroup of a live process is left alone.
    private func removeStale() {
        guard let dir = opendir(path) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let fields = name.split(separator: "-")
            guard name.hasPrefix("guard-hooks-"), fields.count == 5, let pid = pid_t(fields[2]),
                  let start = UInt64(fields[3]) else { continue }
            if let process = ProcStat.read(pid), process.startTime == start, pid != getpid() { continue }
            let fd = openat(directoryFD, name, O_RDONLY | GS_O_DIRECTORY | GS_O_NOFOLLOW | GS_O_CLOEXEC)
            guard fd >= 0 else { continue }
            _ = HookCgroup(parentFD: directoryFD, name: name, fd: fd).remove()
        }
    }
}

/// One hook's cgroup: `fd` is what clone3 starts the hook in.
struct HookCgroup: Sendable {
    let parentFD: Int32
    let name: String
    let fd: Int32

    /// Kills every process in the cgroup (SIGKILL, `cgroup.kill`).
    func killAll() {
        writeControl(fd, "cgroup.kill", "1")
    }

    /// Kills what is left, waits until the cgroup is empty and removes it; closes `fd`.
    /// A process that does not die within `patience` is blocked uninterruptibly (a call into
    /// a storage that stopped answering): it is moved up into our own cgroup, as the
    /// subreaper sweep leaves such a child behind, so the directory can still go. Returns
    /// whether the directory is gone; if not, the next run's stale sweep removes it.
    @discardableResult
    func remove(patience: Double = 2) -> Bool {
        defer { close(fd) }
        killAll()
        let deadline = ProcessWatch.now() + Int64(patience * 1e9)
        while isPopulated(), ProcessWatch.now() < deadline {
            // Reap what the kill reparented to us, if we are the subreaper (zombies do not
            // keep a cgroup populated, but they should not pile up either).
            Descendants.killAll(patience: 0)
            usleep(2_000)
        }
        if isPopulated() {
            for pid in readControl("cgroup.procs", limit: 1 << 20).split(separator: "\n") {
                writeControl(parentFD, "cgroup.procs", String(pid))
            }
        }
        return unlinkat(parentFD, name, AT_REMOVEDIR) == 0 || errno == ENOENT
    }

    /// `cgroup.events` says `populated 1` (unreadable: not known to be, so rmdir is tried).
    private func isPopulated() -> Bool {
        readControl("cgroup.events", limit: 4096).split(separator: "\n").contains("populated 1")
    }

    private func readControl(_ file: String, limit: Int) -> String {
        let control = openat(fd, file, O_RDONLY | GS_O_CLOEXEC)
        guard control >= 0 else { return "" }
        defer { close(control) }
        let bytes = (try? FileIO.read(FileDescriptor(rawValue: control), upTo: limit)) ?? []
        return String(decoding: bytes, as: UTF8.self)
    }

    private func writeControl(_ directory: Int32, _ file: String, _ value: String) {
        let control = openat(directory, file, O_WRONLY | GS_O_CLOEXEC)
        guard control >= 0 else { return }
        defer { close(control) }
        _ = value.withCString { write(control, $0, strlen($0)) }
    }
}
