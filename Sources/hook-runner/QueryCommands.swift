import ArgumentParser
import GuardHooks
import GuardRender
import Glibc

/// JSON shape of a guard row (keys in sorted order, as everywhere), with its live claims.
func writeGuard(_ g: GuardRecord, claims: [ClaimRecord], to w: inout JSONWriter) {
    w.object { w in
        w.field("boot_id", g.bootID)
        w.array("claims") { w in for c in claims { writeClaim(c, to: &w) } }
        w.field("created_at", g.createdAt)
        w.field("device", g.device)
        w.field("id", g.id)
        w.field("inode", g.inode)
        w.field("kind", g.kind.rawValue)
        w.field("label", g.label)
        w.field("lifetime", g.lifetime.rawValue)
        w.field("mount_id", g.mountID)
        w.field("mount_id_unique", g.mountIDIsUnique)
        w.field("mount_namespace", g.mountNamespace)
        w.field("path", g.path)
        w.field("pending_action", g.pendingAction?.rawValue)
        w.field("reason", g.reason)
        w.field("run_id", g.runID)
        w.field("state", g.state.rawValue)
        w.field("updated_at", g.updatedAt)
    }
}

/// JSON shape of a claim: who, since when, which run.
func writeClaim(_ c: ClaimRecord, to w: inout JSONWriter) {
    w.object { w in writeClaimFields(c, to: &w) }
}

/// The fields of a claim's JSON object.
func writeClaimFields(_ c: ClaimRecord, to w: inout JSONWriter) {
    w.field("claimed_at", c.claimedAt)
    w.field("description", c.holder.description)
    w.field("holder", c.holder.canonicalKey)
    w.field("id", c.id)
    w.field("key", c.holder.key)
    w.field("kind", c.holder.kind.rawValue)
    w.field("pid", c.holder.pid)
    w.field("run_id", c.runID)
    w.field("session", c.holder.sid)
}

/// "session 4242 (cron) since 2026-11-30T18:00:00Z, run #7" for each live claim.
func claimsText(_ claims: [ClaimRecord]) -> String {
    claims.map { c in
        c.holder.summary + " since " + Timestamp.rfc3339(c.claimedAt) + (c.runID.map { ", run #\($0)" } ?? "")
    }.joined(separator: "; ")
}

/// JSON shape of a history event.
func writeEvent(_ e: GuardEvent, to w: inout JSONWriter, type: String? = nil) {
    w.object { w in
        w.field("actor", e.actor)
        w.field("at", e.at)
        w.field("from_action", e.from?.action?.rawValue)
        w.field("from_state", e.from?.state.rawValue)
        w.field("guard_id", e.guardID)
        w.field("id", e.id)
        w.field("path", e.path)
        w.field("reason", e.reason)
        w.field("run_id", e.runID)
        w.field("to_action", e.to.action?.rawValue)
        w.field("to_state", e.to.state.rawValue)
        w.field("type", type)
    }
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
                        if wanted(g) { writeGuard(g, claims: claims[g.id] ?? [], to: &w) }
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
            var w = JSONWriter()
            w.object { w in
                w.array("events") { w in for e in events { writeEvent(e, to: &w) } }
                w.array("rescues") { w in for r in rescues { writeRescue(r, to: &w) } }
                w.array("timeline") { w in for entry in timeline { writeTimelineEntry(entry, to: &w) } }
            }
            w.finish()
        } else if timeline.isEmpty && rescues.isEmpty {
            Render.line("no history")
        } else {
            if !timeline.isEmpty { renderTimeline(timeline) }
            if !rescues.isEmpty { printRescues(rescues, separated: !timeline.isEmpty) }
        }
    }
}
