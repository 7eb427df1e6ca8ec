import Glibc
import CGuardSys

/// A hook's descendants that left its process group (`setsid`, `setpgid`): with hook-runner
/// a child subreaper they become our children when their parent dies, so after each hook
/// every child we still have is killed and reaped until none is left. hook-runner spawns
/// nothing else while a phase runs, so every child at that point came from the hook.
enum Descendants {
    /// Makes this process a child subreaper (once; harmless to repeat).
    static func becomeSubreaper() { _ = gs_become_subreaper() }

    /// Kills and reaps every child of this process. A child's pid cannot be reused before we
    /// reap it, so `kill` never hits a stranger. Returns how many were killed.
    @discardableResult
    static func killAll() -> Int {
        var killed = 0
        while true {
            var info = siginfo_t()
            // Any child at all? (ECHILD: none; the common case costs one system call.)
            if waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 { return killed }
            let children = childPIDs()
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
            var status: Int32 = 0
            for pid in children { while waitpid(pid, &status, 0) < 0 && errno == EINTR {} }
        }
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
