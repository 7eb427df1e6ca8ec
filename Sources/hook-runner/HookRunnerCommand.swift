import ArgumentParser
import FoundationEssentials
import GuardHooks
import GuardRender
import Glibc

@main
struct HookRunnerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hook-runner",
        abstract: "Guard offline storage mountpoints and run backup/restore hooks.",
        discussion: """
            Guards make an offline mountpoint refuse writes (a read-only bind mount, or the \
            immutable inode flag), so nothing written while the storage is unmounted lands \
            silently on the parent filesystem. Every guard is recorded with its history.

            Exit codes: 0 desired state reached; 1 an action failed; 64 usage; 65 bad target; \
            70 internal error (store unreadable, …); 75 try again later (pending, deferred, \
            lock busy); 77 not permitted (not root).
            """,
        version: HookRunnerVersion.version,
        subcommands: [RunCommand.self, ExecCommand.self, HooksCommand.self, ApplyCommand.self, ClearCommand.self,
                      SealCommand.self, UnsealCommand.self, GuardsCommand.self, HistoryCommand.self,
                      RunsCommand.self, StatusCommand.self, DoctorCommand.self, ReconcileCommand.self, VzdumpCommand.self, ImportCommand.self, MetricsCommand.self,
                      CheckCommand.self, HiddenCommand.self, RescueCommand.self])

    /// Every error becomes one line on stderr and its documented exit code.
    static func main() async {
        raiseDescriptorLimit()
        do {
            let given = GlobalArgumentOrder.reorder(Array(CommandLine.arguments.dropFirst()), root: Self.self)
            let (ours, passed) = ExecCommand.splitCommand(given)
            ExecCommand.passedCommand = passed
            let (arguments, overflow) = LongTargetList.split(ours)
            LongTargetList.overflow = overflow
            var command = try parseAsRoot(arguments)
            if let extra = overflow.first, !(command is TakesTargetList) {
                throw CLIError.usage("unexpected argument '\(extra)' (and \(overflow.count - 1) more)")
            }
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    /// A batch holds one fd per target until it ends: under systemd's default soft limit
    /// of 1024, a large batch ran out (issue 13, item 5). The hard limit is ours to take.
    static func raiseDescriptorLimit() {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    }

    static func exit(withError error: Error) -> Never {
        let code: Int32
        switch error {
        case let e as CLIError:
            code = e.exitCode.rawValue
            printError(e.description)
        case let e as GuardEngineError:
            code = e.exitStatus
            printError(e.description)
        case let e as ArgumentParser.ExitCode:
            Glibc.exit(e.rawValue)
        default:
            // Parsing and validation errors: the parser's message and EX_USAGE (64).
            let parserCode = Self.exitCode(for: error).rawValue
            if parserCode == 0 { Self.exit(withError: error as Error?) }
            code = parserCode == 1 ? SysExitCode.internalError.rawValue : parserCode
            printError(Self.message(for: error))
        }
        Glibc.exit(code)
    }
}

func printError(_ message: String) {
    let line = Journal.errorPrefix + "hook-runner: " + message.split(separator: "\n", omittingEmptySubsequences: true).joined(separator: "; ")
        .escapingControlCharacters + "\n"
    Render.write(Data(line.utf8), fd: 2)
}
