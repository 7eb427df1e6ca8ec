import Foundation
import GuardStore
import GuardTestSupport
import Testing
import Glibc

/// A fresh directory under /tmp for one test, removed afterwards (even after chmod games).
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    var template = Array("/tmp/guardstore-test-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    let path = String(cString: made)
    defer {
        _ = try? runCommand(["/bin/chmod", "-R", "u+rwX", path])
        try? FileManager.default.removeItem(atPath: path)
    }
    return try body(path)
}

/// The test helper executable `guard-store-stress`, built beside the test bundle.
var stressExecutable: String {
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = URL(fileURLWithPath: me).deletingLastPathComponent()
    // On Linux the bundle is a plain executable in the build directory; elsewhere it is nested.
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("guard-store-stress").path),
          dir.path != "/" {
        dir.deleteLastPathComponent()
    }
    return dir.appendingPathComponent("guard-store-stress").path
}

let testActor = Actor("store-tests")

func makeStore(_ dir: String, name: String = "guards.db") throws -> GuardStore {
    try GuardStore.open(path: "\(dir)/\(name)", mode: .readWrite, create: true)
}

func intent(_ path: String, kind: GuardKind = .bind, reason: String? = "test intent") -> GuardIntent {
    GuardIntent(path: path, kind: kind, lifetime: .transient, device: 2049, inode: 1234,
                mountNamespace: 4026531841, bootID: "boot-a", label: "t", reason: reason)
}

/// A legal path from nothing to `status`, as (to) steps after the intent.
func stepsTo(_ status: GuardStatus) -> [GuardStatus] {
    switch status {
    case .applying: return []
    case .applied: return [.applied]
    case .failed: return [.failed]
    case .clearing: return [.applied, .clearing]
    case .clearDeferred: return [.applied, .clearDeferred]
    case .cleared: return [.cleared]
    default: fatalError("no path to \(status)")
    }
}

/// Creates a guard for `path` and drives it to `status` through legal transitions.
@discardableResult
func makeGuard(_ store: GuardStore, path: String, at status: GuardStatus) throws -> GuardID {
    let id = try store.recordIntents([intent(path)], runID: nil, actor: testActor)[0].id
    for step in stepsTo(status) {
        try store.settle([GuardTransition(guardID: id, to: step, reason: "setup")], runID: nil, actor: testActor)
    }
    return id
}

/// Every row of every table, as text: equal snapshots mean nothing was written.
func snapshot(_ db: Database) throws -> [String] {
    var lines: [String] = []
    for table in ["runs", "guards", "events", "hook_results"] {
        lines += try db.rows("SELECT * FROM \(table) ORDER BY id") { row in
            table + ": " + (0..<row.count).map { "\(row.value($0))" }.joined(separator: "|")
        }
    }
    return lines
}

/// The bytes of every file in `dir` by name: equal means no file was created, removed or changed.
func directoryBytes(_ dir: String) throws -> [String: Data] {
    var result: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
        result[name] = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(name)"))
    }
    return result
}

func fileMode(_ path: String) -> mode_t {
    var st = stat()
    return stat(path, &st) == 0 ? st.st_mode & 0o7777 : 0
}

/// The EXPLAIN QUERY PLAN detail lines of `sql`.
func queryPlan(_ db: Database, _ sql: String) throws -> [String] {
    try db.rows("EXPLAIN QUERY PLAN " + sql, Array(repeating: SQLValue.null, count: sql.filter { $0 == "?" }.count)) {
        $0.text(3)
    }
}

/// An intent and its settle in one write transaction that then throws: afterwards nothing
/// of it is in the store and nothing was committed (with or without nested savepoints).
func expectAnErrorRollsBackTheWholeTransaction(_ store: GuardStore, nestedSavepoints: Bool) {
    struct Abort: Error {}
    // (do/catch: `#expect(throws:)` around this generic closure lets the error escape.)
    var caught: (any Error)?
    do {
        try store.writeTransaction(nestedSavepoints: nestedSavepoints) { () throws -> Void in
            let id = try store.recordIntents([intent("/mnt/a")], runID: nil, actor: testActor)[0].id
            try store.settle([GuardTransition(guardID: id, to: .applied)], runID: nil, actor: testActor)
            throw Abort()
        }
    } catch { caught = error }
    #expect(caught is Abort)
    #expect((try? store.allGuards())?.isEmpty == true)
    #expect(store.database.commitCount == 0)
}

