import Foundation
import Testing

// What every end-to-end test checks of a hook-runner run: its exit status, its one-line
// error, its JSON document.

/// The exit status was `code` (with the output shown when it was not).
package func expectStatus(_ r: CommandResult, _ code: Int32, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status == code, "exit \(r.status)\nstdout: \(r.stdout)\nstderr: \(r.stderr)", sourceLocation: sourceLocation)
}

/// The exit code was `code` and stderr is exactly one line `hook-runner: …` containing `fragments`.
package func expectError(_ r: CommandResult, _ code: Int32, _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status == code, "exit \(r.status), stderr: \(r.stderr)", sourceLocation: sourceLocation)
    let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.count == 2 && lines[1].isEmpty, "stderr is not one line: \(r.stderr.debugDescription)",
            sourceLocation: sourceLocation)
    #expect(r.stderr.hasPrefix("hook-runner: "), "stderr: \(r.stderr)", sourceLocation: sourceLocation)
    for f in fragments { #expect(r.stderr.contains(f), "stderr lacks \(f.debugDescription): \(r.stderr)", sourceLocation: sourceLocation) }
}

/// stdout parsed as one JSON object.
package func parseJSON(_ r: CommandResult) throws -> [String: Any] {
    let object = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
    return try #require(object as? [String: Any], "not a JSON object (exit \(r.status)): \(r.stdout) \(r.stderr)")
}

/// `doc[key]` as an array of objects.
package func objects(_ doc: [String: Any], _ key: String) throws -> [[String: Any]] {
    try #require(doc[key] as? [[String: Any]], "\(key) is not an array of objects in \(doc)")
}

/// `2026-11-21T10:49:36.123Z`
package func isRFC3339UTC(_ value: Any?) -> Bool {
    guard let s = value as? String else { return false }
    return s.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"#, options: .regularExpression) != nil
}
