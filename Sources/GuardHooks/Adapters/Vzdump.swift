/// The Proxmox VE `vzdump` hook-script protocol, mapped onto our phases. Pure: no kernel,
/// no store; `hook-runner vzdump` carries out the plan with `GuardEngine.runPhase`.
///
/// What vzdump does (pve-manager `PVE/VZDump.pm`, `run_hook_script`, and its example
/// `vzdump-hook-script.pl`):
///
/// - argv is `script PHASE` for the job phases `job-init`, `job-start`, `job-end`,
///   `job-abort`, and `script PHASE MODE VMID` for the guest phases `backup-start`,
///   `backup-end`, `backup-abort`, `log-end`, `pre-stop`, `pre-restart`, `post-restart`
///   (MODE is `stop`, `suspend` or `snapshot`).
/// - The environment is *replaced* (`local %ENV`): only `STOREID` (unset with `--dumpdir`),
///   `DUMPDIR` (unset for Proxmox Backup Server storages, and in `job-init` unless
///   `--dumpdir` is used), and per guest `VMTYPE`, `HOSTNAME`, `TARGET` (the archive; set
///   once it is known) and `LOGFILE`. There is no `PATH` and none of our `GUARD_HOOKS_*`.
/// - `job-init` runs before the storage is activated; `job-start` after, before any guest;
///   per guest vzdump creates `DUMPDIR/<name>.tmp` and its log *before* `backup-start`,
///   then the archive, then `backup-end`; on a guest error `backup-abort`; `log-end` copies
///   the guest's log into `DUMPDIR` after `backup-end`/`backup-abort`; `job-end` after the
///   last guest, `job-abort` when the job itself dies. A hook exiting non-zero in
///   `job-start` aborts the job (then `job-abort` runs); in a guest phase it fails that guest.
package enum Vzdump {
    /// Every phase vzdump calls a hook script with.
    package enum Phase: String, Sendable, CaseIterable {
        case jobInit = "job-init", jobStart = "job-start", jobEnd = "job-end", jobAbort = "job-abort"
        case backupStart = "backup-start", backupEnd = "backup-end", backupAbort = "backup-abort"
        case logEnd = "log-end", preStop = "pre-stop", preRestart = "pre-restart", postRestart = "post-restart"

        /// Guest phases carry `MODE VMID` after the phase.
        package var isGuestPhase: Bool {
            switch self {
            case .jobInit, .jobStart, .jobEnd, .jobAbort: return false
            default: return true
            }
        }
    }

    /// One call of the hook script, as vzdump made it.
    package struct Invocation: Sendable, Hashable {
        package var phase: String
        package var mode: String?
        package var vmid: String?
        package var storeID: String?
        package var dumpDir: String?

        package init(phase: String, mode: String? = nil, vmid: String? = nil, storeID: String? = nil, dumpDir: String? = nil) {
            self.phase = phase; self.mode = mode; self.vmid = vmid; self.storeID = storeID; self.dumpDir = dumpDir
        }

        /// From the script's arguments (without argv[0]) and vzdump's environment.
        package init(arguments: [String], environment: [String: String]) {
            func nonEmpty(_ s: String?) -> String? { (s?.isEmpty ?? true) ? nil : s }
            self.init(phase: arguments.first ?? "", mode: arguments.count > 1 ? arguments[1] : nil,
                      vmid: arguments.count > 2 ? arguments[2] : nil,
                      storeID: nonEmpty(environment["STOREID"]), dumpDir: nonEmpty(environment["DUMPDIR"]))
        }

        /// `job-start`, `backup-start qemu 101 (snapshot)`: for messages and the run's actor.
        package var summary: String {
            var s = phase
            if let vmid { s += " vmid \(vmid)" }
            if let mode { s += " (\(mode))" }
            if let storeID { s += " storage \(storeID)" }
            return s
        }
    }

    /// What to do for one call.
    package enum Action: Sendable, Hashable {
        /// Run our phase (`pre-backup` / `post-backup`) for these targets.
        case run(phase: String, targets: [String])
        /// Nothing to do; exit 0 after printing the reason.
        case nothing(String)
    }

    /// Where the guarded mountpoints come from.
    package enum TargetSource: Sendable, Hashable {
        /// Given by the operator (`--target`, `GUARD_HOOKS_VZDUMP_TARGETS`).
        case configured([String])
        /// Derived from `DUMPDIR` (see `mountpoint(forDumpDir:)`).
        case dumpDir(String)
        case none
    }

    /// The subdirectory a Proxmox VE directory-type storage (dir, NFS, CIFS, …) keeps its
    /// backups in: `DUMPDIR` is `<storage path>/dump`.
    package static let storageBackupSubdirectory = "dump"

    /// The storage mountpoint for a `DUMPDIR`: its parent when the last component is `dump`
    /// (a PVE storage: `/mnt/pve/nfs1/dump` → `/mnt/pve/nfs1`), else `DUMPDIR` itself
    /// (`vzdump --dumpdir /mnt/usb`). Guarding the mountpoint, not `dump`, covers every
    /// subdirectory vzdump and the storage layer write (a bind guard covers the subtree).
    /// nil when `DUMPDIR` is not a valid absolute path.
    package static func mountpoint(forDumpDir dumpDir: String) -> String? {
        guard case .success(let normal) = PathPolicy.normalize(dumpDir) else { return nil }
        let parts = normal.split(separator: "/")
        if parts.count >= 2, parts.last == Substring(storageBackupSubdirectory) {
            return "/" + parts.dropLast().joined(separator: "/")
        }
        return normal
    }

    /// The phase of ours a vzdump phase maps to, or nil when it maps to nothing.
    ///
    /// | vzdump | ours | why |
    /// |---|---|---|
    /// | `job-init` | `pre-backup` (only when a target is known) | before storage activation creates `dump/` |
    /// | `job-start` | `pre-backup` | before the first guest writes anything |
    /// | `backup-start` | `pre-backup` (idempotent) | a storage lost between guests is guarded before the archive is written |
    /// | `job-end`, `job-abort` | `post-backup` | the job wrote its last byte (log-end of the last guest is over) |
    /// | `backup-end`, `backup-abort`, `log-end` | – | the job goes on writing: `log-end` copies the log into DUMPDIR, the next guest follows |
    /// | `pre-stop`, `pre-restart`, `post-restart` | – | guest state, not storage |
    package static func ourPhase(for phase: Phase) -> String? {
        switch phase {
        case .jobInit, .jobStart, .backupStart: return "pre-backup"
        case .jobEnd, .jobAbort: return "post-backup"
        case .backupEnd, .backupAbort, .logEnd, .preStop, .preRestart, .postRestart: return nil
        }
    }

    /// The plan for one call. `configured` targets win over `DUMPDIR`; a `DUMPDIR`-derived
    /// mountpoint outside the allowed roots (the `local` storage, `/var/lib/vz/dump`) is
    /// not ours to guard and gives `nothing`, so adding the hook never breaks such a job;
    /// a configured target outside the roots is passed on, and refused loudly by the engine.
    package static func plan(_ call: Invocation, configuredTargets: [String],
                            allowedRoots: [String] = PathPolicy.defaultAllowedRoots) -> Action {
        guard let phase = Phase(rawValue: call.phase) else {
            return .nothing("unknown vzdump phase \(call.phase.debugDescription): nothing to do")
        }
        guard let ours = ourPhase(for: phase) else {
            return .nothing("\(phase.rawValue): nothing to do (guards are set at job-start and cleared at job-end)")
        }
        switch targetSource(call, configuredTargets: configuredTargets) {
        case .configured(let targets):
            return .run(phase: ours, targets: targets)
        case .dumpDir(let dumpDir):
            guard let mountpoint = mountpoint(forDumpDir: dumpDir) else {
                return .nothing("DUMPDIR \(dumpDir.debugDescription) is not an absolute path: nothing to guard")
            }
            let policy = PathPolicy(allowedRoots: allowedRoots)
            guard case .success = policy.check(resolved: mountpoint) else {
                return .nothing("\(mountpoint) (from DUMPDIR) is not below an allowed root (\(allowedRoots.joined(separator: ", "))): nothing to guard")
            }
            return .run(phase: ours, targets: [mountpoint])
        case .none:
            if phase == .jobInit {
                return .nothing("job-init: DUMPDIR is not known before the storage is activated: guarding at job-start")
            }
            return .nothing("no DUMPDIR (a Proxmox Backup Server storage?) and no --target: nothing to guard")
        }
    }

    package static func targetSource(_ call: Invocation, configuredTargets: [String]) -> TargetSource {
        if !configuredTargets.isEmpty { return .configured(configuredTargets) }
        if let dumpDir = call.dumpDir { return .dumpDir(dumpDir) }
        return .none
    }
}
