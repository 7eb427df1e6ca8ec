import FileIO
import Glibc

/// The fields of `/proc/PID/stat` (proc(5)) GuardHooks decides on: a claim's session and a
/// process's identity (pid plus start time), the runner's children (ppid) and zombies (state).
package struct ProcStat: Sendable, Hashable {
    /// Field 3: R, S, D, Z, ...
    package var state: Character
    /// Field 4.
    package var ppid: pid_t
    /// Field 6.
    package var session: Int32
    /// Field 22: start time in clock ticks since boot; with the pid it names one process.
    package var startTime: UInt64

    /// The command name (field 2) may hold spaces and parentheses, so fields are counted
    /// after its last `)`.
    package init?(_ text: some BidirectionalCollection<UInt8>) {
        guard let close = text.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let rest = text[text.index(after: close)...].split(separator: UInt8(ascii: " "))
        // rest[0] is field 3 (state): field N is rest[N - 3].
        func field(_ n: Int) -> String { String(decoding: rest[n - 3], as: UTF8.self) }
        guard rest.count > 19, let state = field(3).first, let ppid = pid_t(field(4)),
              let session = Int32(field(6)), let start = UInt64(field(22)) else { return nil }
        self.state = state; self.ppid = ppid; self.session = session; startTime = start
    }

    /// The process's fields now; nil when it is gone or unreadable.
    package static func read(_ pid: pid_t) -> ProcStat? {
        (try? FileIO.readFile("/proc/\(pid)/stat", limit: 4096)).flatMap { ProcStat($0) }
    }
}

extension ProcStat {
    /// `Z` (zombie) or `X` (dead): the process has exited and only waits to be reaped.
    package var hasExited: Bool { state == "Z" || state == "X" }
}
