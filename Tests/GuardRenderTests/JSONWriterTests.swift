import FoundationEssentials
import GuardRender
import Testing

/// The JSON documents of the command line (`Render.json`: `JSONValueEncoder` through
/// `JSONWriter`): escaping, absent fields, nesting, streamed rows, and the same document
/// Foundation's JSONEncoder makes with the options the command line once used.
@Suite struct JSONWriterTests {
    func document<T: Encodable>(_ value: T) throws -> String {
        try captured { fd in try Render.json(value, fd: fd) }
    }

    @Test(arguments: [
        ("plain", #""plain""#),
        ("say \"hi\"", #""say \"hi\"""#),
        (#"C:\dir"#, #""C:\\dir""#),
        ("/mnt/a/b", #""/mnt/a/b""#),                         // `/` is not escaped
        ("a\nb\rc\td", #""a\nb\rc\td""#),
        ("\u{8}\u{c}", #""\b\f""#),
        ("\u{0}\u{1}\u{1b}\u{1f}", #""\u0000\u0001\u001b\u001f""#),
        ("\u{7f}\u{85}", "\"\u{7f}\u{85}\""),               // JSON escapes only U+0000–U+001F
        ("été 日本 🗄️", "\"été 日本 🗄️\""),                 // non-ASCII as UTF-8, unescaped
        ("", #""""#),
    ])
    func stringEscaping(_ value: String, _ json: String) throws {
        #expect(try document(["k": value]) == "{\"k\":\(json)}\n")
    }

    /// Bytes that are not UTF-8 (a file name read from disk) arrive as U+FFFD, written as UTF-8.
    @Test func invalidUTF8IsReplaced() throws {
        let name = String(decoding: [0x61, 0xFF, 0xC3, 0x0A], as: UTF8.self)
        #expect(try document(["k": name]) == "{\"k\":\"a\u{FFFD}\u{FFFD}\\n\"}\n")
    }

    struct Sparse: Encodable {
        var a: String?
        var b: Int
        var c: Int64?
        var d: Date?
    }

    @Test func absentValuesAreLeftOut() throws {
        #expect(try document(Sparse(a: nil, b: 1, c: nil, d: nil)) == #"{"b":1}"# + "\n")
    }

    @Test(arguments: [(Int64.min, "-9223372036854775808"), (-1, "-1"), (0, "0"), (Int64.max, "9223372036854775807")])
    func integers(_ value: Int64, _ json: String) throws {
        #expect(try document(["n": value]) == "{\"n\":\(json)}\n")
    }

    struct Scalars: Encodable {
        var big: UInt64
        var no: Bool
        var t: Date
        var yes: Bool
    }

    @Test func unsignedBooleansAndTimes() throws {
        let text = try document(Scalars(big: UInt64.max, no: false, t: Date(timeIntervalSince1970: 1.5), yes: true))
        #expect(text == #"{"big":18446744073709551615,"no":false,"t":"1970-01-01T00:00:01.500Z","yes":true}"# + "\n")
    }

    struct Nested: Encodable {
        struct Row: Encodable {
            var id: Int?
            var tags: [String]?
            var inner: [[String: String]]?
        }
        var empty: [Int]
        var rows: [Row]
        var z: [String]
    }

    @Test func nesting() throws {
        let text = try document(Nested(empty: [], rows: [
            .init(id: 1, tags: ["a", "b\"c"]), .init(), .init(inner: [["x": "y"]]),
        ], z: []))
        #expect(text == #"{"empty":[],"rows":[{"id":1,"tags":["a","b\"c"]},{},{"inner":[{"x":"y"}]}],"z":[]}"# + "\n")
    }

    struct Big: Encodable {
        var big: String
        var names: [String]
    }

    /// A document far larger than the 64 KiB buffer, with a value larger than the buffer,
    /// arrives whole and in order.
    @Test func documentsLargerThanTheBuffer() throws {
        let big = String(repeating: "a\"", count: 40_000)             // 80,000 bytes, 120,000 escaped
        let names = (0..<5_000).map { "/mnt/name-\($0)" }
        let expected = #"{"big":""# + String(repeating: #"a\""#, count: 40_000) + #"","names":["#
            + names.map { "\"\($0)\"" }.joined(separator: ",") + "]}\n"
        #expect(try document(Big(big: big, names: names)) == expected)
    }

    /// A listing written row by row (`guards --json`) is the document of the whole list.
    @Test func streamedRowsMakeTheSameDocument() throws {
        let rows = (0..<3).map { Row(createdAt: Date(timeIntervalSince1970: Double($0)), id: Int64($0), label: nil,
                                      path: "/mnt/\($0)", runId: $0 == 1 ? 9 : nil) }
        let streamed = try captured { fd in
            var w = JSONWriter(fd: fd)
            try w.object { w in try w.array("rows") { w in for r in rows { try w.encode(r) } } }
            w.finish()
        }
        #expect(streamed == (try document(["rows": rows])))
    }

    struct Row: Encodable {
        var createdAt: Date
        var id: Int64
        var label: String?
        var path: String
        var runId: Int64?
    }

    /// The documents keep the shape JSONEncoder gave them: snake_case keys in sorted order,
    /// absent fields left out, RFC 3339 times, `/` unescaped, one document and a newline.
    @Test(arguments: [
        Row(createdAt: Date(timeIntervalSince1970: 1_763_722_176.123), id: 7, label: "nightly \"full\"", path: "/mnt/é/日本",
            runId: nil),
        Row(createdAt: Date(timeIntervalSince1970: -1), id: -2, label: nil, path: #"/mnt/back\slash"#, runId: 12),
        Row(createdAt: Date(timeIntervalSince1970: 0), id: 0, label: "a\nb\tc\u{1}", path: "/", runId: 0),
    ])
    func sameDocumentAsJSONEncoder(_ row: Row) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, enc in
            var c = enc.singleValueContainer()
            try c.encode(Timestamp.rfc3339(date))
        }
        let foundation = String(decoding: try encoder.encode(row), as: UTF8.self) + "\n"
        #expect(try document(row) == foundation)
    }
}
