import Foundation
import GuardStore
import GuardTestSupport
import Testing

/// Commands handing the store over as hook-runner does: each takes the writers' lock, opens,
/// works, releases the lock and only then closes its connection, so the next command opens
/// while the previous one, the last connection, checkpoints its growth into the file at close.
@Suite("Store handoff between commands")
struct HandoffTests {
    @Test("writers and locked readers open the store while the previous command checkpoints at close")
    func openWhileThePreviousCommandCloses() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/guards.db"
            try makeStore(dir).close()
            let steps = 300
            let outputs = try runTogether(dir: dir, [
                ["handoff", path, "writer", "\(steps)"],
                ["handoff", path, "writer", "\(steps)"],
                ["handoff", path, "writer", "\(steps)"],
                ["handoff", path, "reader", "\(steps)"],
                ["handoff", path, "reader", "\(steps)"],
            ])
            #expect(outputs == Array(repeating: "ok \(steps)\n", count: 5))
            let store = try GuardStore.open(path: path, mode: .readOnly)
            defer { store.close() }
            #expect(try store.integrityProblems().isEmpty)
            #expect(try store.allGuards().count == 3 * steps * 8)
        }
    }
}
