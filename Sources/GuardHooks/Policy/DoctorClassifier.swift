import GuardStore

package enum Severity: String, Sendable, Codable, Comparable, CaseIterable {
    /// `info`: worth knowing, nothing is wrong with a guard (data hidden under an
    /// unconfigured mountpoint).
    case ok, info, warn, fail
    package static func < (a: Severity, b: Severity) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// One finding of `doctor`.
package struct DoctorFinding: Sendable, Hashable, Codable {
    package var severity: Severity
    package var path: String
    /// Stable machine-readable code (`offline-unsealed`, `drift`, …).
    package var code: String
    package var message: String
    package var guardID: GuardID?
}

/// Everything doctor knows about one path. A nil field means its probe failed: the
/// findings that need it are suppressed rather than guessed.
package struct PathObservation: Sendable, Hashable {
    package var path: String
    package var exists: Bool
    package var mountState: MountState?
    /// The topmost mount is our own bind guard (recorded id).
    package var topIsOwnGuard: Bool
    /// The topmost mount looks like a read-only self-bind (a guard, ours or not).
    package var topIsReadOnlySelfBind: Bool
    /// Flag of the bare directory (through the shadow view when storage is mounted).
    package var bareImmutable: Bool?
    /// Flag of the mounted storage's root, when storage is mounted.
    package var mountedRootImmutable: Bool?
    /// Whether the bare directory holds files (through the shadow view when mounted).
    package var bareHasEntries: Bool?
    /// A persistent seal is wanted here (configured, or a persistent row).
    package var sealWanted: Bool
    /// The outstanding row, with its age in seconds and whether the kernel shows it.
    package var row: GuardSummary?
    package var rowReason: String?
    package var rowAgeSeconds: Double?
    package var rowGuardPresent: Bool?
    /// The row's bind guard mount is attached at another path now (a parent renamed).
    package var rowGuardMovedTo: String?
    /// The row is pending(applying) or pending(clearing) while no command holds the writers'
    /// lock: the command that wrote it is gone.
    package var rowOrphaned = false
    /// The bare directory's filesystem cannot hold the immutable flag (ramfs, …).
    package var immutableUnsupported = false
    /// Mount points strictly below the path (mount table): a guard here hides them.
    package var mountsBelow: [String] = []

    package init(path: String, exists: Bool = true, mountState: MountState? = .notMounted, topIsOwnGuard: Bool = false,
                topIsReadOnlySelfBind: Bool = false, bareImmutable: Bool? = false, mountedRootImmutable: Bool? = nil,
                bareHasEntries: Bool? = false, sealWanted: Bool = false, row: GuardSummary? = nil,
                rowReason: String? = nil, rowAgeSeconds: Double? = nil, rowGuardPresent: Bool? = nil) {
        self.path = path; self.exists = exists; self.mountState = mountState; self.topIsOwnGuard = topIsOwnGuard
        self.topIsReadOnlySelfBind = topIsReadOnlySelfBind; self.bareImmutable = bareImmutable
        self.mountedRootImmutable = mountedRootImmutable; self.bareHasEntries = bareHasEntries
        self.sealWanted = sealWanted; self.row = row; self.rowReason = rowReason
        self.rowAgeSeconds = rowAgeSeconds; self.rowGuardPresent = rowGuardPresent
    }
}

package enum DoctorClassifier {
    /// Classifies one path. Always returns at least one finding (`ok` when nothing is wrong).
    package static func classify(_ o: PathObservation, pendingWarnAfter: Double = 86_400) -> [DoctorFinding] {
        var out: [DoctorFinding] = []
        func add(_ s: Severity, _ code: String, _ message: String) {
            out.append(DoctorFinding(severity: s, path: o.path, code: code, message: message, guardID: o.row?.id))
        }
        guard o.exists else {
            if o.sealWanted { add(.warn, "missing", "configured to be sealed but does not exist") }
            if let row = o.row { add(.warn, "missing", "guard #\(row.id) is \(row.status) but the directory is gone") }
            return out.isEmpty ? [DoctorFinding(severity: .ok, path: o.path, code: "ok", message: "absent")] : out
        }
        // A read-only self-bind on top (ours, or another tool's) is a guard, not storage.
        let guardOnTop = o.topIsOwnGuard || o.topIsReadOnlySelfBind
        let storageOnline = o.mountState == .mounted && !guardOnTop
        let offline = o.mountState == .notMounted || (o.mountState == .mounted && guardOnTop)

        if storageOnline, o.mountedRootImmutable == true {
            add(.fail, "mounted-root-immutable", "the mounted storage's root is immutable: writes to the storage fail")
        }
        if guardOnTop, !o.mountsBelow.isEmpty {
            add(.fail, "hides-mounts", "the guard hides live storage: " + GuardDecisions.mountsBelowReason(o.mountsBelow))
        }
        if offline, o.sealWanted, o.immutableUnsupported {
            add(.warn, "seal-unsupported", "configured to be sealed but the filesystem cannot hold the immutable flag")
        }
        if offline, o.sealWanted, o.bareImmutable == false {
            add(.warn, "offline-unsealed", "offline and not sealed: run hook-runner seal")
        }
        if o.bareHasEntries == true {
            if offline {
                add(.warn, "offline-holds-files", "offline mountpoint holds files: written while the storage was unmounted?")
            } else if storageOnline {
                add(.warn, "hidden-data", "files are hidden under the mounted storage, using space on the parent filesystem")
            }
        }
        if let row = o.row {
            if let moved = o.rowGuardMovedTo {
                add(.fail, "guard-moved", "guard #\(row.id)'s read-only mount was moved to \(moved) (a parent directory "
                    + "was renamed): this path is not guarded; hook-runner clear removes the mount there")
            } else if row.status.state == .applied, o.rowGuardPresent == false {
                add(.fail, "drift", "store says guard #\(row.id) is applied but the kernel shows no guard: run hook-runner reconcile")
            }
            if row.status.state == .failed {
                add(.warn, "guard-failed", "guard #\(row.id) failed: \(o.rowReason ?? "no reason recorded")")
            }
            if o.rowOrphaned {
                add(.warn, "pending-orphaned", "guard #\(row.id) is \(row.status) but no hook-runner holds the writers' "
                    + "lock: the command that wrote it is gone (killed?); run hook-runner reconcile")
            } else if row.status.state == .pending, let age = o.rowAgeSeconds, age > pendingWarnAfter {
                add(.warn, "pending-stale", "guard #\(row.id) has been \(row.status) for \(Int(age / 3600)) h")
            }
        } else if offline {
            if o.bareImmutable == true {
                add(.warn, "unrecorded-guard", "immutable flag set but not recorded (set by hand or another tool)")
            } else if o.mountState == .mounted && o.topIsReadOnlySelfBind {
                add(.warn, "unrecorded-guard", "read-only self-bind guard not recorded (made by hand or another tool)")
            }
        }
        if out.isEmpty {
            let what: String
            if let row = o.row { what = "guard #\(row.id) \(row.kind.rawValue) \(row.status)" + (storageOnline ? ", storage online" : "") }
            else { what = storageOnline ? "storage online" : "offline, no guard wanted" }
            add(.ok, "ok", what)
        }
        return out
    }
}
