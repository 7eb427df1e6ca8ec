import ArgumentParser
import GuardHooks
import GuardRender

/// `hook-runner status`: what an operator looks at first, on one screen: the outstanding
/// guards, the last runs, and doctor's worst finding. Only reads (engine `guards`, `runs`,
/// `doctor`), so anyone who can read the store may run it.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Outstanding guards, the last runs and doctor's worst finding, in one screen.",
        discussion: """
            Exits 1 when doctor finds a fail (as doctor does), else 0.

            Example: hook-runner status --runs 3 --json
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "How many of the newest runs to show.") var runs = 5

    func validate() throws {
        if runs < 0 { throw ValidationError("--runs must be 0 or more") }
    }

    func run() throws {
        let settings = try global.settings()
        let engine = global.engine(settings, actor: "hook-runner status")
        let outstanding = try engine.guards(.outstanding)
        let claims = try engine.liveClaims()
        let lastRuns = runs == 0 ? [] : try engine.runs(phase: nil, limit: runs)
        let report = try engine.doctor(targets: [], sealed: settings.sealed)
        // The findings that make the verdict: the worst severity only (none when all is ok).
        let worst = report.findings.filter { $0.severity == report.worst && $0.severity != .ok }
        if global.json {
            var w = JSONWriter()
            w.object { w in
                w.field("doctor_worst", report.worst.rawValue)
                w.array("findings") { w in
                    for f in worst {
                        w.object { w in
                            w.field("code", f.code)
                            w.field("guard_id", f.guardID)
                            w.field("message", f.message)
                            w.field("path", f.path)
                            w.field("severity", f.severity.rawValue)
                        }
                    }
                }
                w.array("guards") { w in for g in outstanding { writeGuard(g, claims: claims[g.id] ?? [], to: &w) } }
                w.field("outstanding", outstanding.count)
                w.array("runs") { w in for r in lastRuns { writeRun(r, to: &w) } }
            }
            w.finish()
        } else {
            Render.line("guards: \(outstanding.count) outstanding")
            renderGuards(outstanding, claims: claims)
            Render.line("")
            Render.line(lastRuns.isEmpty ? "runs: none recorded" : "runs: the last \(lastRuns.count), newest last")
            renderRuns(lastRuns)
            Render.line("")
            Render.line("doctor: \(report.worst.rawValue) (\(report.findings.count) findings)")
            Render.table(["SEVERITY", "PATH", "CODE", "MESSAGE"], worst.map { [$0.severity.rawValue, $0.path, $0.code, $0.message] })
        }
        if report.worst == .fail { throw ArgumentParser.ExitCode(SysExitCode.actionFailed.rawValue) }
    }
}
