/// A small, strict subset of TOML 1.0, enough for `config.toml` and nothing more:
///
/// - `key = value` lines with bare keys (`A-Za-z0-9_-`), blank lines, `#` comments
///   (whole-line or after a value);
/// - basic strings `"…"` with the TOML escapes (`\b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX`)
///   and literal strings `'…'`;
/// - decimal integers (`42`, `-7`, `1_000`), decimal floats (`2.5`, `1e3`, `-0.5E-2`),
///   booleans `true` / `false`;
/// - arrays of those values, which may span lines and hold comments and a trailing comma;
/// - table headers of one bare name and one quoted name, `[storage."/mnt/x"]`: the keys
///   below a header belong to it (`Entry.table`) until the next header.
///
/// Everything else TOML has (other tables, dotted or quoted keys, inline tables, nested arrays,
/// multi-line strings, dates, hex/octal/binary integers, `inf`/`nan`) is an error that names
/// the line, never silently misread. A key given twice is an error too.
package enum TOMLSubset {
    package indirect enum Value: Sendable, Hashable {
        case string(String)
        case integer(Int64)
        case float(Double)
        case boolean(Bool)
        case array([Value])

        /// What the value is, for error messages ("a string", "an array", …).
        package var typeName: String {
            switch self {
            case .string: return "a string"
            case .integer: return "an integer"
            case .float: return "a float"
            case .boolean: return "a boolean"
            case .array: return "an array"
            }
        }
    }

    /// One `key = value` entry and the line its key is on (1-based).
    package struct Entry: Sendable, Hashable {
        package var key: String
        package var value: Value
        package var line: Int
        /// The `[name."quoted"]` header the key is under; nil at the top level.
        package var table: Table? = nil
    }

    /// A table header `[name."quoted"]` and the line it is on.
    package struct Table: Sendable, Hashable {
        package var name: String
        package var quoted: String
        package var line: Int
    }

    /// A parse error: the 1-based line and what is wrong there.
    package struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        package var line: Int
        package var message: String
        package var description: String { "line \(line): \(message)" }
    }

    /// The entries of `text` in file order.
    package static func parse(_ text: String) throws(ParseError) -> [Entry] {
        var parser = Parser(Array(text.unicodeScalars))
        return try parser.document()
    }
}

private struct Parser {
    let s: [Unicode.Scalar]
    var i = 0
    var line = 1

    init(_ scalars: [Unicode.Scalar]) { s = scalars }

    var atEnd: Bool { i >= s.count }
    var current: Unicode.Scalar? { i < s.count ? s[i] : nil }

    func fail(_ message: String, line: Int? = nil) -> TOMLSubset.ParseError {
        TOMLSubset.ParseError(line: line ?? self.line, message: message)
    }

    mutating func advance() {
        if s[i] == "\n" { line += 1 }
        i += 1
    }

    /// Spaces and tabs only.
    mutating func skipBlanks() {
        while let c = current, c == " " || c == "\t" { i += 1 }
    }

    /// A comment up to (not including) the end of the line; control characters are refused.
    mutating func skipComment() throws(TOMLSubset.ParseError) {
        guard current == "#" else { return }
        while let c = current, c != "\n" {
            if c == "\r", i + 1 < s.count, s[i + 1] == "\n" { i += 1; continue }
            if isControl(c) && c != "\t" { throw fail("control character U+\(hex(c.value)) in a comment") }
            i += 1
        }
    }

    /// The end of a line: `\n`, `\r\n`, or the end of the text.
    mutating func expectLineEnd(after what: String) throws(TOMLSubset.ParseError) {
        skipBlanks()
        try skipComment()
        if atEnd { return }
        if current == "\r", i + 1 < s.count, s[i + 1] == "\n" { i += 1 }
        guard current == "\n" else { throw fail("unexpected \(describe(current!)) after \(what)") }
        advance()
    }

    mutating func document() throws(TOMLSubset.ParseError) -> [TOMLSubset.Entry] {
        var entries: [TOMLSubset.Entry] = []
        var seen: [String: Int] = [:]
        var table: TOMLSubset.Table?
        var tablesSeen: [String: Int] = [:]
        while !atEnd {
            skipBlanks()
            guard let c = current else { break }
            if c == "#" { try skipComment(); try expectLineEnd(after: "a comment"); continue }
            if c == "\n" || c == "\r" { try expectLineEnd(after: "a blank line"); continue }
            if c == "[" {
                let header = try tableHeader()
                let id = header.name + "\u{0}" + header.quoted
                if let first = tablesSeen[id] { throw fail("table [\(header.name).\(header.quoted.debugDescription)] given twice (first on line \(first))") }
                tablesSeen[id] = header.line
                table = header
                seen = [:]  // keys are scoped to their table
                try expectLineEnd(after: "a table header")
                continue
            }
            let keyLine = line
            let key = try bareKey()
            if let first = seen[key] { throw fail("key \"\(key)\" given twice (first on line \(first))") }
            seen[key] = keyLine
            skipBlanks()
            guard current == "=" else {
                if current == "." { throw fail("dotted keys are not supported") }
                throw fail("expected '=' after key \"\(key)\"")
            }
            i += 1
            skipBlanks()
            let value = try self.value(allowArray: true)
            try expectLineEnd(after: "the value of \"\(key)\"")
            entries.append(TOMLSubset.Entry(key: key, value: value, line: keyLine, table: table))
        }
        return entries
    }

