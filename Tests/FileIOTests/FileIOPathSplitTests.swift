import FileIO
import GuardTestSupport
import SystemPackage
import Testing

/// `parentDirectory` and `lastComponent` split canonical absolute paths by hand (FilePath's
/// parse was most of a 1000-target batch); every other path goes through FilePath. Both
/// must give FilePath's answer for any path.
@Suite struct FileIOPathSplitTests {
    @Test("splitting a path by hand agrees with FilePath for 20,000 seeded random paths")
    func handSplitAgreesWithFilePath() {
        var rng = SplitMix64.seeded(for: "handSplitAgreesWithFilePath")
        let pieces = ["/", "/", "a", "b", ".", "..", "e\u{301}", "é", " ", "//"]
        for _ in 0..<20_000 {
            let path = (0..<Int.random(in: 0...7, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            let parent = FilePath(path).removingLastComponent()
            #expect(FileIO.parentDirectory(path) == (parent.isEmpty ? "." : parent.string), "parent of \(path)")
            #expect(FileIO.lastComponent(path) == FilePath(path).lastComponent?.string, "last component of \(path)")
        }
    }
}
