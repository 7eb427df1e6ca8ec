import CSQLite
import Foundation
import GuardStore
import GuardTestSupport
import Testing


/// Runs `guard-store-stress` once per argument list, all released at the same moment, and
/// returns their standard outputs (recording an issue for any child that failed).
func runTogether(dir: String, _ argumentLists: [[String]]) throws -> [String] {
    let children = try argumentLists.enumerated().map { index, arguments -> (Process, URL, URL) in
        let p = Process()
        p.executableURL = URL(fileURLWithPath: stressExecutable)
        p.arguments = arguments
        p.environment = ["GUARD_STORE_STRESS_GO": "\(dir)/go"].merging(sanitizerOptions) { given, _ in given }
        let out = URL(fileURLWithPath: "\(dir)/out\(index)"), err = URL(fileURLWithPath: "\(dir)/err\(index)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        return (p, out, err)
    }
    // Each child opens the store, then waits for the go file: they contend from the first step.
    for (p, _, _) in children { try p.run() }
    Thread.sleep(forTimeInterval: 0.2)
    _ = FileManager.default.createFile(atPath: "\(dir)/go", contents: nil)
    return children.map { p, out, err in
        p.waitUntilExit()
        let stderr = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        #expect(p.terminationStatus == 0, "child \(p.arguments ?? []) failed: \(stderr)")
        return (try? String(contentsOf: out, encoding: .utf8)) ?? ""
    }
}

@Suite("Concurrency and batching")
struct ConcurrencyTests {
    @Test("two processes writing one store: no error, no duplicate outstanding path, a consistent history")
    func twoProcesses() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/guards.db"
            try makeStore(dir).close()
            let paths = ["/mnt/a", "/mnt/b", "/mnt/c"]
            let perWorker = 500
            let outputs = try runTogether(dir: dir, [
                ["cycle", path, "0", "\(perWorker)"] + paths,
                ["cycle", path, "1", "\(perWorker)"] + paths,
            ])
            #expect(outputs == ["ok \(perWorker)\n", "ok \(perWorker)\n"])

            let store = try GuardStore.open(path: path, mode: .readOnly)
            defer { store.close() }
            let db = store.database
            #expect(try db.int64("SELECT count(*) FROM events") == Int64(2 * perWorker))
            #expect(try db.int64("""
                SELECT count(*) FROM (SELECT path FROM guards WHERE state <> 'cleared' GROUP BY path HAVING count(*) > 1)
                """) == 0)
            // The workers really overlapped: their events interleave, not one block after the other.
            let actors = try db.rows("SELECT actor FROM events ORDER BY id") { $0.text(0) }
            let switches = zip(actors, actors.dropFirst()).filter { $0 != $1 }.count
            #expect(switches >= 2, "the two writers never overlapped")
            // Every guard's events chain: each starts where the previous ended, each edge legal.
            for record in try store.allGuards() {
                let events = try store.history(guardID: record.id)
                var previous: GuardStatus? = nil
                for event in events {
                    #expect(event.from == previous, "guard \(record.id) event \(event.id)")
                    #expect(GuardStateMachine.isLegal(from: event.from, to: event.to))
                    previous = event.to
                }
                #expect(previous == record.status)
            }
        }
    }

    @Test("two processes racing to guard the same paths: each path recorded once, the loser told so")
    func twoProcessesRaceForPaths() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/guards.db"
            try makeStore(dir).close()
            let count = 200
            let outputs = try runTogether(dir: dir, [["race", path, "\(count)"], ["race", path, "\(count)"]])
            var recorded = 0, refused = 0
            for output in outputs {
                let words = output.split(whereSeparator: \.isWhitespace)
                #expect(words.count == 4 && words[0] == "recorded" && words[2] == "refused", "\(output)")
                guard words.count == 4, let r = Int(words[1]), let f = Int(words[3]) else { continue }
                recorded += r
                refused += f
            }
            #expect(recorded == count && refused == count)
            let store = try GuardStore.open(path: path, mode: .readOnly)
            defer { store.close() }
            #expect(try store.allGuards().count == count)
            #expect(Set(try store.outstandingGuards().map(\.path)).count == count)
        }
    }

    @Test("a writer that cannot get the lock within the busy timeout gets SQLITE_BUSY, not a hang")
    func busyTimeoutIsConfigurable() throws {
        try withTemporaryDirectory { dir in
            let holder = try makeStore(dir)
            defer { holder.close() }
            let waiter = try GuardStore.open(path: "\(dir)/guards.db", busyTimeout: .milliseconds(200))
            defer { waiter.close() }
            try holder.writeTransaction {
                let started = ContinuousClock.now
                let error = try #require(throws: DatabaseError.self) {
                    try waiter.recordIntents([intent("/mnt/a")], runID: nil, actor: testActor)
                }
                #expect(error.primaryCode == SQLITE_BUSY)
                #expect(ContinuousClock.now - started >= .milliseconds(150))
            }
            // once the lock is free the same call succeeds
            #expect(try waiter.recordIntents([intent("/mnt/a")], runID: nil, actor: testActor).count == 1)
        }
    }

    @Test("a batch of intents and a batch of transitions are one transaction each")
    func batchesAreOneTransaction() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            let db = store.database
            let commits = db.commitCount, changes = db.totalChanges
            let recorded = try store.recordIntents((0..<50).map { intent("/mnt/t\($0)") }, runID: nil, actor: testActor)
            #expect(db.commitCount == commits + 1)
            #expect(db.totalChanges == changes + 100)  // 50 rows + 50 events
            try store.settle(recorded.map { GuardTransition(guardID: $0.id, to: .applied) }, runID: nil, actor: testActor)
            #expect(db.commitCount == commits + 2)
            #expect(try store.guards(state: .applied).count == 50)
            // and a failing batch commits nothing
            #expect(throws: StoreError.self) {
                try store.settle(recorded.map { GuardTransition(guardID: $0.id, to: .applying) }, runID: nil, actor: testActor)
            }
            #expect(db.commitCount == commits + 2)
        }
    }

    @Test("store calls inside writeTransaction join it; an error rolls back all of them")
    func nestedTransaction() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            expectAnErrorRollsBackTheWholeTransaction(store, nestedSavepoints: true)
            // an inner failure caught inside keeps the outer work
            try store.writeTransaction {
                try store.recordIntents([intent("/mnt/a")], runID: nil, actor: testActor)
                #expect(throws: StoreError.duplicateOutstanding(path: "/mnt/a")) {
                    try store.recordIntents([intent("/mnt/b"), intent("/mnt/a")], runID: nil, actor: testActor)
                }
            }
            #expect(try store.allGuards().map(\.path) == ["/mnt/a"])
            #expect(store.database.commitCount == 1)
        }
    }
}
