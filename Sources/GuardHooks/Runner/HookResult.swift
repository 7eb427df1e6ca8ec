#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GuardStore

/// How one hook of a phase ended (or why it did not run).
public struct HookResult: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case executable
        case swift
    }

    public var name: String
    /// The executable's path; `swift:<name>` for an in-process hook.
    public var path: String
    public var kind: Kind
    public var outcome: HookOutcome
    public var exitCode: Int32?
    public var signal: Int32?
    public var timedOut: Bool
    public var startedAt: Date?
    public var finishedAt: Date?
    /// The last `OutputLimits.tailBytes` of its output, at most that many UTF-8 bytes.
    public var outputTail: String
    /// Why it failed or was skipped; nil for `ok` and `soft-skip`.
    public var reason: String?

    public init(name: String, path: String, kind: Kind, outcome: HookOutcome, exitCode: Int32? = nil,
                signal: Int32? = nil, timedOut: Bool = false, startedAt: Date? = nil,
                finishedAt: Date? = nil, outputTail: String = "", reason: String? = nil) {
        self.name = name; self.path = path; self.kind = kind; self.outcome = outcome
        self.exitCode = exitCode; self.signal = signal; self.timedOut = timedOut
        self.startedAt = startedAt; self.finishedAt = finishedAt
        self.outputTail = outputTail; self.reason = reason
    }

    /// An insecure hook is not run, and that counts as a failure: a refused guard hook in a
    /// `pre-*` phase must stop the restore it was meant to protect, not let it go unguarded.
    static func refused(_ hook: PlannedHook, reason: String) -> HookResult {
        HookResult(name: hook.name, path: hook.path, kind: hook.kind, outcome: .failed, reason: reason)
    }

    static func skipped(_ hook: PlannedHook, reason: String) -> HookResult {
        HookResult(name: hook.name, path: hook.path, kind: hook.kind, outcome: .skipped, reason: reason)
    }

    /// The row the store keeps for this result.
    public var record: HookResultRecord {
        HookResultRecord(name: name, path: path, outcome: outcome, exitCode: exitCode, signal: signal,
                         timedOut: timedOut, startedAt: startedAt, finishedAt: finishedAt,
                         outputTail: outputTail, reason: reason)
    }
}

/// The results of one phase, in run order.
public struct PhaseReport: Sendable, Hashable {
    public var phase: String
    public var targets: [String]
    public var startedAt: Date
    public var finishedAt: Date
    public var results: [HookResult]

    public init(phase: String, targets: [String], startedAt: Date, finishedAt: Date, results: [HookResult]) {
        self.phase = phase; self.targets = targets; self.startedAt = startedAt
        self.finishedAt = finishedAt; self.results = results
    }

    public var failures: [HookResult] { results.filter { $0.outcome == .failed } }

    /// The phase's exit status in sysexits terms: 0 when no hook failed, 1 otherwise.
    /// A soft skip (75) of a hook is a success of the run; skipped and refused hooks do
    /// not fail it either (they are in `results` with their reason).
    public var exitStatus: Int32 { failures.isEmpty ? 0 : 1 }

    public var records: [HookResultRecord] { results.map(\.record) }
}
