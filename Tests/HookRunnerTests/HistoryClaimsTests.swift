import Foundation
import GuardTestSupport
import Testing
import Glibc

/// `history` shows each guard's claims (added: who, which run; released: why) interleaved
/// by time with its transitions, in text and JSON.
extension HookRunnerTests.Claims {
    @Test(sandboxed) func historyInterleavesClaimEventsWithTransitions() throws {
        let w = try World("history-claims")
        defer { w.dir.cleanUp() }
        let nfs1 = try w.dir.mkdir("pve/nfs1")
        // Job A: its pre phase claims, its post phase releases. Job B: claims, then its session
        // ends without a post phase (stale). An operator's key claim, lifted by clear --force.
        let a = try Job("A", w.dir, env: w.env, steps: ["\(w.bin) run pre-backup \(nfs1)", "\(w.bin) run post-backup \(nfs1)"])
        #expect(try a.waitForStep(1) == 0, "\(a.log)")
        let b = try Job("B", w.dir, env: w.env, steps: ["\(w.bin) run pre-backup \(nfs1)", "exit 1"])
        #expect(try b.waitForStep(1) == 0, "\(b.log)")
        b.go(2)
        try b.waitUntilGone()
        expectStatus(try w.cli.run(["apply", "--claim", "nightly", nfs1]), 0)
        a.go(2)
        #expect(try a.waitForStep(2) == 0, "\(a.log)")
        expectStatus(try w.cli.run(["clear", "--force", nfs1]), 0)

        let (_, doc) = try w.cli.json(["history", nfs1])
        let timeline = try objects(doc, "timeline")
        let events = try objects(doc, "events")
        // Every transition is in the timeline, in its order; the claim events between them.
        #expect(timeline.filter { $0["type"] as? String == "transition" }.map { $0["id"] as? Int } == events.map { $0["id"] as? Int })
        #expect(events.last?["to_state"] as? String == "cleared", "\(events)")
        let ats = timeline.compactMap { $0["at"] as? String }
        #expect(ats.count == timeline.count && ats == ats.sorted(), "by time: \(ats)")
        let claimEvents = timeline.filter { ($0["type"] as? String)?.hasPrefix("claim-") == true }
        let who = { (e: [String: Any]) in ((e["claim"] as? [String: Any])?["kind"] as? String ?? "?") }
        #expect(claimEvents.map { "\($0["type"] as? String ?? "?") \(who($0))" } == [
            "claim-added session", "claim-added session", "claim-added key",
            "claim-released session", "claim-released session", "claim-released key",
        ], "\(claimEvents)")
        let sessionA = try a.session, sessionB = try b.session
        let claimOf = { (e: [String: Any]) in e["claim"] as? [String: Any] ?? [:] }
        #expect(claimOf(claimEvents[0])["session"] as? Int == Int(sessionA) && claimEvents[0]["run_id"] as? Int == 1)
        #expect(claimOf(claimEvents[1])["session"] as? Int == Int(sessionB) && claimEvents[1]["run_id"] as? Int == 2)
        #expect(claimOf(claimEvents[2])["key"] as? String == "nightly" && claimEvents[2]["run_id"] == nil)
        #expect((claimEvents[0]["actor"] as? String)?.hasPrefix("hook-runner apply") == true, "\(claimEvents[0])")
        // A's post-backup run (#3) releases B's claim as stale when it starts, then its hook's
        // clear releases A's own (the job's clear, before the run's end would).
        let releases = claimEvents.suffix(3).map { ($0["reason"] as? String ?? "?", claimOf($0)["session"] as? Int) }
        #expect(releases.contains { $0.0.hasPrefix("stale: session ") && $0.1 == Int(sessionB) }, "\(releases)")
        #expect(releases.contains { $0.0 == "released by its job" && $0.1 == Int(sessionA) }, "\(releases)")
        #expect(releases.last?.0 == "released by the operator (clear --force)", "\(releases)")
        #expect(claimEvents.suffix(3).dropLast().allSatisfy { $0["run_id"] as? Int == 3 }, "\(claimEvents)")
        // The force release comes before the guard's clear it allowed.
        let forceIndex = try #require(timeline.firstIndex { $0["reason"] as? String == "released by the operator (clear --force)" })
        #expect(timeline[(forceIndex + 1)...].contains { $0["to_state"] as? String == "cleared" })

        // Text: the same entries as rows of one table, claim rows saying who and why.
        let text = try w.cli.run(["history", nfs1])
        expectStatus(text, 0)
        // Cells (split at runs of two or more spaces) of each row: AT GUARD PATH FROM TO REASON RUN BY.
        func cells(_ output: String) -> [[String]] {
            output.split(separator: "\n").dropFirst().map { line in
                line.replacingOccurrences(of: " {2,}", with: "\u{1}", options: .regularExpression).split(separator: "\u{1}").map(String.init)
            }
        }
        let rows = cells(text.stdout)
        #expect(rows.count == timeline.count, "\(text.stdout)")
        let claimRows = rows.filter { $0.count == 8 && $0[3] == "-" && $0[4].hasPrefix("claim ") }.map { [$0[4], $0[5], $0[6], $0[7]] }
        #expect(claimRows.count == 6, "\(text.stdout)")
        #expect(claimRows.first == ["claim added", "session \(sessionA)", "#1", claimRows.first?[3] ?? ""], "\(text.stdout)")
        #expect(claimRows.first?[3].hasPrefix("hook-runner apply") == true, "\(text.stdout)")
        #expect(claimRows.contains(["claim released", "session \(sessionB): stale: session \(sessionB) ended", "#3", "-"]), "\(text.stdout)")
        #expect(claimRows.last == ["claim released", "key nightly: released by the operator (clear --force)", "-", "-"], "\(text.stdout)")
        // --limit keeps the newest entries of the merged timeline.
        let last3 = cells(try w.cli.run(["history", nfs1, "--limit", "3"]).stdout)
        #expect(last3 == Array(rows.suffix(3)), "\(last3)")
    }

    /// `exec`'s own run row covers COMMAND: it starts before COMMAND starts and finishes after
    /// it ends (it is written once COMMAND has ended, with the real start).
    @Test(sandboxed) func execRunCoversItsCommand() throws {
        let w = try World("exec-run-times")
        defer { w.dir.cleanUp() }
        let nfs1 = try w.dir.mkdir("pve/nfs1")
        let times = w.dir.sub("times")
        let r = try w.cli.run(["exec", nfs1, "--", "sh", "-c", "date +%s.%N > \(times); sleep 0.3; date +%s.%N >> \(times)"],
                              env: ["GUARD_HOOKS_DIR": w.hooks])
        expectStatus(r, 0)
        let marks = try String(contentsOfFile: times, encoding: .utf8).split(separator: "\n").compactMap { Double($0) }
        try #require(marks.count == 2)
        let run = try #require(try objects(try w.cli.json(["runs", "--phase", "exec"]).1, "runs").last)
        let started = try #require(epoch(run["started_at"])), finished = try #require(epoch(run["finished_at"]))
        #expect(started <= marks[0], "started_at \(started) after the command started \(marks[0])")
        #expect(finished >= marks[1], "finished_at \(finished) before the command ended \(marks[1])")
    }
}

/// Seconds since the epoch of an RFC 3339 UTC timestamp with milliseconds (`…T10:49:36.123Z`).
private func epoch(_ value: Any?) -> Double? {
    guard let s = value as? String else { return nil }
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return (f.date(from: s) ?? ISO8601DateFormatter().date(from: s))?.timeIntervalSince1970
}
