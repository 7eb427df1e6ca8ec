import GuardHooks
import GuardStore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Text and JSON rendering. JSON: one document, snake_case fields, RFC 3339 UTC times.
enum Render {
    static func json<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, enc in
            var c = enc.singleValueContainer()
            try c.encode(rfc3339(date))
        }
        var data = try encoder.encode(value)
        data.append(0x0A)
        write(data)
    }

    /// Writes all of `data` to a file descriptor (1: stdout), unbuffered.
    static func write(_ data: Data, fd: Int32 = 1) {
        data.withUnsafeBytes { write($0, fd: fd) }
    }

    static func write(_ buf: UnsafeRawBufferPointer, fd: Int32 = 1) {
        var off = 0
        while off < buf.count {
            let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
            if n <= 0 { if errno == EINTR { continue }; return }
            off += n
        }
    }

    static func line(_ s: String) { write(Data((s + "\n").utf8)) }

    /// `2026-11-21T10:49:36.123Z`
    static func rfc3339(_ date: Date) -> String { Timestamp.rfc3339(date) }

    /// An aligned table: every column as wide as its widest cell; the last column unpadded.
    static func table(_ header: [String], _ rows: [[String]]) {
        guard !rows.isEmpty else { return }
        // A control character (a newline in a refused target) must not break the table.
        let all = ([header] + rows).map { $0.map(\.escapingControlCharacters) }
        var widths = [Int](repeating: 0, count: header.count)
        for r in all {
            for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.displayWidth) }
        }
        var out: [UInt8] = []
        out.reserveCapacity(all.count * (widths.reduce(0, +) + 2 * widths.count + 1))
        for r in all {
            let start = out.count
            for (i, c) in r.enumerated() {
                if i > 0 { out.append(0x20); out.append(0x20) }
                out.append(contentsOf: c.utf8)
                if i < r.count - 1, i < widths.count {
                    out.append(contentsOf: repeatElement(0x20, count: max(0, widths[i] - c.displayWidth)))
                }
            }
            while out.count > start, out.last == 0x20 { out.removeLast() }
            out.append(0x0A)
        }
        out.withUnsafeBytes { write($0) }
    }
}

extension String {
    /// `\n`, `\t`, `\r` and `\u{1b}` for control characters (Unicode category Cc: U+0000–U+001F,
    /// U+007F–U+009F); everything else as is. Scans UTF-8 bytes: a C1 control is `C2 80`–`C2 9F`.
    var escapingControlCharacters: String {
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
    var displayWidth: Int { utf8.allSatisfy { $0 < 0x80 } ? utf8.count : count }

}

/// JSON shape of a guard command's result.
struct OutcomeDocument: Encodable {
    var command: String
    var dryRun: Bool
    var exitCode: Int32
    var results: [OutcomeJSON]
}

struct OutcomeJSON: Encodable {
    var target: String
    var path: String?
    var outcome: String
    var kind: String?
    var lifetime: String?
    var guardId: Int64?
    var reason: String?

    init(_ o: TargetOutcome) {
        target = o.target; path = o.path; outcome = o.label; kind = o.kind?.rawValue
        lifetime = o.lifetime?.rawValue; guardId = o.guardID; reason = o.reason
    }
}

/// Prints per-target outcomes and returns the batch's exit code.
func report(_ command: String, _ outcomes: [TargetOutcome], dryRun: Bool, json: Bool) throws -> SysExitCode {
    let code = SysExitCode.forOutcomes(outcomes.map(\.outcome))
    if json {
        try Render.json(OutcomeDocument(command: command, dryRun: dryRun, exitCode: code.rawValue,
                                        results: outcomes.map(OutcomeJSON.init)))
    } else {
        Render.table(["OUTCOME", "PATH", "KIND", "GUARD", "REASON"], outcomes.map { o in
            [o.label, o.path ?? o.target, o.kind?.rawValue ?? "-", o.guardID.map { "#\($0)" } ?? "-", o.reason ?? ""]
        })
    }
    return code
}
