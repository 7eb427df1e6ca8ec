import Glibc
import FoundationEssentials
import GuardStore
import SystemPackage

/// Runs one `hooks.d` executable per the contract: argv `[path, phase, targets...]` (or
/// `[path, phase]` and `GUARD_HOOKS_TARGETS_FILE` for long lists), stdin `/dev/null`, cwd
/// `/`, the reset environment, its own process group, the timeout; executed from the vetted
/// directory fd; in a cgroup of its own where one can be made, so that everything it started
/// is killed when it ends; otherwise descendants that escaped the group are swept then.
enum ExecutableHookExecution {
    /// How long output is still read after the hook's group was killed (see ProcessWatch).
    static let drainAfterExit: Duration = .seconds(1)

    static func run(_ hook: PlannedHook, phase: String, targets: [String], context: HookContext,
                    collector: OutputCollector) async -> HookResult {
        let startedAt = Date()
        var result = HookResult(name: hook.name, path: hook.path, kind: .executable, outcome: .failed,
                                startedAt: startedAt)
        // The hook lives on a thread of its own; the calling task's cancellation reaches it
        // through a pipe its watch polls.
        let cancellation = CancellationPipe()
        let ending = await withTaskCancellationHandler {
            await BlockingThread.run {
                Self.spawnWatchAndReap(hook, phase: phase, targets: targets, context: context,
                                       collector: collector, cancelFD: cancellation?.readFD ?? -1)
            }
        } onCancel: {
            cancellation?.signal()
        }
        switch ending {
        case .failure(let error):
            collector.consume("hook-runner: cannot execute \(hook.path): \(error)\n")
            result.reason = error is HookSpawner.Refusal ? "\(error)" : "cannot execute: \(error)"
        case .success(let (status, watch)):
            result.exitCode = status.exitCode
            result.signal = status.signal
            result.timedOut = watch.timedOut
            result.interruptedBy = watch.interruptedBy
            result.containment = status.containment
            (result.outcome, result.reason) = judge(status: status, watch: watch, context: context)
        }
        result.outputTail = collector.finish()
        result.finishedAt = Date()
        return result
    }

    /// How the process ended: exit code or signal.
    struct Status: Sendable, Hashable {
        var exitCode: Int32?
        var signal: Int32?
        var containment: Containment = .processGroup
    }

    /// Maps how the process ended to the contract's outcome.
    static func judge(status: Status, watch: WatchOutcome, context: HookContext) -> (HookOutcome, String?) {
        if let signal = watch.interruptedBy { return (.failed, "interrupted: hook-runner got signal \(signal)") }
        if watch.cancelled { return (.failed, "cancelled by the caller") }
        if watch.timedOut { return (.failed, "timed out after \(context.timeout.formatted)") }
        if let signal = status.signal { return (.failed, "killed by signal \(signal)") }
        switch status.exitCode {
        case 0: return (.ok, nil)
        case 75: return (.softSkip, nil)
        case let code?: return (.failed, "exit \(code)")
        case nil: return (.failed, "lost track of the process")
        }
    }

    /// Runs on a thread of its own that lives until the hook is reaped: the hook's
    /// PR_SET_PDEATHSIG fires when the *thread* that spawned it exits, so spawning, watching
    /// and reaping happen here, never on a pool thread that could go away.
    private static func spawnWatchAndReap(_ hook: PlannedHook, phase: String, targets: [String],
                                          context: HookContext, collector: OutputCollector, cancelFD: Int32)
        -> Result<(Status, WatchOutcome), Error>
    {
        do {
            let executable = try HookSpawner.openExecutable(hook)
            defer { close(executable) }
            // Long target lists go as a file; the hook reads GUARD_HOOKS_TARGETS_FILE.
            let asFile = targets.reduce(0) { $0 + $1.utf8.count + 1 } > HookSpawner.inlineTargetsLimit
            let targetsFD = asFile ? try HookSpawner.targetsFile(targets) : -1
            defer { if targetsFD >= 0 { close(targetsFD) } }
            let environment = context.environment(phase: phase, targets: targets, hook: hook.name, hookPath: hook.path,
                                                  targetsFile: asFile ? "/proc/self/fd/\(targetsFD)" : nil)
            // Our own pipe: the watch polls it with the pidfd and never buffers more than one
            // read. Close-on-exec from creation, so no other process inherits an end.
            let (readFD, writeFD) = try FileDescriptor.pipe(options: .closeOnExec)
            defer { try? readFD.close() }
            // A cgroup of its own where we may make one: nothing the hook starts escapes it.
            var cgroup = HookCgroups.shared?.make()
            let spawned: HookSpawner.Spawned
            do {
                defer { try? writeFD.close() }
                spawned = try HookSpawner.spawn(executable: executable, argv: [hook.path, phase] + (asFile ? [] : targets),
                                                environment: environment, outputFD: writeFD.rawValue, keepFD: targetsFD,
                                                cgroupFD: cgroup?.fd ?? -1)
            } catch {
                cgroup?.remove()
                throw error
            }
            if !spawned.inCgroup, let unused = cgroup {
                unused.remove()
                cgroup = nil
            }
            defer { if spawned.pidfd >= 0 { close(spawned.pidfd) } }
            let watch = ProcessWatch(pid: spawned.pid, pidfd: spawned.pidfd, outputFD: readFD.rawValue,
                                     timeout: context.timeout, grace: context.gracePeriod, drain: drainAfterExit,
                                     collector: collector, cancelFD: cancelFD, cgroup: cgroup).run()
            let (code, signal) = HookSpawner.reap(spawned.pid)
            // What is left in the hook's cgroup, or what left its group (setsid) and survived
            // its parent, which makes it ours as the subreaper: end it too.
            cgroup?.remove()
            Descendants.killAll()
            var status = Status(exitCode: code, signal: signal)
            status.containment = cgroup == nil ? HookCgroups.fallback : .cgroup
            return .success((status, watch))
        } catch {
            return .failure(error)
        }
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

/// A pipe that turns readable when the calling task is cancelled: `onCancel` handlers run
/// on whatever thread cancels, and a write is all they may do. Closed when the last
/// reference (the handler's or the watch's) goes.
final class CancellationPipe: Sendable {
    let readFD: Int32
    private let writeFD: Int32

    init?() {
        guard let (readEnd, writeEnd) = try? FileDescriptor.pipe(options: .closeOnExec) else { return nil }
        _ = fcntl(writeEnd.rawValue, F_SETFL, O_NONBLOCK)
        readFD = readEnd.rawValue
        writeFD = writeEnd.rawValue
    }

    func signal() {
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }

    deinit {
        close(readFD)
        close(writeFD)
    }
}
