import ArgumentParser
import FoundationEssentials
import FileIO
import GuardHooks
import GuardRender
import Glibc

/// `hook-runner import SOURCE …`: adopt guards other tools made.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Adopt guards made by other tools into the store.",
        subcommands: [ProxsaveImportCommand.self])
}

struct ProxsaveImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxsave",
        abstract: "Adopt ProxSave's immutable mount guards (its chattr-targets index).",
        discussion: """
            Reads the index (one absolute path per line) and checks every line like a target of
            ours: normalised, resolved, below an allowed root, opened without following symlinks.
            A directory that is offline and still immutable is recorded as an applied immutable
            guard labelled 'imported' (the flag is not touched). A directory that is not immutable
            any more, is mounted, or is missing is skipped; an invalid line (relative, control
            character, outside the roots, duplicate) is refused. Nothing is ever flagged or mounted.
            Exit 65 when any line was refused, 1 when one failed, else 0; 64 when FILE cannot be read.

            Example: hook-runner import proxsave --dry-run
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var dry: DryRunOption
    @Option(help: "transient (clear removes them; ProxSave's are restore-time guards) | persistent")
    var lifetime: GuardLifetime = .transient
    @Argument(help: "The index file.") var file: String = ProxsaveImport.defaultIndexPath

    struct LineJSON: Encodable {
        var line: Int, text: String, path: String?, verdict: String, reason: String, guardId: Int64?
    }
    struct Document: Encodable {
        var command: String, file: String, dryRun: Bool, exitCode: Int32, lines: [LineJSON]
    }

    func run() throws {
        let engine = try global.engine(actor: "hook-runner import proxsave")
        try requireRoot("import", dryRun: dry.dryRun)
        let bytes = try readIndex(file)
        let results = try engine.importImmutableIndex(ProxsaveImport.lines(bytes), lifetime: lifetime, dryRun: dry.dryRun)
        let code = SysExitCode.forImport(results)
        if global.json {
            try Render.json(Document(command: "import proxsave", file: file, dryRun: dry.dryRun, exitCode: code.rawValue,
                                     lines: results.map {
                LineJSON(line: $0.line, text: $0.text, path: $0.path, verdict: $0.verdict.rawValue, reason: $0.reason,
                         guardId: $0.guardID)
            }))
        } else {
            for r in results {
                let word = dry.dryRun && r.verdict == .adopted ? "would-adopt" : r.verdict.rawValue
                let id = r.guardID.map { " (guard #\($0))" } ?? ""
                Render.line("line \(r.line): \((r.path ?? r.text).escapingControlCharacters): \(word)\(id): \(r.reason)")
            }
            var tally: [ProxsaveImport.Verdict: Int] = [:]
            for r in results { tally[r.verdict, default: 0] += 1 }
            let parts = [ProxsaveImport.Verdict.adopted, .alreadyRecorded, .skipped, .refused, .failed]
                .compactMap { v in tally[v].map { "\($0) \(dry.dryRun && v == .adopted ? "would be adopted" : v.rawValue)" } }
            Render.line("\(file): \(results.count) lines" + (parts.isEmpty ? "" : ": " + parts.joined(separator: ", ")))
        }
        try finish(code)
    }

    /// The whole index, bounded; a missing or unreadable file is a usage error (64).
    func readIndex(_ path: String) throws -> [UInt8] {
        do {
            return try FileIO.readFile(path, limit: ProxsaveImport.maxIndexBytes)
        } catch {
            let why: String
            switch error {
            case .open(.noSuchFileOrDirectory): why = "no such file (ProxSave writes it only after a chattr +i fallback)"
            case .open(let e), .read(let e): why = e.description
            case .notRegularFile: why = "not a regular file"
            case .tooLarge(let limit): why = "larger than \(limit) bytes: not an index"
            }
            throw CLIError.usage("import proxsave: \(path): \(why)")
        }
    }
}
