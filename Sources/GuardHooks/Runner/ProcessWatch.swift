import Glibc

/// What happened while a hook's process group was watched.
struct WatchOutcome: Sendable, Hashable {
    var timedOut = false
    /// The signal (SIGINT/SIGTERM/SIGHUP to hook-runner) that ended the hook early.
    var interruptedBy: Int32? = nil
    /// The calling task was cancelled, which ended the hook early.
    var cancelled = false
}

/// Watches one spawned hook until it and its output are done: reads the merged
/// stdout/stderr pipe, enforces the timeout on the whole process group and kills what is
/// left of the group once the hook exits.
///
/// One `poll` loop on a dedicated thread over the pipe and the pidfd. The pidfd turns
/// readable when the hook exits but stays a zombie (swift-subprocess reaps it only after
/// after the watch returns), so its pid, which is the group id, cannot be reused
/// while the group is killed: `kill(-pgid)` cannot hit a stranger. An interruption of
/// hook-runner (RunInterruption) or the cancellation of the calling task (`cancelFD`
/// turns readable) ends the group like a timeout: TERM, grace, KILL.
struct ProcessWatch {
    let pid: pid_t
    /// The hook's pidfd, or -1 (old kernels): then exit is polled with `waitid(WNOWAIT)`.
    let pidfd: Int32
    let outputFD: Int32
    let timeout: Duration
    let grace: Duration
    /// How long to keep reading after the group is killed. Only something that left the
    /// group (`setsid`) can still hold the pipe then; the runner must not wait for it.
    let drain: Duration
    let collector: OutputCollector
    /// Readable once the calling task is cancelled, or -1.
    var cancelFD: Int32 = -1
    /// The hook's cgroup: every SIGKILL to the group also kills all of it, so a descendant
    /// that left the group cannot hold the output pipe open through the drain.
    var cgroup: HookCgroup? = nil

    func run() -> WatchOutcome {
        var outcome = WatchOutcome()
        let deadline = Self.now() + Self.nanoseconds(timeout)
        var killAt: Int64? = nil
        var exitedAt: Int64? = nil
        var pipeOpen = true
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)

        while true {
            let now = Self.now()
            if let exitedAt, !pipeOpen || now >= exitedAt + Self.nanoseconds(drain) { break }

            var fds: [pollfd] = []
            func watch(_ fd: Int32, if wanted: Bool) -> Int? {
                guard wanted, fd >= 0 else { return nil }
                fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
                return fds.count - 1
            }
            let pipeIndex = watch(outputFD, if: pipeOpen)
            let pidfdIndex = watch(pidfd, if: exitedAt == nil)
            // The interruption and cancellation pipes stay readable once written: watched
            // only until the group is being ended, or poll would spin.
            let stopRequestable = exitedAt == nil && killAt == nil
            _ = watch(RunInterruption.notifyFD, if: stopRequestable)  // wakes the poll; the signal is read below
            let cancelIndex = watch(cancelFD, if: stopRequestable)
            let wake = nextWake(now: now, deadline: deadline, killAt: killAt, exitedAt: exitedAt)
            let waitMS = wake.map { Int32(clamping: max(0, ($0 - now + 999_999) / 1_000_000)) } ?? -1
            let ready = poll(&fds, nfds_t(fds.count), waitMS)
            if ready < 0, errno != EINTR {
                // ENOMEM and the like: a hook must never run on unwatched, so end it now.
                killGroup(SIGKILL)
                break
            }
            func isReady(_ index: Int?) -> Bool { ready > 0 && index.map { fds[$0].revents != 0 } ?? false }

            if isReady(pipeIndex) {
                let n = buffer.withUnsafeMutableBytes { read(outputFD, $0.baseAddress, $0.count) }
                if n > 0 {
                    buffer.withUnsafeBytes { collector.consume(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    pipeOpen = false
                }
            }
            if exitedAt == nil, hasExited(pidfdReady: isReady(pidfdIndex)) {
                exitedAt = Self.now()
                killGroup(SIGKILL)  // what the hook left behind in its group goes with it
                continue
            }
            if exitedAt == nil {
                let t = Self.now()
                if killAt == nil, let signal = RunInterruption.signal {
                    outcome.interruptedBy = signal
                    killGroup(SIGTERM)
                    killAt = t + Self.nanoseconds(grace)
                } else if killAt == nil, isReady(cancelIndex) {
                    outcome.cancelled = true
                    killGroup(SIGTERM)
                    killAt = t + Self.nanoseconds(grace)
                } else if killAt == nil, t >= deadline {
                    outcome.timedOut = true
                    killGroup(SIGTERM)
                    killAt = t + Self.nanoseconds(grace)
                } else if let k = killAt, k != .max, t >= k {
                    killGroup(SIGKILL)
                    killAt = .max  // nothing left to escalate to; wait for the exit
                }
            }
        }
        return outcome
    }

    private func nextWake(now: Int64, deadline: Int64, killAt: Int64?, exitedAt: Int64?) -> Int64? {
        if let exitedAt { return exitedAt + Self.nanoseconds(drain) }
        var wake = killAt ?? deadline
        if wake == .max { wake = now + 1_000_000_000 }
        if pidfd < 0 { wake = min(wake, now + 20_000_000) }
        return wake
    }

    private func hasExited(pidfdReady: Bool) -> Bool {
        if pidfd >= 0 { return pidfdReady }
        var info = siginfo_t()
        // WNOWAIT: leave the zombie for swift-subprocess to reap (and keep the pgid taken).
        guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 else { return errno == ECHILD }
        return info.si_signo != 0
    }

    /// Signals the hook's whole process group; ESRCH (nobody left) is the good case.
    private func killGroup(_ signal: Int32) {
        _ = kill(-pid, signal)
        if signal == SIGKILL { cgroup?.killAll() }
    }

    static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    static func nanoseconds(_ d: Duration) -> Int64 {
        let (seconds, attoseconds) = d.components
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max / 4 : ns + attoseconds / 1_000_000_000
    }
}
