import GuardHooks
import GuardRender

/// `history`'s transitions and claim events, merged by time: the text table. (The JSON
/// `timeline` is `HistoryEntry`'s `Encodable` shape.)

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
