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
            try Render.json(StatusDocument(
                doctorWorst: report.worst, findings: worst,
                guards: outstanding.map { GuardListing(record: $0, claims: claims[$0.id] ?? []) },
                outstanding: outstanding.count, runs: lastRuns.map(RunListing.init)))
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

/// `status --json`: the outstanding guards, the last runs, doctor's worst severity and the
/// findings of that severity.
struct StatusDocument: Encodable {
    var doctorWorst: Severity
    var findings: [DoctorFinding]
    var guards: [GuardListing]
    var outstanding: Int
    var runs: [RunListing]
}
