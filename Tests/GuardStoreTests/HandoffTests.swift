import Foundation
import GuardStore
import GuardTestSupport
import Testing

/// Commands handing the store over as hook-runner does: each takes the writers' lock, opens,
/// works, releases the lock and only then closes its connection, so the next command opens
/// while the previous one, the last connection, checkpoints its growth into the file at close.
@Suite("Store handoff between commands")
struct HandoffTests {
    /// On the sandbox's tmpfs: with no disk in the fsyncs, the commands hand over often enough
    /// to meet the race (a disk-backed /tmp met it far more rarely).
    @Test("writers and locked readers open the store while the previous command checkpoints at close", sandboxed)
    func openWhileThePreviousCommandCloses() throws {
        let sandbox = try Sandbox.make("store-handoff")
        defer { sandbox.cleanUp() }
        do {
            let dir = sandbox.path
            let path = "\(dir)/guards.db"
            try makeStore(dir).close()
            let steps = 400
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
