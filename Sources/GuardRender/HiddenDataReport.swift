import GuardHooks

extension SysExitCode {
    /// The exit code of `hidden`: 65 when a target could not be looked at, else 1 when
    /// something is hidden (so monitoring can alert), else 0.
    package static func forHidden(_ reports: [HiddenReport]) -> SysExitCode {
        if reports.contains(where: { $0.scan == nil }) { return .badTarget }
        if reports.contains(where: { ($0.scan?.entries ?? 0) > 0 }) { return .actionFailed }
        return .ok
    }
}

extension Render {
    /// Prints `hidden`'s findings (one block per target, or one JSON document).
    package static func hiddenReport(_ reports: [HiddenReport], limit: Int, json: Bool, fd: Int32 = 1) throws -> SysExitCode {
        let code = SysExitCode.forHidden(reports)
        if json {
            // `largest`: the first `limit` entries of each scan.
            let shown = reports.map { r in
                var r = r
                if let top = r.scan?.top { r.scan?.top = Array(top.prefix(limit)) }
                return r
            }
            try Render.json(ResultsDocument(command: "hidden", exitCode: code.rawValue, results: shown), fd: fd)
            return code
        }
        Render.table(["PATH", "UNDER", "ENTRIES", "BYTES", "LARGEST"], reports.map { r in
            guard let scan = r.scan else { return [r.path ?? r.target, "-", "-", "-", "error: \(r.error ?? "")"] }
            let largest = scan.top.prefix(limit).map { "\($0.name)\($0.isDirectory ? "/" : "") (\($0.bytes))" }
            return [r.path ?? r.target, r.mounted ? "storage" : "offline", "\(scan.entries)\(scan.truncated ? "+" : "")",
                    "\(scan.bytes)\(scan.truncated ? "+" : "")", largest.isEmpty ? "-" : largest.joined(separator: ", ")]
        }, fd: fd)
        return code
    }
}
