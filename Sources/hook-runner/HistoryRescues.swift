import GuardHooks
import GuardRender

/// The rescues table of `history`, after the guard transitions.
func printRescues(_ rescues: [RescueRecord], separated: Bool) {
    if separated { Render.line("") }
    Render.table(["AT", "RESCUE", "FROM", "TO", "ENTRIES", "BYTES", "STATE", "BY"], rescues.map { r in
        [Timestamp.rfc3339(r.startedAt), "#\(r.id)", r.path, r.destination, "\(r.entries)", "\(r.bytes)",
         r.state == .started ? "interrupted" : r.method.rawValue + (r.leftBehind.map { " (left: \($0))" } ?? ""), r.actor]
    })
}
