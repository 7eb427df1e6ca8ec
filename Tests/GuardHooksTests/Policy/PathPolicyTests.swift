import GuardHooks
import Testing

@Suite struct PathPolicyTests {
    static let normalizeCases: [(String, Result<String, PathRefusal>)] = [
        ("/mnt/a", .success("/mnt/a")),
        ("/mnt//a/", .success("/mnt/a")),
        ("/mnt/./a/.", .success("/mnt/a")),
        ("/media/usb disk", .success("/media/usb disk")),
        ("/mnt/é", .success("/mnt/é")),
        // Names made of dots that are not `.` or `..`, and a trailing `.`/`..` (the fast path's edges).
        ("/mnt/...", .success("/mnt/...")),
        ("/mnt/.a/..b/a..", .success("/mnt/.a/..b/a..")),
        ("/mnt/.", .success("/mnt")),
        ("/mnt/", .success("/mnt")),
        ("/.", .failure(.isRoot)),
        ("/..", .failure(.dotDot)),
        ("/mnt/..", .failure(.dotDot)),
        // Bytes, not Characters: a combining mark after '/' makes one grapheme with it, and
        // must neither hide the separator nor the ".." before it (found by the fuzzer).
        ("/mnt//a/../\u{301}x", .failure(.dotDot)),
        ("/mnt/a/../\u{301}x", .failure(.dotDot)),
        ("/\u{F7D}/x", .success("/\u{F7D}/x")),
        ("/mnt//\u{301}a/", .success("/mnt/\u{301}a")),
        ("", .failure(.empty)),
        ("mnt/a", .failure(.notAbsolute)),
        ("./a", .failure(.notAbsolute)),
        ("/", .failure(.isRoot)),
        ("//", .failure(.isRoot)),
        ("/./", .failure(.isRoot)),
        ("/mnt/../etc", .failure(.dotDot)),
        ("/mnt/a/..", .failure(.dotDot)),
        ("/mnt/a\nb", .failure(.controlCharacter(0x0A))),
        ("/mnt/a\tb", .failure(.controlCharacter(0x09))),
        ("/mnt/a\u{7F}", .failure(.controlCharacter(0x7F))),
        ("/mnt/a\u{85}", .failure(.controlCharacter(0x85))),
        ("/mnt/a\u{0}", .failure(.controlCharacter(0))),
        ("/mnt/\u{FFFD}", .failure(.invalidUTF8)),
        ("/mnt/" + String(repeating: "x", count: 4091), .failure(.tooLong(4096))),
    ]

    @Test(arguments: normalizeCases.indices)
    func normalize(_ i: Int) {
        let (input, expected) = Self.normalizeCases[i]
        #expect(PathPolicy.normalize(input) == expected, "input \(input.debugDescription)")
    }

    static let checkCases: [(String, Bool)] = [
        ("/mnt/a", true), ("/mnt/a/b", true), ("/media/usb", true), ("/run/media/u/disk", true),
        ("/mnt", false), ("/media", false), ("/mntx/a", false), ("/etc", false), ("/proc/1", false),
        ("/var/lib/guard-hooks", false), ("/run/mediax/a", false),
        ("/mnt/state", false), ("/mnt/state/db", false),
    ]

    @Test(arguments: checkCases)
    func allowedRoots(_ path: String, _ allowed: Bool) {
        let policy = PathPolicy(protectedPaths: ["/mnt/state"])
        let result = policy.check(resolved: path)
        if allowed { #expect(result == .success(path)) } else { #expect(throws: PathRefusal.self) { try result.get() } }
    }

    @Test func configuredRoots() {
        let policy = PathPolicy(allowedRoots: ["/srv/backup"])
        #expect(policy.check(resolved: "/srv/backup/ds1") == .success("/srv/backup/ds1"))
        #expect((try? policy.check(resolved: "/mnt/a").get()) == nil)
        #expect(PathPolicy.validateRoot("/") == .failure(.rootNotAllowedAsAllowedRoot))
        #expect(PathPolicy.validateRoot("/srv//x/") == .success("/srv/x"))
    }

    /// Paths are bytes to the kernel: a decomposed "é" is another directory than a precomposed
    /// one, so neither is below (or overlaps) the other's root.
    @Test func rootsCompareBytesNotCanonicalEquivalence() {
        let precomposed = "/srv/caf\u{E9}", decomposed = "/srv/cafe\u{301}"
        #expect(precomposed == decomposed)  // Swift's String equality: canonical equivalence
        #expect(!PathPolicy.isStrictlyBelow(decomposed + "/x", precomposed))
        #expect(!PathPolicy.overlaps(decomposed, precomposed))
        #expect(PathPolicy.isStrictlyBelow(precomposed + "/x", precomposed))
        #expect(PathPolicy.isStrictlyBelow("/x", "/"))
        #expect(PathPolicy.isStrictlyBelow("/mnt/a", "/mnt/"))
        #expect(!PathPolicy.isStrictlyBelow("/mnt/", "/mnt"))
        let policy = PathPolicy(allowedRoots: [precomposed])
        #expect((try? policy.check(resolved: decomposed + "/x").get()) == nil)
    }

    @Test func messagesAreOneLine() {
        for (input, expected) in Self.normalizeCases {
            if case .failure(let r) = expected {
                #expect(!r.description.contains("\n"), "\(input.debugDescription)")
                #expect(PathPolicy.normalize(input) == .failure(r))
            }
        }
    }
}
