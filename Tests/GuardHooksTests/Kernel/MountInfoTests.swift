@testable import GuardHooks
import GuardTestSupport
import Testing

/// Pure: runs anywhere, no sandbox needed.
@Suite struct MountInfoParseTests {
    @Test func normalLineWithOptionalFields() throws {
        let e = MountInfo.parse("36 35 98:0 /mnt1 /mnt2 rw,noatime shared:1 master:2 - ext3 /dev/root rw,errors=continue\n")
        try #require(e.count == 1)
        #expect(e[0] == MountInfoEntry(
            mountID: 36, parentID: 35, deviceMajor: 98, deviceMinor: 0, root: "/mnt1", mountPoint: "/mnt2",
            options: "rw,noatime", optionalFields: ["shared:1", "master:2"], fsType: "ext3",
            source: "/dev/root", superOptions: "rw,errors=continue"))
        #expect(!e[0].isReadOnly)
    }

    @Test func zeroOptionalFields() throws {
        let e = MountInfo.parse("63 43 0:39 / /mnt ro,relatime - tmpfs t rw,size=4k,mode=755")
        try #require(e.count == 1)
        #expect(e[0].optionalFields == [])
        #expect(e[0].fsType == "tmpfs" && e[0].source == "t")
        #expect(e[0].superOptions == "rw,size=4k,mode=755")
        #expect(e[0].isReadOnly)
    }

    @Test(arguments: [
        (#"/mnt/with\040space"#, "/mnt/with space"),
        (#"/mnt/tab\011here"#, "/mnt/tab\there"),
        (#"/mnt/new\012line"#, "/mnt/new\nline"),
        (#"/mnt/back\134slash"#, #"/mnt/back\slash"#),
        (#"/mnt/\040\040"#, "/mnt/  "),
        (#"/mnt/not\08octal"#, #"/mnt/not\08octal"#),   // 8 is not octal: kept literally
        (#"/mnt/big\777"#, #"/mnt/big\777"#),           // > 0o377: kept literally
        (#"/mnt/short\04"#, #"/mnt/short\04"#),         // truncated escape at the end
        (#"/mnt/end\"#, #"/mnt/end\"#),
    ])
    func octalEscapes(raw: String, decoded: String) throws {
        let e = MountInfo.parse("1 0 8:1 \(raw) \(raw) rw - ext4 \(raw) rw")
        try #require(e.count == 1)
        #expect(e[0].root == decoded)
        #expect(e[0].mountPoint == decoded)
        #expect(e[0].source == decoded)
    }

    @Test func emptySourceField() throws {
        // `mount -t tmpfs "" /x` prints an empty source: two adjacent spaces.
        let e = MountInfo.parse("70 63 0:41 / /mnt/x rw,relatime - tmpfs  rw")
        try #require(e.count == 1)
        #expect(e[0].source == "" && e[0].superOptions == "rw")
    }

    @Test func malformedLinesAreSkippedAndReported() {
        let text = """
        22 1 8:1 / / rw - ext4 /dev/sda1 rw
        this is not a mountinfo line at all
        23 22 0:5 / /dev rw
        x 22 0:5 / /dev rw - devtmpfs udev rw
        24 22 0:5x / /dev rw - devtmpfs udev rw
        25 22 0:5 / /dev rw shared:1 - devtmpfs udev
        26 22 99999999999:1 / /dev rw - devtmpfs udev rw
        27 22 0:6 / /proc rw,nosuid - proc proc rw

        """
        let (entries, malformed) = MountInfo.parseReporting(text)
        #expect(entries.map(\.mountID) == [22, 27])
        #expect(malformed.map(\.line) == [2, 3, 4, 5, 6, 7])
    }

    @Test func emptyAndBlankInput() {
        #expect(MountInfo.parse("").isEmpty)
        #expect(MountInfo.parse("\n\n").isEmpty)
        #expect(MountInfo.parseReporting("\n").malformed.isEmpty)
    }

    @Test func tooFewFields() {
        #expect(MountInfo.parse("1 2 3:4 / /x").isEmpty)
        #expect(MountInfo.parse("1 2 3:4 / /x rw - tmpfs").isEmpty)
        #expect(MountInfo.parse("1 2 3:4 / /x rw - tmpfs src").isEmpty)
    }

    @Test func trailingExtraFieldsAreIgnored() throws {
        let e = MountInfo.parse("1 2 3:4 / /x rw - tmpfs src rw,size=1k future")
        try #require(e.count == 1)
        #expect(e[0].superOptions == "rw,size=1k")
    }

    @Test func hostileInputNeverTraps() {
        // Cheap in-process fuzz: random bytes biased towards mountinfo's alphabet.
        let alphabet = Array(" -:\\0123456789/abc\n\t".utf8) + [0xff, 0xc3, 0x00]
        var rng = SplitMix64.seeded(for: "MountInfoParseTests.hostileInputNeverTraps")
        for _ in 0..<2000 {
            let n = Int.random(in: 0..<120, using: &rng)
            let bytes = (0..<n).map { _ in alphabet.randomElement(using: &rng) ?? 32 }
            _ = MountInfo.parseReporting(String(decoding: bytes, as: UTF8.self))
        }
        _ = MountInfo.parse(String(repeating: "\\", count: 10_000))
        _ = MountInfo.parse(String(repeating: "1 ", count: 10_000))
        _ = MountInfo.parse("18446744073709551616 1 1:1 / / rw - a b c") // UInt64.max + 1
    }

    @Test func parsesThisMachinesMountinfo() throws {
        let kernel = LinuxKernel()
        let text = try kernel.readFile("/proc/self/mountinfo")
        let (entries, malformed) = MountInfo.parseReporting(text)
        #expect(malformed.isEmpty)
        #expect(entries.count == text.split(separator: "\n").count)
        #expect(entries.contains { $0.mountPoint == "/" })
    }
}
