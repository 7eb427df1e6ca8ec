import FoundationEssentials
import GuardRender
import Testing

/// The streaming JSON writer of the listings: escaping, absent fields, nesting, and the
/// same document `Render.json` (JSONEncoder) makes for the same values.
@Suite struct JSONWriterTests {
    func document(_ body: (inout JSONWriter) -> Void) -> String {
        captured { fd in
            var w = JSONWriter(fd: fd)
            w.object { w in body(&w) }
            w.finish()
        }
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
    func stringEscaping(_ value: String, _ json: String) {
        #expect(document { $0.field("k", value) } == "{\"k\":\(json)}\n")
    }

    @Test func absentValuesAreLeftOut() {
        let text = document { w in
            w.field("a", nil as String?)
            w.field("b", 1)
            w.field("c", nil as Int64?)
            w.field("d", nil as Date?)
        }
        #expect(text == #"{"b":1}"# + "\n")
    }

    @Test(arguments: [(Int64.min, "-9223372036854775808"), (-1, "-1"), (0, "0"), (Int64.max, "9223372036854775807")])
    func integers(_ value: Int64, _ json: String) {
        #expect(document { $0.field("n", value) } == "{\"n\":\(json)}\n")
    }

    @Test func unsignedBooleansAndTimes() {
        let text = document { w in
            w.field("big", UInt64.max)
            w.field("no", false)
            w.field("t", Date(timeIntervalSince1970: 1.5))
            w.field("yes", true)
        }
        #expect(text == #"{"big":18446744073709551615,"no":false,"t":"1970-01-01T00:00:01.500Z","yes":true}"# + "\n")
    }

    @Test func nesting() {
        let text = document { w in
            w.array("empty") { _ in }
            w.array("rows") { w in
                w.object { w in w.field("id", 1); w.field(
                    "tags", strings: ["a", "b\"c"]) }
                w.object { _ in }
                w.object { w in w.array("inner") { w in w.object { w in w.field("x", "y") } } }
            }
            w.field("z", strings: [])
        }
        #expect(text == #"{"empty":[],"rows":[{"id":1,"tags":["a","b\"c"]},{},{"inner":[{"x":"y"}]}],"z":[]}"# + "\n")
    }

    /// A document far larger than the 64 KiB buffer, with a value larger than the buffer,
    /// arrives whole and in order.
    @Test func documentsLargerThanTheBuffer() {
        let big = String(repeating: "a\"", count: 40_000)             // 80,000 bytes, 120,000 escaped
        let names = (0..<5_000).map { "/mnt/name-\($0)" }
        let text = document { w in
            w.field("big", big)
            w.field("names", strings: names)
        }
        let expected = #"{"big":""# + String(repeating: #"a\""#, count: 40_000) + #"","names":["#
            + names.map { "\"\($0)\"" }.joined(separator: ",") + "]}\n"
        #expect(text == expected)
    }

    /// The writer promises the shape of `Render.json`: snake_case keys in sorted order, absent
    /// fields left out, RFC 3339 times, `/` unescaped, one document and a newline.
    struct Row: Encodable {
        var createdAt: Date
        var id: Int64
        var label: String?
        var path: String
        var runId: Int64?
    }

    @Test(arguments: [
        Row(createdAt: Date(timeIntervalSince1970: 1_763_722_176.123), id: 7, label: "nightly \"full\"", path: "/mnt/é/日本",
            runId: nil),
        Row(createdAt: Date(timeIntervalSince1970: -1), id: -2, label: nil, path: #"/mnt/back\slash"#, runId: 12),
        Row(createdAt: Date(timeIntervalSince1970: 0), id: 0, label: "a\nb\tc", path: "/", runId: 0),
    ])
    func sameDocumentAsRenderJSON(_ row: Row) throws {
        let encoded = try captured { fd in try Render.json(row, fd: fd) }
        let streamed = document { w in
            w.field("created_at", row.createdAt)
            w.field("id", row.id)
            w.field("label", row.label)
            w.field("path", row.path)
            w.field("run_id", row.runId)
        }
        #expect(streamed == encoded)
    }
}
