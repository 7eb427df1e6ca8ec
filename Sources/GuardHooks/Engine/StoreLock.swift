import Glibc
import FileIO
import SystemPackage
import GuardStore

/// The one exclusive `flock` that serializes every command changing the kernel or the
/// store. It lives next to the store (`<db>.lock`, 0600) and is waited on for a bounded time.
package final class StoreLock {
    package let path: String
    private var fd: Int32

    /// Why a lock could not be taken.
    package enum Failure: Error, Sendable, CustomStringConvertible {
        case busy(path: String, waitedSeconds: Double)
        case cannotOpen(path: String, errno: Errno)
        /// Not a regular file, or (as root) not root's alone (StoreTrust).
        case untrusted(String)

        package var description: String {
            switch self {
            case .busy(let p, let s): return "\(p): another hook-runner holds the lock (waited \(s) s)"
            case .cannotOpen(let p, let e): return "\(p): cannot open lock file: \(e)"
            case .untrusted(let m): return m
            }
        }
    }

    /// Takes the lock, polling every 10 ms up to `timeout` seconds.
    package static func acquire(path: String, timeout: Double) throws(Failure) -> StoreLock {
        // O_NONBLOCK: a FIFO planted here must not block the open (it is refused below).
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0o600)
        guard fd >= 0 else { throw .cannotOpen(path: path, errno: Errno(rawValue: errno)) }
        do { try StoreTrust.check(openFile: fd, path: path) } catch {
            Glibc.close(fd)
            throw .untrusted("\(error)")
        }
        _ = fchmod(fd, 0o600)   // the umask must not widen it
        let deadline = monotonicSeconds() + timeout
        while true {
            if retryingInterrupts({ flock(fd, LOCK_EX | LOCK_NB) }) == 0 { return StoreLock(path: path, fd: fd) }
            let e = errno
            if e != EWOULDBLOCK {
                Glibc.close(fd)
                throw .cannotOpen(path: path, errno: Errno(rawValue: e))
            }
            if monotonicSeconds() >= deadline {
                Glibc.close(fd)
                throw .busy(path: path, waitedSeconds: timeout)
            }
            usleep(10_000)
        }
    }

    /// Runs `body` while no command holds the lock, holding a shared lock on it meanwhile (a
    /// writer waits those few milliseconds, as for any other writer): nil when a command
    /// holds it, or when the lock file cannot be opened (missing, or not ours to read). A
    /// reader's probe: it creates nothing and never waits.
    package static func withoutWriters<T>(path: String, _ body: () throws -> T) rethrows -> T? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG,
              retryingInterrupts({ flock(fd, LOCK_SH | LOCK_NB) }) == 0 else { return nil }
        return try body()
    }

    private init(path: String, fd: Int32) { self.path = path; self.fd = fd }

    package func release() {
        guard fd >= 0 else { return }
        Glibc.close(fd)   // closing the only fd drops the flock
        fd = -1
    }

    deinit { release() }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
