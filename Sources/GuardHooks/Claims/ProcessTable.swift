import CGuardSys
import GuardStore
import Glibc

/// The processes of this system as /proc shows them: what a claim's liveness is decided on,
/// and who the caller is. A seam: tests pass their own.
package protocol ProcessTable: Sendable {
    func lookup(_ pid: Int32) -> ProcessLookup
    /// Whether any process has session id `sid`; nil when /proc cannot be scanned.
    func sessionHasMembers(_ sid: Int32) -> Bool?
    /// The command name (`/proc/PID/comm`).
    func commandName(_ pid: Int32) -> String?
}

extension ProcessTable {
    /// The facts `ClaimDecisions.liveness` needs for one holder.
    func facts(for h: ClaimHolder) -> HolderFacts {
        var f = HolderFacts()
        if h.kind == .process, let pid = h.pid { f.process = lookup(pid) }
        if let sid = h.sid {
            f.sessionLeader = lookup(sid)
            if f.sessionLeader == .absent { f.sessionHasMembers = sessionHasMembers(sid) }
        }
        return f
    }
}

package struct LinuxProcessTable: ProcessTable {
    let kernel = LinuxKernel()
    package init() {}

    func stat(_ pid: Int32) throws(KernelError) -> ProcStat? {
        ProcStat(try kernel.readFile("/proc/\(pid)/stat", limit: 64 << 10).utf8)
    }

    package func lookup(_ pid: Int32) -> ProcessLookup {
        guard pid > 0 else { return .absent }
        do {
            guard let s = try stat(pid) else { return .unreadable }
            // A zombie has ended: it holds its pid only until its parent reaps it.
            return s.hasExited ? .absent : .running(startTime: s.startTime)
        } catch {
            return error.errno == .noSuchFileOrDirectory || error.errno == .noSuchProcess ? .absent : .unreadable
        }
    }

    package func sessionHasMembers(_ sid: Int32) -> Bool? {
        kernel.anyProcess { pid in
            guard let s = (try? stat(pid)) ?? nil else { return false }
            return s.session == sid && !s.hasExited
        }
    }

    package func commandName(_ pid: Int32) -> String? {
        guard let text = try? kernel.readFile("/proc/\(pid)/comm", limit: 4096) else { return nil }
        return String(text.prefix { $0 != "\n" })
    }
}

/// Who is calling: the job a claim is made for, found without help from the calling tool.
package enum JobIdentity {
    /// The environment variable through which `run` and `exec` hand their job to the hooks
    /// they run, so that a hook's `hook-runner apply` claims for that job.
    package static let environmentVariable = "GUARD_HOOKS_JOB"
    /// An explicit key (`--claim`).
    package static let keyVariable = "GUARD_HOOKS_CLAIM"

    /// The caller's session and its leader's start time.
    package static func session(bootID: String, table: some ProcessTable = LinuxProcessTable()) -> ClaimHolder {
        let sid = getsid(0)
        var start: UInt64?
        if case .running(let s) = table.lookup(sid) { start = s }
        return ClaimHolder(kind: .session, sid: sid, sidStart: start, bootID: bootID, description: table.commandName(sid))
    }

    /// This very process, within its session; `token` tells scopes of one process apart.
    package static func process(bootID: String, token: String? = nil, table: some ProcessTable = LinuxProcessTable()) -> ClaimHolder {
        var h = session(bootID: bootID, table: table)
        h.kind = .process
        h.pid = getpid()
        if case .running(let s) = table.lookup(getpid()) { h.pidStart = s }
        h.token = token
        h.description = table.commandName(getpid())
        return h
    }

    package static func key(_ key: String, bootID: String) -> ClaimHolder {
        ClaimHolder(kind: .key, bootID: bootID, key: key, description: key)
    }
}

extension ClaimHolder {
    /// The holder as one environment value (`GUARD_HOOKS_JOB`): fields separated by `|`,
    /// the free-text key last.
    package var environmentValue: String {
        func n<T>(_ v: T?) -> String { v.map { "\($0)" } ?? "" }
        return ["v1", kind.rawValue, n(pid), n(pidStart), n(sid), n(sidStart), bootID, token ?? "", key ?? ""]
            .joined(separator: "|")
    }

    /// Parses `environmentValue`; nil when malformed.
    package init?(environmentValue: String) {
        let f = environmentValue.split(separator: "|", maxSplits: 8, omittingEmptySubsequences: false).map(String.init)
        guard f.count == 9, f[0] == "v1", let kind = Kind(rawValue: f[1]), !f[6].isEmpty else { return nil }
        func n<T: LosslessStringConvertible>(_ s: String) -> T?? { s.isEmpty ? .some(nil) : T(s).map { .some($0) } }
        guard let pid: Int32? = n(f[2]), let pidStart: UInt64? = n(f[3]), let sid: Int32? = n(f[4]),
              let sidStart: UInt64? = n(f[5]) else { return nil }
        if kind == .key && f[8].isEmpty { return nil }
        if kind != .key && sid == nil { return nil }
        self.init(kind: kind, pid: pid, pidStart: pidStart, sid: sid, sidStart: sidStart, bootID: f[6],
                  key: f[8].isEmpty ? nil : f[8], token: f[7].isEmpty ? nil : f[7],
                  description: kind == .key ? f[8] : nil)
    }
}
