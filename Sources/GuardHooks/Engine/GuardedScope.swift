import FoundationEssentials
import GuardStore

/// The phase pair a guarded scope runs around its work: `pre-backup`/`post-backup` or
/// `pre-restore`/`post-restore`.
public enum GuardedPhase: String, Sendable, CaseIterable {
    /// `pre-backup` and `post-backup`.
    case backup
    /// `pre-restore` and `post-restore`.
    case restore
    /// The phase run before the work.
    public var pre: String { "pre-\(rawValue)" }
    /// The phase run after the work, always.
    public var post: String { "post-\(rawValue)" }
}

/// Why a guarded scope did not run its work.
public enum GuardedScopeError: Error, Sendable, CustomStringConvertible {
    /// The pre phase failed: the work never started (the post phase ran, releasing the claim).
    case preFailed(PhaseOutcome)

    public var description: String {
        switch self {
        case .preFailed(let o):
            let failed = o.report.failures.map { "\($0.name): \($0.reason ?? $0.outcome.rawValue)" }
            return "\(o.report.phase) failed (\(failed.isEmpty ? "no detail" : failed.joined(separator: "; "))): not started"
        }
    }

    /// The pre phase's exit status (1, or 128+N when a signal interrupted it).
    public var exitStatus: Int32 {
        switch self { case .preFailed(let o): o.report.exitStatus }
    }
}

/// How a guarded scope runs its phases: the same knobs as `PhaseRequest`, without the phase
/// and the targets.
public struct GuardedScopeOptions: Sendable {
    /// As `PhaseRequest.hooksDirectory`: hook-runner's own by default; nil: Swift hooks only.
    public var hooksDirectory: String?
    /// In-process hooks for both phases (each says its `phases`).
    public var swiftHooks: [any SwiftHook]
    /// How long one hook may run.
    public var timeout: Duration
    /// The hook-runner the hooks call back (`GUARD_HOOKS_BIN`); it must exist.
    public var binaryPath: String

    /// Options for both phases of a scope; the defaults are hook-runner's.
    public init(hooksDirectory: String? = PhaseRequest.defaultHooksDirectory, swiftHooks: [any SwiftHook] = [],
                timeout: Duration = .seconds(300), binaryPath: String = "/usr/local/bin/hook-runner") {
        self.hooksDirectory = hooksDirectory; self.swiftHooks = swiftHooks; self.timeout = timeout
        self.binaryPath = binaryPath
    }

    func request(_ phase: String, _ targets: [String]) -> PhaseRequest {
        PhaseRequest(phase: phase, targets: targets, hooksDirectory: hooksDirectory, swiftHooks: swiftHooks,
                     timeout: timeout, binaryPath: binaryPath)
    }
}

extension GuardEngine {
    /// Runs the pre phase for `targets`, then `body` while this job's claim holds the guards,
    /// then the post phase — always: also when `body` throws and when the task is cancelled.
    /// Returns `body`'s result. A failed pre phase throws `GuardedScopeError.preFailed` and
    /// `body` never runs. The claim is this engine's claimant, or, when it has none, this
    /// process with a token of its own (two scopes of one process hold two claims).
    public func withGuards<T: Sendable>(_ targets: [String], phase: GuardedPhase = .backup,
                                        options: GuardedScopeOptions = GuardedScopeOptions(),
                                        output: @escaping @Sendable (HookOutputLine) -> Void = { _ in },
                                        _ body: () async throws -> T) async throws -> T {
        let scoped = try scopedToAJob()
        let pre = try await scoped.runPhase(options.request(phase.pre, targets), output: output)
        if pre.report.exitStatus != 0 {
            _ = try await scoped.runPostPhase(options.request(phase.post, targets), output: output)
            throw GuardedScopeError.preFailed(pre)
        }
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        _ = try await scoped.runPostPhase(options.request(phase.post, targets), output: output)
        return try result.get()
    }

    /// This engine, acting for a job: its own claimant, or this process with a fresh token.
    func scopedToAJob() throws -> GuardEngine {
        if configuration.claimant != nil { return self }
        var c = configuration
        c.claimant = JobIdentity.process(bootID: try bootID(), token: UUID().uuidString.lowercased(), table: processes)
        return GuardEngine(kernel: kernel, processes: processes, configuration: c)
    }

    /// The post phase runs to the end even when the caller's task is cancelled: it is what
    /// releases the claim and clears the guards.
    func runPostPhase(_ request: PhaseRequest, output: @escaping @Sendable (HookOutputLine) -> Void) async throws -> PhaseOutcome {
        try await Task.detached { try await self.runPhase(request, output: output) }.value
    }
}

extension GuardEngine {
    /// Records a command run under guards (`hook-runner exec`) as a run of phase `exec`: its
    /// targets, and one result named `command` with the command line, times and exit status.
    package func recordCommand(_ argv: [String], targets: [String], exitCode: Int32, signal: Int32?,
                              startedAt: Date, reason: String?) throws {
        try mappingStoreErrors {
            let session = try openSession(forWriting: true)
            defer { session.lock?.release() }
            guard let store = session.store else { return }
            try store.writeTransaction {
                // Recorded once COMMAND has ended, with the real start (before the pre phase).
                let id = try store.beginRun(phase: "exec", targets: targets, dryRun: false, actor: actor,
                                            startedAt: startedAt)
                try store.recordHookResult(runID: id, seq: 1, HookResultRecord(
                    name: "command", path: argv.joined(separator: " "), outcome: exitCode == 0 ? .ok : .failed,
                    exitCode: signal == nil ? exitCode : nil, signal: signal, startedAt: startedAt, finishedAt: Date(),
                    reason: reason))
                try store.finishRun(runID: id, exitCode: exitCode)
            }
        }
    }
}
