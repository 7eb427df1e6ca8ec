import Glibc
import GuardStore

/// One phase to run: the hooks.d directory, the Swift hooks a tool registers, and limits.
public struct PhaseRequest: Sendable {
    /// The phase: `pre-backup`, `post-restore`, … (lower-case letters, digits and `-`).
    public var phase: String
    /// The targets every hook gets (argv and `GUARD_HOOKS_TARGETS`), checked like `apply`'s.
    public var targets: [String]
    /// nil: only the Swift hooks run. Default: hook-runner's own (`/etc/guard-hooks/hooks.d`).
    public var hooksDirectory: String?
    /// In-process hooks, run in name order among the `hooks.d` executables.
    public var swiftHooks: [any SwiftHook]
    /// How long one hook may run before its process group gets SIGTERM.
    public var timeout: Duration
    /// How long after SIGTERM before SIGKILL.
    public var gracePeriod: Duration
    /// Run every hook of a `pre-*` phase even after one failed (other phases always do).
    public var keepGoing: Bool
    /// Record nothing; executables without `# dry-run: yes` are reported `would-run`.
    public var dryRun: Bool
    /// The hook-runner binary hooks call back (`GUARD_HOOKS_BIN`). A phase whose hooks.d
    /// hooks would run refuses to start when it is not an executable file: the shipped guard
    /// hook would fail with 127 and nothing would be guarded.
    public var binaryPath: String
    /// Phases beyond the standard ones and the hooks' headers (the config file's `phases`).
    public var declaredPhases: [String] = []
    /// A `pre-*` phase in which no hook runs succeeds (else it fails: nothing is guarded).
    public var allowEmpty = false

    /// hook-runner's hooks directory: `/etc/guard-hooks/hooks.d`.
    public static let defaultHooksDirectory = Settings.Default.hooksDir

    /// A phase to run; the defaults are hook-runner's (`run`'s own timeout is configurable).
    public init(phase: String, targets: [String], hooksDirectory: String? = PhaseRequest.defaultHooksDirectory,
                swiftHooks: [any SwiftHook] = [],
                timeout: Duration = .seconds(300), gracePeriod: Duration = .seconds(5), keepGoing: Bool = false,
                dryRun: Bool = false, binaryPath: String = "/usr/local/bin/hook-runner") {
        self.phase = phase; self.targets = targets; self.hooksDirectory = hooksDirectory
        self.swiftHooks = swiftHooks; self.timeout = timeout; self.gracePeriod = gracePeriod
        self.keepGoing = keepGoing; self.dryRun = dryRun; self.binaryPath = binaryPath
    }
}

/// A phase that cannot start (exit 65, before any hook runs).
public enum PhaseRunError: Error, Sendable, CustomStringConvertible {
    /// A target is refused by policy (outside the allowed roots, a control character, …).
    case badTarget(String)
    public var description: String {
        switch self { case .badTarget(let m): m }
    }
    /// hook-runner's exit code for it: 65.
    public var exitStatus: Int32 { SysExitCode.badTarget.rawValue }
}

/// The phase's report and the run id it was recorded under (nil for a dry run).
public struct PhaseOutcome: Sendable {
    /// The run as recorded (`hook-runner runs` shows it); nil for a dry run.
    public var runID: RunID?
    /// What each hook did, and the phase's exit status.
    public var report: PhaseReport
}

extension GuardEngine {
    /// Runs a phase and records the run and every hook result as it finishes. A dry run
    /// records nothing (hooks see `GUARD_HOOKS_DRY_RUN=1` and decide for themselves).
    /// The writers' lock is held only around each store write, never while a hook runs:
    /// hooks call hook-runner back, and that needs the lock.
    public func runPhase(_ request: PhaseRequest,
                         output: @escaping @Sendable (HookOutputLine) -> Void) async throws -> PhaseOutcome {
        guard PhasesHeader.isPhaseName(request.phase) else {
            throw GuardEngineError.usage("phase \(request.phase.debugDescription): use lower-case letters, digits and '-'")
        }
        if let refusal = targetRefusal(request.targets) { throw PhaseRunError.badTarget(refusal) }
        var hooks: [DiscoveredHook] = []
        var directoryRefusal: String?
        if let dir = request.hooksDirectory {
            do {
                (hooks, directoryRefusal) = try HookDiscovery.listing(directory: dir, phase: request.phase, policy: .current)
            } catch {
                throw GuardEngineError.usage("\(error)")
            }
        }
        let problem = PhaseNames.problem(phase: request.phase, hooks: hooks, swiftPhases: request.swiftHooks.map(\.phases),
                                         configured: request.declaredPhases, allowEmpty: request.allowEmpty)
        if case .unknown(let why)? = problem { throw GuardEngineError.usage(why) }
        if hooks.contains(where: { $0.decision == .run }), access(request.binaryPath, X_OK) != 0 {
            throw GuardEngineError.usage("hook-runner not found at \(request.binaryPath): hooks call it back (GUARD_HOOKS_BIN); "
                                         + "set PhaseRequest.binaryPath to the installed hook-runner")
        }
        let recorder: RunRecorder? = request.dryRun ? nil : try RunRecorder(engine: self, request: request)
        if case .empty(let why)? = problem {
            // Recorded as a failed run, so `runs` shows the phase that guarded nothing.
            try recorder?.finish(exitCode: 1, interruptedBy: nil)
            throw GuardEngineError.failed(why)
        }
        var context = HookContext(runID: recorder.map { String($0.runID) } ?? "dry-run", dryRun: request.dryRun,
                                  databasePath: configuration.storePath, binaryPath: request.binaryPath,
                                  timeout: request.timeout, gracePeriod: request.gracePeriod, keepGoing: request.keepGoing,
                                  allowedRoots: configuration.allowedRoots)
        context.job = configuration.claimant?.environmentValue
        var report = await HookRunner().run(phase: request.phase, targets: request.targets, context: context,
                                            hooks: hooks, swiftHooks: request.swiftHooks, observer: recorder,
                                            output: output)
        report.hooksDirectoryRefusal = directoryRefusal
        // A post-* phase ends its job's reliance on the targets' guards, whether or not a
        // hook cleared them: the guards themselves go with the next clear.
        if request.phase.hasPrefix("post-"), let recorder, let claimant = configuration.claimant {
            try recorder.releaseClaims(of: claimant, targets: request.targets)
        }
        try recorder?.finish(exitCode: report.exitStatus, interruptedBy: report.interruptedBy)
        return PhaseOutcome(runID: recorder?.runID, report: report)
    }

