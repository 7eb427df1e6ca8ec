import ArgumentParser
import GuardHooks
import GuardRender
import Glibc

/// "session 4242 (cron) since 2026-11-30T18:00:00Z, run #7" for each live claim.
func claimsText(_ claims: [ClaimRecord]) -> String {
    claims.map { c in
        c.holder.summary + " since " + Timestamp.rfc3339(c.claimedAt) + (c.runID.map { ", run #\($0)" } ?? "")
    }.joined(separator: "; ")
}

struct GuardsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guards",
        abstract: "List guards.",
        discussion: "Example: hook-runner guards --outstanding --json")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Only guards that are pending, applied or failed.") var outstanding = false
    @Option(help: "Only guards in this state (pending, applied, failed, cleared).") var state: GuardState?
    @Option(help: "Only guards of this path.") var path: String?

    func validate() throws {
        if outstanding && state == .cleared { throw ValidationError("--outstanding and --state cleared exclude each other") }
    }

    func run() throws {
        let engine = try global.engine(actor: "hook-runner guards")
        let selection: GuardSelection
        if let path { selection = .path(try normalizedQueryPath(path)) }
        else if let state { selection = .state(state) }
        else if outstanding { selection = .outstanding }
        else { selection = .all }
        // --path with --state or --outstanding narrows further.
        func wanted(_ g: GuardRecord) -> Bool {
            (!outstanding || g.state.isOutstanding) && (state == nil || g.state == state)
        }
        let claims = try engine.liveClaims()
        if global.json {
            // Streamed: each row is written as SQLite steps to it (constant memory).
            var w = JSONWriter()
            try w.object { w in
                try w.array("guards") { w in
                    try engine.forEachGuard(selection) { g in
                        if wanted(g) { try w.encode(GuardListing(record: g, claims: claims[g.id] ?? [])) }
                    }
                }
            }
            w.finish()
            return
        }
        let rows = try engine.guards(selection).filter(wanted)
        if rows.isEmpty {
            Render.line("no guards")
        } else {
            renderGuards(rows, claims: claims)
        }
    }
}

/// The text table of guard rows (`guards`, `status`).
/// The guards table; HELD BY lists each guard's live claims ("-": no job holds it).
func renderGuards(_ rows: [GuardRecord], claims: [GuardID: [ClaimRecord]]) {
    Render.table(["ID", "PATH", "KIND", "LIFETIME", "STATE", "SINCE", "HELD BY", "REASON"], rows.map { g in
        ["#\(g.id)", g.path, g.kind.rawValue, g.lifetime.rawValue, g.status.description,
         Timestamp.rfc3339(g.updatedAt), claims[g.id].map(claimsText) ?? "-", g.reason ?? ""]
    })
}

/// A path as typed, normalised for lookup (queries do not require it to exist).
func normalizedQueryPath(_ raw: String) throws -> String {
    switch PathPolicy.normalize(raw) {
    case .success(let p): return p
    case .failure(let why): throw CLIError.badTarget("\(raw): \(why)")
    }
}

/// `history --json`: `events` (the transitions), `timeline` (transitions and claim events,
/// each with its `type`) and `rescues`.
struct HistoryDocument: Encodable {
    var events: [GuardEvent]
    var rescues: [RescueRecord]
    var timeline: [HistoryEntry]
}

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Show guard transitions and claim events, newest last.",
        discussion: """
            Each guard's transitions, interleaved by time with its claims: added (who, which run) and
            released (why: its post phase, a stale holder, the operator's clear --force). JSON:
            `events` (the transitions), `timeline` (transitions and claim events, each with a `type`:
            transition, claim-added, claim-released) and `rescues`.

            Example: hook-runner history /mnt/pve/nfs1 --limit 20
            """)

    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("guard"), help: "Only this guard id.") var guardID: Int64?
    @Option(help: "Show at most the newest N entries (transitions and claim events; in JSON each list).") var limit: Int?
    @Argument(help: "Only this path.") var target: String?

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if guardID != nil && target != nil { throw ValidationError("give a target or --guard, not both") }
    }

    func run() throws {
        let engine = try global.engine(actor: "hook-runner history")
        let path = try target.map(normalizedQueryPath)
        let timeline = try engine.timeline(path: path, guardID: guardID, limit: limit)
        // Rescues of hidden data belong to a mountpoint, not to a guard.
        let rescues = guardID == nil ? try engine.rescues(path: path, limit: limit) : []
        if global.json {
            let events = try engine.history(path: path, guardID: guardID, limit: limit)
            try Render.json(HistoryDocument(events: events, rescues: rescues, timeline: timeline))
        } else if timeline.isEmpty && rescues.isEmpty {
            Render.line("no history")
        } else {
            if !timeline.isEmpty { renderTimeline(timeline) }
            if !rescues.isEmpty { printRescues(rescues, separated: !timeline.isEmpty) }
        }
    }
}
