import GuardHooks
import FoundationEssentials
import Glibc

/// A small streaming JSON writer for the documents that grow with the store (`guards`,
/// `history`, `runs`): JSONEncoder's key conversion dominated a large listing and held the
/// whole document in memory (BENCHMARKS.md).
/// Same shape as `Render.json`: snake_case keys in sorted order, a field with no value left
/// out, `/` not escaped, one document and a newline. Output is flushed to stdout every 64 KiB.
struct JSONWriter {
    private let out = OutputBuffer(fd: 1)
    /// Whether the container being written already has a member (a comma comes first).
    private var hasMember: [Bool] = []

    mutating func object(_ body: (inout JSONWriter) throws -> Void) rethrows {
        separate()
        out.byte(UInt8(ascii: "{")); hasMember.append(false)
        try body(&self)
        hasMember.removeLast(); out.byte(UInt8(ascii: "}"))
    }

    mutating func array(_ key: StaticString, _ body: (inout JSONWriter) throws -> Void) rethrows {
        self.key(key)
        out.byte(UInt8(ascii: "[")); hasMember.append(false)
        try body(&self)
        hasMember.removeLast(); out.byte(UInt8(ascii: "]"))
    }

    mutating func field(_ key: StaticString, _ value: String?) {
        guard let value else { return }
        self.key(key); string(value)
    }

    mutating func field<I: BinaryInteger>(_ key: StaticString, _ value: I?) {
        guard let value else { return }
        self.key(key)
        out.decimal(UInt64(value.magnitude), negative: value < 0)
    }

    mutating func field(_ key: StaticString, _ value: Bool) {
        self.key(key)
        if value { out.bytes("true") } else { out.bytes("false") }
    }

    /// An RFC 3339 UTC time, as a JSON string.
    mutating func field(_ key: StaticString, _ value: Date?) {
        guard let value else { return }
        self.key(key)
        out.byte(UInt8(ascii: "\""))
        out.reserve(Timestamp.rfc3339MaxBytes) { Timestamp.writeRFC3339(Timestamp.milliseconds(value), to: $0) }
        out.byte(UInt8(ascii: "\""))
    }

    mutating func field(_ key: StaticString, strings: [String]) {
        array(key) { w in for s in strings { w.separate(); w.string(s) } }
    }

    /// Ends the document with a newline and writes what is left.
    mutating func finish() {
        out.byte(0x0A)
        out.flush()
    }

    /// Keys are literals of ours (snake_case ASCII): copied as they are, no escaping pass.
    private mutating func key(_ key: StaticString) {
        separate()
        out.byte(UInt8(ascii: "\""))
        out.bytes(key)
        out.byte(UInt8(ascii: "\""))
        out.byte(UInt8(ascii: ":"))
    }

    private mutating func separate() {
        guard !hasMember.isEmpty else { return }
        if hasMember[hasMember.count - 1] { out.byte(UInt8(ascii: ",")) }
        hasMember[hasMember.count - 1] = true
    }

    private static let hex = Array("0123456789abcdef".utf8)

    private mutating func string(_ s: String) {
        out.byte(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            // Most values need no escape at all: copy runs of plain bytes in one go.
            guard let base = bytes.baseAddress else { return }
            var runStart = 0
            for i in 0..<bytes.count {
                let b = base[i]
                guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
                out.bytes(base + runStart, i - runStart)
                escape(b)
                runStart = i + 1
            }
            out.bytes(base + runStart, bytes.count - runStart)
        }
        out.byte(UInt8(ascii: "\""))
    }

    private mutating func escape(_ b: UInt8) {
        out.byte(0x5C)
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.byte(b)
        case 0x0A: out.byte(UInt8(ascii: "n"))
        case 0x0D: out.byte(UInt8(ascii: "r"))
        case 0x09: out.byte(UInt8(ascii: "t"))
        case 0x08: out.byte(UInt8(ascii: "b"))
        case 0x0C: out.byte(UInt8(ascii: "f"))
        default:
            out.bytes("u00"); out.byte(Self.hex[Int(b >> 4)]); out.byte(Self.hex[Int(b & 0xF)])
        }
    }
}

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

    /// Writes every byte of the command's output and error lines (this buffer, `Render.write`):
    /// EINTR is retried; a closed pipe ends the process with SIGPIPE, as `head` expects.
    static func writeAll(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) {
        var off = 0
        while off < n {
            let w = Glibc.write(fd, p + off, n - off)
            if w <= 0 { if errno == EINTR { continue }; return }
            off += w
        }
    }
}
