import CGuardSys
import FileIO
import SystemPackage
import Glibc

/// The one place a raw kernel result becomes Swift: `call` returns a value >= 0 or
/// -errno (the CGuardSys convention); EINTR is retried by `retryingInterrupts` (FileIO),
/// any other errno becomes a `KernelError` naming the operation and the path.
@discardableResult
@inline(__always)
func sys<R: BinaryInteger>(_ operation: String, _ path: String, _ call: () -> R) throws(KernelError) -> R {
    let rc = retryingInterrupts(call) { Int64(clamping: $0) == -Int64(EINTR) }
    if rc >= 0 { return rc }
    // -rc cannot overflow for any real errno; clamp anyway rather than trap.
    let code = Int32(clamping: Int64(clamping: rc).magnitude)
    throw KernelError(Errno(rawValue: code), operation, path)
}

/// Closes an fd we own. Not retried and errors ignored: on Linux the descriptor is
/// released even when close reports EINTR, so a retry could close someone else's fd.
@inline(__always)
func closeFD(_ fd: Int32) {
    if fd >= 0 { _ = Glibc.close(fd) }
}

/// `/proc/self/fd/N`: a path the kernel resolves to exactly the (mount, dentry) the fd
/// is pinned to, whatever has been mounted or renamed at the original path since.
@inline(__always)
func procFDPath(_ fd: Int32) -> String { "/proc/self/fd/\(fd)" }

/// File type bits of `stx_mode`.
enum FileMode {
    static let typeMask: UInt32 = 0o170000
    static let directory: UInt32 = 0o040000
    static let symlink: UInt32 = 0o120000
}

/// glibc's `gnu_dev_makedev`, the encoding `stat(2)`'s `st_dev` and `stat -c %d` use, so
/// a probe's device compares equal to what operators' tools print.
@inline(__always)
func makeDevice(major: UInt32, minor: UInt32) -> UInt64 {
    let ma = UInt64(major), mi = UInt64(minor)
    return ((ma & 0x0000_0fff) << 8) | ((ma & 0xffff_f000) << 32)
        | (mi & 0x0000_00ff) | ((mi & 0xffff_ff00) << 12)
}
