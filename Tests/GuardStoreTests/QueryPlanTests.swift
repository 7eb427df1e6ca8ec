import Foundation
import GuardStore
import Testing

/// A public store call, and the base tables it may read in full because it lists all of them
/// (in rowid order, newest first with a LIMIT: no sort, no filter to serve).
struct QueryCase: CustomTestStringConvertible, Sendable {
    var name: String
    var fullListing: Set<String> = []
    /// False for a write that must not read at all (an intent for a new path: the unique index
    /// does the duplicate check during the INSERT).
    var reads = true
    var call: @Sendable (GuardStore) throws -> Void
    var testDescription: String { name }
}

let queryCases: [QueryCase] = [
    QueryCase(name: "guardRecord(id:)") { _ = try $0.guardRecord(id: 1) },
    QueryCase(name: "outstandingGuards()") { _ = try $0.outstandingGuards() },
    QueryCase(name: "guards(state:)") { _ = try $0.guards(state: .applied) },
    QueryCase(name: "guards(state: .failed)") { _ = try $0.guards(state: .failed) },
    QueryCase(name: "guards(state: .cleared)", fullListing: ["guards"]) { _ = try $0.guards(state: .cleared) },
    QueryCase(name: "guards(path:)") { _ = try $0.guards(path: "/mnt/a") },
    QueryCase(name: "currentGuard(path:)") { _ = try $0.currentGuard(path: "/mnt/a") },
    QueryCase(name: "allGuards()", fullListing: ["guards"]) { _ = try $0.allGuards() },
    QueryCase(name: "history(path:limit:)") { _ = try $0.history(path: "/mnt/a", limit: 5) },
    QueryCase(name: "history(guardID:limit:)") { _ = try $0.history(guardID: 1, limit: 5) },
    QueryCase(name: "history(limit:)", fullListing: ["e"]) { _ = try $0.history(limit: 5) },
    QueryCase(name: "runs(phase:limit:)") { _ = try $0.runs(phase: "pre-restore", limit: 5) },
    QueryCase(name: "runs(limit:)") { _ = try $0.runs(limit: 5) },
    QueryCase(name: "run(id:)") { _ = try $0.run(id: 1) },
    QueryCase(name: "recordIntents (new path)", reads: false) {
        try $0.recordIntents([intent("/mnt/new")], runID: 1, actor: testActor)
    },
    QueryCase(name: "recordIntents (retry of a failed row)") {
        try $0.recordIntents([intent("/mnt/c")], runID: 1, actor: testActor)
    },
    QueryCase(name: "settle") {
        try $0.settle([GuardTransition(guardID: 1, to: .clearing)], runID: 1, actor: testActor)
    },
    QueryCase(name: "settle (returningRows: false)") {
        try $0.settle([GuardTransition(guardID: 1, to: .clearing)], runID: 1, actor: testActor, returningRows: false)
    },
    QueryCase(name: "finishRun") { try $0.finishRun(runID: 1, exitCode: 0) },
]

@Suite("Query plans")
struct QueryPlanTests {
    @Test("every statement a store call runs is served by an index", arguments: queryCases)
    func servedByIndex(query: QueryCase) throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            let run = try store.beginRun(phase: "pre-restore", targets: ["/mnt/a"], dryRun: false, actor: testActor)
            try store.recordHookResult(runID: run, seq: 1, HookResultRecord(name: "h", path: "/h", outcome: .ok))
            try makeGuard(store, path: "/mnt/a", at: .applied)
            try makeGuard(store, path: "/mnt/b", at: .cleared)
            try makeGuard(store, path: "/mnt/c", at: .failed)

            var statements: [String] = []
            store.database.trace { statements.append($0) }
            try query.call(store)
            store.database.trace(nil)

            let queries = Set(statements.filter {
                let verb = $0.drop { $0.isWhitespace }.prefix(6).uppercased()
                return ["SELECT", "UPDATE", "DELETE"].contains(verb)
            })
            #expect(queries.isEmpty == !query.reads, "\(query.name): \(queries)")
            for sql in queries {
                let plan = try queryPlan(store.database, sql)
                for line in plan where line.hasPrefix("SCAN ") {
                    let table = String(line.dropFirst(5).prefix { !$0.isWhitespace })
                    if table.hasPrefix("(") || line.contains("USING INDEX") || line.contains("USING COVERING INDEX")
                        || query.fullListing.contains(table) { continue }
                    Issue.record("\(query.name): \(line)\n  in: \(sql)\n  plan: \(plan)")
                }
                if query.fullListing.isEmpty {
                    #expect(plan.contains { $0.contains("USING INDEX") || $0.contains("USING COVERING INDEX")
                                || $0.contains("USING INTEGER PRIMARY KEY") },
                            "\(query.name): \(plan) for \(sql)")
                }
            }
        }
    }
}
