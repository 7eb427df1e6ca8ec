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

    /// Lets `body` write at most `n` bytes in place; it returns how many it wrote.
    func reserve(_ n: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Int) {
        if count + n > Self.capacity { flush() }
        count += body(storage + count)
    }

    func decimal(_ value: UInt64, negative: Bool) {
        reserve(21) { p in
            var v = value, i = 0
            if negative { p[0] = UInt8(ascii: "-"); i = 1 }
            var digits: (UInt64, Int) = (v, 0)
            repeat { digits.1 += 1; digits.0 /= 10 } while digits.0 > 0
            var end = i + digits.1
            let written = end
            repeat { end -= 1; p[end] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10 } while v > 0
            return written
        }
    }

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