    /// `[name."quoted"]` or `[name.'quoted']`; any other header is refused.
    mutating func tableHeader() throws(TOMLSubset.ParseError) -> TOMLSubset.Table {
        let headerLine = line
        i += 1
        if current == "[" { throw fail("arrays of tables ([[…]]) are not supported") }
        skipBlanks()
        let name = try bareKey()
        skipBlanks()
        guard current == "." else { throw fail("tables other than [name.\"…\"] are not supported: [\(name)") }
        i += 1
        skipBlanks()
        let quoted: String
        switch current {
        case "\"": quoted = try basicString()
        case "'": quoted = try literalString()
        default: throw fail("expected a quoted name after [\(name).")
        }
        skipBlanks()
        guard current == "]" else { throw fail("expected ']' to close the table header") }
        i += 1
        return TOMLSubset.Table(name: name, quoted: quoted, line: headerLine)
    }

    mutating func bareKey() throws(TOMLSubset.ParseError) -> String {
        let start = i
        while let c = current, isBareKeyScalar(c) { i += 1 }
        if i == start {
            if current == "\"" || current == "'" { throw fail("quoted keys are not supported") }
            throw fail("expected a key, found \(describe(current!))")
        }
        return String(String.UnicodeScalarView(s[start..<i]))
    }

    mutating func value(allowArray: Bool) throws(TOMLSubset.ParseError) -> TOMLSubset.Value {
        guard let c = current, c != "\n", c != "\r", c != "#" else { throw fail("missing value") }
        switch c {
        case "\"":
            if i + 2 < s.count, s[i + 1] == "\"", s[i + 2] == "\"" { throw fail("multi-line strings (\"\"\") are not supported") }
            return .string(try basicString())
        case "'":
            if i + 2 < s.count, s[i + 1] == "'", s[i + 2] == "'" { throw fail("multi-line strings (''') are not supported") }
            return .string(try literalString())
        case "[":
            guard allowArray else { throw fail("nested arrays are not supported") }
            return .array(try array())
        case "{":
            throw fail("inline tables are not supported")
        default:
            return try bareValue()
        }
    }

    mutating func basicString() throws(TOMLSubset.ParseError) -> String {
        i += 1  // opening quote
        var out = String.UnicodeScalarView()
        while true {
            guard let c = current, c != "\n" else { throw fail("unterminated string") }
            i += 1
            switch c {
            case "\"":
                return String(out)
            case "\\":
                guard let e = current else { throw fail("unterminated string") }
                i += 1
                switch e {
                case "b": out.append("\u{08}")
                case "t": out.append("\t")
                case "n": out.append("\n")
                case "f": out.append("\u{0C}")
                case "r": out.append("\r")
                case "\"": out.append("\"")
                case "\\": out.append("\\")
                case "u": out.append(try unicodeEscape(digits: 4))
                case "U": out.append(try unicodeEscape(digits: 8))
                default: throw fail("invalid escape \\\(e.escaped(asASCII: true)) in a string")
                }
            default:
                if isControl(c) && c != "\t" { throw fail("control character U+\(hex(c.value)) in a string: write it as an escape") }
                out.append(c)
            }
        }
    }

    mutating func unicodeEscape(digits: Int) throws(TOMLSubset.ParseError) -> Unicode.Scalar {
        guard i + digits <= s.count else { throw fail("truncated \\\(digits == 4 ? "u" : "U") escape") }
        let text = String(String.UnicodeScalarView(s[i..<i + digits]))
        guard text.unicodeScalars.allSatisfy(\.properties.isASCIIHexDigit), let v = UInt32(text, radix: 16),
              let scalar = Unicode.Scalar(v) else {
            throw fail("invalid unicode escape \\\(digits == 4 ? "u" : "U")\(text)")
        }
        i += digits
        return scalar
    }

    mutating func literalString() throws(TOMLSubset.ParseError) -> String {
        i += 1
        var out = String.UnicodeScalarView()
        while true {
            guard let c = current, c != "\n" else { throw fail("unterminated string") }
            i += 1
            if c == "'" { return String(out) }
            if isControl(c) && c != "\t" { throw fail("control character U+\(hex(c.value)) in a string") }
            out.append(c)
        }
    }

