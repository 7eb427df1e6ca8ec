import FoundationEssentials
import GuardStore

/// Encodes an `Encodable` value straight to JSON bytes, with the conventions of every JSON
/// document of the command line: keys are the coding keys in snake_case (`bootID` →
/// `boot_id`, as JSONEncoder's `convertToSnakeCase`) and an object's members are in byte order
/// of their keys, dates are RFC 3339 UTC strings (`Timestamp`), an optional field with no
/// value is left out (synthesised `encodeIfPresent`), enums are their raw values. Floating-
/// point numbers are refused: no document has one, and none should depend on a float
/// formatter.
///
/// No tree is built: scalars are written as they come; an object's members are written in
/// the order they are encoded and put in key order once the value's `encode(to:)` returns
/// (one copy of that object's bytes). A listing of 10,000 guards is a row at a time
/// (`JSONWriter`), so only one row's bytes are held (BENCHMARKS.md, workload 5).
package final class JSONEncoding {
    /// Member order and snake_case names, shared with nested encodings.
    private let layouts: ObjectLayouts
    /// The bytes written so far; `take()` hands them over.
    private(set) var bytes: [UInt8] = []
    /// The values being encoded whose containers are open, innermost last.
    private var frames: [Frame] = []

    package init() {
        layouts = ObjectLayouts()
        bytes.reserveCapacity(1024)
    }

    /// `value`'s JSON, appended to what was encoded before (see `take`).
    package func encode<T: Encodable>(_ value: T) throws {
        let start = bytes.count
        do { try write(value, path: []) } catch {
            bytes.removeSubrange(start...)  // nothing half-written is left for `take`
            frames.removeAll()
            throw error
        }
    }

    /// A record's JSON straight from its field list (no `Encoder` in between), appended like
    /// `encode`'s.
    package func encode<T: DocumentFields>(_ value: T) throws {
        // The sink owns the buffer while the fields are written (a struct's own array: no
        // exclusivity check per field).
        var sink = JSONFieldSink(encoding: self, out: bytes)
        bytes = []
        let start = sink.out.count
        sink.out.append(UInt8(ascii: "{"))
        do {
            try value.documentFields(&sink)
        } catch {
            sink.out.removeSubrange(start...)
            bytes = sink.out
            frames.removeAll()
            throw error
        }
        sink.out.append(UInt8(ascii: "}"))
        bytes = sink.out
    }

    /// `value`'s JSON appended to `out` (a buffer lent by a field sink).
    func appendEncoded<T: Encodable>(_ value: T, to out: inout [UInt8], path: [any CodingKey]) throws {
        swap(&bytes, &out)
        defer { swap(&bytes, &out) }
        try write(value, path: path)
    }

    /// The bytes encoded so far, and a fresh start.
    package func take() -> [UInt8] {
        defer { bytes.removeAll(keepingCapacity: true) }
        return bytes
    }

    /// One value being encoded: where its bytes start, and, for an object or array, its
    /// entries (an object's member values lie in `bytes` after `start`, in encoding order).
    struct Frame {
        enum Shape { case undecided, scalar, object, array }
        var shape = Shape.undecided
        let start: Int
        var entries: [Entry] = []
        /// A `[String: V]`: its keys are data (paths, names), written as they are, as
        /// JSONEncoder does; only coding keys become snake_case.
        var keysAreData = false
    }

    struct Entry {
        /// The coding key's `stringValue` as given (named in snake_case when the object is
        /// finished); nil for an array's element.
        var key: String?
        var value: EntryValue
    }

    enum EntryValue {
        case bytes(Range<Int>)
        /// A nested container or super-encoder: its own encoding, finished with its parent.
        case deferred(JSONEncoding, codingPath: [any CodingKey])
    }

    // MARK: Values

    func write<T: Encodable>(_ value: T, path: @autoclosure () -> [any CodingKey]) throws {
        if writeScalar(value) { return }
        let codingPath = path()
        frames.append(Frame(start: bytes.count, keysAreData: value is any StringKeyedDictionary))
        do {
            try value.encode(to: ByteEncoder(encoding: self, depth: frames.count - 1, codingPath: codingPath))
        } catch {
            frames.removeLast()
            throw error
        }
        try finish(frames.removeLast())
    }

    /// The scalars of our documents, told apart by their type (no dynamic cast on the
    /// common ones). False: not a scalar.
    private func writeScalar<T>(_ value: T) -> Bool {
        switch T.self {
        case is String.Type: string(unsafeBitCast(value, to: String.self))
        case is Bool.Type: literal(unsafeBitCast(value, to: Bool.self) ? "true" : "false")
        case is Int.Type: integer(unsafeBitCast(value, to: Int.self))
        case is Int64.Type: integer(unsafeBitCast(value, to: Int64.self))
        case is UInt64.Type: integer(unsafeBitCast(value, to: UInt64.self))
        case is Int32.Type: integer(unsafeBitCast(value, to: Int32.self))
        case is UInt32.Type: integer(unsafeBitCast(value, to: UInt32.self))
        case is Date.Type: string(Timestamp.rfc3339(unsafeBitCast(value, to: Date.self)))
        case is UInt.Type: integer(unsafeBitCast(value, to: UInt.self))
        case is Int16.Type: integer(unsafeBitCast(value, to: Int16.self))
        case is UInt16.Type: integer(unsafeBitCast(value, to: UInt16.self))
        case is Int8.Type: integer(unsafeBitCast(value, to: Int8.self))
        case is UInt8.Type: integer(unsafeBitCast(value, to: UInt8.self))
        default: return false
        }
        return true
    }

    /// Puts a finished value's entries in place: an object's members in byte order of their
    /// keys (the last of equal keys wins), an array's elements in order.
    private func finish(_ frame: Frame) throws {
        switch frame.shape {
        case .scalar: return
        case .undecided: literal("{}")  // encoded nothing: an empty object, as JSONEncoder
        case .object, .array:
            let region = Array(bytes[frame.start...])
            bytes.removeSubrange(frame.start...)
            func append(_ entry: Entry) throws {
                switch entry.value {
                case .bytes(let r): bytes.append(contentsOf: region[(r.lowerBound - frame.start)..<(r.upperBound - frame.start)])
                case .deferred(let nested, _):
                    try nested.finish(nested.frames.removeLast())
                    bytes.append(contentsOf: nested.bytes)
                }
            }
            if frame.shape == .array {
                bytes.append(UInt8(ascii: "["))
                for (n, entry) in frame.entries.enumerated() {
                    if n > 0 { bytes.append(UInt8(ascii: ",")) }
                    try append(entry)
                }
                bytes.append(UInt8(ascii: "]"))
                return
            }
            bytes.append(UInt8(ascii: "{"))
            for (n, member) in layouts.layout(frame.entries, snakeCase: !frame.keysAreData).enumerated() {
                if n > 0 { bytes.append(UInt8(ascii: ",")) }
                string(member.name); bytes.append(UInt8(ascii: ":"))
                try append(frame.entries[member.entry])
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    // MARK: Containers' side

    func shape(_ depth: Int, _ shape: Frame.Shape) {
        if frames[depth].shape == .undecided { frames[depth].shape = shape }
    }

    /// Encodes one entry of the container at `depth`.
    func entry<T: Encodable>(_ depth: Int, key: (any CodingKey)?, _ value: T, path: @autoclosure () -> [any CodingKey]) throws {
        let start = bytes.count
        try write(value, path: path())
        frames[depth].entries.append(Entry(key: key?.stringValue, value: .bytes(start..<bytes.count)))
    }

    /// A scalar entry, written without the generic path (most fields of our records).
    func scalarEntry(_ depth: Int, key: (any CodingKey)?, _ write: (JSONEncoding) -> Void) {
        let start = bytes.count
        write(self)
        frames[depth].entries.append(Entry(key: key?.stringValue, value: .bytes(start..<bytes.count)))
    }

    func nullEntry(_ depth: Int, key: (any CodingKey)?) {
        let start = bytes.count
        literal("null")
        frames[depth].entries.append(Entry(key: key?.stringValue, value: .bytes(start..<bytes.count)))
    }

    /// A nested container's (or super-encoder's) encoding, filled in while the parent value
    /// encodes and written out when the parent is finished.
    func deferredEntry(_ depth: Int, key: (any CodingKey)?, codingPath: [any CodingKey]) -> ByteEncoder {
        // The same nested container asked for again adds to the first one (as JSONEncoder).
        if let key = key?.stringValue, let last = frames[depth].entries.last(where: { $0.key?.utf8.elementsEqual(key.utf8) == true }),
           case .deferred(let nested, _) = last.value {
            return ByteEncoder(encoding: nested, depth: 0, codingPath: codingPath)
        }
        let nested = JSONEncoding(sharing: layouts)
        nested.frames.append(Frame(start: 0))
        frames[depth].entries.append(Entry(key: key?.stringValue, value: .deferred(nested, codingPath: codingPath)))
        return ByteEncoder(encoding: nested, depth: 0, codingPath: codingPath)
    }

    private init(sharing layouts: ObjectLayouts) { self.layouts = layouts }

    func entryCount(_ depth: Int) -> Int { frames[depth].entries.count }

    /// Every floating-point value ends in a single-value container's `encode(Double)` or
    /// `encode(Float)` (Float16 and Float80 encode as Float and Double): refused there.
    static func refuseFloat(_ value: Any, _ codingPath: [any CodingKey]) -> EncodingError {
        EncodingError.invalidValue(value, .init(codingPath: codingPath, debugDescription: "no floating-point numbers in JSON documents"))
    }

    /// A single-value container's scalar (or a value of its own) is the value itself.
    func single<T: Encodable>(_ depth: Int, _ value: T, path: @autoclosure () -> [any CodingKey]) throws {
        frames[depth].shape = .scalar
        try write(value, path: path())
    }

    func singleScalar(_ depth: Int, _ write: (JSONEncoding) -> Void) {
        frames[depth].shape = .scalar
        write(self)
    }

    func singleNull(_ depth: Int) {
        frames[depth].shape = .scalar
        literal("null")
    }

    // MARK: Bytes

    // The writers below are `JSONBytes`'s, over `bytes` (one exclusivity check per value,
    // not per byte appended).
    func literal(_ s: StaticString) { JSONBytes.literal(s, into: &bytes) }
    func integer(_ i: some BinaryInteger) { JSONBytes.integer(i, into: &bytes) }
    func string(_ s: String) { JSONBytes.string(s, into: &bytes) }
}

/// The bytes of JSON scalars and keys, appended to a buffer.
enum JSONBytes {
    static func literal(_ s: StaticString, into out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    static func integer(_ i: some BinaryInteger, into out: inout [UInt8]) {
        var magnitude = UInt64(i.magnitude)
        if i < 0 { out.append(UInt8(ascii: "-")) }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: 20 digits at most
        withUnsafeMutableBytes(of: &digits) { d in
            var n = d.count
            repeat { n -= 1; d[n] = UInt8(ascii: "0") + UInt8(magnitude % 10); magnitude /= 10 } while magnitude > 0
            out.append(contentsOf: d[n...])
        }
    }

    /// One member's `"key":`, with a comma before it unless it is its object's first. Keys
    /// are literals of ours (snake_case ASCII): no escaping.
    static func member(_ key: StaticString, into out: inout [UInt8]) {
        if out.last != UInt8(ascii: "{") { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: "\""))
        literal(key, into: &out)
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ":"))
    }

    private static let hex = Array("0123456789abcdef".utf8)

    /// Escapes only `"`, `\` and U+0000–U+001F; `/` and everything else as UTF-8.
    static func string(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { utf8 in
            var runStart = 0
            for i in 0..<utf8.count {
                let b = utf8[i]
                guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
                out.append(contentsOf: utf8[runStart..<i])
                escape(b, into: &out)
                runStart = i + 1
            }
            out.append(contentsOf: utf8[runStart...])
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func escape(_ b: UInt8, into out: inout [UInt8]) {
        out.append(0x5C)
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(b)
        case 0x0A: out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "t"))
        case 0x08: out.append(UInt8(ascii: "b"))
        case 0x0C: out.append(UInt8(ascii: "f"))
        default: out.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(b >> 4)], hex[Int(b & 0xF)]])
        }
    }
}

/// `[String: V]` (`JSONEncoding`: keys written as they are).
protocol StringKeyedDictionary {}
extension Dictionary: StringKeyedDictionary where Key == String {}
