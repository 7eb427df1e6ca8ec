import GuardHooks
import GuardRender

/// JSON shape of a rescue in `history --json` (keys sorted).
func writeRescue(_ r: RescueRecord, to w: inout JSONWriter) {
    w.object { w in
        w.field("actor", r.actor)
        w.field("bytes", r.bytes)
        w.field("destination", r.destination)
        w.field("entries", r.entries)
        w.field("finished_at", r.finishedAt)
        w.field("id", r.id)
        w.field("left_behind", r.leftBehind)
        w.field("method", r.method.rawValue)
        w.array("moved") { w in
            for e in r.moved { w.object { w in w.field("bytes", e.bytes); w.field("entries", e.entries); w.field("name", e.name) } }
        }
        w.field("path", r.path)
        w.field("run_id", r.runID)
        w.field("started_at", r.startedAt)
        w.field("state", r.state.rawValue)
    }
}

/// The rescues table of `history`, after the guard transitions.
func printRescues(_ rescues: [RescueRecord], separated: Bool) {
    if separated { Render.line("") }
    Render.table(["AT", "RESCUE", "FROM", "TO", "ENTRIES", "BYTES", "STATE", "BY"], rescues.map { r in
        [Timestamp.rfc3339(r.startedAt), "#\(r.id)", r.path, r.destination, "\(r.entries)", "\(r.bytes)",
         r.state == .started ? "interrupted" : r.method.rawValue + (r.leftBehind.map { " (left: \($0))" } ?? ""), r.actor]
    })
}
