import Foundation
import GuardTestSupport

/// The command-line suites, all named `HookRunnerTests.*` so `--filter HookRunnerTests` finds them.
enum HookRunnerTests {}

typealias CLI = SandboxCLI

/// The cells (split at runs of two or more spaces) of the first table row that has a cell `path`.
func tableRow(_ output: String, _ path: String) -> [String] {
    for line in output.split(separator: "\n") {
        let cells = line.replacingOccurrences(of: " {2,}", with: "\u{1}", options: .regularExpression)
            .split(separator: "\u{1}").map(String.init)
        if cells.contains(path) { return cells }
    }
    return []
}
