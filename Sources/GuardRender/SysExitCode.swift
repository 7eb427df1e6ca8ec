import GuardHooks

/// sysexits codes of the command-line contract.
public enum SysExitCode: Int32, Sendable {
    case ok = 0
    case actionFailed = 1
    case usage = 64
    case badTarget = 65
    case internalError = 70
    case tryAgainLater = 75
    case notPermitted = 77

    /// One code for a batch: a failure (a wrong storage included) outranks a refusal, which
    /// outranks a deferral or a storage that did not answer (both: try later).
    public static func forOutcomes(_ outcomes: [Outcome]) -> SysExitCode {
        if outcomes.contains(where: { $0 == .failed || $0 == .unsupported || $0 == .wrongStorage }) { return .actionFailed }
        if outcomes.contains(.refused) { return .badTarget }
        if outcomes.contains(where: { $0 == .deferred || $0 == .unreachable }) { return .tryAgainLater }
        return .ok
    }

    /// The exit code of an import: 65 when a line was refused, 1 when one failed, else 0
    /// (a skipped line is information, not an error).
    public static func forImport(_ results: [ProxsaveImport.LineResult]) -> SysExitCode {
        if results.contains(where: { $0.verdict == .failed }) { return .actionFailed }
        if results.contains(where: { $0.verdict == .refused }) { return .badTarget }
        return .ok
    }
}
