import FoundationEssentials

/// A small streaming JSON writer for the documents that grow with the store (`guards`,
/// `history`, `runs`): JSONEncoder's key conversion dominated a large listing and held the
/// whole document in memory (BENCHMARKS.md).
/// Same shape as `Render.json`: snake_case keys in sorted order, a field with no value left
/// out, `/` not escaped, one document and a newline. Output is flushed to `fd` every 64 KiB.
package struct JSONWriter {
    private let out: OutputBuffer
    /// Whether the container being written already has a member (a comma comes first).
    private var hasMember: [Bool] = []

    /// A writer of one document to `fd` (1: stdout).
    package init(fd: Int32 = 1) { out = OutputBuffer(fd: fd) }

    package mutating func object(_ body: (inout JSONWriter) throws -> Void) rethrows {
        separate()
        out.byte(UInt8(ascii: "{")); hasMember.append(false)
        try body(&self)
        hasMember.removeLast(); out.byte(UInt8(ascii: "}"))
    }

    /// A member holding an object.
    package mutating func object(_ key: StaticString, _ body: (inout JSONWriter) throws -> Void) rethrows {
        self.key(key)
        out.byte(UInt8(ascii: "{")); hasMember.append(false)
        try body(&self)
        hasMember.removeLast(); out.byte(UInt8(ascii: "}"))
    }

    package mutating func array(_ key: StaticString, _ body: (inout JSONWriter) throws -> Void) rethrows {
        self.key(key)
        out.byte(UInt8(ascii: "[")); hasMember.append(false)
        try body(&self)
        hasMember.removeLast(); out.byte(UInt8(ascii: "]"))
    }

    package mutating func field(_ key: StaticString, _ value: String?) {
        guard let value else { return }
        self.key(key); string(value)
    }

    package mutating func field<I: BinaryInteger>(_ key: StaticString, _ value: I?) {
        guard let value else { return }
        self.key(key)
        out.decimal(UInt64(value.magnitude), negative: value < 0)
    }

    package mutating func field(_ key: StaticString, _ value: Bool) {
        self.key(key)
        if value { out.bytes("true") } else { out.bytes("false") }
    }

    /// An RFC 3339 UTC time, as a JSON string.
    package mutating func field(_ key: StaticString, _ value: Date?) {
        guard let value else { return }
        self.key(key)
        out.byte(UInt8(ascii: "\""))
        out.reserve(Timestamp.rfc3339MaxBytes) { Timestamp.writeRFC3339(Timestamp.milliseconds(value), to: $0) }
        out.byte(UInt8(ascii: "\""))
    }

    package mutating func field(_ key: StaticString, strings: [String]) {
        array(key) { w in for s in strings { w.separate(); w.string(s) } }
    }

    /// Ends the document with a newline and writes what is left.
    package mutating func finish() {
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