    /// The same target policy as `apply` (normalised, inside an allowed root, no control
    /// bytes), before any hook runs: a newline in a target would reach hooks as two targets.
    /// Returns why the first refused target is refused, or nil.
    package func targetRefusal(_ targets: [String]) -> String? {
        for target in targets {
            if target.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
                return "target \(target.debugDescription): contains a control character"
            }
            let checked = PathPolicy.normalize(target).flatMap { policy.check(resolved: $0) }
            if case .failure(let refusal) = checked { return "target \(target.debugDescription): \(refusal)" }
        }
        return nil
    }

    /// Takes the writers' lock for one short write; `body` gets the store.
    func locked<T>(_ store: GuardStore, _ body: (GuardStore) throws -> T) throws -> T {
        try mappingStoreErrors {
            let lock = try acquireLock()
            defer { lock.release() }
            return try body(store)
        }
    }
}

/// Records a run and its hook results as they come. The runner calls it from the task
/// that runs the phase, one call at a time.
/// The store is opened (and checked) once per run; the lock is taken per write only.
final class RunRecorder: HookRunObserver, @unchecked Sendable {
    let engine: GuardEngine
    let store: GuardStore
    let runID: RunID
    private var seq = 0
    private var failure: Error?

    init(engine: GuardEngine, request: PhaseRequest) throws {
        self.engine = engine
        let session = try engine.mappingStoreErrors { try engine.openSession(forWriting: true) }
        defer { session.lock?.release() }
        guard let store = session.store else { throw GuardEngineError.store("no store") }
        self.store = store
        let me = getpid()
        runID = try engine.mappingStoreErrors {
            // Runs whose hook-runner was SIGKILLed stay unfinished: say what became of them.
            try store.markAbandonedRuns(isAlive: GuardEngine.runProcessAlive)
            return try store.beginRun(phase: request.phase, targets: request.targets, dryRun: false, actor: engine.actor,
                                      process: ProcStat.read(me).map { (me, $0.startTime) })
        }
        // Every run releases the claims whose jobs are provably gone (a job killed before its
        // post phase), so their guards can go with the next clear.
        try engine.mappingStoreErrors { try engine.releaseStaleClaims(store, runID: runID) }
    }

    func releaseClaims(of claimant: ClaimHolder, targets: [String]) throws {
        try engine.locked(store) { store in
            let paths = Set(targets.compactMap { try? PathPolicy.normalize($0).get() }
                .map { PathKey((try? engine.kernel.resolve($0)) ?? $0) })
            let releases = try store.liveClaims().flatMap { guardID, claims -> [ClaimRelease] in
                guard let row = try store.guardRecord(id: guardID), paths.isEmpty || paths.contains(PathKey(row.path)) else { return [] }
                return claims.filter { $0.holder.canonicalKey == claimant.canonicalKey }
                    .map { ClaimRelease(claimID: $0.id, reason: "released at the end of its post phase") }
            }
            try store.releaseClaims(releases, runID: runID)
        }
    }

    func hookStarted(_ hook: PlannedHook) async {}

    func hookFinished(_ result: HookResult) async {
        seq += 1
        do {
            try engine.locked(store) { try $0.recordHookResult(runID: runID, seq: seq, result.record) }
        } catch {
            // Keep running the phase; the run's end reports the recording failure.
            if failure == nil { failure = error }
        }
    }

    func finish(exitCode: Int32, interruptedBy: Int32?) throws {
        try engine.locked(store) { try $0.finishRun(runID: runID, exitCode: exitCode, interruptedBy: interruptedBy) }
        if let failure { throw GuardEngineError.store("recording a hook result failed: \(failure)") }
    }
}
