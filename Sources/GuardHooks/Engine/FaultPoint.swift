import Glibc

#if GUARD_HOOKS_FAULT_POINTS
/// Where a crash test may kill the process: after the intents are committed and before
/// the kernel is touched, or after the kernel acted and before the outcomes are settled.
/// Debug builds only (`GUARD_HOOKS_FAULT_POINTS`, Package.swift): a release binary has no
/// way to be told to die.
package enum FaultPoint: String, Sendable, CaseIterable {
    case afterIntent = "after-intent"
    case afterKernel = "after-kernel"
    /// In `rescue`, after the third entry has moved (an interrupted rescue).
    case rescueMidway = "rescue-midway"
}

extension GuardEngine {
    func crashIfFaultPoint(_ point: FaultPoint) {
        if configuration.faultPoint == point { kill(getpid(), SIGKILL) }
    }
}
#else
/// The fault points of a release build: names for the call sites, and nothing else.
enum FaultPoint {
    case afterIntent, afterKernel, rescueMidway
}

extension GuardEngine {
    @inline(__always)
    func crashIfFaultPoint(_ point: FaultPoint) {}
}
#endif
