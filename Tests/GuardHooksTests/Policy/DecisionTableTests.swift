import GuardHooks
import GuardStore
import Testing

private let offline = TargetFacts(mountState: .notMounted, topMountID: 1)
private let mounted = TargetFacts(mountState: .mounted, topMountID: 77)
private func row(_ kind: GuardKind, _ status: GuardStatus, _ lifetime: GuardLifetime = .transient,
                 mountID: UInt64? = nil) -> GuardSummary {
    GuardSummary(id: 7, kind: kind, lifetime: lifetime, status: status, mountID: mountID)
}
private func facts(_ base: TargetFacts, immutable: Bool? = false, supported: Bool = true, top: UInt64? = nil,
                   recordedExists: Bool? = nil) -> TargetFacts {
    var f = base
    f.immutable = immutable; f.immutableSupported = supported; f.recordedMountExists = recordedExists
    if let top { f.topMountID = top }
    return f
}

@Suite struct ApplyDecisionTable {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var requested: RequestedKind
        var lifetime: GuardLifetime = .transient
        var facts: TargetFacts
        var existing: GuardSummary?
        var expected: ApplyDecision
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "offline, no row, auto", requested: .auto, facts: offline, expected: .guardNew(.auto)),
        Case(name: "offline, no row, bind", requested: .bind, facts: offline, expected: .guardNew(.bind)),
        Case(name: "offline, no row, immutable", requested: .immutable, facts: offline, expected: .guardNew(.immutable)),
        Case(name: "immutable on unsupported fs", requested: .immutable, facts: facts(offline, supported: false),
             expected: .unsupported("the filesystem does not support the immutable flag")),
        Case(name: "auto on unsupported fs still tries bind", requested: .auto, facts: facts(offline, supported: false),
             expected: .guardNew(.auto)),
        Case(name: "storage mounted", requested: .auto, facts: mounted, expected: .skipMounted("storage is mounted")),
        Case(name: "unknown mount state", requested: .auto, facts: TargetFacts(mountState: .unknown),
             expected: .refuse("mount state unknown (statx and mountinfo cannot tell): refusing to guess")),
        Case(name: "own bind guard on top", requested: .auto, facts: facts(mounted, top: 42),
             existing: row(.bind, .applied, mountID: 42), expected: .alreadyApplied(7, nil)),
        Case(name: "own bind guard, clear deferred", requested: .bind, facts: facts(mounted, top: 42),
             existing: row(.bind, .clearDeferred, mountID: 42), expected: .withdrawClear(7)),
        Case(name: "storage over our bind guard", requested: .auto, facts: facts(mounted, top: 43),
             existing: row(.bind, .applied, mountID: 42), expected: .skipMounted("storage is mounted over guard #7")),
        Case(name: "immutable applied, flag set", requested: .auto, facts: facts(offline, immutable: true),
             existing: row(.immutable, .applied), expected: .alreadyApplied(7, nil)),
        Case(name: "immutable deferred clear, flag set", requested: .auto, facts: facts(offline, immutable: true),
             existing: row(.immutable, .clearDeferred), expected: .withdrawClear(7)),
        Case(name: "failed row retried", requested: .bind, facts: offline, existing: row(.bind, .failed),
             expected: .retry(7, .bind)),
        Case(name: "failed row, immutable unsupported", requested: .immutable, facts: facts(offline, supported: false),
             existing: row(.immutable, .failed), expected: .unsupported("the filesystem does not support the immutable flag")),
        Case(name: "interrupted apply", requested: .auto, facts: offline, existing: row(.bind, .applying),
             expected: .postpone("guard #7 is pending(applying): an earlier run was interrupted; run reconcile")),
        Case(name: "row applied but kernel shows nothing", requested: .auto, facts: offline,
             existing: row(.immutable, .applied),
             expected: .refuse("guard #7 is applied but the kernel shows no guard; run reconcile")),
        Case(name: "flag already set, no row", requested: .auto, facts: facts(offline, immutable: true),
             expected: .adoptImmutable),
        Case(name: "flag already set, bind requested", requested: .bind, facts: facts(offline, immutable: true),
             expected: .guardNew(.bind)),
        Case(name: "seal over a transient guard", requested: .immutable, lifetime: .persistent,
             facts: facts(offline, immutable: true), existing: row(.immutable, .applied),
             expected: .refuse("has a transient immutable guard #7; clear it before sealing")),
        Case(name: "transient apply over a seal", requested: .auto, facts: facts(offline, immutable: true),
             existing: row(.immutable, .applied, .persistent), expected: .alreadyApplied(7, "sealed (persistent)")),
        Case(name: "seal again", requested: .immutable, lifetime: .persistent, facts: facts(offline, immutable: true),
             existing: row(.immutable, .applied, .persistent), expected: .alreadyApplied(7, nil)),
        Case(name: "seal on mounted target", requested: .immutable, lifetime: .persistent, facts: mounted,
             expected: .skipMounted("storage is mounted")),
    ]

    @Test(arguments: cases)
    func decide(_ c: Case) {
        #expect(GuardDecisions.apply(requested: c.requested, lifetime: c.lifetime, facts: c.facts, existing: c.existing) == c.expected)
    }
}

