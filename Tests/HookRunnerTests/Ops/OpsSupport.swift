import Foundation
import GuardTestSupport
import Testing
import Glibc

/// A scratch directory (not for guards: those only go into the sandbox).
struct TempDir {
    let path: String
    init(_ name: String) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("ops-\(name)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func sub(_ p: String) -> String { "\(path)/\(p)" }
    @discardableResult func write(_ name: String, _ text: String) throws -> String {
        let p = sub(name)
        try text.write(toFile: p, atomically: false, encoding: .utf8)
        return p
    }
    @discardableResult func mkdir(_ name: String) throws -> String {
        let p = sub(name)
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs hook-runner with exactly `env` (plus PATH), as a boot unit or an operator would.
@discardableResult
func hookRunnerRun(_ args: [String], env: [String: String] = [:]) throws -> CommandResult {
    var e = env
    e["PATH"] = e["PATH"] ?? safePath
    return try runCommand([hookRunnerBinary] + args, environment: e)
}

/// Runs hook-runner with stderr the journal would be: `JOURNAL_STREAM` names the very file
/// stderr is (dev:ino), as systemd sets it for a unit's output.
func hookRunnerAsJournalStream(_ args: [String], env: [String: String] = [:]) throws -> CommandResult {
    var e = env
    e["PATH"] = e["PATH"] ?? safePath
    return try runCommand(["/bin/sh", "-c", "JOURNAL_STREAM=$(stat -L -c %d:%i /dev/stderr) && export JOURNAL_STREAM && exec \"$@\"",
                           "sh", hookRunnerBinary] + args, environment: e)
}

/// A TOML array of strings.
func tomlArray(_ items: [String]) -> String { "[" + items.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
