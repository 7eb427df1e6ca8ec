import GuardHooks

extension Render {
    /// Prints what a rescue moved (or would move) and returns its exit code: 1 when an
    /// entry stayed behind, else 0.
    package static func rescueReport(_ r: RescueResult, json: Bool, fd: Int32 = 1) -> SysExitCode {
        let code: SysExitCode = r.leftBehind.isEmpty ? .ok : .actionFailed
        let bytes = r.moved.reduce(UInt64(0)) { $0 + $1.bytes }
        if json {
            var w = JSONWriter(fd: fd)
            w.object { w in
                w.field("bytes", bytes)
                w.field("command", "rescue")
                w.field("destination", r.destination)
                w.field("dry_run", r.dryRun)
                w.field("exit_code", code.rawValue)
                w.array("left_behind") { w in
                    for l in r.leftBehind { w.object { w in w.field("name", l.name); w.field("reason", l.reason) } }
                }
                w.field("method", r.method.rawValue)
                w.array("moved") { w in
                    for e in r.moved { w.object { w in w.field("bytes", e.bytes); w.field("entries", e.entries); w.field("name", e.name) } }
                }
                w.field("path", r.path)
                w.field("rescue_id", r.rescueID)
            }
            w.finish()
            return code
        }
        let verb = r.dryRun ? "would-move" : (r.method == .rename ? "moved" : "copied")
        Render.table(["OUTCOME", "ENTRY", "BYTES", "WHERE"],
                     r.moved.map { [verb, $0.name, "\($0.bytes)", r.destination] }
                        + r.leftBehind.map { ["left", $0.name, "-", $0.reason] }, fd: fd)
        let total = "\(r.moved.count) entr\(r.moved.count == 1 ? "y" : "ies"), \(bytes) bytes"
        Render.line((r.dryRun ? "would move " : "moved ") + total + " from \(r.path) to \(r.destination)"
                    + (r.rescueID.map { " (rescue #\($0))" } ?? ""), fd: fd)
        return code
    }
}
