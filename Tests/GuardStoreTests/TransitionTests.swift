import Foundation
import GuardStore
import Testing

/// The well-formed statuses a row can be in.
let allStatuses: [GuardStatus] = [.applying, .clearing, .clearDeferred, .applied, .failed, .cleared]

/// Every (from, to) pair, plus two ill-formed targets that no table can allow.
let allPairs: [(GuardStatus, GuardStatus)] =
    allStatuses.flatMap { from in
        (allStatuses + [GuardStatus(.applied, .clearing), GuardStatus(.pending)]).map { (from, $0) }
    }

@Suite("State machine")
struct TransitionTests {
    @Test("every pair of statuses: legal ones change the row and log an event, illegal ones write nothing",
          arguments: allPairs)
    func transition(from: GuardStatus, to: GuardStatus) throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            let run = try store.beginRun(phase: "test", targets: ["/mnt/a"], dryRun: false, actor: testActor)
            let id = try makeGuard(store, path: "/mnt/a", at: from)
            let before = try snapshot(store.database)
            let commits = store.database.commitCount
            let files = try directoryBytes(dir)
            let transition = GuardTransition(guardID: id, to: to, reason: "because \(from)→\(to)")
            let actor = Actor("transition test")

            if GuardStateMachine.isLegal(from: from, to: to) {
                let after = try store.settle([transition], runID: run, actor: actor)
                #expect(after.map(\.status) == [to])
                #expect(try store.guardRecord(id: id)?.status == to)
                #expect(try store.guardRecord(id: id)?.reason == "because \(from)→\(to)")
                let events = try store.history(guardID: id)
                #expect(events.count == stepsTo(from).count + 2)
                let last = try #require(events.last)
                #expect(last.from == from)
                #expect(last.to == to)
                #expect(last.reason == "because \(from)→\(to)")
                #expect(last.actor == "transition test")
                #expect(last.runID == run)
                #expect(last.path == "/mnt/a")
                #expect(store.database.commitCount == commits + 1)
            } else {
                #expect(throws: StoreError.illegalTransition(guardID: id, from: from, to: to)) {
                    try store.settle([transition], runID: run, actor: actor)
                }
                #expect(try snapshot(store.database) == before)
                #expect(try directoryBytes(dir) == files)
                #expect(store.database.commitCount == commits)
            }
        }
    }

    @Test("every row a write returns is the row as stored (returned rows are computed, not read back)")
    func returnedRowsMatchTheStore() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            let run = try store.beginRun(phase: "test", targets: [], dryRun: false, actor: testActor)
            func expectStored(_ rows: [GuardRecord], sourceLocation: SourceLocation = #_sourceLocation) throws {
                #expect(!rows.isEmpty, sourceLocation: sourceLocation)
                for row in rows {
                    #expect(try store.guardRecord(id: row.id) == row, sourceLocation: sourceLocation)
                }
            }
            var noLabel = intent("/mnt/b", kind: .immutable, reason: nil)
            noLabel.label = nil; noLabel.device = nil; noLabel.inode = nil; noLabel.mountNamespace = nil
            let recorded = try store.recordIntents([intent("/mnt/a"), noLabel], runID: run, actor: testActor)
            try expectStored(recorded.map(\.record))
            let (a, b) = (recorded[0].id, recorded[1].id)
            // Facts given replace, facts not given are kept.
            try expectStored(store.settle([
                GuardTransition(guardID: a, to: .applied, reason: "bound", mountID: 77, mountIDIsUnique: true),
                GuardTransition(guardID: b, to: .failed, reason: nil, kind: .bind, device: 9, inode: 10),
            ], runID: run, actor: testActor))
            try expectStored(store.settle([GuardTransition(guardID: a, to: .clearDeferred)], runID: nil, actor: testActor))
            try expectStored(store.settle([GuardTransition(guardID: a, to: .applied, reason: "kept")], runID: run, actor: testActor))
            // A retry of the failed row: new facts, the old label kept when none is given, mount id dropped.
            var retry = intent("/mnt/b", kind: .immutable, reason: "again")
            retry.label = nil
            let retried = try store.recordIntents([retry], runID: nil, actor: testActor)
            #expect(retried[0].isRetry)
            try expectStored(retried.map(\.record))
            var relabel = intent("/mnt/b", kind: .bind)
            relabel.label = "new label"
            try expectStored(store.settle([GuardTransition(guardID: b, to: .failed, reason: "x", mountID: 5,
                                                           mountIDIsUnique: false)], runID: run, actor: testActor))
            try expectStored(store.recordIntents([relabel], runID: run, actor: testActor).map(\.record))
            try expectStored(store.settle([GuardTransition(guardID: b, to: .failed)], runID: run, actor: testActor))
            let kept = try store.recordIntents([retry], runID: run, actor: testActor)
            #expect(kept[0].label == "new label")
            try expectStored(kept.map(\.record))
            try expectStored(store.settle([GuardTransition(guardID: a, to: .cleared, reason: "done"),
                                           GuardTransition(guardID: b, to: .cleared)], runID: run, actor: testActor))
        }
    }

    @Test("settle without rows: same writes, same refusals, nothing returned")
    func settleWithoutRows() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            let id = try makeGuard(store, path: "/mnt/a", at: .applied)
            let rows = try store.settle([GuardTransition(guardID: id, to: .clearing, reason: "r", mountID: 9, mountIDIsUnique: true)],
                                        runID: nil, actor: testActor, returningRows: false)
            #expect(rows.isEmpty)
            let stored = try #require(try store.guardRecord(id: id))
            #expect(stored.status == .clearing && stored.reason == "r" && stored.mountID == 9 && stored.mountIDIsUnique)
            #expect(try store.history(guardID: id).last?.from == .applied)
            let before = try snapshot(store.database)
            #expect(throws: StoreError.illegalTransition(guardID: id, from: .clearing, to: .applying)) {
                try store.settle([GuardTransition(guardID: id, to: .applying)], runID: nil, actor: testActor, returningRows: false)
            }
            #expect(throws: StoreError.unknownGuard(id: 999)) {
                try store.settle([GuardTransition(guardID: 999, to: .cleared)], runID: nil, actor: testActor, returningRows: false)
            }
            #expect(try snapshot(store.database) == before)
        }
    }

    @Test("the pairs above exercise every legal edge of the table")
    func everyLegalEdgeIsCovered() {
        let covered = Set(allPairs.map { GuardStateMachine.Edge($0.0, $0.1) })
        let missing = GuardStateMachine.legalTransitions.filter { $0.from != nil && !covered.contains($0) }
        #expect(missing.isEmpty, "not exercised: \(missing)")
    }

    @Test("an intent creates pending(applying) and an event from nothing, with run, actor and reason")
    func intentCreatesPendingRow() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            let run = try store.beginRun(phase: "pre-restore", targets: ["/mnt/a"], dryRun: false, actor: testActor)
            let recorded = try store.recordIntents([intent("/mnt/a", reason: "pre-restore")], runID: run,
                                                   actor: Actor("hook-runner apply"))
            #expect(recorded.count == 1)
            #expect(!recorded[0].isRetry)
            let row = recorded[0].record
            #expect(row.status == .applying)
            #expect(row.path == "/mnt/a" && row.kind == .bind && row.lifetime == .transient)
            #expect(row.device == 2049 && row.inode == 1234 && row.mountNamespace == 4026531841)
            #expect(row.bootID == "boot-a" && row.label == "t" && row.runID == run)
            #expect(row.mountID == nil && !row.mountIDIsUnique)
            let events = try store.history(path: "/mnt/a")
            #expect(events.count == 1)
            #expect(events[0].from == nil && events[0].to == .applying)
            #expect(events[0].reason == "pre-restore" && events[0].actor == "hook-runner apply")
            #expect(events[0].runID == run && events[0].guardID == row.id)
        }
    }

    @Test("an intent for a failed path retries the same row: failed → pending(applying)")
    func intentRetriesFailedRow() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            let id = try makeGuard(store, path: "/mnt/a", at: .applying)
            try store.settle([GuardTransition(guardID: id, to: .failed, reason: "EPERM", mountID: 77, mountIDIsUnique: true)],
                             runID: nil, actor: testActor)
            let recorded = try store.recordIntents([intent("/mnt/a", kind: .immutable, reason: "retry")],
                                                   runID: nil, actor: testActor)
            #expect(recorded[0].isRetry)
            #expect(recorded[0].previous == .failed)
            #expect(recorded[0].id == id)
            #expect(recorded[0].status == .applying)
            #expect(recorded[0].kind == .immutable)
            #expect(recorded[0].mountID == nil, "a retry starts without the old mount id")
            #expect(try store.guards(path: "/mnt/a").count == 1)
            let last = try #require(try store.history(guardID: id).last)
            #expect(last.from == .failed && last.to == .applying && last.reason == "retry")
        }
    }

    @Test("an intent for a path with an outstanding guard is refused and the whole batch is not written",
          arguments: [GuardStatus.applying, .applied, .clearing, .clearDeferred])
    func duplicateIntentRefused(existing: GuardStatus) throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            try makeGuard(store, path: "/mnt/a", at: existing)
            let before = try snapshot(store.database)
            #expect(throws: StoreError.duplicateOutstanding(path: "/mnt/a")) {
                try store.recordIntents([intent("/mnt/new"), intent("/mnt/a")], runID: nil, actor: testActor)
            }
            #expect(try snapshot(store.database) == before)
            #expect(try store.currentGuard(path: "/mnt/new") == nil)
        }
    }

    @Test("the same path twice in one batch is refused")
    func duplicateWithinBatch() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            #expect(throws: StoreError.duplicateOutstanding(path: "/mnt/a")) {
                try store.recordIntents([intent("/mnt/a"), intent("/mnt/a")], runID: nil, actor: testActor)
            }
            #expect(try store.allGuards().isEmpty)
        }
    }

    @Test("one illegal transition rolls back the legal ones before it in the batch")
    func batchRollsBackWhole() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            let a = try makeGuard(store, path: "/mnt/a", at: .applying)
            let b = try makeGuard(store, path: "/mnt/b", at: .cleared)
            let before = try snapshot(store.database)
            #expect(throws: StoreError.illegalTransition(guardID: b, from: .cleared, to: .applied)) {
                try store.settle([GuardTransition(guardID: a, to: .applied), GuardTransition(guardID: b, to: .applied)],
                                 runID: nil, actor: testActor)
            }
            #expect(try snapshot(store.database) == before)
            #expect(try store.guardRecord(id: a)?.status == .applying)
        }
    }

    @Test("an unknown guard id is refused and nothing is written")
    func unknownGuard() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            let a = try makeGuard(store, path: "/mnt/a", at: .applying)
            let before = try snapshot(store.database)
            #expect(throws: StoreError.unknownGuard(id: 999)) {
                try store.settle([GuardTransition(guardID: a, to: .applied), GuardTransition(guardID: 999, to: .applied)],
                                 runID: nil, actor: testActor)
            }
            #expect(try snapshot(store.database) == before)
        }
    }

    @Test("a transition records the kernel facts it learned and keeps the ones it did not")
    func transitionFacts() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            let id = try makeGuard(store, path: "/mnt/a", at: .applying)
            let applied = try store.settle([GuardTransition(guardID: id, to: .applied, reason: "fell back",
                                                            kind: .immutable, mountID: UInt64.max - 1,
                                                            mountIDIsUnique: true)],
                                           runID: nil, actor: testActor)[0]
            #expect(applied.kind == .immutable && applied.mountID == UInt64.max - 1 && applied.mountIDIsUnique)
            #expect(applied.device == 2049 && applied.inode == 1234)
            let cleared = try store.settle([GuardTransition(guardID: id, to: .cleared)], runID: nil, actor: testActor)[0]
            #expect(cleared.kind == .immutable && cleared.mountID == UInt64.max - 1 && cleared.reason == nil)
        }
    }

    @Test("after cleared a path gets a new row; queries find the right one")
    func clearedThenGuardedAgain() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            let old = try makeGuard(store, path: "/mnt/a", at: .cleared)
            let new = try makeGuard(store, path: "/mnt/a", at: .applied)
            try makeGuard(store, path: "/mnt/b", at: .failed)
            #expect(new != old)
            #expect(try store.guards(path: "/mnt/a").map(\.id) == [old, new])
            #expect(try store.currentGuard(path: "/mnt/a")?.id == new)
            #expect(try store.outstandingGuards().map(\.path) == ["/mnt/a", "/mnt/b"])
            #expect(try store.guards(state: .cleared).map(\.id) == [old])
            #expect(try store.allGuards().count == 3)
            // history by path spans both rows, oldest first; limit keeps the newest
            let history = try store.history(path: "/mnt/a")
            #expect(history.map(\.guardID) == [old, old, new, new])
            #expect(history.map(\.to) == [.applying, .cleared, .applying, .applied])
            #expect(try store.history(path: "/mnt/a", limit: 3).map(\.to) == [.cleared, .applying, .applied])
            #expect(try store.history(guardID: old, limit: 1).map(\.to) == [.cleared])
            #expect(try store.history(limit: 2).map(\.to) == [.applying, .failed])
        }
    }
}
