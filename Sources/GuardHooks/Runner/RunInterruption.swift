import Glibc
import CGuardSys
import SystemPackage

/// SIGINT, SIGTERM and SIGHUP during a run (Ctrl-C, `systemctl stop`, a caller's timeout):
/// instead of dying and orphaning the running hook, hook-runner ends the hook's group
/// (TERM, grace, KILL), records the run `interrupted` and exits 128+N. The handlers only
/// note the signal and write a byte to a pipe the hook watch polls.
package enum RunInterruption {
    /// The read end of the notification pipe, or -1 before `install()`.
    nonisolated(unsafe) static var notifyFD: Int32 = -1

    /// Installs the handlers (once, before the first hook starts).
    package static func install() {
        guard notifyFD < 0 else { return }
        guard let (readEnd, writeEnd) = try? FileDescriptor.pipe(options: .closeOnExec) else { return }
        // A handler must never block on a full pipe.
        _ = fcntl(writeEnd.rawValue, F_SETFL, O_NONBLOCK)
        notifyFD = readEnd.rawValue
        _ = gs_install_interrupt_handlers(writeEnd.rawValue)
    }

    /// The signal that interrupted the run, if any.
    package static var signal: Int32? {
        let s = gs_interrupt_signal()
        return s == 0 ? nil : s
    }
}
