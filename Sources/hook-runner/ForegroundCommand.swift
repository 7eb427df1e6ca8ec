import FileIO
import Glibc

/// `exec`'s COMMAND: spawned with the caller's stdin, stdout and stderr, found on the caller's
/// PATH (`posix_spawnp`), with default signal dispositions and an empty signal mask whatever
/// ours are. INT, TERM and HUP sent to hook-runner while it runs are forwarded to it.
enum ForegroundCommand {
    /// How COMMAND ended: an exit code, or the signal that ended it.
    enum Ending: Equatable {
        case exited(Int32)
        case signaled(Int32)
        /// It could not be started (not found, not executable): errno.
        case notStarted(Int32)
        /// Not started: signal N arrived first.
        case interrupted(Int32)

        /// The shell's convention: the exit code, or 128+N for signal N.
        var exitCode: Int32 {
            switch self {
            case .exited(let c): return c
            case .signaled(let s), .interrupted(let s): return 128 + s
            case .notStarted(let e): return e == ENOENT ? 127 : 126
            }
        }
    }

    static let forwarded: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Runs `argv` to its end.
    static func run(_ argv: [String]) -> Ending {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t(), empty = sigset_t()
        sigemptyset(&empty)
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        if received != 0 { return .interrupted(received) }
        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let rc = posix_spawnp(&pid, argv[0], nil, &attributes, cArgs, environ)
        guard rc == 0 else { return .notStarted(rc) }
        forwardTo = pid
        defer { forwardTo = 0 }
        var status: Int32 = 0
        // A forwarded signal interrupts waitpid: wait again, until COMMAND itself has ended.
        _ = retryingInterrupts { waitpid(pid, &status, 0) }
        let low = status & 0x7f
        return low == 0 ? .exited((status >> 8) & 0xff) : .signaled(low)
    }

    /// The pid signals go to; read by the handler (a plain store: `kill` is async-signal-safe).
    nonisolated(unsafe) private static var forwardTo: pid_t = 0
    /// The first signal forwarded, for the caller's exit code.
    nonisolated(unsafe) private(set) static var received: Int32 = 0

    /// From here to `release()`, INT, TERM and HUP do not end hook-runner: they are recorded
    /// (`received`) and forwarded to COMMAND while it runs, so the post phase always runs.
    static func catchSignals() {
        for sig in forwarded {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { sig in
                if ForegroundCommand.received == 0 { ForegroundCommand.received = sig }
                if ForegroundCommand.forwardTo > 0 { kill(ForegroundCommand.forwardTo, sig) }
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0  // no SA_RESTART: waitpid returns EINTR and is retried
            sigaction(sig, &action, nil)
        }
    }

    static func release() {
        for sig in forwarded { signal(sig, SIG_DFL) }
    }
}
