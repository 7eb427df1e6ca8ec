import GuardHooks
import GuardRender
import Logging
import SystemPackage
import Glibc

/// hook-runner's logger: one line per message on stderr, `hook-runner: LEVEL: message`.
/// When stderr is the journal (`JOURNAL_STREAM` names the very file stderr is, as systemd
/// sets it for a unit's output), each line starts with its syslog priority `<N>`
/// (sd-daemon(3)), so `journalctl -p warning` selects the warnings.
/// The level is `GUARD_HOOKS_LOG_LEVEL` (trace, debug, info, notice, warning, error,
/// critical; default warning). Errors that end a command stay `printError`'s one line.
let log: Logger = {
    LoggingSystem.bootstrap { _ in StderrLogHandler(logLevel: LogSettings.level ?? .warning) }
    return Logger(label: "hook-runner")
}()

enum LogSettings {
    static let variable = "GUARD_HOOKS_LOG_LEVEL"
    static let defaultLevel = Logger.Level.warning

    /// The level the environment asks for: the default when unset or empty, nil when not a level name.
    static var level: Logger.Level? {
        guard let raw = GlobalOptions.environment[variable], !raw.isEmpty else { return defaultLevel }
        return Logger.Level(rawValue: raw.lowercased())
    }

    /// A usage error for a bad `GUARD_HOOKS_LOG_LEVEL`, nil when it is fine.
    static var problem: String? {
        guard level == nil, let raw = GlobalOptions.environment[variable] else { return nil }
        return "\(variable)=\(raw): want one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))"
    }
}

/// Whether stderr is the journal stream systemd connected, and the `<N>` prefixes.
enum Journal {
    /// `JOURNAL_STREAM=dev:ino` matches fstat(2) of fd 2 (sd-daemon(3): checking the pair,
    /// not only the variable's presence, keeps a redirected stderr free of prefixes).
    static let isStderr: Bool = {
        guard let value = GlobalOptions.environment["JOURNAL_STREAM"] else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(2, &st) == 0 else { return false }
        return UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino
    }()

    /// The syslog priority of a level (sd-daemon(3): `<3>` err, `<4>` warning, `<6>` info, `<7>` debug).
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    /// `<3>` when stderr is the journal: the prefix of `printError`'s lines.
    static var errorPrefix: String { prefix(.error) }

    /// `<N>` when stderr is the journal, else nothing.
    static func prefix(_ level: Logger.Level) -> String { isStderr ? "<\(priority(level))>" : "" }
}

struct StderrLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(logLevel: Logger.Level) { self.logLevel = logLevel }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        let fields = all.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        // One message, one line: a newline inside it must not start a line without a prefix.
        let text = "\(event.message)\(fields)".split(separator: "\n", omittingEmptySubsequences: true).joined(separator: "; ")
        writeStderrLine(Journal.prefix(event.level) + "hook-runner: \(event.level.rawValue): " + text)
    }
}

/// One write(2) per line, so lines from concurrent processes do not interleave; a stderr
/// that cannot be written drops the line.
func writeStderrLine(_ line: String) {
    _ = try? FileDescriptor.standardError.writeAll((line + "\n").utf8)
}

/// One log line per target of a command that changes guards: a change at info, a target
/// left as it was at debug, and a target that could not be guarded at warning when the exit
/// code will not tell (`seal --best-effort`), else at info (the exit code and the table do).
func logOutcomes(_ command: String, _ outcomes: [TargetOutcome], dryRun: Bool, exitCodeHidden: Bool = false) {
    for o in outcomes {
        var text = "\(command) \(o.path ?? o.target): \(o.word)"
        var details: [String] = []
        if let kind = o.kind { details.append(kind.rawValue) }
        if let id = o.guardID { details.append("guard #\(id)") }
        if !details.isEmpty { text += " (\(details.joined(separator: ", ")))" }
        if let reason = o.reason, !reason.isEmpty { text += ": \(reason)" }
        let level: Logger.Level
        switch o.outcome {
        case _ where dryRun: level = .debug
        case .applied, .cleared, .deferred: level = .info
        case .alreadyApplied, .alreadyClear, .skippedMounted, .held: level = .debug
        case .refused, .unsupported, .failed, .wrongStorage, .unreachable: level = exitCodeHidden ? .warning : .info
        }
        log.log(level: level, "\(text)")
    }
}