    /// `[ value, value, ]`, spanning lines, comments allowed between elements.
    mutating func array() throws(TOMLSubset.ParseError) -> [TOMLSubset.Value] {
        let openLine = line
        i += 1
        var items: [TOMLSubset.Value] = []
        while true {
            try skipArrayWhitespace()
            guard let c = current else { throw fail("unterminated array (opened on line \(openLine))", line: openLine) }
            if c == "]" { i += 1; return items }
            items.append(try value(allowArray: false))
            try skipArrayWhitespace()
            guard let d = current else { throw fail("unterminated array (opened on line \(openLine))", line: openLine) }
            if d == "," { i += 1; continue }
            if d == "]" { i += 1; return items }
            throw fail("expected ',' or ']' in an array, found \(describe(d))")
        }
    }

    mutating func skipArrayWhitespace() throws(TOMLSubset.ParseError) {
        while let c = current {
            if c == " " || c == "\t" { i += 1 }
            else if c == "\n" { advance() }
            else if c == "\r", i + 1 < s.count, s[i + 1] == "\n" { i += 1 }
            else if c == "#" { try skipComment() }
            else { return }
        }
    }

    /// An integer, a float or a boolean: the run of characters up to a delimiter.
    mutating func bareValue() throws(TOMLSubset.ParseError) -> TOMLSubset.Value {
        let start = i
        while let c = current, !(c == " " || c == "\t" || c == "\n" || c == "\r" || c == "#" || c == "," || c == "]") { i += 1 }
        let text = String(String.UnicodeScalarView(s[start..<i]))
        if text == "true" { return .boolean(true) }
        if text == "false" { return .boolean(false) }
        if let n = Self.integer(text) { return .integer(n) }
        if let f = Self.float(text) { return .float(f) }
        if text.hasPrefix("0x") || text.hasPrefix("0o") || text.hasPrefix("0b") {
            throw fail("hexadecimal, octal and binary integers are not supported: \(text)")
        }
        if ["inf", "+inf", "-inf", "nan", "+nan", "-nan"].contains(text) { throw fail("\(text) is not supported") }
        if text.first.map({ $0.isNumber }) == true && (text.contains("-") || text.contains(":")) && !text.contains("e") && !text.contains("E") {
            throw fail("dates and times are not supported: \(text)")
        }
        if text.first.map({ $0.isLetter || $0 == "/" }) == true {
            throw fail("invalid value \(text): strings need quotes")
        }
        throw fail("invalid value \(text)")
    }

    /// Digits with single underscores between them.
    static func digits(_ t: Substring) -> Bool {
        guard let f = t.first, let l = t.last, f.isASCII, f.isNumber, l.isASCII, l.isNumber else { return false }
        var previousUnderscore = false
        for c in t {
            if c == "_" { if previousUnderscore { return false }; previousUnderscore = true; continue }
            guard c.isASCII, c.isNumber else { return false }
            previousUnderscore = false
        }
        return true
    }

    static func integer(_ text: String) -> Int64? {
        var t = Substring(text)
        var negative = false
        if t.first == "+" || t.first == "-" { negative = t.first == "-"; t = t.dropFirst() }
        guard digits(t) else { return nil }
        if t.count > 1 && t.first == "0" { return nil }  // no leading zeros
        let plain = t.filter { $0 != "_" }
        return Int64((negative ? "-" : "") + plain)
    }

    static func float(_ text: String) -> Double? {
        var t = Substring(text)
        var sign = ""
        if t.first == "+" || t.first == "-" { sign = t.first == "-" ? "-" : ""; t = t.dropFirst() }
        var mantissa = t
        var exponent: Substring?
        if let e = t.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = t[..<e]
            exponent = t[t.index(after: e)...]
        }
        var intPart = mantissa
        var fracPart: Substring?
        if let dot = mantissa.firstIndex(of: ".") {
            intPart = mantissa[..<dot]
            fracPart = mantissa[mantissa.index(after: dot)...]
        }
        guard digits(intPart), !(intPart.count > 1 && intPart.first == "0") else { return nil }
        if let fracPart, !digits(fracPart) { return nil }
        if var exp = exponent {
            if exp.first == "+" || exp.first == "-" { exp = exp.dropFirst() }
            guard digits(exp) else { return nil }
        }
        guard fracPart != nil || exponent != nil else { return nil }
        guard let value = Double(sign + text.drop(while: { $0 == "+" || $0 == "-" }).filter { $0 != "_" }), value.isFinite else { return nil }
        return value
    }
}

private func isBareKeyScalar(_ c: Unicode.Scalar) -> Bool {
    switch c {
    case "A"..."Z", "a"..."z", "0"..."9", "_", "-": return true
    default: return false
    }
}

private func isControl(_ c: Unicode.Scalar) -> Bool { c.value < 0x20 || c.value == 0x7F }

private func hex(_ v: UInt32) -> String {
    let h = String(v, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, 4 - h.count)) + h
}

private func describe(_ c: Unicode.Scalar) -> String {
    if isControl(c) { return "control character U+\(hex(c.value))" }
    return "'\(c)'"
}
