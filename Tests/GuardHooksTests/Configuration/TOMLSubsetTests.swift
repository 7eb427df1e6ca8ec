import GuardHooks
import Testing

/// The config parser, table by table: what it reads, and what it refuses with which line.
@Suite struct TOMLSubsetTests {
    typealias V = TOMLSubset.Value

    static let accepted: [(String, [String: V])] = [
        ("", [:]),
        ("# only a comment\n\n   \n", [:]),
        ("a = \"x\"", ["a": .string("x")]),
        ("a=\"x\"\r\nb='y'\r\n", ["a": .string("x"), "b": .string("y")]),
        ("key_with-dash_9 = 1 # trailing comment", ["key_with-dash_9": .integer(1)]),
        (#"s = "tab\there \"q\" back\\slash \u00e9 \U0001F600 nl\n""#, ["s": .string("tab\there \"q\" back\\slash é 😀 nl\n")]),
        (#"s = 'C:\no\escapes "here"'"#, ["s": .string(#"C:\no\escapes "here""#)]),
        (#"s = "has # inside""#, ["s": .string("has # inside")]),
        ("n = -42\nm = +7\nu = 1_000\nz = 0", ["n": .integer(-42), "m": .integer(7), "u": .integer(1000), "z": .integer(0)]),
        ("f = 2.5\ng = -0.5e-2\nh = 1e3\ni = 3.0E+1", ["f": .float(2.5), "g": .float(-0.005), "h": .float(1000), "i": .float(30)]),
        ("t = true\nf = false", ["t": .boolean(true), "f": .boolean(false)]),
        ("a = []", ["a": .array([])]),
        ("a = [\"/mnt\", '/srv']", ["a": .array([.string("/mnt"), .string("/srv")])]),
        ("a = [\n  \"/mnt/a\", # first\n  # a comment line\n  \"/mnt/b\",\n]\nb = 1", ["a": .array([.string("/mnt/a"), .string("/mnt/b")]), "b": .integer(1)]),
        ("a = [ 1, 2.5, true ]", ["a": .array([.integer(1), .float(2.5), .boolean(true)])]),
        ("\ta\t=\t\"x\"\t", ["a": .string("x")]),
    ]

    @Test(arguments: accepted) func accepts(_ text: String, _ expected: [String: V]) throws {
        let entries = try TOMLSubset.parse(text)
        #expect(Dictionary(uniqueKeysWithValues: entries.map { ($0.key, $0.value) }) == expected)
    }

    @Test func entriesKnowTheirLines() throws {
        let entries = try TOMLSubset.parse("# c\n\na = [\n \"x\",\n]\nb = 2\n")
        #expect(entries.map(\.line) == [3, 6])
    }

    @Test func quotedTableHeaders() throws {
        let entries = try TOMLSubset.parse("a = 1\n[storage.\"/mnt/x y\"] # c\nb = 2\n[ t . '/p' ]\nb = 3\n")
        #expect(entries.map(\.key) == ["a", "b", "b"])
        #expect(entries[0].table == nil)
        #expect(entries[1].table?.name == "storage" && entries[1].table?.quoted == "/mnt/x y" && entries[1].table?.line == 2)
        #expect(entries[2].table?.quoted == "/p")
        #expect(entries[2].line == 5)
    }

    /// (text, line of the error, a fragment of its message)
    static let refused: [(String, Int, String)] = [
        ("[section]\na = 1", 1, "tables"),
        ("a = 1\n[[array.of.tables]]", 2, "tables"),
        ("a.b = 1", 1, "dotted keys"),
        ("\"quoted\" = 1", 1, "quoted keys"),
        ("a = 1\na = 2", 2, "given twice (first on line 1)"),
        ("a", 1, "expected '='"),
        ("a =", 1, "missing value"),
        ("a = # nothing", 1, "missing value"),
        ("a = \"open", 1, "unterminated string"),
        ("a = \"line\nbreak\"", 1, "unterminated string"),
        ("a = 'open", 1, "unterminated string"),
        (#"a = "bad \q escape""#, 1, "invalid escape"),
        (#"a = "\u12""#, 1, "truncated \\u escape"),
        (#"a = "\u12G4""#, 1, "invalid unicode escape"),
        (#"a = "\uD800""#, 1, "invalid unicode escape"),
        ("a = \"\u{01}\"", 1, "control character U+0001"),
        ("a = \"\"\"multi\"\"\"", 1, "multi-line strings"),
        ("a = '''multi'''", 1, "multi-line strings"),
        ("a = {x = 1}", 1, "inline tables"),
        ("a = [[1], [2]]", 1, "nested arrays"),
        ("\n\na = [\n\"x\"\n", 3, "unterminated array (opened on line 3)"),
        ("a = [\"x\" \"y\"]", 1, "expected ',' or ']'"),
        ("a = 0x1F", 1, "hexadecimal"),
        ("a = 007", 1, "invalid value"),
        ("a = 1__0", 1, "invalid value"),
        ("a = 1.", 1, "invalid value"),
        ("a = .5", 1, "invalid value"),
        ("a = inf", 1, "not supported"),
        ("a = nan", 1, "not supported"),
        ("a = 1979-05-27", 1, "dates"),
        ("a = 99999999999999999999", 1, "invalid value"),
        ("a = yes", 1, "strings need quotes"),
        ("a = /mnt/x", 1, "strings need quotes"),
        ("a = \"x\" b = 2", 1, "unexpected 'b'"),
        ("a = 1\n\n\nb = 2 3", 4, "unexpected '3'"),
        ("a = 1\r", 1, "U+000D"),
        ("= 1", 1, "expected a key"),
    ]

    @Test(arguments: refused) func refuses(_ text: String, _ line: Int, _ fragment: String) {
        do {
            let entries = try TOMLSubset.parse(text)
            Issue.record("accepted \(text.debugDescription) as \(entries)")
        } catch {
            #expect(error.line == line, "\(text.debugDescription): \(error)")
            #expect(error.message.contains(fragment), "\(text.debugDescription): \(error)")
        }
    }
}