@Suite struct ClearDecisionTable {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var row: GuardSummary?
        var facts: TargetFacts?
        var unseal = false
        var expected: ClearDecision
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "no row", row: nil, facts: offline, expected: .alreadyClear("no guard recorded")),
        Case(name: "bind on top", row: row(.bind, .applied, mountID: 42), facts: facts(mounted, top: 42),
             expected: .removeBind(7)),
        Case(name: "bind shadowed by storage", row: row(.bind, .applied, mountID: 42),
             facts: facts(mounted, top: 50, recordedExists: true), expected: .postpone(7, "shadowed: storage is mounted over the guard")),
        Case(name: "bind shadowed, statmount unavailable", row: row(.bind, .applied, mountID: 42),
             facts: facts(mounted, top: 50, recordedExists: nil),
             expected: .postpone(7, "cannot tell whether the guard is still under the mounted storage")),
        Case(name: "bind gone, storage mounted", row: row(.bind, .applied, mountID: 42),
             facts: facts(mounted, top: 50, recordedExists: false), expected: .markCleared(7, "guard mount already gone")),
        Case(name: "bind gone, offline", row: row(.bind, .clearDeferred, mountID: 42), facts: offline,
             expected: .markCleared(7, "guard mount already gone")),
        Case(name: "immutable offline", row: row(.immutable, .applied), facts: facts(offline, immutable: true),
             expected: .clearFlag(7)),
        Case(name: "immutable mounted", row: row(.immutable, .applied), facts: mounted,
             expected: .postpone(7, "target mounted: the flag is cleared once the storage is unmounted")),
        Case(name: "immutable flag gone", row: row(.immutable, .applied), facts: facts(offline, immutable: false),
             expected: .markCleared(7, "flag already removed")),
        Case(name: "immutable flag unreadable", row: row(.immutable, .applied), facts: facts(offline, immutable: nil),
             expected: .postpone(7, "cannot read the inode flags now")),
        Case(name: "immutable, unknown mount state", row: row(.immutable, .applied), facts: TargetFacts(mountState: .unknown),
             expected: .postpone(7, "mount state unknown: refusing to guess")),
        Case(name: "persistent via clear", row: row(.immutable, .applied, .persistent), facts: facts(offline, immutable: true),
             expected: .refuse("guard #7 is a persistent seal: only unseal removes it")),
        Case(name: "unseal offline", row: row(.immutable, .applied, .persistent), facts: facts(offline, immutable: true),
             unseal: true, expected: .clearFlag(7)),
        Case(name: "unseal mounted", row: row(.immutable, .applied, .persistent), facts: mounted, unseal: true,
             expected: .refuse("target is mounted: unseal only an offline mountpoint")),
        Case(name: "unseal transient", row: row(.immutable, .applied), facts: offline, unseal: true,
             expected: .refuse("guard #7 is transient: use clear")),
        Case(name: "unseal orphan flag", row: nil, facts: facts(offline, immutable: true), unseal: true, expected: .clearFlag(nil)),
        Case(name: "unseal nothing", row: nil, facts: offline, unseal: true, expected: .alreadyClear("not immutable")),
        Case(name: "unseal orphan, mounted", row: nil, facts: mounted, unseal: true,
             expected: .refuse("target is mounted: unseal only an offline mountpoint")),
        Case(name: "interrupted clear", row: row(.bind, .clearing, mountID: 1), facts: offline,
             expected: .postpone(7, "guard #7 is pending(clearing): an earlier run was interrupted; run reconcile")),
        Case(name: "cannot probe", row: row(.bind, .applied, mountID: 1), facts: nil,
             expected: .postpone(7, "cannot probe the target now")),
        Case(name: "failed bind, gone", row: row(.bind, .failed), facts: offline, expected: .markCleared(7, "guard mount already gone")),
    ]

    @Test(arguments: cases)
    func decide(_ c: Case) {
        #expect(GuardDecisions.clear(row: c.row, facts: c.facts, operatorUnseal: c.unseal) == c.expected)
    }
}

