import GuardHooks

/// JSON shape of a guard command's result.
struct OutcomeDocument: Encodable {
    var command: String
    var dryRun: Bool
    var exitCode: Int32
    var results: [OutcomeJSON]
}

/// JSON shape of one target's outcome.
struct OutcomeJSON: Encodable {
    var target: String
    var path: String?
    var outcome: String
    var kind: String?
    var lifetime: String?
    var guardId: Int64?
    var reason: String?

    init(_ o: TargetOutcome) {
        target = o.target; path = o.path; outcome = o.word; kind = o.kind?.rawValue
        lifetime = o.lifetime?.rawValue; guardId = o.guardID; reason = o.reason
    }
}

extension Render {
    /// Prints per-target outcomes (a JSON document or a table) and returns the batch's exit code.
    package static func report(_ command: String, _ outcomes: [TargetOutcome], dryRun: Bool, json: Bool,
                              fd: Int32 = 1) throws -> SysExitCode {
        let code = SysExitCode.forOutcomes(outcomes.map(\.outcome))
        if json {
            try Render.json(OutcomeDocument(command: command, dryRun: dryRun, exitCode: code.rawValue,
                                            results: outcomes.map(OutcomeJSON.init)), fd: fd)
        } else {
            Render.table(["OUTCOME", "PATH", "KIND", "GUARD", "REASON"], outcomes.map { o in
                [o.word, o.path ?? o.target, o.kind?.rawValue ?? "-", o.guardID.map { "#\($0)" } ?? "-", o.reason ?? ""]
            }, fd: fd)
        }
        return code
    }
}
