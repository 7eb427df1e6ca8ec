import Foundation
import GuardTestSupport
import Testing
import Glibc

/// The suites of this target, all named `HookRunnerTests.*` so `--filter HookRunnerTests` finds them.
enum HookRunnerTests {}

typealias CLI = SandboxCLI

extension SandboxCLI {
    /// Runs with `--json` appended and parses stdout as one JSON object.
    func json(_ args: [String], env: [String: String?] = [:], prefix: [String] = []) throws -> (CommandResult, [String: Any]) {
        let r = try run(args + ["--json"], env: env, prefix: prefix)
        return (r, try parseJSON(r))
    }
}

func parseJSON(_ r: CommandResult) throws -> [String: Any] {
    let object = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
    let doc = try #require(object as? [String: Any], "not a JSON object (exit \(r.status)): \(r.stdout) \(r.stderr)")
    return doc
}

/// `doc[key]` as an array of objects.
func objects(_ doc: [String: Any], _ key: String) throws -> [[String: Any]] {
    try #require(doc[key] as? [[String: Any]], "\(key) is not an array of objects in \(doc)")
}

/// The exit code was `code` and stderr is exactly one line `hook-runner: …` containing `fragments`.
func expectError(_ r: CommandResult, _ code: Int32, _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status == code, "exit \(r.status), stderr: \(r.stderr)", sourceLocation: sourceLocation)
    let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.count == 2 && lines[1].isEmpty, "stderr is not one line: \(r.stderr.debugDescription)",
            sourceLocation: sourceLocation)
    #expect(r.stderr.hasPrefix("hook-runner: "), "stderr: \(r.stderr)", sourceLocation: sourceLocation)
    for f in fragments { #expect(r.stderr.contains(f), "stderr lacks \(f.debugDescription): \(r.stderr)", sourceLocation: sourceLocation) }
}

/// The exit status was `code` (with the output shown when it was not).
func expectStatus(_ r: CommandResult, _ code: Int32, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status == code, "exit \(r.status)\nstdout: \(r.stdout)\nstderr: \(r.stderr)", sourceLocation: sourceLocation)
}

/// `2026-11-21T10:49:36.123Z`
func isRFC3339UTC(_ value: Any?) -> Bool {
    guard let s = value as? String else { return false }
    return s.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"#, options: .regularExpression) != nil
}

// MARK: the kernel, seen through the tools operators use

/// `findmnt` lines (SOURCE OPTIONS) for every mount stacked at `path`; empty when none.
func findmnt(_ path: String) throws -> [String] {
    try runCommand(["findmnt", "-n", "-o", "SOURCE,OPTIONS", "--mountpoint", path]).stdout
        .split(separator: "\n").map(String.init)
}

/// The attribute column of `lsattr -d PATH`.
func lsattr(_ path: String) throws -> String {
    let r = try runCommand(["lsattr", "-d", path])
    return String(r.stdout.split(separator: " ").first ?? "")
}

/// What `findmnt` and `lsattr` say about `path`, for before/after comparisons.
func kernelState(_ path: String) throws -> String { (try findmnt(path)).joined(separator: "|") + " " + (try lsattr(path)) }

/// Whether `touch path/name` works (the file is removed again).
func canWrite(_ dir: String, _ name: String = "probe") throws -> Bool {
    let r = try runCommand(["touch", "\(dir)/\(name)"])
    if r.status == 0 { unlink("\(dir)/\(name)") }
    return r.status == 0
}

func mountTmpfs(_ path: String, source: String = "storage") throws {
    let r = try runCommand(["mount", "-t", "tmpfs", source, path])
    try #require(r.status == 0, "mount: \(r.stderr)")
}

func umount(_ path: String) throws {
    let r = try runCommand(["umount", path])
    try #require(r.status == 0, "umount: \(r.stderr)")
}

// MARK: hooks directories

/// A root-owned 0755 hooks directory inside the sandbox.
func makeHooksDir(_ dir: SandboxDirectory, _ name: String = "hooks.d") throws -> String {
    let path = try dir.mkdir(name)
    try #require(chmod(path, 0o755) == 0)
    return path
}

/// Writes an executable `/bin/sh` hook (mode 0755 unless given) with `body` after the shebang.
@discardableResult
func writeHook(_ hooksDir: String, _ name: String, _ body: String, mode: mode_t = 0o755) throws -> String {
    let path = "\(hooksDir)/\(name)"
    try #require(FileManager.default.createFile(atPath: path, contents: Data("#!/bin/sh\n\(body)\n".utf8)))
    try #require(chmod(path, mode) == 0)
    return path
}

/// The cells (split at runs of two or more spaces) of the first table row that has a cell `path`.
func tableRow(_ output: String, _ path: String) -> [String] {
    for line in output.split(separator: "\n") {
        let cells = line.replacingOccurrences(of: " {2,}", with: "\u{1}", options: .regularExpression)
            .split(separator: "\u{1}").map(String.init)
        if cells.contains(path) { return cells }
    }
    return []
}