@Suite struct ReconcileDecisionTable {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var row: GuardSummary
        var observed: GuardObservation
        var expectedStatus: GuardStatus?
        var expectedReason: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "applied and present", row: row(.bind, .applied, mountID: 1), observed: .init(guardPresent: true)),
        Case(name: "bind from an earlier boot", row: row(.bind, .applied, mountID: 1),
             observed: .init(sameBoot: false, guardPresent: false), expectedStatus: .cleared, expectedReason: "reboot"),
        Case(name: "immutable survives reboot", row: row(.immutable, .applied),
             observed: .init(sameBoot: false, guardPresent: true)),
        Case(name: "namespace exited", row: row(.bind, .applied, mountID: 1),
             observed: .init(namespace: .otherGone, guardPresent: false), expectedStatus: .cleared,
             expectedReason: "mount namespace exited"),
        Case(name: "other live namespace left alone", row: row(.bind, .applied, mountID: 1),
             observed: .init(namespace: .otherAlive, guardPresent: false)),
        Case(name: "flag removed by hand", row: row(.immutable, .applied), observed: .init(guardPresent: false),
             expectedStatus: .failed, expectedReason: "removed outside hook-runner"),
        Case(name: "interrupted apply, in force", row: row(.bind, .applying), observed: .init(guardPresent: true),
             expectedStatus: .applied, expectedReason: "interrupted apply settled by probing: guard in force"),
        Case(name: "interrupted apply, not in force", row: row(.immutable, .applying), observed: .init(guardPresent: false),
             expectedStatus: .failed, expectedReason: "interrupted apply: guard not in force"),
        Case(name: "interrupted clear, still in force", row: row(.immutable, .clearing), observed: .init(guardPresent: true),
             expectedStatus: .applied, expectedReason: "interrupted clear: guard still in force"),
        Case(name: "interrupted clear, done", row: row(.bind, .clearing, mountID: 3), observed: .init(guardPresent: false),
             expectedStatus: .cleared, expectedReason: "interrupted clear completed"),
        Case(name: "deferred clear, guard gone", row: row(.bind, .clearDeferred, mountID: 3), observed: .init(guardPresent: false),
             expectedStatus: .cleared, expectedReason: "guard gone while its clear was deferred"),
        Case(name: "probe failed: no guess", row: row(.immutable, .applied), observed: .init(guardPresent: nil)),
        Case(name: "failed stays failed", row: row(.immutable, .failed), observed: .init(guardPresent: false)),
    ]

    @Test(arguments: cases)
    func settle(_ c: Case) {
        let result = ReconcileDecisions.settle(row: c.row, observed: c.observed)
        #expect(result?.0 == c.expectedStatus)
        #expect(result?.1 == c.expectedReason)
        if let to = result?.0 { #expect(GuardStateMachine.isLegal(from: c.row.status, to: to), "illegal \(c.row.status) → \(to)") }
    }
}

