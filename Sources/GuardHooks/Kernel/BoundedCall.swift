import Glibc

/// Runs one call that may enter a dead filesystem (a hung NFS server, a FUSE daemon that
/// stopped answering) on a thread of its own, and waits at most `seconds` for it. A call
/// that does not return in time is abandoned: its thread stays blocked in the kernel until
/// the filesystem answers or the process exits, which is all a process can do about an
/// uninterruptible sleep. The one place `check` enters the filesystem goes through here.
enum BoundedCall {
    /// The result and the semaphore posted when it is there; shared by the waiter and the
    /// thread, which may outlive the wait.
    private final class Slot<T>: @unchecked Sendable {
        var value: T?
        var done = sem_t()
        init() { sem_init(&done, 0, 0) }
        deinit { sem_destroy(&done) }
    }

    /// The call's result, or nil when it did not return within `seconds`.
    static func run<T>(seconds: Double, _ work: @escaping () -> T) -> T? {
        let slot = Slot<T>()
        guard BlockingThread.detached({ slot.value = work(); sem_post(&slot.done) }) else { return work() }
        var clock = timespec()
        clock_gettime(CLOCK_REALTIME, &clock)
        let nanoseconds = Int(clock.tv_nsec) + Int((seconds * 1e9).rounded())
        var deadline = timespec(tv_sec: clock.tv_sec + nanoseconds / 1_000_000_000, tv_nsec: nanoseconds % 1_000_000_000)
        while sem_timedwait(&slot.done, &deadline) != 0 {
            if errno == EINTR { continue }
            return nil  // ETIMEDOUT: abandoned
        }
        return slot.value
    }
}
