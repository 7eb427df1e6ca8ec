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
        let start = bytes.count
        do {
            bytes.append(UInt8(ascii: "{"))
            var sink = JSONFieldSink(encoding: self)
            try value.documentFields(&sink)
            bytes.append(UInt8(ascii: "}"))
        } catch {
            bytes.removeSubrange(start...)
            frames.removeAll()
            throw error
        }
    }

    /// One member, `"key":` and a comma before it unless it is the object's first.
    fileprivate func member(_ key: StaticString) {
        if bytes.last != UInt8(ascii: "{") { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
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
        frames.append(Frame(start: bytes.count))
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
            for (n, member) in layouts.layout(frame.entries).enumerated() {
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

    func literal(_ s: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    func integer(_ i: some BinaryInteger) {
        var magnitude = UInt64(i.magnitude)
        if i < 0 { bytes.append(UInt8(ascii: "-")) }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { d in
            var n = d.count
            repeat { n -= 1; d[n] = UInt8(ascii: "0") + UInt8(magnitude % 10); magnitude /= 10 } while magnitude > 0
            bytes.append(contentsOf: d[n...])
        }
    }

    private static let hex = Array("0123456789abcdef".utf8)

    /// Escapes only `"`, `\` and U+0000–U+001F; `/` and everything else as UTF-8.
    func string(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { utf8 in
            var runStart = 0
            for i in 0..<utf8.count {
                let b = utf8[i]
                guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: utf8[runStart..<i])
                escape(b)
                runStart = i + 1
            }
            bytes.append(contentsOf: utf8[runStart...])
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private func escape(_ b: UInt8) {
        bytes.append(0x5C)
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(b)
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        case 0x08: bytes.append(UInt8(ascii: "b"))
        case 0x0C: bytes.append(UInt8(ascii: "f"))
        default: bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), Self.hex[Int(b >> 4)], Self.hex[Int(b & 0xF)]])
        }
    }
}

/// How an object's members are written: in byte order of their snake_case names, of equal
/// names only the last. Rows of a listing encode the same keys in the same order, so the
/// layout is remembered for the last few key sequences seen (keys compare by identity first:
/// a coding key's `stringValue` is usually the same literal every time).
final class ObjectLayouts {
    typealias Layout = [(name: String, entry: Int)]
    private let snake = SnakeCaseKeys()
    private var recent: [(keys: [String], layout: Layout)] = []

    func layout(_ entries: [JSONEncoding.Entry]) -> Layout {
        for known in recent where known.keys.count == entries.count
            && zip(known.keys, entries).allSatisfy({ $0.0 == $0.1.key }) {
            return known.layout
        }
        let names = entries.map { snake($0.key ?? "") }
        // Stable, so of equal names the last one sorts last.
        let order = names.indices.sorted { a, b in
            let (x, y) = (names[a].utf8, names[b].utf8)
            return x.elementsEqual(y) ? a < b : x.lexicographicallyPrecedes(y)
        }
        var layout: Layout = []
        for (n, i) in order.enumerated() where n + 1 == order.count || names[order[n + 1]] != names[i] {
            layout.append((names[i], i))
        }
        if recent.count == 8 { recent.removeFirst() }
        recent.append((entries.map { $0.key ?? "" }, layout))
        return layout
    }
}

/// The snake_case form of coding keys, each converted once per encoder.
final class SnakeCaseKeys {
    private var converted: [String: String] = [:]

    func callAsFunction(_ name: String) -> String {
        if let known = converted[name] { return known }
        let snake = Self.snakeCase(name)
        converted[name] = snake
        return snake
    }

    /// A word starts at an uppercase letter after a non-uppercase one, and at the last
    /// capital of an acronym followed by lowercase (`mountIDIsUnique` → `mount_id_is_unique`).
    static func snakeCase(_ name: String) -> String {
        let chars = Array(name)
        var out = ""
        for (i, c) in chars.enumerated() {
            if i > 0, c.isUppercase,
               !chars[i - 1].isUppercase || (i + 1 < chars.count && chars[i + 1].isLowercase) {
                out.append("_")
            }
            out += c.lowercased()
        }
        return out
    }
}

// MARK: - The Encoder protocols

/// The encoder handed to one value's `encode(to:)`: its containers write into the frame at
/// `depth` (all containers of one value share it, as a second keyed container must add to
/// the same object).
struct ByteEncoder: Encoder {
    let encoding: JSONEncoding
    let depth: Int
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        encoding.shape(depth, .object)
        return KeyedEncodingContainer(KeyedByteContainer(encoder: self))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        encoding.shape(depth, .array)
        return UnkeyedByteContainer(encoder: self)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleByteContainer(encoder: self) }
}

