import GuardHooks

extension Render {
    /// Prints what a rescue moved (or would move) and returns its exit code: 1 when an
    /// entry stayed behind, else 0.
    package static func rescueReport(_ r: RescueResult, json: Bool, fd: Int32 = 1) throws -> SysExitCode {
        let code: SysExitCode = r.leftBehind.isEmpty ? .ok : .actionFailed
        let bytes = r.moved.reduce(UInt64(0)) { $0 + $1.bytes }
        if json {
            try Render.json(RescueDocument(result: r, bytes: bytes, exitCode: code.rawValue), fd: fd)
            return code
        }
        let verb = r.dryRun ? "would-move" : (r.method == .rename ? "moved" : "copied")
        Render.table(["OUTCOME", "ENTRY", "BYTES", "WHERE"],
                     r.moved.map { [verb, $0.name, "\($0.bytes)", r.destination] }
                        + r.leftBehind.map { ["left", $0.name, "-", $0.reason] }, fd: fd)
        let total = "\(r.moved.count) entr\(r.moved.count == 1 ? "y" : "ies"), \(bytes) bytes"
        Render.line((r.dryRun ? "would move " : "moved ") + total + " from \(r.path) to \(r.destination)"
                    + (r.rescueID.map { " (rescue #\($0))" } ?? ""), fd: fd)
        return code
    }
}

/// `rescue --json`: the result, with its total `bytes`, `command` and `exit_code`.
struct RescueDocument: Encodable {
    var result: RescueResult
    var bytes: UInt64
    var exitCode: Int32

    private enum Keys: String, CodingKey { case bytes, command, exitCode }

    func encode(to encoder: any Encoder) throws {
        try result.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(bytes, forKey: .bytes); try c.encode("rescue", forKey: .command); try c.encode(exitCode, forKey: .exitCode)
    }
}
