import ArgumentParser
import GuardHooks
import GuardRender
import Glibc

/// Options every subcommand accepts (before or after its name), each with its
/// environment variable: flag > environment > config file > default (`Settings`).
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The config file (env GUARD_HOOKS_CONFIG; default /etc/guard-hooks/config.toml, optional).",
                                            valueName: "path"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("The guard store (env GUARD_HOOKS_DB).", valueName: "path"))
    var db: String?

    @Option(name: .customLong("allow-root"),
            help: ArgumentHelp("A directory below which targets may be guarded; repeatable (env GUARD_HOOKS_ALLOW_ROOTS, colon-separated; default /mnt, /media, /run/media).",
                               valueName: "path"))
    var allowRoots: [String] = []

    @Flag(name: .long, help: "Print one JSON document on stdout instead of text.")
    var json = false

    static let environment = ProcessEnvironment()

    /// Every setting, resolved once per command (flag > environment > config file > default;
    /// the config file is read here and nowhere else). `hooksDir` and `timeout` are the flags
    /// of the commands that have them. A bad setting is a usage error (64).
    func settings(hooksDir: String? = nil, timeout: Double? = nil) throws -> Settings {
        let flags = Settings.Flags(config: config, store: db, allowedRoots: allowRoots, hooksDir: hooksDir, timeout: timeout)
        do { return try Settings.resolve(flags: flags, environment: Self.environment.values) } catch {
            throw CLIError.usage(error.description)
        }
    }

    mutating func validate() throws {
        if let config, config.isEmpty { throw ValidationError("--config needs a path") }
        if let db, db.isEmpty { throw ValidationError("--db needs a path") }
        if let problem = LogSettings.problem { throw ValidationError(problem) }
    }

    /// The one engine of a command, from its resolved settings, acting for `claimant`'s job.
    func engine(_ settings: Settings, actor: String, claimant: ClaimHolder? = nil, forceClear: Bool = false) -> GuardEngine {
        let env = Self.environment
        let run = RunReference.resolve(env["GUARD_HOOKS_RUN_ID"], storePath: settings.storePath)
        if let warning = run.warning { log.warning("\(warning)") }
        var configuration = GuardEngineConfiguration(
            settings: settings, actor: "\(actor) (uid \(getuid()), pid \(getpid()))", runID: run.runID)
        configuration.claimant = claimant
        configuration.forceClear = forceClear
        #if GUARD_HOOKS_FAULT_POINTS
        // Debug builds only: the crash tests' kill switch (FaultPoint).
        configuration.faultPoint = env["GUARD_HOOKS_TEST_FAULT"].flatMap(FaultPoint.init(rawValue:))
        #endif
        return GuardEngine(configuration: configuration)
    }

    /// Settings and engine together, for commands without flags of their own.
    func engine(actor: String) throws -> GuardEngine { engine(try settings(), actor: actor) }
}

/// `--dry-run`, on every command that changes anything.
struct DryRunOption: ParsableArguments {
    @Flag(name: .long, help: "Print the honest plan; change neither the kernel nor the store (creates no store).")
    var dryRun = false
}

/// The process environment, read once.
struct ProcessEnvironment: Sendable {
    let values: [String: String]
    init() {
        var v: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { v[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        values = v
    }
    subscript(_ key: String) -> String? { values[key] }
}

/// Errors the command line reports as one line with a documented exit code.
enum CLIError: Error, CustomStringConvertible {
    case usage(String)
    case notPermitted(String)
    case badTarget(String)
    case actionFailed(String)

    var description: String {
        switch self {
        case .usage(let m), .notPermitted(let m), .badTarget(let m), .actionFailed(let m): return m
        }
    }

    var exitCode: SysExitCode {
        switch self {
        case .actionFailed: return .actionFailed
        case .usage: return .usage
        case .notPermitted: return .notPermitted
        case .badTarget: return .badTarget
        }
    }
}

/// Changing the kernel or the store needs root; a dry run only reads.
func requireRoot(_ command: String, dryRun: Bool) throws {
    if !dryRun && geteuid() != 0 {
        throw CLIError.notPermitted("\(command) changes the kernel and the store: run it as root (or use --dry-run)")
    }
}
