import ArgumentParser
import GuardHooks
import GuardRender

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

    func run() throws {
        let runs = try global.engine(actor: "hook-runner runs").runs(phase: phase, limit: limit)
        if global.json {
            try Render.json(["runs": runs.map(RunListing.init)])
            return
        }
        if runs.isEmpty { Render.line("no runs"); return }
        renderRuns(runs)
    }
}

/// Each run as its line and its hooks' table (`runs`, `status`).
func renderRuns(_ runs: [RunRecord]) {
    for r in runs {
        let targets = r.targets.joined(separator: " ").escapingControlCharacters
        Render.line("run #\(r.id)  \(r.phase)  \(Timestamp.rfc3339(r.startedAt))  \(status(of: r))  \(targets)")
        Render.table(["  HOOK", "OUTCOME", "EXIT", "DETAIL"], r.hooks.map { h in
            let exit = h.signal.map { "signal \($0)" } ?? h.exitCode.map(String.init) ?? "-"
            return ["  " + h.name, h.outcome.rawValue, exit, hookDetail(timedOut: h.timedOut, reason: h.reason)]
        })
    }
}

/// `exit N`, `interrupted by signal N`, `unfinished` (still running), or `interrupted`
/// when its hook-runner is gone without finishing it (SIGKILL; the next `run` records it).
func status(of r: RunRecord) -> String {
    if let signal = r.interruptedBy { return "interrupted by signal \(signal) (exit \(r.exitCode ?? 128 + signal))" }
    if let code = r.exitCode { return "exit \(code)" }
    return isAbandoned(r) ? "interrupted (hook-runner gone)" : "unfinished"
}

func isAbandoned(_ r: RunRecord) -> Bool {
    guard r.exitCode == nil, let pid = r.pid, let start = r.pidStart else { return false }
    return !GuardEngine.runProcessAlive(pid: pid, start: start)
}

/// A run in JSON (`runs`, `status`): the record and its hook results, and `interrupted`,
/// which also covers a run whose hook-runner is gone.
struct RunListing: Encodable {
    var run: RunRecord

    private enum Keys: String, CodingKey { case interrupted }

    func encode(to encoder: any Encoder) throws {
        try run.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(run.interruptedBy != nil || isAbandoned(run), forKey: .interrupted)
    }
}

/// The DETAIL cell of a hook result: the reason, led by "timed out" when the reason does not
/// already say so (the runner's reason for a timeout is "timed out after 2s").
func hookDetail(timedOut: Bool, reason: String?) -> String {
    let reason = reason ?? ""
    guard timedOut, !reason.hasPrefix("timed out") else { return reason }
    return reason.isEmpty ? "timed out" : "timed out; " + reason
}
