import Glibc
import GuardStore

/// The result of `doctor`: every finding, and the worst severity.
package struct DoctorReport: Sendable, Hashable, Codable {
    package var findings: [DoctorFinding]
    package var worst: Severity { findings.map(\.severity).max() ?? .ok }
}

extension GuardEngine {
    /// Compares the store with the kernel for every recorded path, every configured seal,
    /// every given target and every read-only self-bind under the allowed roots. Read-only.
    /// `checkIntegrity: false` skips SQLite's quick_check, which reads the whole file: a
    /// metrics scrape every few seconds must not (1 s on an 82 MiB store, BENCHMARKS.md).
    package func doctor(targets: [String] = [], sealed: [String] = [], checkIntegrity: Bool = true) throws -> DoctorReport {
        try operation { try mappingStoreErrors { try examine(targets: targets, sealed: sealed, checkIntegrity: checkIntegrity) } }
    }

    private func examine(targets: [String], sealed: [String], checkIntegrity: Bool) throws -> DoctorReport {
        let session = try openSession(forWriting: false)
        let rows = try session.store?.outstandingGuards() ?? []
        // Keyed by bytes: canonically equal names are other directories.
        let rowByPath = Dictionary(rows.map { (PathKey($0.path), $0) }, uniquingKeysWith: { a, _ in a })
        let mounts = (try? kernel.mountInfo()) ?? []

        var paths: [String] = rows.map(\.path)
        var resolved: [String: String] = [:]  // normal → canonical, each resolved once (bounded)
        for raw in sealed + targets {
            guard case .success(let p) = PathPolicy.normalize(raw) else { continue }
            let canonical = resolved[p] ?? (reachable(p) ? canonicalPath(p) : nil) ?? p
            resolved[p] = canonical
            paths.append(canonical)
        }
        for m in mounts where m.isReadOnly && m.root != "/" && m.mountPoint.hasSuffix(m.root)
            && policy.allowedRoots.contains(where: { PathPolicy.isStrictlyBelow(m.mountPoint, $0) }) {
            paths.append(m.mountPoint)
        }
        var seen = Set<PathKey>()
        paths = paths.filter { seen.insert(PathKey($0)).inserted }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }

        let sealedSet = Set(sealed.compactMap { try? PathPolicy.normalize($0).get() }.map { PathKey(resolved[$0] ?? $0) })
        // Sub-second wall clock: `time(nil)` truncates, which made a fresh row's age negative
        // (never stale with pendingWarnAfter 0) and every age up to a second too young.
        var clock = timespec()
        clock_gettime(CLOCK_REALTIME, &clock)
        let now = Double(clock.tv_sec) + Double(clock.tv_nsec) / 1e9
        var findings: [DoctorFinding] = []
        let here = surroundings()
        let below = MountsBelowIndex(mounts)
        let orphaned = try session.store.map(orphanedPendingRows) ?? []
        for path in paths {
            let row = rowByPath[PathKey(path)]
            // Nothing calls into a path that did not answer within the probe deadline: a dead
            // storage is a finding of its own, and the others are still examined.
            guard reachable(path) else {
                findings.append(DoctorFinding(severity: .warn, path: path, code: "unreachable",
                                              message: unreachableReason, guardID: row?.id))
                continue
            }
            var o = observePath(path, row: row, mounts: mounts, here: here)
            o.sealWanted = sealedSet.contains(PathKey(path)) || row?.lifetime == .persistent
            o.mountsBelow = below.mounts(below: path)
            if let row {
                o.rowAgeSeconds = now - row.updatedAt.timeIntervalSince1970
                o.rowReason = row.reason
                o.rowOrphaned = orphaned.contains(row.id)
            }
            findings += DoctorClassifier.classify(o, pendingWarnAfter: configuration.pendingWarnAfter)
        }
        if targets.isEmpty { findings += unconfiguredHiddenData(mounts: mounts, examined: Set(paths.map(PathKey.init))) }
        findings += hostCheckFindings(mounts: mounts, rows: rows)
        if let store = session.store {
            for (guardID, claims) in try store.liveClaims() {
                guard let path = rows.first(where: { $0.id == guardID })?.path else { continue }
                findings += ClaimDecisions.findings(path: path, claims: claims,
                                                    liveness: claims.map { liveness(of: $0.holder, here: here) },
                                                    now: now, warnAfter: configuration.claimWarnAfter)
            }
            findings += try abandonedRunFindings(store)
            let problems = checkIntegrity ? try store.integrityProblems() : []
            if !problems.isEmpty {
                findings.append(DoctorFinding(severity: .fail, path: configuration.storePath, code: "store-integrity",
                                              message: "quick_check: " + problems.joined(separator: "; "), guardID: nil))
            }
        }
        return DoctorReport(findings: findings)
    }

    private func observePath(_ path: String, row: GuardRecord?, mounts: [MountInfoEntry],
                             here: Surroundings) -> PathObservation {
        var o = PathObservation(path: path, mountState: nil, bareImmutable: nil, bareHasEntries: nil)
        o.row = row.map(GuardSummary.init)
        if let row {
            let seen = observe(row, here)
            o.rowGuardPresent = seen.guardPresent
            o.rowGuardMovedTo = seen.movedTo
        }
        let placed = try? kernel.openPlaced(path)
        if placed == .storage {
            // Storage is mounted (and answered `reachable`): only its root's flag is read; the
            // bare directory is looked at underneath, on the parent's filesystem.
            o.mountState = .mounted
            if let h = try? kernel.openDirectory(path) {
                o.mountedRootImmutable = try? kernel.isImmutable(h)
                kernel.close(h)
            }
            if let s = try? kernel.openShadowed(path) {
                defer { kernel.close(s) }
                o.bareImmutable = try? kernel.isImmutable(s)
                o.bareHasEntries = try? kernel.hasEntries(s)
            }
            return o
        }
        guard case .opened(let h, _)? = placed else {
            o.exists = access(path, F_OK) == 0
            return o
        }
        defer { kernel.close(h) }
        guard let p = try? kernel.probe(h) else { return o }
        o.mountState = p.mountState
        o.topIsOwnGuard = row?.kind == .bind && row?.mountID != nil && row?.mountID == p.mountID && p.mountState == .mounted
        o.topIsReadOnlySelfBind = mounts.last(where: { $0.mountPoint == path }).map {
            $0.isReadOnly && $0.root != "/" && path.hasSuffix($0.root)
        } ?? false
        switch p.mountState {
        case .notMounted:
            do { o.bareImmutable = try kernel.isImmutable(h) } catch { o.immutableUnsupported = error.isUnsupported }
            o.bareHasEntries = try? kernel.hasEntries(h)
        case .mounted:
            if o.topIsOwnGuard || o.topIsReadOnlySelfBind {
                o.bareImmutable = try? kernel.isImmutable(h)
                o.bareHasEntries = try? kernel.hasEntries(h)
            } else {
                o.mountedRootImmutable = try? kernel.isImmutable(h)
                if let s = try? kernel.openShadowed(path) {
                    defer { kernel.close(s) }
                    o.bareImmutable = try? kernel.isImmutable(s)
                    o.bareHasEntries = try? kernel.hasEntries(s)
                }
            }
        case .unknown: break
        }
        return o
    }
}
