import GuardHooks

extension SysExitCode {
    /// The exit code of `check`: a wrong storage (1) outranks a bad target (65), which
    /// outranks offline or unreachable (75, try later); all online is 0.
    package static func forCheck(_ states: [StorageState]) -> SysExitCode {
        if states.contains(.wrongStorage) { return .actionFailed }
        if states.contains(.badTarget) { return .badTarget }
        if states.contains(where: { $0 == .offline || $0 == .unreachable }) { return .tryAgainLater }
        return .ok
    }
}

extension Render {
    /// Prints `check`'s answers (a table, or one JSON document) and returns the exit code.
    package static func checkReport(_ checks: [StorageCheck], json: Bool, fd: Int32 = 1) -> SysExitCode {
        let code = SysExitCode.forCheck(checks.map(\.state))
        if json {
            resultsDocument("check", code, checks, fd: fd) { c, w in
                if let e = c.expected {
                    w.object("expected") { w in
                        w.field("fstype", e.fsType); w.field("source", e.source); w.field("uuid", e.uuid)
                    }
                }
                w.field("guard_id", c.guardID)
                if let m = c.mounted {
                    w.object("mounted") { w in
                        w.field("device", "\(m.deviceMajor):\(m.deviceMinor)")
                        w.field("fstype", m.fsType)
                        w.field("read_only_self_bind", m.isReadOnlySelfBind)
                        w.field("source", m.source)
                    }
                }
                w.field("path", c.path)
                w.field("reason", c.reason)
                w.field("state", c.state.rawValue)
                w.field("target", c.target)
            }
        } else {
            Render.table(["STATE", "PATH", "MOUNTED", "GUARD", "REASON"], checks.map { c in
                [c.state.rawValue, c.path ?? c.target, c.mounted?.description ?? "-", c.guardID.map { "#\($0)" } ?? "-",
                 c.reason ?? ""]
            }, fd: fd)
        }
        return code
    }
}
