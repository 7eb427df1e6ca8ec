import Glibc
import FoundationEssentials
import GuardStore
import Subprocess
import SystemPackage

/// Runs one `hooks.d` executable per the contract: argv `[path, phase, targets...]`,
/// stdin `/dev/null`, cwd `/`, the reset environment, its own process group, the timeout.
enum ExecutableHookExecution {
    /// How long output is still read after the hook's group was killed (see ProcessWatch).
    static let drainAfterExit: Duration = .seconds(1)

    static func run(_ hook: PlannedHook, phase: String, targets: [String], context: HookContext,
                    collector: OutputCollector) async -> HookResult {
        let startedAt = Date()
        var result = HookResult(name: hook.name, path: hook.path, kind: .executable, outcome: .failed,
                                startedAt: startedAt)
        do {
            let (status, watch) = try await spawnAndWatch(hook, phase: phase, targets: targets,
                                                          context: context, collector: collector)
            switch status {
            case .exited(let code): result.exitCode = code
            case .signaled(let signal): result.signal = signal
            }
            result.timedOut = watch.timedOut
            (result.outcome, result.reason) = judge(status: status, timedOut: watch.timedOut, context: context)
        } catch {
            collector.consume("hook-runner: cannot execute \(hook.path): \(error)\n")
            result.reason = "cannot execute: \(error)"
        }
        result.outputTail = collector.finish()
        result.finishedAt = Date()
        return result
    }

    /// Maps how the process ended to the contract's outcome.
    static func judge(status: TerminationStatus, timedOut: Bool, context: HookContext) -> (HookOutcome, String?) {
        if timedOut { return (.failed, "timed out after \(context.timeout.formatted)") }
        switch status {
        case .exited(0): return (.ok, nil)
        case .exited(75): return (.softSkip, nil)
        case .exited(let code): return (.failed, "exit \(code)")
        case .signaled(let signal): return (.failed, "killed by signal \(signal)")
        }
    }

    private static func spawnAndWatch(_ hook: PlannedHook, phase: String, targets: [String],
                                      context: HookContext, collector: OutputCollector)
        async throws -> (TerminationStatus, WatchOutcome)
    {
        // Our own pipe rather than subprocess's `.sequence`: the watch thread polls it
        // together with the pidfd, and nothing collects more than one read buffer.
        // Close-on-exec from creation: no other process spawned meanwhile inherits an end
        // (an inherited write end would keep the pipe open past the hook).
        let (readFD, writeFD) = try FileDescriptor.pipe(options: .closeOnExec)
        let readEnd = readFD.rawValue, writeEnd = writeFD.rawValue
        defer { try? readFD.close() }

        var options = PlatformOptions()
        options.processGroupID = 0  // setpgid(0, 0) in posix_spawn: its own group from the start
        let environment = context.environment(phase: phase, targets: targets, hook: hook.name)
        let result = try await Subprocess.run(
            .path(FilePath(hook.path)),
            arguments: Arguments([phase] + targets),
            environment: .custom(Dictionary(uniqueKeysWithValues: environment.map { (Environment.Key(stringLiteral: $0.key), $0.value) })),
            workingDirectory: FilePath("/"),
            platformOptions: options,
            input: .none,
            output: .fileDescriptor(FileDescriptor(rawValue: writeEnd), closeAfterSpawningProcess: true),
            error: .combinedWithOutput
        ) { execution in
            let watch = ProcessWatch(pid: execution.processIdentifier.value,
                                     pidfd: execution.processIdentifier.processDescriptor,
                                     outputFD: readEnd, timeout: context.timeout,
                                     grace: context.gracePeriod, drain: drainAfterExit,
                                     collector: collector)
            return await BlockingThread.run { watch.run() }
        }
        return (result.terminationStatus, result.closureResult)
    }
}

extension Duration {
    /// "300s", "1.5s", "250ms": short, for reasons shown by `runs` and `hooks`.
    var formatted: String {
        let ms = ProcessWatch.nanoseconds(self) / 1_000_000
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        if ms < 1000 { return "\(ms)ms" }
        return "\(ms / 1000).\(String(ms % 1000 / 100))s"
    }
}
