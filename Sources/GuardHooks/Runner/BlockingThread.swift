import Glibc

/// Runs blocking work (poll loops) on a thread of its own. Swift's cooperative pool has
/// one thread per core; blocking one of them for a hook's whole lifetime would stall the
/// caller's other tasks, on a 2-core host all of them.
enum BlockingThread {
    private final class Job {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            // No thread to be had: run here rather than fail the hook.
            if !detached({ continuation.resume(returning: work()) }) { continuation.resume(returning: work()) }
        }
    }

    /// Starts `body` on a detached thread of its own; false (and `body` not run) when no
    /// thread could be made.
    static func detached(_ body: @escaping () -> Void) -> Bool {
        let job = Unmanaged.passRetained(Job(body))
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let rc = pthread_create(&thread, &attributes, { raw in
            Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, job.toOpaque())
        if rc != 0 { job.release() }
        return rc == 0
    }
}
