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
            var w = JSONWriter()
            w.object { w in w.array("runs") { w in for r in runs { writeRun(r, to: &w) } } }
            w.finish()
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

/// JSON shape of a run and its hook results.
func writeRun(_ r: RunRecord, to w: inout JSONWriter) {
    w.object { w in
        w.field("actor", r.actor)
        w.field("dry_run", r.dryRun)
        w.field("exit_code", r.exitCode)
        w.field("finished_at", r.finishedAt)
        w.array("hooks") { w in
            for h in r.hooks {
                w.object { w in
                    w.field("exit_code", h.exitCode)
                    w.field("finished_at", h.finishedAt)
                    w.field("name", h.name)
                    w.field("outcome", h.outcome.rawValue)
                    w.field("output_tail", h.outputTail)
                    w.field("path", h.path)
                    w.field("reason", h.reason)
                    w.field("signal", h.signal)
                    w.field("started_at", h.startedAt)
                    w.field("timed_out", h.timedOut)
                }
            }
        }
        w.field("id", r.id)
        w.field("interrupted", r.interruptedBy != nil || isAbandoned(r))
        w.field("interrupted_by", r.interruptedBy)
        w.field("phase", r.phase)
        w.field("started_at", r.startedAt)
        w.field("targets", strings: r.targets)
    }
}

/// The DETAIL cell of a hook result: the reason, led by "timed out" when the reason does not
/// already say so (the runner's reason for a timeout is "timed out after 2s").
func hookDetail(timedOut: Bool, reason: String?) -> String {
    let reason = reason ?? ""
    guard timedOut, !reason.hasPrefix("timed out") else { return reason }
    return reason.isEmpty ? "timed out" : "timed out; " + reason
}
