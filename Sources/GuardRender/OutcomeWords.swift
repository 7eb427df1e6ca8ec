import GuardHooks

extension Outcome {
    /// The word printed for a dry run: what would happen.
    package var dryRunWord: String {
        switch self {
        case .applied: return "would-apply"
        case .cleared: return "would-clear"
        case .deferred: return "would-defer"
        case .failed: return "would-fail"
        default: return rawValue
        }
    }
}

extension TargetOutcome {
    /// The word the command line prints for this outcome (`applied`, `would-apply`, …).
    package var word: String { dryRun ? outcome.dryRunWord : outcome.rawValue }
}