/// The typed `encode` overloads of the container protocols are all served by the generic one.
struct KeyedByteContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: ByteEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    mutating func encodeNil(forKey key: Key) throws { encoder.encoding.nullEntry(encoder.depth, key: key) }

    // The scalars of our records, without the generic path (`encodeIfPresent` comes here too).
    mutating func encode(_ value: String, forKey key: Key) throws { encoder.encoding.scalarEntry(encoder.depth, key: key) { $0.string(value) } }
    mutating func encode(_ value: Bool, forKey key: Key) throws {
        encoder.encoding.scalarEntry(encoder.depth, key: key) { $0.literal(value ? "true" : "false") }
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { encoder.encoding.scalarEntry(encoder.depth, key: key) { $0.integer(value) } }
    mutating func encode(_ value: Int64, forKey key: Key) throws { encoder.encoding.scalarEntry(encoder.depth, key: key) { $0.integer(value) } }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { encoder.encoding.scalarEntry(encoder.depth, key: key) { $0.integer(value) } }
    mutating func encode(_ value: Int32, forKey key: Key) throws { encoder.encoding.scalarEntry(encoder.depth, key: key) { $0.integer(value) } }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { encoder.encoding.scalarEntry(encoder.depth, key: key) { $0.integer(value) } }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try encoder.encoding.entry(encoder.depth, key: key, value, path: encoder.codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                        forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        encoder.encoding.deferredEntry(encoder.depth, key: key, codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        encoder.encoding.deferredEntry(encoder.depth, key: key, codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { superEncoder(forKey: Key(stringValue: "super")!) }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        encoder.encoding.deferredEntry(encoder.depth, key: key, codingPath: codingPath + [key])
    }
}

struct UnkeyedByteContainer: UnkeyedEncodingContainer {
    let encoder: ByteEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }
    var count: Int { encoder.encoding.entryCount(encoder.depth) }

    mutating func encodeNil() throws { encoder.encoding.nullEntry(encoder.depth, key: nil) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try encoder.encoding.entry(encoder.depth, key: nil, value, path: encoder.codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        encoder.encoding.deferredEntry(encoder.depth, key: nil, codingPath: codingPath).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        encoder.encoding.deferredEntry(encoder.depth, key: nil, codingPath: codingPath).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { encoder.encoding.deferredEntry(encoder.depth, key: nil, codingPath: codingPath) }
}

struct SingleByteContainer: SingleValueEncodingContainer {
    let encoder: ByteEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    mutating func encodeNil() throws { encoder.encoding.singleNull(encoder.depth) }

    // An enum's raw value, a wrapped id: without the generic path.
    mutating func encode(_ value: String) throws { encoder.encoding.singleScalar(encoder.depth) { $0.string(value) } }
    mutating func encode(_ value: Int64) throws { encoder.encoding.singleScalar(encoder.depth) { $0.integer(value) } }
    mutating func encode(_ value: UInt64) throws { encoder.encoding.singleScalar(encoder.depth) { $0.integer(value) } }
    mutating func encode(_ value: Int) throws { encoder.encoding.singleScalar(encoder.depth) { $0.integer(value) } }
    mutating func encode(_ value: Double) throws { throw JSONEncoding.refuseFloat(value, codingPath) }
    mutating func encode(_ value: Float) throws { throw JSONEncoding.refuseFloat(value, codingPath) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try encoder.encoding.single(encoder.depth, value, path: encoder.codingPath)
    }
}

/// Writes a record's fields (`DocumentFields`, in key order already) as members of the object
/// `JSONEncoding.encode` opened. Keys are literals of ours (snake_case ASCII): no escaping.
struct JSONFieldSink: DocumentFieldSink {
    let encoding: JSONEncoding

    mutating func field(_ key: StaticString, _ value: String?) throws {
        guard let value else { return }
        encoding.member(key); encoding.string(value)
    }

    mutating func field(_ key: StaticString, _ value: Int64?) throws {
        guard let value else { return }
        encoding.member(key); encoding.integer(value)
    }

    mutating func field(_ key: StaticString, _ value: Int32?) throws {
        guard let value else { return }
        encoding.member(key); encoding.integer(value)
    }

    mutating func field(_ key: StaticString, _ value: Bool) throws {
        encoding.member(key); encoding.literal(value ? "true" : "false")
    }

    mutating func field(_ key: StaticString, _ value: Date) throws {
        encoding.member(key); encoding.string(Timestamp.rfc3339(value))
    }

    mutating func field<T: Encodable>(_ key: StaticString, encoding value: T) throws {
        encoding.member(key)
        try encoding.write(value, path: [DocumentKey(key)])
    }
}
