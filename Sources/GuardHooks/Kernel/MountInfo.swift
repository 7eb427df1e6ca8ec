/// Parser for `/proc/self/mountinfo` (proc(5)):
///
///     36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
///     (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)    (10)         (11)
///
/// Fields are separated by exactly one space (the kernel escapes space, tab, newline and
/// backslash as `\040` `\011` `\012` `\134`), so a field may be empty (an empty mount
/// source gives two adjacent spaces). Pure and total: any input gives entries or skips
/// lines, never traps, and the work is linear in the input size.
package enum MountInfo {
    /// Why a line was not an entry.
    package struct Malformed: Error, Sendable, Hashable {
        /// 1-based line number.
        package var line: Int
        package var reason: String
    }

    /// All well-formed entries; malformed lines are skipped.
    package static func parse(_ text: String) -> [MountInfoEntry] {
        parseReporting(text).entries
    }

    /// Entries plus a note for every malformed line (blank lines are not malformed).
    package static func parseReporting(_ text: String) -> (entries: [MountInfoEntry], malformed: [Malformed]) {
        var entries: [MountInfoEntry] = []
        var malformed: [Malformed] = []
        let bytes = Array(text.utf8)
        var number = 0
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            if line.isEmpty { continue }
            switch parseLine(line) {
            case .success(let entry): entries.append(entry)
            case .failure(let reason): malformed.append(Malformed(line: number, reason: reason.text))
            }
        }
        return (entries, malformed)
    }

    struct Reason: Error { var text: String }

    /// One line, without its newline.
    static func parseLine(_ line: ArraySlice<UInt8>) -> Result<MountInfoEntry, Reason> {
        let f = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        // 6 fixed fields, the "-" separator, then fs type, source, super options.
        guard f.count >= 10 else { return .failure(Reason(text: "too few fields (\(f.count))")) }
        guard let mountID = number(f[0], as: UInt64.self) else { return .failure(Reason(text: "bad mount id")) }
        guard let parentID = number(f[1], as: UInt64.self) else { return .failure(Reason(text: "bad parent id")) }
        let dev = f[2].split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        guard dev.count == 2, let major = number(dev[0], as: UInt32.self),
              let minor = number(dev[1], as: UInt32.self) else {
            return .failure(Reason(text: "bad major:minor"))
        }
        // Optional fields run from index 6 up to the first lone "-".
        var dash = 6
        while dash < f.count, !(f[dash].count == 1 && f[dash].first == UInt8(ascii: "-")) { dash += 1 }
        // Later kernels may append fields after super options; proc(5) says to ignore them.
        guard dash + 3 < f.count else { return .failure(Reason(text: "no \"-\" separator followed by 3 fields")) }
        let root = decode(f[3]), mountPoint = decode(f[4])
        guard !root.isEmpty, !mountPoint.isEmpty else { return .failure(Reason(text: "empty root or mount point")) }
        return .success(MountInfoEntry(
            mountID: mountID, parentID: parentID, deviceMajor: major, deviceMinor: minor,
            root: root, mountPoint: mountPoint, options: text(f[5]),
            optionalFields: f[6..<dash].map(text),
            fsType: decode(f[dash + 1]), source: decode(f[dash + 2]), superOptions: text(f[dash + 3])))
    }

    /// Decimal digits only (no sign, no spaces), without overflow.
    static func number<T: FixedWidthInteger & UnsignedInteger>(_ s: ArraySlice<UInt8>, as: T.Type) -> T? {
        guard !s.isEmpty, s.count <= 20 else { return nil }
        var v: T = 0
        for b in s {
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(T(b - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            v = a
        }
        return v
    }

    static func text(_ s: ArraySlice<UInt8>) -> String { String(decoding: s, as: UTF8.self) }

    /// Decodes the kernel's `\ooo` escapes (three octal digits, value <= 0o377); any other
    /// backslash is kept literally. Bytes that are not UTF-8 become U+FFFD.
    package static func decode(_ s: ArraySlice<UInt8>) -> String {
        guard s.contains(UInt8(ascii: "\\")) else { return text(s) }
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = s.startIndex
        while i < s.endIndex {
            let b = s[i]
            if b == UInt8(ascii: "\\"), s.endIndex - i >= 4,
               let v = octal(s[i + 1], s[i + 2], s[i + 3]) {
                out.append(v)
                i += 4
            } else {
                out.append(b)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes an escaped field given as a String (convenience for callers and tests).
    package static func decode(_ s: String) -> String { decode(ArraySlice(s.utf8)) }

    private static func octal(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8? {
        func digit(_ x: UInt8) -> UInt32? {
            x >= UInt8(ascii: "0") && x <= UInt8(ascii: "7") ? UInt32(x - UInt8(ascii: "0")) : nil
        }
        guard let x = digit(a), let y = digit(b), let z = digit(c) else { return nil }
        let v = x * 64 + y * 8 + z
        return v <= 0xff ? UInt8(v) : nil
    }
}
