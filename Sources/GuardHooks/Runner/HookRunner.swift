import FoundationEssentials

/// Runs one phase: the discovered executables and the registered Swift hooks, merged in
/// byte order of their names, one at a time.
///
/// What the report records: every hook considered for the phase, meaning every hook that
/// discovery selected to run for it and every hook it refused on security grounds whose
/// header does not exclude the phase (recorded `failed` with the refusal: a refused guard
/// hook must stop a `pre-*` phase, and is visible in `runs`). Files that are not hooks at all (bad names, not
/// executable, not regular, other phase) are left out; `hooks` lists those.
package struct HookRunner: Sendable {
    package init() {}

    /// Runs `phase`. `output` receives each line as it is printed, in order, from a
    /// background thread (one per running hook); it should not block for long, since the
    /// hook's pipe fills while it does. Observer calls happen on the calling task.

    package func run(phase: String, targets: [String], context: HookContext,
                    hooks: [DiscoveredHook], swiftHooks: [any SwiftHook] = [],
                    observer: (any HookRunObserver)? = nil,
                    output: @escaping @Sendable (HookOutputLine) -> Void) async -> PhaseReport {
        let startedAt = Date()
        let plan = Self.plan(phase: phase, hooks: hooks, swiftHooks: swiftHooks)
        var results: [HookResult] = []
        var stopReason: String? = nil

        for (planned, swiftHook) in plan {
            let result: HookResult
            if let stopReason {
                result = .skipped(planned, reason: stopReason)
            } else if let refusal = planned.refusal {
                result = .refused(planned, reason: refusal)
                if context.stopsAtFirstFailure(phase: phase) { stopReason = "stopped after refusal of \(planned.name)" }
            } else if Task.isCancelled {
                // The caller gave up (its own deadline, SIGINT): start nothing new.
                result = .skipped(planned, reason: "run cancelled")
            } else if let signal = RunInterruption.signal {
                result = .skipped(planned, reason: "run interrupted by signal \(signal)")
            } else if context.dryRun, !planned.understandsDryRun {
                result = .wouldRun(planned)
            } else {
                await observer?.hookStarted(planned)
                let collector = OutputCollector(hook: planned.name, limits: context.outputLimits, sink: output)
                if let swiftHook {
                    result = await SwiftHookExecution.run(swiftHook, phase: phase, targets: targets,
                                                          context: context, collector: collector)
                } else {
                    result = await ExecutableHookExecution.run(planned, phase: phase, targets: targets,
                                                               context: context, collector: collector)
                }
                if result.outcome == .softSkip {
                    stopReason = "soft skip by \(planned.name)"
                } else if result.outcome == .failed, context.stopsAtFirstFailure(phase: phase) {
                    stopReason = "stopped after failure of \(planned.name)"
                }
            }
            results.append(result)
            await observer?.hookFinished(result)
        }
        var report = PhaseReport(phase: phase, targets: targets, startedAt: startedAt, finishedAt: Date(), results: results)
        report.interruptedBy = RunInterruption.signal
        return report
    }

    /// The hooks considered for `phase`, in run order; a Swift hook rides along with its entry.
    static func plan(phase: String, hooks: [DiscoveredHook], swiftHooks: [any SwiftHook])
        -> [(PlannedHook, (any SwiftHook)?)]
    {
        var entries: [(PlannedHook, (any SwiftHook)?)] = []
        for hook in hooks where hook.isFor(phase: phase) {
            switch hook.decision {
            case .run:
                entries.append((PlannedHook(name: hook.name, path: hook.path, kind: .executable, origin: hook.origin,
                                            understandsDryRun: hook.understandsDryRun), nil))
            case .refuse(let reason):
                entries.append((PlannedHook(name: hook.name, path: hook.path, kind: .executable, refusal: reason), nil))
            case .skip: continue
            }
        }
        for hook in swiftHooks where hook.phases.map({ $0.contains(phase) }) ?? true {
            entries.append((PlannedHook(name: hook.name, path: "swift:\(hook.name)", kind: .swift), hook))
        }
        // Stable byte order: on equal names the executable (listed first) runs first.
        return entries.enumerated().sorted { a, b in
            let (x, y) = (Array(a.element.0.name.utf8), Array(b.element.0.name.utf8))
            return x == y ? a.offset < b.offset : x.lexicographicallyPrecedes(y)
        }.map(\.element)
    }
}
