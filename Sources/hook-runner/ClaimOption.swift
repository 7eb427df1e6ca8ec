import ArgumentParser
import GuardHooks

/// `--claim KEY`: the job a command acts for, when its pre and post phases come from
/// unrelated processes. Without it the job is found by itself (README, "Claims").
struct ClaimOption: ParsableArguments {
    @Option(name: .customLong("claim"),
            help: ArgumentHelp("Claim guards for this job key instead of the caller's session (env GUARD_HOOKS_CLAIM).",
                               valueName: "key"))
    var key: String?

    /// Who a command's claims are for. An explicit key wins; then the job a `run` or `exec`
    /// handed to its hooks (`GUARD_HOOKS_JOB`); then, for a command that is a job itself
    /// (`run`: `session`; `exec`: `process`), the caller; otherwise nobody (the operator).
    func claimant(ownJob: OwnJob, bootID: () throws -> String) throws -> ClaimHolder? {
        let env = GlobalOptions.environment
        if let key = key ?? env[JobIdentity.keyVariable].flatMap({ $0.isEmpty ? nil : $0 }) {
            guard !key.contains(where: { $0.isASCII && ($0.asciiValue! < 0x20 || $0.asciiValue! == 0x7F) }), key.utf8.count <= 200 else {
                throw CLIError.usage("--claim: a key of at most 200 bytes without control characters")
            }
            return JobIdentity.key(key, bootID: try bootID())
        }
        if let inherited = env[JobIdentity.environmentVariable], !inherited.isEmpty {
            guard let holder = ClaimHolder(environmentValue: inherited) else {
                throw CLIError.usage("\(JobIdentity.environmentVariable): not a job this hook-runner can read")
            }
            return holder
        }
        switch ownJob {
        case .none: return nil
        case .session: return JobIdentity.session(bootID: try bootID())
        case .process: return JobIdentity.process(bootID: try bootID())
        }
    }

    enum OwnJob { case none, session, process }
}
