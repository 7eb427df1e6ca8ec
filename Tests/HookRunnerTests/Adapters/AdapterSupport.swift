import Foundation
import GuardTestSupport
import Testing
import Glibc

/// The suites of this target, all named `AdapterTests.*` so `--filter AdapterTests` finds them.
enum AdapterTests {}

/// hook-runner pointed at one sandbox directory: its store in `<dir>/state`, the only
/// allowed root the directory itself, the shipped hooks copied to `<dir>/hooks.d`.
struct CLI {
    let dir: SandboxDirectory
    var db: String { dir.sub("state/guards.db") }
    var hooksDir: String { dir.sub("hooks.d") }

    var environment: [String: String] {
        ["PATH": safePath, "GUARD_HOOKS_DB": db, "GUARD_HOOKS_ALLOW_ROOTS": dir.path, "GUARD_HOOKS_DIR": hooksDir]
    }

    @discardableResult
    func run(_ args: [String], env: [String: String?] = [:], replaceEnvironment: [String: String]? = nil) throws -> CommandResult {
        var e = replaceEnvironment ?? environment
        for (k, v) in env { e[k] = v }
        return try runCommand([hookRunnerBinary] + args, environment: e)
    }

    func json(_ args: [String]) throws -> (CommandResult, [String: Any]) {
        let r = try run(args + ["--json"])
        let object = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
        let doc = try #require(object as? [String: Any], "not a JSON object (exit \(r.status)): \(r.stdout) \(r.stderr)")
        return (r, doc)
    }

    /// Copies the shipped hooks.d into the sandbox (root-owned, 0755, as installed).
    func installShippedHooks() throws {
        try FileManager.default.createDirectory(atPath: hooksDir, withIntermediateDirectories: true)
        try #require(chmod(hooksDir, 0o755) == 0)
        for name in try FileManager.default.contentsOfDirectory(atPath: packageRoot + "/hooks.d") {
            let dest = hooksDir + "/" + name
            try FileManager.default.copyItem(atPath: packageRoot + "/hooks.d/" + name, toPath: dest)
            try #require(chmod(dest, 0o755) == 0)
        }
    }
}

func expectStatus(_ r: CommandResult, _ code: Int32, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status == code, "exit \(r.status)\nstdout: \(r.stdout)\nstderr: \(r.stderr)", sourceLocation: sourceLocation)
}

func objects(_ doc: [String: Any], _ key: String) throws -> [[String: Any]] {
    try #require(doc[key] as? [[String: Any]], "\(key) is not an array of objects in \(doc)")
}

/// `findmnt` lines (SOURCE OPTIONS) for every mount stacked at `path`; empty when none.
func findmnt(_ path: String) throws -> [String] {
    try runCommand(["findmnt", "-n", "-o", "SOURCE,OPTIONS", "--mountpoint", path]).stdout
        .split(separator: "\n").map(String.init)
}

/// The attribute column of `lsattr -d PATH`.
func lsattr(_ path: String) throws -> String {
    String(try runCommand(["lsattr", "-d", path]).stdout.split(separator: " ").first ?? "")
}

func mountTmpfs(_ path: String, source: String = "storage") throws {
    let r = try runCommand(["mount", "-t", "tmpfs", source, path])
    try #require(r.status == 0, "mount: \(r.stderr)")
}

func umount(_ path: String) throws {
    let r = try runCommand(["umount", path])
    try #require(r.status == 0, "umount: \(r.stderr)")
}

func writeFile(_ path: String, _ text: String, mode: mode_t = 0o644) throws {
    try #require(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
    try #require(chmod(path, mode) == 0)
}
