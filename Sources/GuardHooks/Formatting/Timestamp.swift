#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// RFC 3339 UTC timestamps with milliseconds (`2026-11-21T10:49:36.123Z`), written straight
/// into a byte buffer: listings print two per row, and formatting through `gmtime_r` and
/// string interpolation cost more than reading the row. The calendar arithmetic is Howard
/// Hinnant's `civil_from_days` (proleptic Gregorian, exact for every Int64 day count we meet).
public enum Timestamp {
    /// Milliseconds since the epoch, rounded as the store rounds them.
    public static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    public static func rfc3339(_ date: Date) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        appendRFC3339(milliseconds(date), to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func appendRFC3339(_ date: Date, to out: inout [UInt8]) {
        appendRFC3339(milliseconds(date), to: &out)
    }

    /// The longest text `writeRFC3339` makes (a year beyond 9999 takes more digits).
    public static let rfc3339MaxBytes = 32

    /// Writes the text of `ms` at `p` (at most `rfc3339MaxBytes`) and returns its length.
    public static func writeRFC3339(_ ms: Int64, to p: UnsafeMutablePointer<UInt8>) -> Int {
        let (msDay, dayMs) = floorDivMod(ms, 86_400_000)
        let (y, m, d) = civil(fromDays: msDay)
        guard (0...9999).contains(y) else {
            // Outside four-digit years: the general path (never hit by real clocks).
            var bytes: [UInt8] = []
            appendRFC3339(ms, to: &bytes)
            let n = min(bytes.count, rfc3339MaxBytes)
            for i in 0..<n { p[i] = bytes[i] }
            return n
        }
        func put(_ v: Int64, _ at: Int, _ width: Int) {
            var v = v
            for i in stride(from: at + width - 1, through: at, by: -1) { p[i] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10 }
        }
        let second = dayMs / 1000
        put(y, 0, 4); p[4] = UInt8(ascii: "-"); put(m, 5, 2); p[7] = UInt8(ascii: "-"); put(d, 8, 2)
        p[10] = UInt8(ascii: "T"); put(second / 3600, 11, 2); p[13] = UInt8(ascii: ":")
        put(second / 60 % 60, 14, 2); p[16] = UInt8(ascii: ":"); put(second % 60, 17, 2)
        p[19] = UInt8(ascii: "."); put(dayMs % 1000, 20, 3); p[23] = UInt8(ascii: "Z")
        return 24
    }

    public static func appendRFC3339(_ ms: Int64, to out: inout [UInt8]) {
        // Floor division, so instants before 1970 land on the right day and second.
        let (msDay, dayMs) = floorDivMod(ms, 86_400_000)
        let (y, m, d) = civil(fromDays: msDay)
        let secondOfDay = dayMs / 1000
        digits(y, 4, &out); out.append(UInt8(ascii: "-"))
        digits(m, 2, &out); out.append(UInt8(ascii: "-"))
        digits(d, 2, &out); out.append(UInt8(ascii: "T"))
        digits(secondOfDay / 3600, 2, &out); out.append(UInt8(ascii: ":"))
        digits(secondOfDay / 60 % 60, 2, &out); out.append(UInt8(ascii: ":"))
        digits(secondOfDay % 60, 2, &out); out.append(UInt8(ascii: "."))
        digits(dayMs % 1000, 3, &out); out.append(UInt8(ascii: "Z"))
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

    /// `value` in decimal, zero-padded to `width` (a sign first if negative).
    static func digits(_ value: Int64, _ width: Int, _ out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var v = value.magnitude
        var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                  UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &tmp) { buf in
            repeat { buf[n] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10; n += 1 } while v > 0
            while n < width { buf[n] = UInt8(ascii: "0"); n += 1 }
            for i in stride(from: n - 1, through: 0, by: -1) { out.append(buf[i]) }
        }
    }
}
