import FoundationEssentials

/// Everything about one phase run that is not the hooks themselves.
package struct HookContext: Sendable, Hashable {
    /// The run's id in the store (`GUARD_HOOKS_RUN_ID`).
    package var runID: String
    /// A dry run executes only hooks that declare `# dry-run: yes` (they see
    /// `GUARD_HOOKS_DRY_RUN=1` and change nothing; the shipped guard hook calls
    /// `hook-runner apply --dry-run`); every other hook is listed as `would-run`, since a
    /// hook that ignores the variable would change the system.
    package var dryRun: Bool
    /// The store hooks should use when they call hook-runner back (`GUARD_HOOKS_DB`).
    package var databasePath: String
    /// This hook-runner binary (`GUARD_HOOKS_BIN`).
    package var binaryPath: String
    /// How long one hook may run before its process group gets `SIGTERM`.
    package var timeout: Duration
    /// How long after `SIGTERM` the group gets `SIGKILL`.
    package var gracePeriod: Duration
    /// Run every hook of a `pre-*` phase even after one failed.
    package var keepGoing: Bool
    package var outputLimits: OutputLimits
    /// The caller's allowed roots, so a hook calling hook-runner back applies the same
    /// path policy as its caller (`GUARD_HOOKS_ALLOW_ROOTS`, colon-separated).
    package var allowedRoots: [String]
    /// The job the run acts for (`GUARD_HOOKS_JOB`), so a hook's `hook-runner apply` and
    /// `clear` claim and release for that job, not for the hook's own process.
    package var job: String?

    package init(runID: String, dryRun: Bool = false, databasePath: String, binaryPath: String,
                timeout: Duration = .seconds(300), gracePeriod: Duration = .seconds(5),
                keepGoing: Bool = false, outputLimits: OutputLimits = OutputLimits(),
                allowedRoots: [String] = PathPolicy.defaultAllowedRoots) {
        self.runID = runID; self.dryRun = dryRun; self.databasePath = databasePath
        self.binaryPath = binaryPath; self.timeout = timeout; self.gracePeriod = gracePeriod
        self.keepGoing = keepGoing; self.outputLimits = outputLimits; self.allowedRoots = allowedRoots
    }

    /// The `PATH` every hook gets: the one Debian gives root, without `.` or user dirs.
    package static let safePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The complete environment of a hook: nothing of the caller's leaks in (a backup tool
    /// may run with `LD_PRELOAD`, proxies or credentials in its environment). No `LANG`
    /// either: hooks get the C locale, whose behaviour does not depend on which locales a
    /// host has generated; a hook that wants UTF-8 sets it itself.
    /// `hookPath`: the vetted path of an executable hook (`GUARD_HOOKS_HOOK_PATH`); it is
    /// executed from its directory fd, so a script's `$0` is `/dev/fd/N`, not this path.
    /// With `targetsFile` (long lists) `GUARD_HOOKS_TARGETS` is empty and
    /// `GUARD_HOOKS_TARGETS_FILE` names a file of the targets, one per line.
    package func environment(phase: String, targets: [String], hook: String, hookPath: String? = nil,
                            targetsFile: String? = nil) -> [String: String] {
        var environment = [
            "PATH": Self.safePath,
            "GUARD_HOOKS_PHASE": phase,
            "GUARD_HOOKS_TARGETS": targetsFile == nil ? targets.joined(separator: "\n") : "",
            "GUARD_HOOKS_RUN_ID": runID,
            "GUARD_HOOKS_DRY_RUN": dryRun ? "1" : "0",
            "GUARD_HOOKS_DB": databasePath,
            "GUARD_HOOKS_ALLOW_ROOTS": allowedRoots.joined(separator: ":"),
            "GUARD_HOOKS_BIN": binaryPath,
            "GUARD_HOOKS_HOOK": hook,
        ]
        environment["GUARD_HOOKS_HOOK_PATH"] = hookPath
        environment["GUARD_HOOKS_TARGETS_FILE"] = targetsFile
        if let job { environment[JobIdentity.environmentVariable] = job }
        return environment
    }

    /// Whether a phase stops at its first failure: `pre-*` phases gate the operation that
    /// follows (a failed pre-restore must stop the restore), unless `keepGoing`.
    package func stopsAtFirstFailure(phase: String) -> Bool {
        phase.hasPrefix("pre-") && !keepGoing
    }
}
