import ArgumentParser
import FoundationEssentials
import GuardHooks
import GuardRender
import Glibc

/// `--hooks-dir`, env GUARD_HOOKS_DIR, config `hooks_dir`, default /etc/guard-hooks/hooks.d.
struct HooksDirectoryOption: ParsableArguments {
    static let defaultDirectory = Settings.Default.hooksDir

    @Option(name: .customLong("hooks-dir"),
            help: ArgumentHelp("The hooks directory (env GUARD_HOOKS_DIR; config hooks_dir; default /etc/guard-hooks/hooks.d).", valueName: "path"))
    var hooksDir: String?
}

/// The path of this binary, for hooks that call hook-runner back.
func ownBinaryPath() -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    return n > 0 ? String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
}

struct RunCommand: AsyncParsableCommand, TakesTargetList {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the hooks of a phase, recording the run and every result.",
        discussion: """
            Hooks run in byte order of their names, each in its own process group with a timeout.
            Exit 75 from a hook skips the rest of the phase (the run still succeeds). pre-* phases
            stop at the first failure; other phases run every hook and report every failure.
            A phase that is not standard (pre-/post- backup, restore, mount), not named by a hook's
            '# phases:' header nor by the config file's 'phases' is a usage error (64); a pre-*
            phase in which no hook runs fails (1) unless --allow-empty.

            Example: hook-runner run pre-restore /mnt/pve/nfs1 /mnt/datastore1
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var dry: DryRunOption
    @OptionGroup var hooksDirectory: HooksDirectoryOption
    @OptionGroup var claim: ClaimOption
    @Option(help: "Seconds one hook may run before its process group is terminated (env GUARD_HOOKS_TIMEOUT; config timeout; default 300).")
    var timeout: Double?
    @Flag(help: "Run every hook of a pre-* phase even after one failed.") var keepGoing = false
    @Flag(help: "A pre-* phase in which no hook runs succeeds (without it, that is exit 1: nothing was guarded).")
    var allowEmpty = false
    @Argument(help: "The phase, e.g. pre-restore, post-mount.") var phase: String
    @Argument(help: "Targets passed to every hook.") var targets: [String] = []
    var allTargets: [String] { targets + LongTargetList.overflow }

    func validate() throws {
        if let timeout, !(timeout > 0 && timeout <= 86_400) { throw ValidationError("--timeout must be between 0 and 86400 seconds") }
        guard PhasesHeader.isPhaseName(phase) else {
            throw ValidationError("phase \(phase.debugDescription): use lower-case letters, digits and '-'")
        }
    }

    func run() async throws {
        let settings = try global.settings(hooksDir: hooksDirectory.hooksDir, timeout: timeout)
        try requireRoot("run", dryRun: dry.dryRun)
        // A run is a job: its hooks claim and release guards for the caller's session.
        let claimant = try claim.claimant(ownJob: .session, bootID: { try LinuxKernel().bootID() })
        let engine = global.engine(settings, actor: "hook-runner run \(phase)", claimant: claimant)
        let json = global.json
        let targets = allTargets
        if let refusal = engine.targetRefusal(targets) { throw CLIError.badTarget(refusal) }
        // SIGINT/SIGTERM/SIGHUP end the running hook's group and record the run interrupted.
        RunInterruption.install()
        // hook-runner spawns nothing but hooks: every child left after a hook is the hook's.
        Descendants.becomeSubreaper()
        var request = PhaseRequest(phase: phase, targets: targets, hooksDirectory: settings.hooksDir,
                                   timeout: .milliseconds(Int64(settings.timeout * 1000)), keepGoing: keepGoing,
                                   dryRun: dry.dryRun, binaryPath: ownBinaryPath())
        request.declaredPhases = settings.phases
        request.allowEmpty = allowEmpty
        let outcome = try await engine.runPhase(request) { line in
            // With --json, stdout carries only the document: hook output goes to stderr.
            let text = "[\(line.hook)] \(line.text.escapingControlCharacters)\n"
            Render.write(Data(text.utf8), fd: json ? 2 : 1)
        }
        let report = outcome.report
        for result in report.results {
            if let containment = result.containment { log.debug("hook \(result.name): descendants contained by \(containment.rawValue)") }
        }
        if json {
            struct HookJSON: Encodable {
                var name: String, outcome: String, exitCode: Int32?, signal: Int32?, timedOut: Bool, reason: String?, containment: String?
            }
            struct Document: Encodable {
                var runId: Int64?, phase: String, targets: [String], dryRun: Bool, exitCode: Int32, interruptedBy: Int32?, hooks: [HookJSON]
            }
            try Render.json(Document(runId: outcome.runID, phase: phase, targets: targets, dryRun: dry.dryRun,
                                     exitCode: report.exitStatus, interruptedBy: report.interruptedBy, hooks: report.results.map {
                HookJSON(name: $0.name, outcome: $0.outcomeWord, exitCode: $0.exitCode, signal: $0.signal,
                         timedOut: $0.timedOut, reason: $0.reason, containment: $0.containment?.rawValue)
            }))
        } else {
            let id = outcome.runID.map { "run #\($0)" } ?? "dry run"
            let verdict = report.interruptedBy.map { "interrupted by signal \($0)" } ?? (report.exitStatus == 0 ? "ok" : "failed")
            Render.line("\(id) \(phase): \(verdict) (\(report.results.count) hooks)")
            Render.table(["HOOK", "OUTCOME", "EXIT", "DETAIL"], report.results.map { r in
                [r.name, r.outcomeWord, r.signal.map { "signal \($0)" } ?? r.exitCode.map(String.init) ?? "-",
                 hookDetail(timedOut: r.timedOut, reason: r.reason)]
            })
        }
        if report.exitStatus != 0 { throw ArgumentParser.ExitCode(report.exitStatus) }
    }
}

struct HooksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hooks",
        abstract: "List hooks in run order, each 'run' or 'skip: reason'.",
        discussion: "Example: hook-runner hooks pre-restore --hooks-dir /etc/guard-hooks/hooks.d")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var hooksDirectory: HooksDirectoryOption
    @Argument(help: "Only say what runs for this phase.") var phase: String?

    func validate() throws {
        if let phase, !PhasesHeader.isPhaseName(phase) {
            throw ValidationError("phase \(phase.debugDescription): use lower-case letters, digits and '-'")
        }
    }

    func run() throws {
        let hooks: [DiscoveredHook]
        let settings = try global.settings(hooksDir: hooksDirectory.hooksDir)
        let directory = settings.hooksDir
        do { hooks = try HookDiscovery.discover(directory: directory, phase: phase, policy: .current) } catch {
            throw CLIError.usage("\(error)")
        }
        if let phase, case .unknown(let why)? = PhaseNames.problem(phase: phase, hooks: hooks, swiftPhases: [],
                                                                  configured: settings.phases, allowEmpty: true) {
            throw CLIError.usage(why)
        }
        if global.json {
            struct HookJSON: Encodable {
                var name: String, path: String, decision: String, reason: String?, phases: [String]?, dryRun: Bool
            }
            struct Document: Encodable { var directory: String, phase: String?, hooks: [HookJSON] }
            try Render.json(Document(directory: directory, phase: phase, hooks: hooks.map {
                HookJSON(name: $0.name, path: $0.path, decision: $0.decision.word, reason: $0.decision.reason, phases: $0.phases,
                         dryRun: $0.understandsDryRun)
            }))
        } else if hooks.isEmpty {
            Render.line("no hooks in \(directory.escapingControlCharacters)")
        } else {
            // DRY-RUN: "yes" when a dry run executes it (`# dry-run: yes`), else "would-run".
            Render.table(["HOOK", "DECISION", "PHASES", "DRY-RUN"], hooks.map {
                [$0.name, $0.decision.description, $0.phases?.joined(separator: " ") ?? "all",
                 $0.understandsDryRun ? "yes" : "would-run"]
            })
        }
    }
}

extension HookDecision {
    var word: String {
        switch self {
        case .run: return "run"
        case .skip: return "skip"
        case .refuse: return "refuse"
        }
    }
}