@Suite struct DoctorClassifierTable {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var observation: PathObservation
        var expected: [(Severity, String)]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "offline, unsealed, seal wanted", observation: .init(path: "/mnt/a", sealWanted: true),
             expected: [(.warn, "offline-unsealed")]),
        Case(name: "offline, sealed", observation: .init(path: "/mnt/a", bareImmutable: true, sealWanted: true,
                                                          row: row(.immutable, .applied, .persistent), rowGuardPresent: true),
             expected: [(.ok, "ok")]),
        Case(name: "mounted root immutable", observation: .init(path: "/mnt/a", mountState: .mounted, mountedRootImmutable: true),
             expected: [(.fail, "mounted-root-immutable")]),
        Case(name: "offline holds files", observation: .init(path: "/mnt/a", bareHasEntries: true),
             expected: [(.warn, "offline-holds-files")]),
        Case(name: "hidden under storage", observation: .init(path: "/mnt/a", mountState: .mounted, bareHasEntries: true),
             expected: [(.warn, "hidden-data")]),
        Case(name: "drift", observation: .init(path: "/mnt/a", row: row(.immutable, .applied), rowGuardPresent: false),
             expected: [(.fail, "drift")]),
        Case(name: "unrecorded flag", observation: .init(path: "/mnt/a", bareImmutable: true),
             expected: [(.warn, "unrecorded-guard")]),
        Case(name: "unrecorded bind", observation: .init(path: "/mnt/a", mountState: .mounted, topIsReadOnlySelfBind: true),
             expected: [(.warn, "unrecorded-guard")]),
        Case(name: "stale pending", observation: .init(path: "/mnt/a", mountState: .mounted, row: row(.bind, .clearDeferred, mountID: 1),
                                                       rowAgeSeconds: 90_000, rowGuardPresent: true),
             expected: [(.warn, "pending-stale")]),
        Case(name: "fresh pending", observation: .init(path: "/mnt/a", mountState: .mounted, row: row(.bind, .clearDeferred, mountID: 1),
                                                       rowAgeSeconds: 60, rowGuardPresent: true),
             expected: [(.ok, "ok")]),
        Case(name: "failed guard", observation: .init(path: "/mnt/a", row: row(.immutable, .failed), rowReason: "EPERM"),
             expected: [(.warn, "guard-failed")]),
        Case(name: "probes failed: suppressed", observation: .init(path: "/mnt/a", mountState: nil, bareImmutable: nil,
                                                                    bareHasEntries: nil, sealWanted: true),
             expected: [(.ok, "ok")]),
        Case(name: "offline, bind guard on top, sealed wanted but not immutable",
             observation: .init(path: "/mnt/a", mountState: .mounted, topIsOwnGuard: true, sealWanted: true,
                                row: row(.bind, .applied, mountID: 5), rowGuardPresent: true),
             expected: [(.warn, "offline-unsealed")]),
        Case(name: "missing but wanted", observation: .init(path: "/mnt/a", exists: false, sealWanted: true),
             expected: [(.warn, "missing")]),
    ]

    @Test(arguments: cases)
    func classify(_ c: Case) {
        let findings = DoctorClassifier.classify(c.observation)
        #expect(findings.map(\.severity) == c.expected.map(\.0))
        #expect(findings.map(\.code) == c.expected.map(\.1))
    }
}

