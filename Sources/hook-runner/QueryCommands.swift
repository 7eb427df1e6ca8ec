import ArgumentParser
import GuardHooks
import GuardStore
#if canImport(Glibc)
import Glibc
#endif

extension GlobalOptions {
    /// The store for a query: nil when none exists yet (nothing recorded), an error when
    /// it exists but cannot be read. Queries never create or change it.
    func storeForReading() throws -> GuardStore? {
        // ENOENT only: a store hidden by permissions (EACCES) must not read as "no guards".
        guard access(storePath, F_OK) == 0 || errno != ENOENT else { return nil }
        do { return try GuardStore.open(path: storePath, mode: .readOnly, create: false) } catch {
            throw GuardEngineError.store("\(storePath): \(error)")
        }
    }
}

/// JSON shape of a guard row.
struct GuardJSON: Encodable {
    var id: Int64, path: String, kind: String, lifetime: String, state: String
    var pendingAction: String?, reason: String?, device: UInt64?, inode: UInt64?
    var mountId: UInt64?, mountIdUnique: Bool, mountNamespace: UInt64?, bootId: String
    var label: String?, runId: Int64?, createdAt: String, updatedAt: String

    init(_ g: GuardRecord) {
        id = g.id; path = g.path; kind = g.kind.rawValue; lifetime = g.lifetime.rawValue
        state = g.state.rawValue; pendingAction = g.pendingAction?.rawValue; reason = g.reason
        device = g.device; inode = g.inode; mountId = g.mountID; mountIdUnique = g.mountIDIsUnique
        mountNamespace = g.mountNamespace; bootId = g.bootID; label = g.label; runId = g.runID
        createdAt = Render.rfc3339(g.createdAt); updatedAt = Render.rfc3339(g.updatedAt)
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
        var rows: [GuardRecord] = []
        if let store = try global.storeForReading() {
            if let path { rows = try store.guards(path: normalizedQueryPath(path)) }
            else if let state { rows = try store.guards(state: state) }
            else if outstanding { rows = try store.outstandingGuards() }
            else { rows = try store.allGuards() }
        }
        rows = rows.filter { (!outstanding || $0.state.isOutstanding) && (state == nil || $0.state == state) }
        if global.json {
            struct Document: Encodable { var guards: [GuardJSON] }
            try Render.json(Document(guards: rows.map(GuardJSON.init)))
        } else if rows.isEmpty {
            Render.line("no guards")
        } else {
            Render.table(["ID", "PATH", "KIND", "LIFETIME", "STATE", "SINCE", "REASON"], rows.map { g in
                ["#\(g.id)", g.path, g.kind.rawValue, g.lifetime.rawValue, g.status.description,
                 Render.rfc3339(g.updatedAt), g.reason ?? ""]
            })
        }
    }
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
        abstract: "Show guard transitions, newest last.",
        discussion: "Example: hook-runner history /mnt/pve/nfs1 --limit 20")

    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("guard"), help: "Only this guard id.") var guardID: Int64?
    @Option(help: "Show at most the newest N transitions.") var limit: Int?
    @Argument(help: "Only this path.") var target: String?

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if guardID != nil && target != nil { throw ValidationError("give a target or --guard, not both") }
    }

    struct EventJSON: Encodable {
        var id: Int64, guardId: Int64, path: String, fromState: String?, fromAction: String?
        var toState: String, toAction: String?, reason: String?, at: String, runId: Int64?, actor: String
    }

    func run() throws {
        var events: [GuardEvent] = []
        if let store = try global.storeForReading() {
            if let guardID { events = try store.history(guardID: guardID, limit: limit) }
            else if let target { events = try store.history(path: try normalizedQueryPath(target), limit: limit) }
            else { events = try store.history(limit: limit) }
        }
        if global.json {
            struct Document: Encodable { var events: [EventJSON] }
            try Render.json(Document(events: events.map {
                EventJSON(id: $0.id, guardId: $0.guardID, path: $0.path, fromState: $0.from?.state.rawValue,
                          fromAction: $0.from?.action?.rawValue, toState: $0.to.state.rawValue,
                          toAction: $0.to.action?.rawValue, reason: $0.reason, at: Render.rfc3339($0.at),
                          runId: $0.runID, actor: $0.actor)
            }))
        } else if events.isEmpty {
            Render.line("no history")
        } else {
            Render.table(["AT", "GUARD", "PATH", "FROM", "TO", "REASON", "BY"], events.map { e in
                [Render.rfc3339(e.at), "#\(e.guardID)", e.path, e.from?.description ?? "-", e.to.description,
                 e.reason ?? "", e.actor]
            })
        }
    }
}
