import FoundationEssentials

/// RFC 3339 UTC timestamps with milliseconds (`2026-11-21T10:49:36.123Z`), written straight
/// into a byte buffer: listings print two per row, and formatting through `gmtime_r` and
/// string interpolation cost more than reading the row. The calendar arithmetic is Howard
/// Hinnant's `civil_from_days` (proleptic Gregorian, exact for every Int64 day count we meet).
package enum Timestamp {
    /// Milliseconds since the epoch, rounded as the store rounds them.
    package static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    package static func rfc3339(_ date: Date) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        appendRFC3339(milliseconds(date), to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    package static func appendRFC3339(_ date: Date, to out: inout [UInt8]) {
        appendRFC3339(milliseconds(date), to: &out)
    }

    /// The longest text `writeRFC3339` makes (a year of Int64 milliseconds has at most 9
    /// digits and a sign).
    package static let rfc3339MaxBytes = 32

    /// Writes the text of `ms` at `p` (at most `rfc3339MaxBytes`) and returns its length.
    /// Years outside 0…9999 keep their sign and every digit.
    package static func writeRFC3339(_ ms: Int64, to p: UnsafeMutablePointer<UInt8>) -> Int {
        // Floor division, so instants before 1970 land on the right day and second.
        let (msDay, dayMs) = floorDivMod(ms, 86_400_000)
        let (y, m, d) = civil(fromDays: msDay)
        var n = 0
        func put(_ value: Int64, _ width: Int) {
            if value < 0 { p[n] = UInt8(ascii: "-"); n += 1 }
            var v = value.magnitude, digits = 1
            while v >= 10 { v /= 10; digits += 1 }
            let count = max(width, digits)
            v = value.magnitude
            for i in stride(from: n + count - 1, through: n, by: -1) { p[i] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10 }
            n += count
        }
        func mark(_ c: Unicode.Scalar) { p[n] = UInt8(ascii: c); n += 1 }
        let second = dayMs / 1000
        put(y, 4); mark("-"); put(m, 2); mark("-"); put(d, 2); mark("T")
        put(second / 3600, 2); mark(":"); put(second / 60 % 60, 2); mark(":"); put(second % 60, 2)
        mark("."); put(dayMs % 1000, 3); mark("Z")
        return n
    }

    package static func appendRFC3339(_ ms: Int64, to out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: rfc3339MaxBytes))
        let n = out.withUnsafeMutableBufferPointer { writeRFC3339(ms, to: $0.baseAddress! + start) }
        out.removeLast(rfc3339MaxBytes - n)
    }

    static func floorDivMod(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let q = a / b, r = a % b
        return r < 0 ? (q - 1, r + b) : (q, r)
    }

    /// (year, month 1–12, day 1–31) of a count of days since 1970-01-01.
    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097                                   // [0, 146096]
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365  // [0, 399]
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)             // [0, 365]
        let mp = (5 * doy + 2) / 153                                  // [0, 11], March first
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
