import Foundation
import GuardHooks
import Testing
import Glibc
import GuardRender
import GuardTestSupport

@Suite struct TimestampTests {
    /// The formatter it replaced: gmtime_r and printf, as the oracle.
    static func oracle(_ ms: Int64) -> String {
        var t = time_t(ms >= 0 ? ms / 1000 : (ms - 999) / 1000)
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        let milli = ((ms % 1000) + 1000) % 1000
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                      tm.tm_hour, tm.tm_min, tm.tm_sec, Int32(milli))
    }

    static func text(_ ms: Int64) -> String {
        var bytes: [UInt8] = []
        Timestamp.appendRFC3339(ms, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    static let edges: [(Int64, String)] = [
        (0, "1970-01-01T00:00:00.000Z"),
        (1, "1970-01-01T00:00:00.001Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),          // leap day of a century leap year
        (4_107_542_399_999, "2100-02-28T23:59:59.999Z"),        // 2100 is not a leap year
        (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
        (1_763_722_176_123, "2025-11-21T10:49:36.123Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
    ]

    @Test(arguments: edges)
    func knownInstants(_ ms: Int64, _ expected: String) {
        #expect(Self.text(ms) == expected)
        #expect(Self.oracle(ms) == expected)
    }

    /// 1900…9999, the years gmtime_r and a four-digit format agree on.
    @Test func agreesWithGmtimeOnSeededRandomInstants() {
        var rng = SplitMix64.seeded(for: "TimestampTests.agreesWithGmtimeOnSeededRandomInstants")
        for _ in 0..<20_000 {
            let ms = Int64.random(in: -2_208_988_800_000...253_402_300_799_999, using: &rng)
            let ours = Self.text(ms)
            #expect(ours == Self.oracle(ms), "at \(ms) ms")
            if ours != Self.oracle(ms) { break }
        }
    }

    /// The in-place writer (used by the JSON listings) and the array one agree, including
    /// outside four-digit years, where the writer falls back to the general path.
    @Test func inPlaceWriterAgrees() {
        var rng = SplitMix64.seeded(for: "TimestampTests.inPlaceWriterAgrees")
        let far: [Int64] = [253_402_300_800_000, -62_167_219_200_001, Int64(1) << 50]
        let random = (0..<5_000).map { _ in Int64.random(in: -2_208_988_800_000...253_402_300_799_999, using: &rng) }
        for ms in far + random {
            var expected: [UInt8] = []
            Timestamp.appendRFC3339(ms, to: &expected)
            let written = [UInt8](unsafeUninitializedCapacity: Timestamp.rfc3339MaxBytes) { buf, n in
                n = Timestamp.writeRFC3339(ms, to: buf.baseAddress!)
            }
            #expect(written == expected, "at \(ms) ms")
        }
        #expect(Self.text(253_402_300_800_000) == "10000-01-01T00:00:00.000Z")
    }

    /// The extremes of Int64 milliseconds fit in `rfc3339MaxBytes` and keep their sign.
    @Test(arguments: [Int64.min, Int64.max, -62_167_219_200_001])
    func extremesFitTheBuffer(_ ms: Int64) {
        let text = Self.text(ms)
        #expect(text.utf8.count <= Timestamp.rfc3339MaxBytes)
        #expect(text.hasPrefix("-") == (ms < -62_167_219_200_000), "\(text)")
        #expect(text.hasSuffix("Z"))
    }

    @Test func dateRoundsToTheMillisecond() {
        #expect(Timestamp.rfc3339(Date(timeIntervalSince1970: 1.0004)) == "1970-01-01T00:00:01.000Z")
        #expect(Timestamp.rfc3339(Date(timeIntervalSince1970: 1.0006)) == "1970-01-01T00:00:01.001Z")
        #expect(Timestamp.rfc3339(Date(timeIntervalSince1970: 59.9996)) == "1970-01-01T00:01:00.000Z")
    }
}
