import ArgumentParser
import GuardHooks
import GuardRender

extension RequestedKind: ExpressibleByArgument {}
extension GuardLifetime: ExpressibleByArgument {}
extension GuardState: ExpressibleByArgument {}

/// Ends a command with the batch's exit code (0 falls through).
func finish(_ code: SysExitCode) throws {
    if code != .ok { throw ArgumentParser.ExitCode(code.rawValue) }
}

/// The shape every guard-changing command shares: root check, one engine call over a batch,
/// the outcomes logged, printed and turned into the exit code.
func runBatch(_ command: String, _ global: GlobalOptions, settings: Settings? = nil, claim: ClaimOption? = nil,
              forceClear: Bool = false, dryRun: Bool, exitCodeHidden: Bool = false, whenNothing: String? = nil,
              _ body: (GuardEngine) throws -> [TargetOutcome]) throws {
    let settings = try settings ?? global.settings()
    let claimant = try claim?.claimant(ownJob: .none, bootID: { try LinuxKernel().bootID() })
    let engine = global.engine(settings, actor: "hook-runner \(command)", claimant: claimant, forceClear: forceClear)
    try requireRoot(command, dryRun: dryRun)
    let outcomes = try body(engine)
    logOutcomes(command, outcomes, dryRun: dryRun, exitCodeHidden: exitCodeHidden)
    if outcomes.isEmpty, let whenNothing, !global.json { Render.line(whenNothing) }
    try finish(try Render.report(command, outcomes, dryRun: dryRun, json: global.json))
}

struct ApplyCommand: ParsableCommand, TakesTargetList {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Guard offline targets.",
        discussion: """
            Each target that is not a mount root gets a guard: a read-only bind mount (kind bind),
            the immutable flag (kind immutable), or bind with immutable as fallback (auto).
            A target with storage mounted is left alone (skipped-mounted).

            Example: hook-runner apply --label restore-42 /mnt/pve/nfs1 /mnt/datastore1
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var dry: DryRunOption
    @OptionGroup var claim: ClaimOption
    @Option(help: "auto | bind | immutable") var kind: RequestedKind = .auto
    @Option(help: "transient (removed by clear) | persistent (removed only by unseal)") var lifetime: GuardLifetime = .transient
    @Flag(help: "Create a missing target directory (its parent must lie inside an allowed root).") var create = false
    @Option(help: "A label recorded with each guard.") var label: String?
    @Argument(help: "Mountpoint directories to guard.") var targets: [String] = []
    var allTargets: [String] { targets + LongTargetList.overflow }

    func validate() throws {
        if allTargets.isEmpty { throw ValidationError("apply needs at least one target") }
        if lifetime == .persistent && kind != .immutable {
            throw ValidationError("--lifetime persistent needs --kind immutable (a bind guard cannot outlive a reboot)")
        }
    }

    func run() throws {
        try runBatch("apply", global, claim: claim, dryRun: dry.dryRun) {
            try $0.apply(allTargets, kind: kind, lifetime: lifetime, createMissing: create, label: label, dryRun: dry.dryRun)
        }
    }
}

struct ClearCommand: ParsableCommand, TakesTargetList {
    static let configuration = CommandConfiguration(
        commandName: "clear",
        abstract: "Remove transient guards; unsafe ones stay pending (clear-deferred).",
        discussion: """
            A bind guard is unmounted only if it is the topmost mount at the path; an immutable
            flag is cleared only while no storage is mounted there. Otherwise the guard stays
            pending(clear-deferred) and the exit code is 75: run clear again later.
            A guard another job still holds a claim on stays (held, exit 0): clear releases
            only the caller's claim; --force is the operator's override.
            Persistent seals are never touched: see unseal.

            Example: hook-runner clear /mnt/pve/nfs1     hook-runner clear --all
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var dry: DryRunOption
    @OptionGroup var claim: ClaimOption
    @Flag(help: "Clear every outstanding transient guard that no other job holds.") var all = false
    @Flag(help: "Operator override: remove the guards although jobs hold claims on them (recorded).") var force = false
    @Argument(help: "Guarded directories.") var targets: [String] = []
    var allTargets: [String] { targets + LongTargetList.overflow }

    func validate() throws {
        if all && !allTargets.isEmpty { throw ValidationError("give targets or --all, not both") }
        if !all && allTargets.isEmpty { throw ValidationError("clear needs targets or --all") }
        if force && all { throw ValidationError("--force takes targets, not --all: name each guard to force") }
    }

    func run() throws {
        try runBatch("clear", global, claim: claim, forceClear: force, dryRun: dry.dryRun,
                     whenNothing: "nothing to clear: no outstanding transient guard") {
            all ? try $0.clearAll(dryRun: dry.dryRun) : try $0.clear(allTargets, dryRun: dry.dryRun)
        }
    }
}