/// Every status × mount state × flag state × kind × lifetime (issue 13, item 4): whatever a
/// decision table answers, the transition it implies for the row is one the state machine
/// allows, so no batch ever writes an illegal transition.
@Suite struct DecisionTablesAreTotal {
    struct World: Sendable, CustomTestStringConvertible {
        var kind: GuardKind
        var lifetime: GuardLifetime
        var status: GuardStatus
        var facts: TargetFacts
        var testDescription: String {
            "\(kind.rawValue) \(lifetime.rawValue) \(status) \(facts.mountState.rawValue) top=\(facts.topMountID.map(String.init) ?? "-") "
                + "flag=\(facts.immutable.map(String.init) ?? "?") supported=\(facts.immutableSupported) "
                + "recorded=\(facts.recordedMountExists.map(String.init) ?? "?")"
        }
    }

    static let statuses: [GuardStatus] = [.applying, .clearing, .clearDeferred, .applied, .failed]

    /// 2 kinds × 2 lifetimes × 5 statuses × 3 mount states × 2 tops × 3 flags × 2 supports × 3 recorded.
    static let worlds: [World] = {
        var out: [World] = []
        for kind in GuardKind.allCases { for lifetime in GuardLifetime.allCases { for status in statuses {
            for mount in [MountState.mounted, .notMounted, .unknown] { for top: UInt64 in [5, 77] {
                for flag in [true, false, nil] as [Bool?] { for supported in [true, false] {
                    for recorded in [true, false, nil] as [Bool?] {
                        out.append(World(kind: kind, lifetime: lifetime, status: status, facts: TargetFacts(
                            mountState: mount, topMountID: top, immutable: flag, immutableSupported: supported,
                            recordedMountExists: recorded)))
                    }
                } }
            } }
        } } }
        return out
    }()

    private func row(_ w: World) -> GuardSummary {
        GuardSummary(id: 7, kind: w.kind, lifetime: w.lifetime, status: w.status, mountID: w.kind == .bind ? 5 : nil)
    }

    @Test(arguments: worlds)
    func clearImpliesALegalTransition(_ w: World) {
        for unseal in [false, true] {
            for facts in [w.facts, nil] as [TargetFacts?] {
                let implied: GuardStatus?
                switch GuardDecisions.clear(row: row(w), facts: facts, operatorUnseal: unseal) {
                case .removeBind, .removeMovedBind, .clearFlag: implied = .clearing
                case .markCleared: implied = .cleared
                case .postpone: implied = w.status == .clearDeferred ? nil : .clearDeferred
                case .alreadyClear, .refuse, .wait: implied = nil
                }
                if let implied {
                    #expect(GuardStateMachine.isLegal(from: w.status, to: implied),
                            "clear (unseal \(unseal)) implies \(w.status) → \(implied)")
                    // and whatever the kernel then does, the settle is legal too
                    if implied == .clearing {
                        for settled in [GuardStatus.cleared, .applied, .clearDeferred, .failed] {
                            #expect(GuardStateMachine.isLegal(from: .clearing, to: settled))
                        }
                    }
                }
            }
        }
    }

    @Test(arguments: worlds)
    func applyImpliesALegalTransition(_ w: World) {
        for requested in RequestedKind.allCases { for lifetime in GuardLifetime.allCases {
            switch GuardDecisions.apply(requested: requested, lifetime: lifetime, facts: w.facts, existing: row(w)) {
            case .guardNew, .adoptImmutable:
                Issue.record("a new guard is planned although row #7 (\(w.status)) exists")
            case .retry:
                #expect(GuardStateMachine.isLegal(from: w.status, to: .applying), "retry from \(w.status)")
            case .withdrawClear:
                #expect(GuardStateMachine.isLegal(from: w.status, to: .applied), "withdraw from \(w.status)")
            case .alreadyApplied, .skipMounted, .postpone, .refuse, .unsupported: break
            }
        } }
    }
}
