import FoundationEssentials
import GuardHooks
@testable import GuardStore
import Testing

// The claim rules as tables: liveness from what /proc showed, which claims a clear releases,
// the job handed to hooks in GUARD_HOOKS_JOB, and the /proc/PID/stat fields they rest on.

private let boot = "boot-a"
/// A job's session: leader pid 500, started at tick 1000.
private let sessionHolder = ClaimHolder(kind: .session, sid: 500, sidStart: 1000, bootID: boot)
/// A session whose leader had already exited when the claim was made.
private let leaderlessSession = ClaimHolder(kind: .session, sid: 500, sidStart: nil, bootID: boot)
/// `exec`: process 600 (tick 2000) in session 500.
private let processHolder = ClaimHolder(kind: .process, pid: 600, pidStart: 2000, sid: 500, sidStart: 1000, bootID: boot)
/// A process whose session was not recorded.
private let lonelyProcess = ClaimHolder(kind: .process, pid: 600, pidStart: 2000, bootID: boot)
private let keyHolder = ClaimHolder(kind: .key, bootID: boot, key: "nightly")

private let sessionEnded = ClaimLiveness.gone("session 500 ended")
private let leaderReused = ClaimLiveness.gone("session 500 ended (its leader's pid now belongs to another process)")
private let processExited = ClaimLiveness.gone("process 600 exited")

@Suite struct ClaimLivenessTable {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var holder: ClaimHolder
        var currentBoot: String? = boot
        var facts = HolderFacts()
        var expected: ClaimLiveness
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        // Boot
        Case(name: "session of an earlier boot", holder: sessionHolder, currentBoot: "boot-b",
             facts: HolderFacts(sessionLeader: .running(startTime: 1000)), expected: .gone("its holder ran in an earlier boot")),
        Case(name: "process of an earlier boot", holder: processHolder, currentBoot: "boot-b",
             facts: HolderFacts(process: .running(startTime: 2000)), expected: .gone("its holder ran in an earlier boot")),
        Case(name: "key of an earlier boot", holder: keyHolder, currentBoot: "boot-b",
             expected: .gone("its holder ran in an earlier boot")),
        Case(name: "boot id unreadable", holder: sessionHolder, currentBoot: nil,
             facts: HolderFacts(sessionLeader: .absent, sessionHasMembers: false), expected: .unknown("cannot read the boot id")),
        // Key
        Case(name: "explicit key", holder: keyHolder,
             expected: .unknown("an explicit key: whether its job still runs cannot be told")),
        // Process
        Case(name: "process alive", holder: processHolder,
             facts: HolderFacts(process: .running(startTime: 2000), sessionLeader: .absent, sessionHasMembers: false),
             expected: .alive),
        Case(name: "process alive, no session recorded", holder: lonelyProcess,
             facts: HolderFacts(process: .running(startTime: 2000)), expected: .alive),
        Case(name: "process absent, no session recorded", holder: lonelyProcess,
             facts: HolderFacts(process: .absent), expected: processExited),
        Case(name: "process pid reused, no session recorded", holder: lonelyProcess,
             facts: HolderFacts(process: .running(startTime: 2001)), expected: processExited),
        Case(name: "process unreadable, no session recorded", holder: lonelyProcess,
             facts: HolderFacts(process: .unreadable), expected: .unknown("cannot read /proc for process 600")),
        Case(name: "process not looked up", holder: lonelyProcess,
             expected: .unknown("cannot read /proc for process 600")),
        Case(name: "process unreadable, session alive", holder: processHolder,
             facts: HolderFacts(process: .unreadable, sessionLeader: .running(startTime: 1000)),
             expected: .unknown("cannot read /proc for process 600")),
        Case(name: "process absent, its session's leader runs", holder: processHolder,
             facts: HolderFacts(process: .absent, sessionLeader: .running(startTime: 1000)), expected: .alive),
        Case(name: "process absent, leader gone, session has members", holder: processHolder,
             facts: HolderFacts(process: .absent, sessionLeader: .absent, sessionHasMembers: true), expected: .alive),
        Case(name: "process absent, session empty", holder: processHolder,
             facts: HolderFacts(process: .absent, sessionLeader: .absent, sessionHasMembers: false),
             expected: .gone("process 600 exited and session 500 ended")),
        Case(name: "process absent, leader pid reused", holder: processHolder,
             facts: HolderFacts(process: .absent, sessionLeader: .running(startTime: 1001)),
             expected: .gone("process 600 exited and session 500 ended (its leader's pid now belongs to another process)")),
        Case(name: "process pid reused, session empty", holder: processHolder,
             facts: HolderFacts(process: .running(startTime: 2001), sessionLeader: .absent, sessionHasMembers: false),
             expected: .gone("process 600 exited and session 500 ended")),
        Case(name: "process absent, session members unknown", holder: processHolder,
             facts: HolderFacts(process: .absent, sessionLeader: .absent, sessionHasMembers: nil),
             expected: .unknown("cannot scan /proc for members of session 500")),
        Case(name: "process absent, session leader unreadable", holder: processHolder,
             facts: HolderFacts(process: .absent, sessionLeader: .unreadable),
             expected: .unknown("cannot read /proc for session 500")),
        // Session
        Case(name: "session leader runs, same start", holder: sessionHolder,
             facts: HolderFacts(sessionLeader: .running(startTime: 1000)), expected: .alive),
        Case(name: "session leader pid runs with another start", holder: sessionHolder,
             facts: HolderFacts(sessionLeader: .running(startTime: 1500)), expected: leaderReused),
        Case(name: "session leader unreadable", holder: sessionHolder,
             facts: HolderFacts(sessionLeader: .unreadable), expected: .unknown("cannot read /proc for session 500")),
        Case(name: "session not looked up", holder: sessionHolder,
             expected: .unknown("cannot read /proc for session 500")),
        // A session whose leader was gone at claim time: any process with that pid is another one.
        Case(name: "leaderless session, pid runs", holder: leaderlessSession,
             facts: HolderFacts(sessionLeader: .running(startTime: 1000)), expected: leaderReused),
    ] + leaderGone(sessionHolder, "session") + leaderGone(leaderlessSession, "leaderless session")

    /// Once the leader is gone, a session lives while any process is left in it.
    static func leaderGone(_ holder: ClaimHolder, _ name: String) -> [Case] {
        let rows: [(members: Bool?, expected: ClaimLiveness, what: String)] = [
            (true, .alive, "members left"), (false, sessionEnded, "no members"),
            (nil, .unknown("cannot scan /proc for members of session 500"), "members unknown"),
        ]
        return rows.map { members, expected, what in
            Case(name: "\(name), leader absent, \(what)", holder: holder,
                 facts: HolderFacts(sessionLeader: .absent, sessionHasMembers: members), expected: expected)
        }
    }

    @Test(arguments: cases)
    func liveness(_ c: Case) {
        #expect(ClaimDecisions.liveness(c.holder, currentBoot: c.currentBoot, facts: c.facts) == c.expected)
    }

    @Test func everyKindIsCovered() {
        #expect(Set(Self.cases.map(\.holder.kind)) == Set(ClaimHolder.Kind.allCases))
    }
}

