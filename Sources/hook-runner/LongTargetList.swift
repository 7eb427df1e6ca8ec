/// Keeps long target lists away from swift-argument-parser's repeated-positional path.
///
/// The parser merges every repeated positional value into the array and input-origin set
/// parsed so far, copying both each time: parsing N targets costs O(N²) time and memory
/// (BENCHMARKS.md). Hooks pass every mountpoint of a host at once, so
/// before parsing we cut a long run of trailing positional arguments: the parser sees its
/// first two (enough for an option's value and one fixed positional such as `run`'s PHASE)
/// and the commands append the rest (`overflow`) to their own `targets`.
enum LongTargetList {
    /// Trailing runs shorter than this are parsed as usual.
    static let threshold = 64

    /// Set once by `main` before parsing; read by the commands.
    nonisolated(unsafe) static var overflow: [String] = []

    /// Splits `arguments` (without the program name; the first is the subcommand) into what
    /// the parser sees and the overflow. Only a run of arguments that cannot be options is
    /// cut: after a `--` terminator, or a trailing run of arguments not starting with `-`.
    static func split(_ arguments: [String]) -> (parsed: [String], overflow: [String]) {
        let tailStart: Int
        if let terminator = arguments.firstIndex(of: "--") {
            // After `--` everything is positional; nothing after it may be an option.
            tailStart = terminator + 1
        } else {
            var i = arguments.count
            while i > 1 && !arguments[i - 1].hasPrefix("-") { i -= 1 }
            tailStart = max(i, 1)
        }
        let keep = 2
        guard arguments.count - tailStart > threshold else { return (arguments, []) }
        let cut = tailStart + keep
        return (Array(arguments[..<cut]), Array(arguments[cut...]))
    }
}

/// A command whose targets may arrive through `LongTargetList.overflow`. Any other command
/// given an overflow is a usage error, exactly as the parser would have said.
/// `SendableMetatype`: no conformance is actor-isolated, so testing for it in the main-actor
/// `main` does not tie the command to the main actor before it runs (SE-0470).
protocol TakesTargetList: SendableMetatype {}
