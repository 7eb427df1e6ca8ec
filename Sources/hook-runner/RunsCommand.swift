import ArgumentParser
import GuardHooks
import GuardStore

struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "Show hook runs and per-hook results, newest last.",
        discussion: "Example: hook-runner runs --phase pre-restore --limit 5 --json")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only runs of this phase.") var phase: String?
    @Option(help: "At most the newest N runs.") var limit: Int?

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    struct HookJSON: Encodable {
        var name: String, path: String, outcome: String, exitCode: Int32?, signal: Int32?, timedOut: Bool
        var startedAt: String?, finishedAt: String?, reason: String?, outputTail: String
    }
    struct RunJSON: Encodable {
        var id: Int64, phase: String, targets: [String], dryRun: Bool, startedAt: String, finishedAt: String?
        var exitCode: Int32?, actor: String, hooks: [HookJSON]
    }

    func run() throws {
        let runs = try global.storeForReading()?.runs(phase: phase, limit: limit) ?? []
        if global.json {
            struct Document: Encodable { var runs: [RunJSON] }
            try Render.json(Document(runs: runs.map { r in
                RunJSON(id: r.id, phase: r.phase, targets: r.targets, dryRun: r.dryRun,
                        startedAt: Render.rfc3339(r.startedAt), finishedAt: r.finishedAt.map(Render.rfc3339),
                        exitCode: r.exitCode, actor: r.actor, hooks: r.hooks.map { h in
                            HookJSON(name: h.name, path: h.path, outcome: h.outcome.rawValue, exitCode: h.exitCode,
                                     signal: h.signal, timedOut: h.timedOut, startedAt: h.startedAt.map(Render.rfc3339),
                                     finishedAt: h.finishedAt.map(Render.rfc3339), reason: h.reason, outputTail: h.outputTail)
                        })
            }))
            return
        }
        if runs.isEmpty { Render.line("no runs"); return }
        for r in runs {
            let status = r.exitCode.map { "exit \($0)" } ?? "unfinished"
            Render.line("run #\(r.id)  \(r.phase)  \(Render.rfc3339(r.startedAt))  \(status)  \(r.targets.joined(separator: " "))")
            Render.table(["  HOOK", "OUTCOME", "EXIT", "DETAIL"], r.hooks.map { h in
                let exit = h.signal.map { "signal \($0)" } ?? h.exitCode.map(String.init) ?? "-"
                return ["  " + h.name, h.outcome.rawValue, exit, (h.timedOut ? "timed out; " : "") + (h.reason ?? "")]
            })
        }
    }
}
