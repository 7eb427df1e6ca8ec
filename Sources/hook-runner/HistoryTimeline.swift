import GuardHooks
import GuardRender

/// `history`'s transitions and claim events, merged by time: the text table, and the JSON
/// `timeline` array (keys sorted; `type` says which kind of entry each is).

/// The text table of `history`: claim rows read "claim added" (REASON: who) and "claim
/// released" (REASON: who, and why); BY of a release is "-" (the claim row keeps who added it).
func renderTimeline(_ entries: [HistoryEntry]) {
    Render.table(["AT", "GUARD", "PATH", "FROM", "TO", "REASON", "RUN", "BY"], entries.map { entry in
        switch entry {
        case .transition(let e):
            return [Timestamp.rfc3339(e.at), "#\(e.guardID)", e.path, e.from?.description ?? "-", e.to.description,
                    e.reason ?? "", runText(e.runID), e.actor]
        case .claim(let c):
            let released = c.change == .released
            return [Timestamp.rfc3339(c.at), "#\(c.claim.guardID)", c.path, "-", released ? "claim released" : "claim added",
                    c.claim.holder.summary + (released ? ": " + (c.claim.releaseReason ?? "") : ""),
                    runText(c.runID), released ? "-" : c.claim.actor]
        }
    })
}

private func runText(_ id: RunID?) -> String { id.map { "#\($0)" } ?? "-" }

/// One entry of the JSON `timeline`: a transition as in `events` plus `"type": "transition"`,
/// or a claim event (`claim-added`, `claim-released`): the claim as `guards` shows it, the
/// run that added or released it, and the release's reason.
func writeTimelineEntry(_ entry: HistoryEntry, to w: inout JSONWriter) {
    switch entry {
    case .transition(let e):
        writeEvent(e, to: &w, type: "transition")
    case .claim(let c):
        w.object { w in
            w.field("actor", c.change == .added ? c.claim.actor : nil)
            w.field("at", c.at)
            w.object("claim") { w in writeClaimFields(c.claim, to: &w) }
            w.field("guard_id", c.claim.guardID)
            w.field("path", c.path)
            w.field("reason", c.change == .released ? c.claim.releaseReason : nil)
            w.field("run_id", c.runID)
            w.field("type", "claim-" + c.change.rawValue)
        }
    }
}
