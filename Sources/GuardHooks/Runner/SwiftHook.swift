/// A hook implemented in Swift by the tool that links GuardHooks. It runs in-process, in
/// name order among the `hooks.d` executables, under the same outcome rules: return 0 for
/// ok, 75 for a soft skip, anything else (or throw) to fail.
public protocol SwiftHook: Sendable {
    /// Sorts it among the hooks.d executables (byte order); recorded as `swift:<name>`.
    var name: String { get }
    /// The phases it runs for; nil for every phase (like an executable without header).
    var phases: [String]? { get }
    /// Runs the hook: 0 ok, 75 soft skip (the rest of the phase is skipped), anything else
    /// or a thrown error fails.
    func run(_ invocation: HookInvocation) async throws -> Int32
}

extension SwiftHook {
    public var phases: [String]? { nil }
}

/// What a Swift hook gets: the same facts an executable hook gets in its argv and
/// environment, and a way to print lines into the run's output and the stored tail.
public struct HookInvocation: Sendable {
    /// The phase being run.
    public var phase: String
    /// The phase's targets.
    public var targets: [String]
    /// This hook's `name`.
    public var hookName: String
    package var context: HookContext
    /// The environment an executable hook would have (for Swift hooks that spawn tools).
    public var environment: [String: String]
    private let emit: @Sendable (String) -> Void

    init(phase: String, targets: [String], hookName: String, context: HookContext,
         emit: @escaping @Sendable (String) -> Void) {
        self.phase = phase; self.targets = targets; self.hookName = hookName; self.context = context
        self.environment = context.environment(phase: phase, targets: targets, hook: hookName)
        self.emit = emit
    }

    /// A dry run: do nothing that changes anything.
    public var dryRun: Bool { context.dryRun }

    /// Prints text as the hook's output; newlines separate lines.
    public func print(_ text: String) { emit(text.hasSuffix("\n") ? text : text + "\n") }
}

/// Told about each hook as the phase goes, so a caller can record results one by one
/// (a crash mid-phase then loses at most the hook that was running).
package protocol HookRunObserver: Sendable {
    /// A hook is about to run (not called for hooks that are skipped or refused).
    func hookStarted(_ hook: PlannedHook) async
    /// A hook's result is final: it ran, or it was skipped or refused.
    func hookFinished(_ result: HookResult) async
}

/// A hook the runner considers for a phase.
package struct PlannedHook: Sendable, Hashable {
    package var name: String
    package var path: String
    package var kind: HookResult.Kind
    /// Set when discovery refused it: it does not run and is recorded failed with this reason.
    package var refusal: String?
    /// Where an executable is run from (nil: by path).
    package var origin: HookOrigin? = nil
    /// Executed in a dry run: it declares `# dry-run: yes` (Swift hooks see `dryRun`).
    package var understandsDryRun = true
}
