#if canImport(Glibc)
import Glibc
#endif
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

/// The fields of `/proc/PID/stat` the runner needs.
public struct ProcStat: Sendable, Hashable {
    public var state: Character
    public var ppid: pid_t
    /// Field 22: start time in clock ticks since boot; with the pid it names one process.
    public var startTime: UInt64

    public static func read(_ pid: pid_t) -> ProcStat? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        return parse(Array(buffer[..<n]))
    }

    /// The command name (field 2) may hold spaces and parentheses: fields count from the
    /// last `)`.
    static func parse(_ bytes: [UInt8]) -> ProcStat? {
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let rest = bytes[(close + 1)...].split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
        // rest[0] is field 3 (state), rest[1] field 4 (ppid), rest[19] field 22 (starttime).
        guard rest.count > 19, let state = rest[0].first, let ppid = pid_t(rest[1]), let start = UInt64(rest[19]) else { return nil }
        return ProcStat(state: state, ppid: ppid, startTime: start)
    }
}
