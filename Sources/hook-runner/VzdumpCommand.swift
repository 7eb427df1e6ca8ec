import ArgumentParser
import FoundationEssentials
import GuardHooks
import GuardRender

/// `hook-runner vzdump PHASE [MODE VMID]`: the Proxmox VE vzdump hook-script entry point.
/// vzdump runs its `script` with a *replaced* environment (no PATH, no GUARD_HOOKS_*), and
/// with no way to add arguments, so it points at a two-line wrapper (recipes/vzdump-hook)
/// that execs this command with the operator's options.
struct VzdumpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vzdump",
        abstract: "Entry point for a Proxmox VE vzdump hook script (job-start guards, job-end clears).",
        discussion: """
            vzdump calls its hook script with PHASE, or PHASE MODE VMID, and STOREID/DUMPDIR in the
            environment. job-init (when a target is known), job-start and backup-start run pre-backup;
            job-end and job-abort run post-backup; every other phase does nothing and exits 0.
            Targets: --target (repeatable; env GUARD_HOOKS_VZDUMP_TARGETS, colon-separated), else the
            storage mountpoint derived from DUMPDIR (<storage>/dump -> <storage>; a --dumpdir as is).
            A derived mountpoint outside the allowed roots (the local storage) is not guarded.
            With the storage offline the guard makes every write fail (EROFS), so the backup fails
            loudly instead of filling the root filesystem; with the storage mounted nothing is guarded.

            Example (/etc/vzdump.conf):  script: /usr/local/lib/guard-hooks/vzdump-hook
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var dry: DryRunOption
    @OptionGroup var hooksDirectory: HooksDirectoryOption
    @OptionGroup var claim: ClaimOption
    @Option(name: .customLong("target"),
            help: ArgumentHelp("A storage mountpoint to guard; repeatable (env GUARD_HOOKS_VZDUMP_TARGETS, colon-separated). Default: derived from DUMPDIR.",
                               valueName: "path"))
    var targets: [String] = []
    @Option(help: "Seconds one hook may run before its process group is terminated (env GUARD_HOOKS_TIMEOUT; config timeout; default 300).")
    var timeout: Double?
    @Argument(help: "What vzdump passes: PHASE, or PHASE MODE VMID.") var arguments: [String] = []

    func validate() throws {
        if arguments.isEmpty { throw ValidationError("vzdump needs the phase vzdump passes (job-start, backup-end, …)") }
        if arguments.count > 3 { throw ValidationError("vzdump passes at most PHASE MODE VMID; got \(arguments.count) arguments") }
        if let timeout, !(timeout > 0 && timeout <= 86_400) { throw ValidationError("--timeout must be between 0 and 86400 seconds") }
    }

    var configuredTargets: [String] {
        if !targets.isEmpty { return targets }
        return (GlobalOptions.environment["GUARD_HOOKS_VZDUMP_TARGETS"] ?? "").split(separator: ":").map(String.init)
    }

    func run() async throws {
        let call = Vzdump.Invocation(arguments: arguments, environment: GlobalOptions.environment.values)
        let settings = try global.settings(hooksDir: hooksDirectory.hooksDir, timeout: timeout)
        let action = Vzdump.plan(call, configuredTargets: configuredTargets, allowedRoots: settings.allowedRoots)
        switch action {
        case .nothing(let why):
            // vzdump copies the hook's stdout into the task log: say why nothing happened.
            if global.json {
                struct Document: Encodable { var vzdumpPhase: String; var phase: String?; var targets: [String]; var exitCode: Int32; var note: String }
                try Render.json(Document(vzdumpPhase: call.phase, phase: nil, targets: [], exitCode: 0, note: why))
            } else {
                Render.line("guard-hooks: \(why)")
            }
        case .run(let phase, let list):
            try requireRoot("vzdump \(call.phase)", dryRun: dry.dryRun)
            // vzdump calls its hook script from the job's task: one session per backup job.
            let claimant = try claim.claimant(ownJob: .session, bootID: { try LinuxKernel().bootID() })
            let engine = global.engine(settings, actor: "hook-runner vzdump \(call.summary)", claimant: claimant)
            let json = global.json
            let request = PhaseRequest(phase: phase, targets: list, hooksDirectory: settings.hooksDir,
                                       timeout: .milliseconds(Int64(settings.timeout * 1000)), dryRun: dry.dryRun,
                                       binaryPath: ownBinaryPath())
            let outcome = try await engine.runPhase(request) { line in
                Render.write(Data("[\(line.hook)] \(line.text)\n".utf8), fd: json ? 2 : 1)
            }
            let report = outcome.report
            if json {
                struct HookJSON: Encodable { var name: String; var outcome: String; var exitCode: Int32?; var reason: String? }
                struct Document: Encodable {
                    var vzdumpPhase: String; var phase: String?; var targets: [String]; var runId: Int64?
                    var exitCode: Int32; var hooks: [HookJSON]
                }
                try Render.json(Document(vzdumpPhase: call.phase, phase: phase, targets: list, runId: outcome.runID,
                                         exitCode: report.exitStatus, hooks: report.results.map {
                    HookJSON(name: $0.name, outcome: $0.outcome.rawValue, exitCode: $0.exitCode, reason: $0.reason)
                }))
            } else {
                let id = outcome.runID.map { "run #\($0)" } ?? "dry run"
                Render.line("guard-hooks: vzdump \(call.phase) -> \(phase) \(list.joined(separator: " ")): \(id) "
                            + (report.exitStatus == 0 ? "ok" : "failed") + " (\(report.results.count) hooks)")
            }
            if report.exitStatus != 0 { throw ArgumentParser.ExitCode(report.exitStatus) }
        }
    }
}
