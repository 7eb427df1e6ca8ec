import ArgumentParser
import FoundationEssentials
import GuardHooks
import GuardRender
import Glibc

struct ExecCommand: AsyncParsableCommand, TakesTargetList {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run COMMAND with its targets guarded: pre phase, COMMAND, post phase (always).",
        discussion: """
            The one-line form for a cron job or a script. Runs pre-PHASE for the targets; if it
            fails, COMMAND never starts and exec exits 1. Otherwise COMMAND runs with exec's
            stdin, stdout and stderr while exec's claim holds the guards (another job's post
            phase cannot remove them). post-PHASE always runs afterwards, also after COMMAND
            failed or a signal arrived (INT, TERM and HUP are forwarded to COMMAND).
            exec exits with COMMAND's exit status (128+N when a signal N ended it).

            Example: hook-runner exec /mnt/backup -- rsync -a /srv/ /mnt/backup/
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var hooksDirectory: HooksDirectoryOption
    @OptionGroup var claim: ClaimOption
    @Option(help: "backup (pre-backup/post-backup) | restore (pre-restore/post-restore)") var phase: GuardedPhase = .backup
    @Option(help: "Seconds one hook may run (env GUARD_HOOKS_TIMEOUT; default 300).") var timeout: Double?
    @Argument(help: "Mountpoints COMMAND writes to, then -- and the command with its arguments.") var targets: [String] = []
    var allTargets: [String] { targets + LongTargetList.overflow }
    var command: [String] { Self.passedCommand }

    /// COMMAND and its arguments: everything after exec's first `--`, taken out before parsing
    /// (they are COMMAND's, whatever they look like), set once by `main`.
    nonisolated(unsafe) static var passedCommand: [String] = []

    /// Splits `exec … -- COMMAND…` into what the parser sees and COMMAND; other command lines
    /// pass through unchanged.
    static func splitCommand(_ arguments: [String]) -> (parsed: [String], command: [String]) {
        guard let exec = arguments.firstIndex(where: { !$0.hasPrefix("-") }), arguments[exec] == "exec",
              let terminator = arguments[exec...].firstIndex(of: "--") else { return (arguments, []) }
        return (Array(arguments[..<terminator]), Array(arguments[(terminator + 1)...]))
    }

    func validate() throws {
        if command.isEmpty { throw ValidationError("exec needs a command after --: hook-runner exec TARGET... -- COMMAND [ARG...]") }
        if allTargets.isEmpty { throw ValidationError("exec needs at least one target before --") }
        if let timeout, !(timeout > 0 && timeout <= 86_400) { throw ValidationError("--timeout must be between 0 and 86400 seconds") }
    }

    func run() async throws {
        let settings = try global.settings(hooksDir: hooksDirectory.hooksDir, timeout: timeout)
        try requireRoot("exec", dryRun: false)
        let claimant = try claim.claimant(ownJob: .process, bootID: { try LinuxKernel().bootID() })
        let engine = global.engine(settings, actor: "hook-runner exec", claimant: claimant)
        // A bad target is a usage problem of the whole command (65), as for `run`, before any hook.
        if let refusal = engine.targetRefusal(allTargets) { throw CLIError.badTarget(refusal) }
        let options = GuardedScopeOptions(hooksDirectory: settings.hooksDir, timeout: .milliseconds(Int64(settings.timeout * 1000)),
                                          binaryPath: ownBinaryPath())
        // Hook output goes to stderr: stdout belongs to COMMAND.
        let output: @Sendable (HookOutputLine) -> Void = { line in
            Render.write(Data("[\(line.hook)] \(line.text)\n".utf8), fd: 2)
        }
        ForegroundCommand.catchSignals()
        defer { ForegroundCommand.release() }
        let started = Date()
        let ending: ForegroundCommand.Ending
        do {
            ending = try await engine.withGuards(allTargets, phase: phase, options: options, output: output) {
                ForegroundCommand.run(command)
            }
        } catch let error as GuardedScopeError {
            try? engine.recordCommand(command, targets: allTargets, exitCode: 1, signal: nil, startedAt: started,
                                      reason: error.description)
            throw CLIError.actionFailed("exec: \(error)")
        }
        let signal: Int32? = { if case .signaled(let s) = ending { return s } else { return nil } }()
        var reason: String?
        if case .notStarted(let e) = ending { reason = "cannot start \(command[0]): \(String(cString: strerror(e)))" }
        if case .interrupted(let s) = ending { reason = "signal \(s) arrived before it started" }
        if let reason { printError("exec: \(reason)") }
        try engine.recordCommand(command, targets: allTargets, exitCode: ending.exitCode, signal: signal,
                                 startedAt: started, reason: reason)
        if ending.exitCode != 0 { throw ArgumentParser.ExitCode(ending.exitCode) }
    }
}

extension GuardedPhase: ExpressibleByArgument {}
