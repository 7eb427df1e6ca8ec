import GuardHooks
import GuardRender
import Testing

/// The words the command line prints per target and the exit code of a batch.
@Suite struct OutcomeTests {
    /// Every outcome: its word in a real run and in a dry run.
    static let wordTable: [(Outcome, String, String)] = [
        (.applied, "applied", "would-apply"),
        (.alreadyApplied, "already-applied", "already-applied"),
        (.skippedMounted, "skipped-mounted", "skipped-mounted"),
        (.deferred, "deferred", "would-defer"),
        (.cleared, "cleared", "would-clear"),
        (.alreadyClear, "already-clear", "already-clear"),
        (.refused, "refused", "refused"),
        (.unsupported, "unsupported", "unsupported"),
        (.failed, "failed", "would-fail"),
        (.held, "held", "held"),
        (.wrongStorage, "wrong-storage", "wrong-storage"),
        (.unreachable, "unreachable", "unreachable"),
    ]

    @Test func everyOutcomeHasAWordRow() {
        #expect(Set(Self.wordTable.map(\.0)) == Set(Outcome.allCases))
    }

    @Test(arguments: wordTable)
    func wordsOfAnOutcome(_ outcome: Outcome, _ word: String, _ dryRunWord: String) {
        #expect(outcome.dryRunWord == dryRunWord)
        #expect(TargetOutcome(target: "/mnt/a", outcome: outcome).word == word)
        #expect(TargetOutcome(target: "/mnt/a", outcome: outcome, dryRun: true).word == dryRunWord)
    }

    /// A failure outranks a refusal, which outranks a deferral; anything else is ok.
    static let batchTable: [([Outcome], SysExitCode)] = [
        ([], .ok),
        ([.applied, .alreadyApplied, .skippedMounted, .cleared, .alreadyClear], .ok),
        ([.held, .cleared], .ok),  // held by another job: the caller's desired state
        ([.deferred], .tryAgainLater),
        ([.unreachable], .tryAgainLater),  // a storage that did not answer: try later
        ([.applied, .unreachable, .deferred], .tryAgainLater),
        ([.unreachable, .refused], .badTarget),
        ([.unreachable, .failed], .actionFailed),
        ([.applied, .deferred], .tryAgainLater),
        ([.refused], .badTarget),
        ([.deferred, .refused], .badTarget),
        ([.refused, .deferred], .badTarget),
        ([.failed], .actionFailed),
        ([.unsupported], .actionFailed),
        ([.refused, .failed], .actionFailed),
        ([.deferred, .unsupported, .refused], .actionFailed),
        ([.applied, .failed, .cleared], .actionFailed),
        ([.wrongStorage], .actionFailed),  // neither guarded nor online
        ([.skippedMounted, .refused, .wrongStorage, .deferred], .actionFailed),
    ]

    @Test(arguments: batchTable)
    func batchExitCode(_ outcomes: [Outcome], _ expected: SysExitCode) {
        #expect(SysExitCode.forOutcomes(outcomes) == expected)
    }

    /// The numbers are the documented contract (sysexits.h).
    @Test(arguments: [
        (SysExitCode.ok, 0), (.actionFailed, 1), (.usage, 64), (.badTarget, 65), (.internalError, 70),
        (.tryAgainLater, 75), (.notPermitted, 77),
    ] as [(SysExitCode, Int32)])
    func exitCodeNumbers(_ code: SysExitCode, _ number: Int32) {
        #expect(code.rawValue == number)
    }

    static func line(_ verdict: ProxsaveImport.Verdict) -> ProxsaveImport.LineResult {
        ProxsaveImport.LineResult(line: 1, text: "/mnt/a", verdict: verdict, reason: "")
    }

    /// An import: a failed line outranks a refused one; skipped lines are information.
    @Test(arguments: [
        ([], .ok), ([.adopted, .alreadyRecorded, .skipped], .ok), ([.skipped, .refused], .badTarget),
        ([.refused, .failed], .actionFailed), ([.failed, .adopted], .actionFailed),
    ] as [([ProxsaveImport.Verdict], SysExitCode)])
    func importExitCode(_ verdicts: [ProxsaveImport.Verdict], _ expected: SysExitCode) {
        #expect(SysExitCode.forImport(verdicts.map(Self.line)) == expected)
    }

    static let outcomes = [
        TargetOutcome(target: "/mnt/a", path: "/mnt/a", outcome: .applied, kind: .bind, lifetime: .transient, guardID: 3),
        TargetOutcome(target: "/mnt/b\nc", outcome: .refused, reason: "does not exist (use --create to make it)"),
    ]

    @Test func aBatchReportRendersAsATable() throws {
        var code = SysExitCode.ok
        let text = try captured { fd in code = try Render.report("apply", Self.outcomes, dryRun: false, json: false, fd: fd) }
        #expect(code == .badTarget)
        #expect(text == """
            OUTCOME  PATH       KIND  GUARD  REASON
            applied  /mnt/a     bind  #3
            refused  /mnt/b\\nc  -     -      does not exist (use --create to make it)

            """)
    }

    @Test func aBatchReportRendersAsJSON() throws {
        var code = SysExitCode.ok
        let dry = Self.outcomes.map { o in var o = o; o.dryRun = true; return o }
        let text = try captured { fd in code = try Render.report("apply", dry, dryRun: true, json: true, fd: fd) }
        #expect(code == .badTarget)
        #expect(text == #"{"command":"apply","dry_run":true,"exit_code":65,"results":["#
            + #"{"guard_id":3,"kind":"bind","lifetime":"transient","outcome":"would-apply","path":"/mnt/a","target":"/mnt/a"},"#
            + #"{"outcome":"refused","reason":"does not exist (use --create to make it)","target":"/mnt/b\nc"}]}"# + "\n")
    }
}
