/// Which phases exist, so a mistyped phase fails closed instead of running no hook.
///
/// `run pre-restor /mnt/a` once printed `ok (0 hooks)` and the restore went ahead unguarded.
/// A phase is known when it is standard, when a hook's `# phases:` header or a Swift hook
/// names it, or when the config file's `phases` key lists it; any other phase is a usage
/// error. And a `pre-*` phase in which no hook would run guards nothing: that is an error
/// unless the caller says it is intended (`allowEmpty`).
package enum PhaseNames {
    /// The phases backup and restore tools call (DESIGN.md).
    package static let standard = ["pre-backup", "post-backup", "pre-restore", "post-restore", "pre-mount", "post-mount"]

    /// Why `phase` cannot be run; nil when it can.
    /// - `hooks`: discovery's answer for the phase (headers of skipped hooks count too).
    /// - `swiftPhases`: the phases of the in-process hooks (nil: a hook for every phase).
    /// - `configured`: the config file's `phases`.
    package static func problem(phase: String, hooks: [DiscoveredHook], swiftPhases: [[String]?],
                               configured: [String], allowEmpty: Bool) -> Problem? {
        let declared = standard + configured + hooks.flatMap { $0.phases ?? [] } + swiftPhases.flatMap { $0 ?? [] }
        guard declared.contains(phase) else {
            return .unknown("unknown phase \(phase.debugDescription): not one of \(standard.joined(separator: ", ")), "
                            + "and no hook's '# phases:' header nor the config file's 'phases' names it")
        }
        let hookWouldRun = hooks.contains { hook in
            switch hook.decision {
            case .run, .refuse: return true  // a refused hook is recorded as a failure: it stops the phase
            case .skip: return false
            }
        }
        let swiftHookWouldRun = swiftPhases.contains { $0.map { $0.contains(phase) } ?? true }
        if phase.hasPrefix("pre-") && !allowEmpty && !hookWouldRun && !swiftHookWouldRun {
            return .empty("\(phase): no hook runs for this phase, so nothing would be guarded "
                          + "(add a hook, or pass --allow-empty if that is intended)")
        }
        return nil
    }

    package enum Problem: Sendable, Hashable, CustomStringConvertible {
        /// A phase nobody declared (usage, 64).
        case unknown(String)
        /// A pre-* phase with no hook to run (action failed, 1).
        case empty(String)

        package var description: String {
            switch self {
            case .unknown(let m), .empty(let m): return m
            }
        }
    }
}
