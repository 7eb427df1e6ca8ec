import GuardStore
import SystemPackage

/// Adopts the immutable guards another tool made (ProxSave's restore-time `chattr +i`
/// fallback, recorded one absolute path per line in `/var/lib/proxsave/guards/chattr-targets`)
/// into our store, so `guards`, `history`, `doctor` and `clear` know them.
///
/// Every line is checked like our own input (normalised, resolved, below an allowed root,
/// opened without following symlinks); only a directory that is offline and still carries
/// the flag is adopted, through the guard pipeline with a step that records the flag and
/// touches nothing (`importStep`): an import can never set a flag or make a bind mount.
package enum ProxsaveImport {
    package static let defaultIndexPath = "/var/lib/proxsave/guards/chattr-targets"
    package static let label = "imported"
    /// The index is a short list; a huge file is not an index.
    package static let maxIndexBytes = 1 << 20

    /// One line of the index: its number (from 1) and its text, or why it is not text.
    package struct Line: Sendable, Hashable {
        package var number: Int
        package var text: String
        package var invalidUTF8: Bool
    }

    /// Splits the index at `\n` (a final newline ends the last line; a `\r` stays in the line
    /// and is refused as a control character). Empty lines are dropped: they name nothing.
    package static func lines(_ bytes: [UInt8]) -> [Line] {
        var out: [Line] = []
        var number = 0
        for slice in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            if slice.isEmpty { continue }
            let text = String(validating: slice, as: UTF8.self)
            out.append(Line(number: number, text: text ?? String(decoding: slice, as: UTF8.self), invalidUTF8: text == nil))
        }
        return out
    }

    /// What became of one line.
    package enum Verdict: String, Sendable, Hashable, Codable {
        /// Recorded as an `applied` immutable guard labelled `imported` (or would be, dry run).
        case adopted
        /// Already recorded by us: nothing to do.
        case alreadyRecorded = "already-recorded"
        /// Valid, but not adopted: the flag is gone, or storage is mounted over it.
        case skipped
        /// Invalid: not an absolute path, a control character, outside the roots, a duplicate…
        case refused
        /// The engine tried and failed (store or kernel error for this line).
        case failed
    }

    package struct LineResult: Sendable, Hashable, Codable {
        package var line: Int
        package var text: String
        /// The canonical path, once resolved.
        package var path: String?
        package var verdict: Verdict
        package var reason: String
        package var guardID: GuardID?

        package init(line: Int, text: String, path: String? = nil, verdict: Verdict, reason: String, guardID: GuardID? = nil) {
            self.line = line; self.text = text; self.path = path; self.verdict = verdict; self.reason = reason
            self.guardID = guardID
        }
    }

    /// The pure half: refuses lines that are invalid as typed, and repeated paths.
    /// Returns the refusals and the lines left for the kernel, with their normalised paths.
    package static func validate(_ lines: [Line]) -> (refused: [LineResult], candidates: [(Line, String)]) {
        var refused: [LineResult] = []
        var candidates: [(Line, String)] = []
        var firstLine: [PathKey: Int] = [:]  // by bytes: canonically equal names are other directories
        for line in lines {
            if line.invalidUTF8 {
                refused.append(LineResult(line: line.number, text: line.text, verdict: .refused, reason: PathRefusal.invalidUTF8.description))
                continue
            }
            switch PathPolicy.normalize(line.text) {
            case .failure(let why):
                refused.append(LineResult(line: line.number, text: line.text, verdict: .refused, reason: why.description))
            case .success(let normal):
                if let first = firstLine[PathKey(normal)] {
                    refused.append(LineResult(line: line.number, text: line.text, path: normal, verdict: .refused,
                                              reason: "duplicate of line \(first)"))
                } else {
                    firstLine[PathKey(normal)] = line.number
                    candidates.append((line, normal))
                }
            }
        }
        return (refused, candidates)
    }
}

extension GuardEngine {
    /// Imports the index lines through the guard pipeline: each line is prepared like any
    /// target (resolution, roots, an fd opened without symlinks), and only a directory that is
    /// offline and carries the flag on that fd is adopted — recorded `applied`, labelled
    /// `imported`. The import's steps hold no action but `adoptFlag`, so an import can never
    /// set a flag or make a bind mount. Results are in line order.
    package func importImmutableIndex(_ lines: [ProxsaveImport.Line], lifetime: GuardLifetime = .transient,
                                     dryRun: Bool = false) throws -> [ProxsaveImport.LineResult] {
        try operation { try importLines(lines, lifetime: lifetime, dryRun: dryRun) }
    }

