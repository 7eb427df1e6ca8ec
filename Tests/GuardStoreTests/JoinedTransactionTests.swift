import Foundation
import GuardStore
import Testing

/// `writeTransaction(nestedSavepoints: false)`: the batch's transactions, whose store calls
/// join without savepoints (no sub-journal of every page a 10,000-row settle touches).
@Suite struct JoinedTransactionTests {
    @Test("store calls joined without savepoints commit together, and an error rolls all of them back")
    func joinedCallsAreOneUnit() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            expectAnErrorRollsBackTheWholeTransaction(store, nestedSavepoints: false)

            try store.writeTransaction(nestedSavepoints: false) {
                let ids = try store.recordIntents([intent("/mnt/a"), intent("/mnt/b")], runID: nil, actor: testActor).map(\.id)
                try store.settle(ids.map { GuardTransition(guardID: $0, to: .applied) }, runID: nil, actor: testActor)
            }
            #expect(try store.allGuards().map(\.status) == [.applied, .applied])
            #expect(store.database.commitCount == 1)
            // The default is back for the next transaction: a caught inner failure is undone alone.
            _ = try store.writeTransaction {
                #expect(throws: StoreError.duplicateOutstanding(path: "/mnt/a")) {
                    try store.recordIntents([intent("/mnt/c"), intent("/mnt/a")], runID: nil, actor: testActor)
                }
            }
            #expect(try store.allGuards().map(\.path).sorted() == ["/mnt/a", "/mnt/b"])
        }
    }
}
