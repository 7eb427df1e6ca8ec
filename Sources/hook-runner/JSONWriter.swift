#if canImport(Glibc)
import Glibc
#endif

/// A small streaming JSON writer for the documents that grow with the store (`guards`,
/// `history`, `runs`): JSONEncoder with snake_case key conversion spent 81% of a 10,000-guard
/// listing building dictionaries and converting keys, and held the whole document in memory.
/// Same shape as `Render.json`: snake_case keys in sorted order, a field with no value left
/// out, `/` not escaped, one document and a newline. Output is flushed to stdout every 64 KiB.
struct JSONWriter {
    private var buffer: [UInt8] = []
    /// Whether the container being written already has a member (a comma comes first).
    private var hasMember: [Bool] = []

    init() { buffer.reserveCapacity(1 << 16) }

    mutating func object(_ body: (inout JSONWriter) -> Void) {
        separate()
        buffer.append(UInt8(ascii: "{")); hasMember.append(false)
        body(&self)
        hasMember.removeLast(); buffer.append(UInt8(ascii: "}"))
        flushIfLarge()
    }

    mutating func array(_ key: String, _ body: (inout JSONWriter) -> Void) {
        self.key(key)
        buffer.append(UInt8(ascii: "[")); hasMember.append(false)
        body(&self)
        hasMember.removeLast(); buffer.append(UInt8(ascii: "]"))
    }

    mutating func field(_ key: String, _ value: String?) {
        guard let value else { return }
        self.key(key); string(value)
    }

    mutating func field<I: BinaryInteger>(_ key: String, _ value: I?) {
        guard let value else { return }
        self.key(key); buffer.append(contentsOf: String(value).utf8)
    }

    mutating func field(_ key: String, _ value: Bool) {
        self.key(key); buffer.append(contentsOf: (value ? "true" : "false").utf8)
    }

    mutating func field(_ key: String, strings: [String]) {
        array(key) { w in for s in strings { w.separate(); w.string(s) } }
    }

    /// Ends the document with a newline and writes what is left.
    mutating func finish() {
        buffer.append(0x0A)
        flush()
    }

    private mutating func key(_ key: String) {
        separate()
        string(key)
        buffer.append(UInt8(ascii: ":"))
    }

    private mutating func separate() {
        guard !hasMember.isEmpty else { return }
        if hasMember[hasMember.count - 1] { buffer.append(UInt8(ascii: ",")) }
        hasMember[hasMember.count - 1] = true
    }

    private static let hex = Array("0123456789abcdef".utf8)

    private mutating func string(_ s: String) {
        buffer.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): buffer.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): buffer.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: buffer.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: buffer.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: buffer.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08: buffer.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: buffer.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0..<0x20:
                buffer.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, Self.hex[Int(b >> 4)], Self.hex[Int(b & 0xF)]])
            default: buffer.append(b)
            }
        }
        buffer.append(UInt8(ascii: "\""))
    }

    private mutating func flushIfLarge() {
        if buffer.count >= 1 << 16 { flush() }
    }

    private mutating func flush() {
        buffer.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Glibc.write(1, raw.baseAddress! + off, raw.count - off)
                if n <= 0 { if errno == EINTR { continue }; return }
                off += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