    private func importLines(_ lines: [ProxsaveImport.Line], lifetime: GuardLifetime,
                             dryRun: Bool) throws -> [ProxsaveImport.LineResult] {
        typealias R = ProxsaveImport.LineResult
        let (refused, candidates) = ProxsaveImport.validate(lines)
        var results = refused
        var batchLines: [ProxsaveImport.Line] = []
        askAhead(candidates.map(\.1))  // before the writers' lock: the only wait on a storage
        let outcomes: [TargetOutcome] = try mappingStoreErrors {
            let session = try openSession(forWriting: !dryRun)
            defer { session.lock?.release() }
            let here = Surroundings(bootID: try bootID(), namespace: kernel.mountNamespace())
            var batch = GuardBatch(engine: self, store: session.store, here: here, capacity: candidates.count, dryRun: dryRun)
            var seenResolved: [PathKey: Int] = [:]
            try gathering(session.store) {
                for (line, normal) in candidates {
                    func result(_ verdict: ProxsaveImport.Verdict, _ reason: String, _ path: String?) {
                        results.append(R(line: line.number, text: line.text, path: path ?? normal, verdict: verdict, reason: reason))
                    }
                    switch try prepare(normal) {
                    case .refused(let path, .missing): result(.skipped, "does not exist", path)
                    case .refused(let path, .cannotStat(let e)): result(.failed, "cannot stat: \(e)", path)
                    case .refused(let path, .unreachable(let why)): result(.skipped, why, path)
                    case .refused(let path, let why): result(.refused, why.description, path)
                    case .wouldCreate: break
                    case .ready(let p):
                        if let first = seenResolved[PathKey(p.path)] {
                            discard(p)
                            result(.refused, "same directory as line \(first)", p.path)
                            continue
                        }
                        seenResolved[PathKey(p.path)] = line.number
                        try batch.add(normal, p)
                        batchLines.append(line)
                    }
                }
            }
            return try batch.run { importStep($0, lifetime: lifetime, here: here) }
        }
        for (line, o) in zip(batchLines, outcomes) {
            results.append(R(line: line.number, text: line.text, path: o.path, verdict: ProxsaveImport.verdict(o.outcome),
                             reason: ProxsaveImport.reason(o, dryRun: dryRun), guardID: o.guardID))
        }
        return results.sorted { $0.line < $1.line }
    }

    /// The import's half of the pipeline: adopt a flagged offline directory, nothing else.
    func importStep(_ item: BatchItem, lifetime: GuardLifetime, here: Surroundings) -> BatchStep {
        guard let facts = item.facts else { return .report(.failed, "cannot probe the target") }
        switch facts.mountState {
        case .mounted:
            return .report(.skippedMounted, "storage is mounted: a flag would be on the directory underneath; import again once it is unmounted")
        case .unknown: return .report(.skippedMounted, "mount state unknown: refusing to guess")
        case .notMounted: break
        }
        switch (facts.immutableSupported, facts.immutable) {
        case (false, _): return .report(.skippedMounted, "the filesystem does not support the immutable flag")
        case (_, nil): return .report(.skippedMounted, "cannot read the inode flags")
        case (_, false?): return .report(.skippedMounted, "not immutable any more: nothing to adopt")
        case (_, true?): break
        }
        let step = applyStep(item, requested: .immutable, lifetime: lifetime, label: ProxsaveImport.label, here: here)
        switch step.action {
        case nil, .adoptFlag?: return step
        default:
            return .report(.failed, "import only adopts: guard #\(item.row?.id ?? 0) is \(item.row?.status.description ?? "-")")
        }
    }
}

extension ProxsaveImport {
    static func verdict(_ outcome: Outcome) -> Verdict {
        switch outcome {
        case .applied: return .adopted
        case .alreadyApplied: return .alreadyRecorded
        case .refused: return .refused
        case .skippedMounted, .wrongStorage, .deferred, .cleared, .alreadyClear, .held, .unreachable: return .skipped
        case .failed, .unsupported: return .failed
        }
    }

    static func reason(_ o: TargetOutcome, dryRun: Bool) -> String {
        var reason = o.reason ?? ""
        switch o.outcome {
        case .applied where dryRun: reason = "would adopt the immutable flag"
        case .alreadyApplied:
            reason = "already recorded" + (o.guardID.map { " as guard #\($0)" } ?? "") + (reason.isEmpty ? "" : ": \(reason)")
        default: break
        }
        return reason.isEmpty ? o.outcome.rawValue : reason
    }
}
