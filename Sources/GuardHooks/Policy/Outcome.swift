import GuardStore

/// The one vocabulary every guard command reports per target (DESIGN.md, issue 3).
public enum Outcome: String, Sendable, Codable, CaseIterable {
    /// A guard was made.
    case applied
    /// The target was already guarded.
    case alreadyApplied = "already-applied"
    /// Storage is online at the target: nothing to guard.
    case skippedMounted = "skipped-mounted"
    /// Left `pending`: try later.
    case deferred
    /// The guard was removed.
    case cleared
    /// There was no guard to remove.
    case alreadyClear = "already-clear"
    /// Refused by policy (bad path, persistent guard, mounted target, …).
    case refused
    /// The filesystem cannot hold the guard.
    case unsupported
    /// The kernel refused; errno text in the reason.
    case failed
    /// Not removed: another job still holds a claim on the guard. For the caller that is the
    /// desired state (its own claim is released), so it is not an error.
    case held
    /// Storage is mounted at the target but not the expected one (`[storage."PATH"]`): neither
    /// guarded nor online. What was found against what was expected is in the reason.
    case wrongStorage = "wrong-storage"
    /// The storage at the target did not answer within the probe deadline: try later (75).
    case unreachable
}

/// The outcome for one target (GuardRender prints it: `TargetOutcome.word`).
public struct TargetOutcome: Sendable, Hashable, Codable {
    /// The target as the caller gave it.
    public var target: String
    /// The canonical path acted on, once resolved.
    public var path: String?
    /// What happened to the target (or, in a dry run, would happen).
    public var outcome: Outcome
    /// The outcome of a dry run: the kernel and the store were not touched.
    public var dryRun: Bool
    /// The guard's kind (`bind` or `immutable`), when there is a guard.
    public var kind: GuardKind?
    /// `transient`, or `persistent` for a seal.
    public var lifetime: GuardLifetime?
    /// The guard's row in the store (`hook-runner history --id`).
    public var guardID: GuardID?
    /// Why, in words: the refusal, the errno text, what was found mounted, …
    public var reason: String?

    /// `count` slots for a batch's outcomes, filled in place (an array of optionals
    /// unwrapped at the end held the batch twice). A slot left unset reads as a failure.
    static func unset(count: Int) -> [TargetOutcome] {
        [TargetOutcome](repeating: TargetOutcome(target: "", outcome: .failed, reason: "no outcome was recorded"),
                        count: count)
    }

    package init(target: String, path: String? = nil, outcome: Outcome, dryRun: Bool = false,
                kind: GuardKind? = nil, lifetime: GuardLifetime? = nil, guardID: GuardID? = nil,
                reason: String? = nil) {
        self.target = target; self.path = path; self.outcome = outcome; self.dryRun = dryRun
        self.kind = kind; self.lifetime = lifetime; self.guardID = guardID; self.reason = reason
    }
}
