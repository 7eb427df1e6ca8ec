import GuardStore

/// The one JSON writer of the command line: `Render.json` writes a whole document through it,
/// and a listing that grows with the store (`guards`) writes its rows one by one, each
/// encoded on its own (constant memory; JSONEncoder held the whole document, BENCHMARKS.md).
/// Values are encoded by `JSONEncoding`: snake_case keys in byte order, a field with no value
/// left out, only `"`, `\` and U+0000–U+001F escaped. One document and a newline; output is
/// flushed to `fd` every 64 KiB.
package struct JSONWriter {
    private let out: OutputBuffer
    private let encoding = JSONEncoding()
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

    /// Writes `value` (an element, or the document itself) through `JSONEncoding`.
    package mutating func encode(_ value: some Encodable) throws {
        try encoding.encode(value)
        writeEncoded()
    }

    /// Writes a record (an element, or the document itself) from its field list.
    package mutating func encode(_ value: some DocumentFields) throws {
        try encoding.encode(value)
        writeEncoded()
    }

    /// A guard with its claims, the row of a listing that grows with the store: the same as
    /// above, with the types known here, so the whole row is specialised (10,000 rows).
    package mutating func encode(_ listing: GuardListing) throws {
        try encoding.encode(listing)
        writeEncoded()
    }

    /// The value just encoded, as the next element (or the document).
    private mutating func writeEncoded() {
        separate()
        encoding.take().withUnsafeBufferPointer { if let base = $0.baseAddress { out.bytes(base, $0.count) } }
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
}
