import SystemPackage

/// A fixed 64 KiB byte buffer in front of a file descriptor: appends are a bounds check and a
/// store (a Swift array checked uniqueness and capacity on every byte), full buffers are
/// written out, so a listing of any size costs the same memory.
final class OutputBuffer {
    private static let capacity = 1 << 16
    private let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: OutputBuffer.capacity)
    private var count = 0
    private let fd: Int32

    init(fd: Int32) { self.fd = fd }
    deinit { storage.deallocate() }

    func byte(_ b: UInt8) {
        if count == Self.capacity { flush() }
        storage[count] = b; count += 1
    }

    func bytes(_ p: UnsafePointer<UInt8>, _ n: Int) {
        guard n > 0 else { return }
        if count + n > Self.capacity {
            flush()
            if n > Self.capacity { Self.writeAll(fd, UnsafeRawPointer(p), n); return }
        }
        (storage + count).update(from: p, count: n); count += n
    }

    func bytes(_ s: StaticString) { bytes(s.utf8Start, s.utf8CodeUnitCount) }

    func flush() {
        Self.writeAll(fd, UnsafeRawPointer(storage), count)
        count = 0
    }

    /// Writes all `n` bytes (EINTR retried); an error, such as a closed pipe, ends the
    /// output silently, as `head` expects.
    static func writeAll(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) {
        _ = try? FileDescriptor(rawValue: fd).writeAll(UnsafeRawBufferPointer(start: p, count: n))
    }
}
