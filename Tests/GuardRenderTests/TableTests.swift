import GuardRender
import Testing

/// `Render.table`: aligned columns, control characters shown escaped so a hostile name
/// cannot break a row or send a terminal escape.
@Suite struct TableTests {
    func table(_ header: [String], _ rows: [[String]]) -> String {
        captured { fd in Render.table(header, rows, fd: fd) }
    }

    @Test func columnsAreAsWideAsTheirWidestCellAndTheLastIsUnpadded() {
        #expect(table(["ID", "PATH", "REASON"], [["#1", "/mnt/a", "x"], ["#123", "/m", "longer reason"]]) == """
            ID    PATH    REASON
            #1    /mnt/a  x
            #123  /m      longer reason

            """)
    }

    @Test func trailingSpacesOfEmptyLastCellsAreTrimmed() {
        #expect(table(["A", "B"], [["x", ""], ["yy", "z"]]) == "A   B\nx\nyy  z\n")
    }

    @Test func noRowsWritesNothing() {
        #expect(table(["A", "B"], []) == "")
    }

    /// The escaped text is what is measured and printed, so rows stay aligned.
    @Test(arguments: [
        ("a\nb", #"a\nb"#),
        ("\u{1b}[31mred", #"\u{1b}[31mred"#),
        ("c1\u{85}x", #"c1\u{85}x"#),
        ("tab\t", #"tab\t"#),
    ])
    func controlCharactersAreEscapedAndAligned(_ cell: String, _ shown: String) {
        let pad = String(repeating: " ", count: shown.count - 1)
        #expect(table(["P", "Q"], [[cell, "1"], ["z", "2"]]) == "P\(pad)  Q\n\(shown)  1\nz\(pad)  2\n")
    }

    /// Non-ASCII cells are measured in characters, not bytes: a precomposed or decomposed
    /// "é" is one column. (East Asian wide characters count one column each too.)
    @Test func nonASCIICellsAreMeasuredInCharacters() {
        #expect(table(["NAME", "X"], [["\u{e9}t\u{e9}", "1"], ["e\u{301}t\u{e9}s", "2"], ["日本", "3"]]) == """
            NAME  X
            été   1
            e\u{301}tés  2
            日本    3

            """)
    }

    @Test(arguments: [
        ("plain /mnt/a", "plain /mnt/a"),
        ("a\nb", #"a\nb"#), ("\t", #"\t"#), ("\r", #"\r"#),
        ("\u{0}", #"\u{0}"#), ("\u{1b}[0m", #"\u{1b}[0m"#), ("\u{7f}", #"\u{7f}"#),
        ("\u{80}", #"\u{80}"#), ("\u{85}", #"\u{85}"#), ("\u{9f}", #"\u{9f}"#),
        ("\u{a0}", "\u{a0}"),                 // C2 A0: not a control character
        ("\u{100}", "\u{100}"),               // C4 80: a continuation byte 80 after another lead byte
        ("é\u{2028}日本", "é\u{2028}日本"),   // not category Cc
    ])
    func escapingControlCharacters(_ raw: String, _ escaped: String) {
        #expect(raw.escapingControlCharacters == escaped)
    }

    @Test(arguments: [("", 0), ("abc", 3), ("\u{e9}", 1), ("e\u{301}", 1), ("日本", 2), ("a\u{1b}", 2)])
    func displayWidth(_ s: String, _ width: Int) {
        #expect(s.displayWidth == width)
    }
}