@Suite struct ClaimReleaseTable {
    private static func claim(_ id: Int64, _ holder: ClaimHolder) -> ClaimRecord {
        ClaimRecord(id: id, guardID: 7, holder: holder, runID: 3, claimedAt: Date(timeIntervalSince1970: 1_700_000_000),
                    actor: "t")
    }
    private static let otherSession = ClaimHolder(kind: .session, sid: 700, sidStart: 3000, bootID: boot)

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var liveness: ClaimLiveness
        var claimant: ClaimHolder?
        var force = false
        /// The release reason of the other job's claim, nil when it stays a holder.
        var expected: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "alive stays", liveness: .alive, claimant: sessionHolder, expected: nil),
        Case(name: "unknown stays", liveness: .unknown("cannot read /proc for session 700"), claimant: sessionHolder, expected: nil),
        Case(name: "stale is released", liveness: .gone("session 700 ended"), claimant: sessionHolder,
             expected: "stale: session 700 ended"),
        Case(name: "stale is released without a claimant", liveness: .gone("session 700 ended"), claimant: nil,
             expected: "stale: session 700 ended"),
        Case(name: "alive stays without a claimant", liveness: .alive, claimant: nil, expected: nil),
        Case(name: "force releases an alive claim", liveness: .alive, claimant: nil, force: true,
             expected: "released by the operator (clear --force)"),
        Case(name: "force releases an unknown claim", liveness: .unknown("x"), claimant: sessionHolder, force: true,
             expected: "released by the operator (clear --force)"),
        Case(name: "own claim, whatever its liveness", liveness: .unknown("an explicit key"), claimant: otherSession,
             expected: "released by its job"),
    ]

    /// The other job's claim (session 700) beside the caller's session's own claim (session 500).
    @Test(arguments: cases)
    func release(_ c: Case) {
        let own = Self.claim(1, sessionHolder), other = Self.claim(2, Self.otherSession)
        let ownLiveness: ClaimLiveness = .alive
        let (releases, holders) = ClaimDecisions.release([own, other], liveness: [ownLiveness, c.liveness],
                                                        claimant: c.claimant, force: c.force)
        let ownReleased = c.force ? "released by the operator (clear --force)"
            : c.claimant == sessionHolder ? "released by its job" : nil
        var expectedReleases: [ClaimRelease] = []
        if let ownReleased { expectedReleases.append(ClaimRelease(claimID: 1, reason: ownReleased)) }
        if let reason = c.expected { expectedReleases.append(ClaimRelease(claimID: 2, reason: reason)) }
        #expect(releases == expectedReleases)
        let expectedHolders = (ownReleased == nil ? [own] : []) + (c.expected == nil ? [other] : [])
        #expect(holders == expectedHolders)
    }

    @Test func ownClaimIsMatchedByIdentityNotDescription() {
        var described = sessionHolder
        described.description = "cron"
        let (releases, holders) = ClaimDecisions.release([Self.claim(1, described)], liveness: [.alive],
                                                        claimant: sessionHolder, force: false)
        #expect(releases == [ClaimRelease(claimID: 1, reason: "released by its job")])
        #expect(holders.isEmpty)
    }

    @Test func heldReasonNamesEveryHolderAndItsRun() {
        var cron = Self.otherSession
        cron.description = "cron"
        let reason = ClaimDecisions.heldReason([Self.claim(1, cron), Self.claim(2, keyHolder)])
        #expect(reason == "held by session 700 (cron) of run #3, key nightly of run #3 (clear --force overrides)")
    }
}

