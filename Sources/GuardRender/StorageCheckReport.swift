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
    package static func checkReport(_ checks: [StorageCheck], json: Bool, fd: Int32 = 1) throws -> SysExitCode {
        let code = SysExitCode.forCheck(checks.map(\.state))
        if json {
            try Render.json(ResultsDocument(command: "check", exitCode: code.rawValue, results: checks), fd: fd)
        } else {
            Render.table(["STATE", "PATH", "MOUNTED", "GUARD", "REASON"], checks.map { c in
                [c.state.rawValue, c.path ?? c.target, c.mounted?.description ?? "-", c.guardID.map { "#\($0)" } ?? "-",
                 c.reason ?? ""]
            }, fd: fd)
        }
        return code
    }
}
