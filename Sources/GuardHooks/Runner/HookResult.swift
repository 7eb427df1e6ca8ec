import FoundationEssentials
import GuardStore

/// How one hook of a phase ended (or why it did not run): the row the store keeps, plus
/// whether it was an executable or an in-process Swift hook. Fields of the row read
/// directly (`result.outcome`, `result.exitCode`).
@dynamicMemberLookup
public struct HookResult: Sendable, Hashable {
    /// Where a hook comes from.
    public enum Kind: String, Sendable, Hashable, Codable {
        /// A file of the hooks directory.
        case executable
        /// A `SwiftHook` the tool registered.
        case swift
    }

    /// The row the store keeps for this result. `path` is `swift:<name>` for a Swift hook;
    /// `outputTail` holds at most `OutputLimits.tailBytes` UTF-8 bytes; `reason` says why it
    /// failed or was skipped (nil for `ok` and `soft-skip`).
    public var record: HookResultRecord
    /// An executable of the hooks directory, or a Swift hook.
    public var kind: Kind
    /// The signal to hook-runner (SIGINT/SIGTERM/SIGHUP) that ended this hook early.
    public var interruptedBy: Int32? = nil
    /// What ended the processes an executable hook left behind (nil: it did not run, or a
    /// Swift hook). Not stored: shown by `run --json` and the debug log.
    package var containment: Containment? = nil
    /// A dry run did not execute it (no `# dry-run: yes` header): it would run for real.
    public var wouldRun = false

    /// The outcome word shown to people: `would-run` for hooks a dry run only lists.
    public var outcomeWord: String { wouldRun ? "would-run" : record.outcome.rawValue }

    /// The record's fields, read directly: `result.outcome`, `result.exitCode`.
    public subscript<T>(dynamicMember keyPath: WritableKeyPath<HookResultRecord, T>) -> T {
        get { record[keyPath: keyPath] }
        set { record[keyPath: keyPath] = newValue }
    }

    package init(name: String, path: String, kind: Kind, outcome: HookOutcome, exitCode: Int32? = nil,
                signal: Int32? = nil, timedOut: Bool = false, startedAt: Date? = nil,
                finishedAt: Date? = nil, outputTail: String = "", reason: String? = nil) {
        record = HookResultRecord(name: name, path: path, outcome: outcome, exitCode: exitCode, signal: signal,
                                  timedOut: timedOut, startedAt: startedAt, finishedAt: finishedAt,
                                  outputTail: outputTail, reason: reason)
        self.kind = kind
    }

    /// An insecure hook is not run, and that counts as a failure: a refused guard hook in a
    /// `pre-*` phase must stop the restore it was meant to protect, not let it go unguarded.
    static func refused(_ hook: PlannedHook, reason: String) -> HookResult {
        HookResult(name: hook.name, path: hook.path, kind: hook.kind, outcome: .failed, reason: reason)
    }

    static func skipped(_ hook: PlannedHook, reason: String) -> HookResult {
        HookResult(name: hook.name, path: hook.path, kind: hook.kind, outcome: .skipped, reason: reason)
    }

    static func wouldRun(_ hook: PlannedHook) -> HookResult {
        var result = skipped(hook, reason: "dry run: not executed, it lacks a '# dry-run: yes' header")
        result.wouldRun = true
        return result
    }
}

/// The results of one phase, in run order.
public struct PhaseReport: Sendable, Hashable {
    /// The phase that ran.
    public var phase: String
    /// The targets the hooks got.
    public var targets: [String]
    /// When the phase started and ended.
    public var startedAt: Date
    public var finishedAt: Date
    /// One result per hook considered for the phase, in run order.
    public var results: [HookResult]

    package init(phase: String, targets: [String], startedAt: Date, finishedAt: Date, results: [HookResult]) {
        self.phase = phase; self.targets = targets; self.startedAt = startedAt
        self.finishedAt = finishedAt; self.results = results
    }

    /// The hooks that failed: a non-zero exit (but 75), a signal, a timeout, a thrown Swift
    /// hook, or a hook refused by the ownership rules (never run; its `reason` says why).
    public var failures: [HookResult] { results.filter { $0.outcome == .failed } }

    /// Set when the hooks directory itself (or an ancestor) is not root-owned or is group- or
    /// world-writable (enforced when running as root): then none of its hooks ran, each is
    /// in `failures` with this reason, and `exitStatus` is 1.
    public var hooksDirectoryRefusal: String?

    /// The signal that interrupted the run (hook-runner then exits 128+N), if one did.
    public var interruptedBy: Int32?

    /// The phase's exit status, as `hook-runner run` exits: 0 when no hook failed, 1 when one
    /// did, 128+N when signal N interrupted the run. A soft skip (75) of a hook is a success
    /// of the run, and so are hooks skipped after it; a refused (insecure) hook is a failure.
    /// A phase that cannot start throws instead: `GuardEngineError.exitStatus` (64, 70, 75,
    /// 1) and `PhaseRunError.exitStatus` (65) give those codes, `SysExitCode.forError(_:)` any.
    public var exitStatus: Int32 { interruptedBy.map { 128 + $0 } ?? (failures.isEmpty ? 0 : 1) }

    /// The results as the store keeps them.
    public var records: [HookResultRecord] { results.map(\.record) }
}
