/// The exit codes of hook-runner (sysexits), for a Swift tool that wants to exit as the
/// command line does: 0 desired state reached, 1 an action failed, 64 usage, 65 bad target,
/// 70 internal error (the store cannot be opened or written), 75 try again later (lock busy,
/// deferred, storage not answering), 77 not permitted (not root). `PhaseReport.exitStatus`,
/// `GuardEngineError.exitStatus` and `forOutcomes(_:)` speak it.
public enum SysExitCode: Int32, Sendable {
    /// The desired state was reached.
    case ok = 0
    /// An action failed (a hook, the kernel, a wrong storage).
    case actionFailed = 1
    /// A bad argument for the whole command.
    case usage = 64
    /// A target refused by policy.
    case badTarget = 65
    /// The store cannot be opened or written, or no store where one is required.
    case internalError = 70
    /// The lock is busy, a guard was deferred, a storage did not answer.
    case tryAgainLater = 75
    /// Not root (hook-runner's own check).
    case notPermitted = 77

    /// One code for a batch: a failure (a wrong storage included) outranks a refusal, which
    /// outranks a deferral or a storage that did not answer (both: try later).
    public static func forOutcomes(_ outcomes: [Outcome]) -> SysExitCode {
        if outcomes.contains(where: { $0 == .failed || $0 == .unsupported || $0 == .wrongStorage }) { return .actionFailed }
        if outcomes.contains(.refused) { return .badTarget }
        if outcomes.contains(where: { $0 == .deferred || $0 == .unreachable }) { return .tryAgainLater }
        return .ok
    }

    /// The exit code for one batch of outcomes (`apply`, `clear`, `seal`, `unseal`).
    public static func forOutcomes(_ outcomes: [TargetOutcome]) -> SysExitCode {
        forOutcomes(outcomes.map(\.outcome))
    }

    /// The exit code hook-runner gives an error a GuardHooks call threw; 70 for any other error.
    public static func forError(_ error: any Error) -> SysExitCode {
        let status: Int32? = switch error {
        case let e as GuardEngineError: e.exitStatus
        case let e as PhaseRunError: e.exitStatus
        case let e as GuardedScopeError: e.exitStatus
        default: nil
        }
        return status.flatMap(SysExitCode.init(rawValue:)) ?? .internalError
    }

    /// The exit code of an import: 65 when a line was refused, 1 when one failed, else 0
    /// (a skipped line is information, not an error).
    package static func forImport(_ results: [ProxsaveImport.LineResult]) -> SysExitCode {
        if results.contains(where: { $0.verdict == .failed }) { return .actionFailed }
        if results.contains(where: { $0.verdict == .refused }) { return .badTarget }
        return .ok
    }
}
