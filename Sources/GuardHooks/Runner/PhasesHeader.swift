/// The `# phases: pre-restore post-mount` header a hook may carry in its first lines.
///
/// Pure and total: it is fed whatever bytes a file starts with (binaries included) and
/// must never trap, so it only ever indexes within bounds and builds strings from ASCII.
package enum PhasesHeader {
    /// How many lines of a hook may hold the header (DESIGN.md: "within its first 10 lines").
    package static let maxLines = 10
    /// How many bytes of a hook discovery reads to look for the header. A header on line
    /// 10 of a file with very long lines beyond this is not seen; that is deliberate, so a
    /// huge executable costs one small read.
    package static let maxBytes = 4096

    /// The phases the header lists, or nil when the first `maxLines` lines have no header.
    ///
    /// A header line is optional blanks, `#`, optional blanks, `phases`, optional blanks,
    /// `:` and then words separated by blanks or commas. Words must be phase names
    /// (`[a-z0-9-]+`); other words are dropped rather than widening the hook to every
    /// phase, so `# phases: Pre-Restore` yields `[]` and the hook runs for no phase, which
    /// `hooks` shows as "not for phase …". The first header line wins.
    package static func parse(_ bytes: [UInt8]) -> [String]? {
        var lineStart = 0
        var lineNumber = 0
        while lineNumber < maxLines, lineStart <= bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != newline { lineEnd += 1 }
            if let phases = parseLine(bytes[lineStart..<lineEnd]) { return phases }
            if lineEnd >= bytes.count { break }
            lineStart = lineEnd + 1
            lineNumber += 1
        }
        return nil
    }

    /// Whether a phase name is well formed (`[a-z0-9-]+`), as headers and the CLI expect.
    package static func isPhaseName<S: Sequence>(_ bytes: S) -> Bool where S.Element == UInt8 {
        var any = false
        for b in bytes {
            guard isPhaseByte(b) else { return false }
            any = true
        }
        return any
    }

    package static func isPhaseName(_ name: String) -> Bool { isPhaseName(name.utf8) }

    static func parseLine(_ line: ArraySlice<UInt8>) -> [String]? {
        var i = line.startIndex
        func skipBlanks() { while i < line.endIndex, isBlank(line[i]) { i += 1 } }
        skipBlanks()
        guard i < line.endIndex, line[i] == UInt8(ascii: "#") else { return nil }
        i += 1
        skipBlanks()
        for expected in keyword {
            guard i < line.endIndex, line[i] == expected else { return nil }
            i += 1
        }
        skipBlanks()
        guard i < line.endIndex, line[i] == UInt8(ascii: ":") else { return nil }
        i += 1

        var phases: [String] = []
        var wordStart = i
        while wordStart < line.endIndex {
            while wordStart < line.endIndex, isSeparator(line[wordStart]) { wordStart += 1 }
            var wordEnd = wordStart
            while wordEnd < line.endIndex, !isSeparator(line[wordEnd]) { wordEnd += 1 }
            let word = line[wordStart..<wordEnd]
            if isPhaseName(word) {
                let name = String(decoding: word, as: UTF8.self)
                if !phases.contains(name) { phases.append(name) }
            }
            wordStart = wordEnd
        }
        return phases
    }

    private static let newline = UInt8(ascii: "\n")
    private static let keyword = Array("phases".utf8)

    private static func isBlank(_ b: UInt8) -> Bool {
        b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r")
    }

    private static func isSeparator(_ b: UInt8) -> Bool { isBlank(b) || b == UInt8(ascii: ",") }

    private static func isPhaseByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
            || b == UInt8(ascii: "-")
    }
}
