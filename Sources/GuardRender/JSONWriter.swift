/// The one JSON writer of the command line: `Render.json` writes a whole document through it,
/// and a listing that grows with the store (`guards`) writes its rows one by one, each
/// encoded on its own (constant memory; JSONEncoder held the whole document, BENCHMARKS.md).
/// Values come from `JSONValueEncoder`: snake_case keys in byte order, a field with no value
/// left out. Strings escape only `"`, `\` and U+0000–U+001F; `/` is not escaped. One document
/// and a newline; output is flushed to `fd` every 64 KiB.
package struct JSONWriter {
    private let out: OutputBuffer
    private let encoder = JSONValueEncoder()
    /// Whether the container being written already has a member (a comma comes first).
    private var hasMember: [Bool] = []

    /// A writer of one document to `fd` (1: stdout).
    package init(fd: Int32 = 1) { out = OutputBuffer(fd: fd) }

    package mutating func object(_ body: (inout JSONWriter) throws -> Void) rethrows {
        separate()
        begin(UInt8(ascii: "{")); try body(&self); end(UInt8(ascii: "}"))
    }

    package mutating func array(_ key: StaticString, _ body: (inout JSONWriter) throws -> Void) rethrows {
        self.key(key)
        begin(UInt8(ascii: "[")); try body(&self); end(UInt8(ascii: "]"))
    }

    /// Writes `value` (an element, or the document itself) through `JSONValueEncoder`.
    package mutating func encode(_ value: some Encodable) throws {
        self.value(try encoder.encode(value))
    }

    /// Writes `value` (an element, or the document itself): an object's members in byte order
    /// of their keys.
    package mutating func value(_ value: JSONValue) {
        separate()
        write(value)
    }

    private mutating func write(_ value: JSONValue) {
        switch value {
        case .null: out.bytes("null")
        case .bool(let b): if b { out.bytes("true") } else { out.bytes("false") }
        case .integer(let magnitude, let negative): out.decimal(magnitude, negative: negative)
        case .string(let s): string(s)
        case .array(let elements):
            begin(UInt8(ascii: "[")); for e in elements { self.value(e) }; end(UInt8(ascii: "]"))
        case .object(let members):
            begin(UInt8(ascii: "{"))
            for name in members.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                separate(); string(name); out.byte(UInt8(ascii: ":"))
                write(members[name]!)
            }
            end(UInt8(ascii: "}"))
        }
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

    private mutating func begin(_ bracket: UInt8) { out.byte(bracket); hasMember.append(false) }

    private mutating func end(_ bracket: UInt8) { hasMember.removeLast(); out.byte(bracket) }

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