struct SealCommand: ParsableCommand, TakesTargetList {
    static let configuration = CommandConfiguration(
        commandName: "seal",
        abstract: "Make offline targets persistently immutable (the boot-time seal).",
        discussion: """
            A sealed mountpoint refuses writes while offline, across unmounts and reboots; storage
            still mounts over it. Targets default to the configured list: GUARD_HOOKS_SEAL
            (colon-separated), else sealed in the config file.
            With --best-effort (for boot units) the exit code is always 0.

            Example: hook-runner seal --best-effort /mnt/storage
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var dry: DryRunOption
    @Flag(help: "Always exit 0: a missing or unsupported seal must not block boot.") var bestEffort = false
    @Flag(help: "Create a missing target directory.") var create = false
    @Option(help: "A label recorded with each seal.") var label: String?
    @Argument(help: "Mountpoints to seal.") var targets: [String] = []
    var allTargets: [String] { targets + LongTargetList.overflow }

    func run() throws {
        do {
            let settings = try global.settings()
            try runBatch("seal", global, settings: settings, dryRun: dry.dryRun, exitCodeHidden: bestEffort) { engine in
                var list = allTargets
                if list.isEmpty { list = settings.sealed }
                if list.isEmpty { throw CLIError.usage("seal: no targets given and none configured (sealed in the config file, GUARD_HOOKS_SEAL)") }
                return try engine.seal(list, createMissing: create, label: label, dryRun: dry.dryRun)
            }
        } catch where bestEffort {
            if let code = error as? ArgumentParser.ExitCode, code.rawValue == 0 { return }
            // Per-target failures were logged as warnings above; a whole-command error is one more.
            if !(error is ArgumentParser.ExitCode) { log.warning("seal (best effort): \(error)") }
        }
    }
}

struct UnsealCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unseal",
        abstract: "Remove a persistent seal from an offline target (operator lever).",
        discussion: """
            Refuses a mounted target: the seal must stay on the bare directory while the storage
            is online. Clears a flag even when no seal is recorded (an orphan from an old path).

            Example: hook-runner unseal /mnt/old-pool
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var dry: DryRunOption
    @Argument(help: "The sealed directory.") var target: String

    func run() throws {
        try runBatch("unseal", global, dryRun: dry.dryRun) { try $0.unseal([target], dryRun: dry.dryRun) }
    }
}

struct ReconcileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Bring the store in line with the kernel, recording why.",
        discussion: """
            Interrupted applies and clears are settled by probing; bind guards from an earlier
            boot or an exited mount namespace become cleared; a guard removed by hand becomes failed.
            Claims of jobs that are gone are released; runs whose hook-runner was killed
            before finishing them are recorded interrupted.

            Example: hook-runner reconcile --dry-run
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var dry: DryRunOption

    struct Document: Encodable { var dryRun: Bool; var changes: [Change]; var releasedClaims: [Claim]; var interruptedRuns: [Run] }
    struct Change: Encodable { var guardId: Int64; var path: String; var from: String; var to: String; var reason: String }
    struct Claim: Encodable { var guardId: Int64; var path: String; var holder: String; var reason: String }
    struct Run: Encodable { var runId: Int64; var phase: String; var pid: Int32 }

    func run() throws {
        let engine = try global.engine(actor: "hook-runner reconcile")
        try requireRoot("reconcile", dryRun: dry.dryRun)
        let changes = try engine.reconcile(dryRun: dry.dryRun)
        let claims = try engine.releaseStaleClaims(dryRun: dry.dryRun)
        let runs = try engine.interruptAbandonedRuns(dryRun: dry.dryRun)
        if global.json {
            try Render.json(Document(dryRun: dry.dryRun, changes: changes.map {
                Change(guardId: $0.guardID, path: $0.path, from: $0.from.description, to: $0.to.description, reason: $0.reason)
            }, releasedClaims: claims.map {
                Claim(guardId: $0.guardID, path: $0.path, holder: $0.holder.summary, reason: $0.reason)
            }, interruptedRuns: runs.map { Run(runId: $0.id, phase: $0.phase, pid: $0.pid) }))
            return
        }
        if changes.isEmpty && claims.isEmpty && runs.isEmpty {
            Render.line("store matches the kernel: nothing to change")
            return
        }
        Render.table(["GUARD", "PATH", "FROM", "TO", "REASON"], changes.map {
            ["#\($0.guardID)", $0.path, $0.from.description, (dry.dryRun ? "would be " : "") + $0.to.description, $0.reason]
        })
        Render.table(["GUARD", "PATH", "CLAIM", (dry.dryRun ? "WOULD RELEASE: " : "RELEASED: ") + "REASON"], claims.map {
            ["#\($0.guardID)", $0.path, $0.holder.summary, $0.reason]
        })
        Render.table(["RUN", "PHASE", "HOOK-RUNNER", dry.dryRun ? "WOULD BE RECORDED" : "RECORDED"], runs.map {
            ["#\($0.id)", $0.phase, "pid \($0.pid) gone", "interrupted (signal 9)"]
        })
    }
}

struct DoctorCommand: ParsableCommand, TakesTargetList {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Compare store and kernel; classify every finding ok / warn / fail.",
        discussion: """
            Looks at every recorded guard, every given target, every configured seal
            (sealed in the config file, GUARD_HOOKS_SEAL) and every read-only self-bind under the allowed roots.
            Exits 1 when any finding is fail.

            Example: hook-runner doctor /mnt/storage
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "More mountpoints to examine.") var targets: [String] = []
    var allTargets: [String] { targets + LongTargetList.overflow }

    struct Document: Encodable { var worst: String; var findings: [DoctorFinding] }

    func run() throws {
        let settings = try global.settings()
        let report = try global.engine(settings, actor: "hook-runner doctor").doctor(targets: allTargets, sealed: settings.sealed)
        if global.json {
            try Render.json(Document(worst: report.worst.rawValue, findings: report.findings))
        } else if report.findings.isEmpty {
            Render.line("ok: nothing recorded and nothing to examine")
        } else {
            Render.table(["SEVERITY", "PATH", "CODE", "MESSAGE"], report.findings.map {
                [$0.severity.rawValue, $0.path, $0.code, $0.message]
            })
        }
        if report.worst == .fail { throw ArgumentParser.ExitCode(SysExitCode.actionFailed.rawValue) }
    }
}
