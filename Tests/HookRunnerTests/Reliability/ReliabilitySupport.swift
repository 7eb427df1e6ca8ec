import Foundation
import GuardHooks
import GuardStore
import GuardTestSupport
import Testing
import Glibc

/// The suites of this target, all named `ReliabilityTests.*` so `--filter ReliabilityTests` finds them.
enum ReliabilityTests {}

/// An integer knob from the environment (the long runs of `scripts/reliability` set them).
func knob(_ name: String, _ fallback: Int) -> Int {
    ProcessInfo.processInfo.environment[name].flatMap(Int.init) ?? fallback
}

/// Appends a line to `$RELIABILITY_REPORT` (if set) and prints it: the figures of a run.
func report(_ line: String) {
    print(line)
    if let path = ProcessInfo.processInfo.environment["RELIABILITY_REPORT"],
       let h = FileHandle(forWritingAtPath: path) ?? {
           _ = FileManager.default.createFile(atPath: path, contents: nil)
           return FileHandle(forWritingAtPath: path)
       }() {
        h.seekToEndOfFile()
        h.write(Data((line + "\n").utf8))
        try? h.close()
    }
}

/// A child process that can be killed at any moment; its output goes to /dev/null.
final class Child {
    let process = Process()

    init(_ argv: [String], environment: [String: String]) throws {
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.environment = environment.merging(sanitizerOptions) { given, _ in given }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func kill() { _ = Glibc.kill(process.processIdentifier, SIGKILL) }

    /// The exit status, or 128+signal.
    func wait() -> Int32 {
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }
}

func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

// MARK: the invariant

/// The store/kernel invariant of RELIABILITY.md, checked after `reconcile`:
///
/// 1. every guard the kernel shows under the sandbox (bind guards in /proc/self/mountinfo,
///    immutable flags in `lsattr -d`) has exactly one non-cleared row, of its kind;
/// 2. no row claims `applied` (or `pending(clear-deferred)`, which also says "in force")
///    without its kernel guard, and no row is left `pending(applying|clearing)`;
/// 3. every guard's history is a legal chain (`GuardStateMachine.isLegal`, each event's
///    from == the previous event's to, the last to == the row's status);
/// 4. `PRAGMA integrity_check` is `ok`; at most one outstanding row per path.
///
/// Returns the violations, one line each (empty: the invariant holds).
/// `storage`: mount points of storage a test mounted on purpose (not guards).
func invariantViolations(dir: SandboxDirectory, db: String, targets: [String],
                         storage: Set<String> = []) throws -> [String] {
    var violations: [String] = []

    // The kernel: mounts below the sandbox directory, and immutable flags on the targets.
    let info = try #require(Sandbox.readProcFile("/proc/self/mountinfo"))
    var mountsAt: [String: Int] = [:]
    for e in MountInfo.parse(info) where PathPolicy.isStrictlyBelow(e.mountPoint, dir.path) && !storage.contains(e.mountPoint) {
        mountsAt[e.mountPoint, default: 0] += 1
    }
    for (p, n) in mountsAt where n > 1 { violations.append("\(p): \(n) mounts stacked (a duplicate bind guard)") }
    var flagged = Set<String>()
    if !targets.isEmpty {
        let r = try runCommand(["lsattr", "-d"] + targets)
        for line in r.stdout.split(separator: "\n") {
            guard let space = line.firstIndex(of: " ") else { continue }
            let attrs = line[..<space], path = String(line[line.index(after: space)...])
            if attrs.contains("i") { flagged.insert(path) }
        }
    }

    // The store.
    guard FileManager.default.fileExists(atPath: db) else {
        if !mountsAt.isEmpty || !flagged.isEmpty { violations.append("kernel guards but no store") }
        return violations
    }
    let integrity = try runCommand(["sqlite3", "-readonly", db, "PRAGMA integrity_check"])
    if integrity.stdout.trimmingCharacters(in: .whitespacesAndNewlines) != "ok" {
        violations.append("integrity_check: \(integrity.stdout) \(integrity.stderr)")
    }
    let store = try GuardStore.open(path: db, mode: .readOnly, create: false)
    defer { store.close() }
    let rows = try store.allGuards()
    let outstanding = rows.filter { $0.state != .cleared }
    let byPath = Dictionary(grouping: outstanding, by: \.path)
    for (p, rs) in byPath where rs.count > 1 { violations.append("\(p): \(rs.count) outstanding rows") }

    for p in Set(mountsAt.keys).union(flagged).sorted() {
        let rs = byPath[p] ?? []
        if rs.count != 1 { violations.append("\(p): kernel guard with \(rs.count) non-cleared rows"); continue }
        let kinds = (mountsAt[p] != nil ? [GuardKind.bind] : []) + (flagged.contains(p) ? [.immutable] : [])
        if !kinds.contains(rs[0].kind) {
            violations.append("\(p): kernel shows \(kinds) but row #\(rs[0].id) is \(rs[0].kind)")
        }
    }
    for row in outstanding {
        let inForce = row.kind == .bind ? mountsAt[row.path] != nil : flagged.contains(row.path)
        switch row.status {
        case .applied, .clearDeferred:
            if !inForce { violations.append("\(row.path): row #\(row.id) \(row.status) without its \(row.kind) guard") }
        case .applying, .clearing:
            violations.append("\(row.path): row #\(row.id) left \(row.status) after reconcile")
        default: break
        }
    }

    var last: [GuardID: GuardStatus] = [:]
    for e in try store.history() {
        if !GuardStateMachine.isLegal(from: e.from, to: e.to) {
            violations.append("guard #\(e.guardID): illegal \(e.from?.description ?? "∅")→\(e.to)")
        }
        if e.from != last[e.guardID] {
            violations.append("guard #\(e.guardID): chain broken, \(e.from?.description ?? "∅") after \(last[e.guardID]?.description ?? "∅")")
        }
        last[e.guardID] = e.to
    }
    for row in rows where last[row.id] != row.status {
        violations.append("guard #\(row.id): status \(row.status) but last event \(last[row.id]?.description ?? "none")")
    }
    return violations
}
