import Glibc
import CGuardSys

/// A hook's descendants that left its process group (`setsid`, `setpgid`): with hook-runner
/// a child subreaper they become our children when their parent dies, so after each hook
/// every child we still have is killed and reaped until none is left.
///
/// That sweep kills *every* child of the process, so only a process that spawns nothing
/// else while a phase runs may turn it on: hook-runner's `run` does (`becomeSubreaper`);
/// a program that embeds the runner (and its tests, which run phases side by side) does
/// not, and its hooks' escaped descendants are left alone as before.
package enum Descendants {
    /// Whether this process is a subreaper that sweeps after each hook.
    nonisolated(unsafe) private(set) static var sweeping = false

    /// Makes this process a child subreaper and turns the sweep on (once, before the first
    /// phase; harmless to repeat). Returns whether the kernel agreed.
    @discardableResult
    package static func becomeSubreaper() -> Bool {
        if !sweeping { sweeping = gs_become_subreaper() == 0 }
        return sweeping
    }

    /// Kills and reaps every child of this process. A child's pid cannot be reused before we
    /// reap it, so `kill` never hits a stranger. A child that does not die within `patience`
    /// after SIGKILL is blocked uninterruptibly (a call into a storage that stopped
    /// answering, such as the reachability probe's child): it is left behind rather than
    /// waited on, or the run would hang with it. Returns how many were killed.
    @discardableResult
    static func killAll(patience: Double = 2) -> Int {
        var killed = 0
        guard sweeping else { return killed }
        var abandoned = Set<pid_t>()
        while true {
            var info = siginfo_t()
            // Any child at all? (ECHILD: none; the common case costs one system call.)
            if waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 { return killed }
            let children = childPIDs().filter { !abandoned.contains($0) }
            if children.isEmpty {
                // Only zombies (or a child that just exited): reap what is there and stop.
                var status: Int32 = 0
                while waitpid(-1, &status, WNOHANG) > 0 {}
                return killed
            }
            for pid in children {
                kill(pid, SIGKILL)
                killed += 1
            }
            var pending = Set(children)
            let deadline = monotonicSeconds() + patience
            while !pending.isEmpty {
                var status: Int32 = 0
                pending = pending.filter { waitpid($0, &status, WNOHANG) == 0 }
                if pending.isEmpty || monotonicSeconds() >= deadline { break }
                usleep(10_000)
            }
            abandoned.formUnion(pending)
        }
    }

    private static func monotonicSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// Our live children, from `/proc/PID/stat`'s ppid field.
    static func childPIDs() -> [pid_t] {
        let me = getpid()
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        var result: [pid_t] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = pid_t(name), let fields = ProcStat.read(pid), fields.ppid == me, fields.state != "Z" else { continue }
            result.append(pid)
        }
        return result
    }
}
