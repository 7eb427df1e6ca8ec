extension Render {
    /// An aligned table: every column as wide as its widest cell; the last column unpadded.
    /// Two passes over the cells (widths, then output through a 64 KiB buffer) rather than an
    /// escaped copy of the table and the whole text in memory: a 10,000-target report is
    /// written in the memory of one buffer. No rows: nothing is written, not even the header.
    package static func table(_ header: [String], _ rows: [[String]], fd: Int32 = 1) {
        guard !rows.isEmpty else { return }
        // A control character (a newline in a refused target) must not break the table.
        var widths = [Int](repeating: 0, count: header.count)
        func measure(_ r: [String]) {
            for (i, c) in r.enumerated() where i < widths.count {
                widths[i] = max(widths[i], c.escapingControlCharacters.displayWidth)
            }
        }
        measure(header)
        rows.forEach(measure)
        let out = OutputBuffer(fd: fd)
        var line: [UInt8] = []
        func emit(_ r: [String]) {
            line.removeAll(keepingCapacity: true)
            for (i, raw) in r.enumerated() {
                let c = raw.escapingControlCharacters
                if i > 0 { line.append(0x20); line.append(0x20) }
                line.append(contentsOf: c.utf8)
                if i < r.count - 1, i < widths.count {
                    line.append(contentsOf: repeatElement(0x20, count: max(0, widths[i] - c.displayWidth)))
                }
            }
            while line.last == 0x20 { line.removeLast() }
            line.append(0x0A)
            line.withUnsafeBufferPointer { out.bytes($0.baseAddress!, $0.count) }
        }
        emit(header)
        rows.forEach(emit)
        out.flush()
    }
}

extension String {
    /// `\n`, `\t`, `\r` and `\u{1b}` for control characters (Unicode category Cc: U+0000–U+001F,
    /// U+007F–U+009F); everything else as is. Scans UTF-8 bytes: a C1 control is `C2 80`–`C2 9F`.
    package var escapingControlCharacters: String {
        var previous: UInt8 = 0
        let clean = utf8.allSatisfy { b in
            defer { previous = b }
            return b >= 0x20 && b != 0x7F && !(previous == 0xC2 && (0x80...0x9F).contains(b))
        }
        if clean { return self }
        var out = ""
        for u in unicodeScalars {
            switch u {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where u.value < 0x20 || (0x7F...0x9F).contains(u.value):
                out += "\\u{\(String(u.value, radix: 16))}"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// Columns a cell takes: its characters, counted cheaply when it is all ASCII.
    package var displayWidth: Int { utf8.allSatisfy { $0 < 0x80 } ? utf8.count : count }
}
