import FoundationEssentials
import GuardStore

/// One line of a guard's history: a state transition, or a job's claim added or released.
package enum HistoryEntry: Sendable, Hashable {
    case transition(GuardEvent)
    case claim(ClaimEvent)

    package var at: Date {
        switch self {
        case .transition(let e): return e.at
        case .claim(let c): return c.at
        }
    }

    /// Order among entries of one instant (one transaction): a claim is released before the
    /// guard's clear begins, and added once its guard row exists.
    var rankAtOneInstant: Int {
        switch self {
        case .claim(let c) where c.change == .released: return 0
        case .transition: return 1
        case .claim: return 2
        }
    }

    /// Transitions and claim events (each oldest first) merged by time, oldest first; `limit`
    /// keeps the newest N. Stable: entries of one kind keep their order.
    package static func merged(_ events: [GuardEvent], _ claims: [ClaimEvent], limit: Int?) -> [HistoryEntry] {
        let all = (events.map(HistoryEntry.transition) + claims.map(HistoryEntry.claim)).enumerated().sorted { a, b in
            (a.element.at, a.element.rankAtOneInstant, a.offset) < (b.element.at, b.element.rankAtOneInstant, b.offset)
        }.map(\.element)
        return limit.map { Array(all.suffix($0)) } ?? all
    }
}

extension GuardEngine {
    /// Transitions and claim events, merged by time, newest last: of one path, one guard, or
    /// all; `limit` keeps the newest N entries. Both are read on one snapshot.
    package func timeline(path: String? = nil, guardID: GuardID? = nil, limit: Int? = nil) throws -> [HistoryEntry] {
        try reading { store in
            try store.readTransaction {
                let events: [GuardEvent], claims: [ClaimEvent]
                if let guardID {
                    events = try store.history(guardID: guardID, limit: limit)
                    claims = try store.claimHistory(.guardID(guardID), limit: limit)
                } else if let path {
                    events = try store.history(path: path, limit: limit)
                    claims = try store.claimHistory(.path(path), limit: limit)
                } else {
                    events = try store.history(limit: limit)
                    claims = try store.claimHistory(.all, limit: limit)
                }
                return HistoryEntry.merged(events, claims, limit: limit)
            }
        } ?? []
    }
}

extension HistoryEntry: Encodable {
    private enum DocumentKeys: String, CodingKey { case type }

    /// The transition or the claim event, with `type`: `transition`, `claim-added` or
    /// `claim-released`.
    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: DocumentKeys.self)
        switch self {
        case .transition(let e): try e.encode(to: encoder); try c.encode("transition", forKey: .type)
        case .claim(let e): try e.encode(to: encoder); try c.encode("claim-" + e.change.rawValue, forKey: .type)
        }
    }
}