@Suite struct JobEnvironmentValue {
    static let holders: [ClaimHolder] = [
        sessionHolder,
        leaderlessSession,
        processHolder,
        ClaimHolder(kind: .process, pid: 600, pidStart: 2000, sid: 500, sidStart: 1000, bootID: boot,
                    token: "0b3a2c5e-8f0d-4c55-9d0e-7c1b2a3d4e5f"),
        ClaimHolder(kind: .process, pid: Int32.max, pidStart: UInt64.max, sid: 1, sidStart: 0, bootID: boot),
        ClaimHolder(kind: .key, bootID: boot, key: "nightly", description: "nightly"),
        // The key is the last field: it may hold the separator.
        ClaimHolder(kind: .key, bootID: boot, key: "a|b||c", description: "a|b||c"),
    ]

    @Test(arguments: holders)
    func roundTrip(_ holder: ClaimHolder) throws {
        let parsed = try #require(ClaimHolder(environmentValue: holder.environmentValue))
        #expect(parsed == holder)
        #expect(parsed.canonicalKey == holder.canonicalKey)
    }

    @Test(arguments: [
        "",
        "v1",
        "v2|session|||500|1000|boot-a||",
        "v1|group|||500|1000|boot-a||",
        "v1|session|||500|1000|boot-a|",            // a field short
        "v1|session|||500|1000|||",                 // no boot id
        "v1|session||||1000|boot-a||",              // a session without its id
        "v1|process|600|2000|||boot-a||",           // a process without its session
        "v1|key|||||boot-a||",                      // a key without the key
        "v1|session|||x|1000|boot-a||",             // not a number
        "v1|session|||500|-1|boot-a||",             // a start time is never negative
        "v1|process|99999999999|2000|500|1000|boot-a||",  // pid beyond Int32
        "v1|session||| 500|1000|boot-a||",          // no spaces around numbers
    ])
    func malformed(_ value: String) {
        #expect(ClaimHolder(environmentValue: value) == nil)
    }
}

@Suite struct ProcStatParsing {
    /// /proc/PID/stat fields 1-22 and a few more, with `comm` (field 2) as given.
    static func line(comm: String, state: String = "S", start: String = "987654") -> String {
        "4242 (\(comm)) \(state) 17 4242 4243 0 -1 4194560 120 0 0 0 5 3 0 0 20 0 1 0 \(start) 8388608 350 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
    }

    @Test(arguments: ["sh", "my job", "a) S 1 2 3 (b", ")", "(x)", "x (1) y) Z 9"])
    func commandNameWithSpacesAndParentheses(_ comm: String) throws {
        let stat = try #require(ProcStat(Array(Self.line(comm: comm).utf8)))
        #expect(stat.state == "S")
        #expect(stat.ppid == 17)
        #expect(stat.session == 4243)
        #expect(stat.startTime == 987654)
        #expect(!stat.hasExited)
    }

    @Test(arguments: [("Z", true), ("X", true), ("R", false), ("D", false), ("t", false)])
    func exitedStates(_ state: String, _ exited: Bool) throws {
        #expect(try #require(ProcStat(Array(Self.line(comm: "a b", state: state).utf8))).hasExited == exited)
    }

    @Test(arguments: [
        "",
        "4242 no parentheses S 17 4242 4243",
        "4242 (sh) S 17 4242 4243 0 -1 4194560",   // cut before field 22
        line(comm: "sh", start: "-5"),
        line(comm: "sh", start: "later"),
    ])
    func malformed(_ text: String) {
        #expect(ProcStat(Array(text.utf8)) == nil)
    }
}
