import FileIO
import Foundation
import SystemPackage
import Testing

/// The package's one I/O layer: path arithmetic and bounded whole-file reads (no root needed).
@Suite struct FileIOTests {
    @Test("the parent of a path is its directory, '/' for a top-level name, '.' for a bare name",
          arguments: [("/a/b", "/a"), ("/a/b/", "/a"), ("/b", "/"), ("/", "/"), ("b", "."), ("a/b", "a")])
    func parentDirectory(path: String, parent: String) {
        #expect(FileIO.parentDirectory(path) == parent)
    }

    @Test("the last component ignores a trailing slash; the root has none",
          arguments: [("/a/b", "b"), ("/a/b/", "b"), ("b", "b"), ("/", nil)] as [(String, String?)])
    func lastComponent(path: String, name: String?) {
        #expect(FileIO.lastComponent(path) == name)
    }

    @Test("an absolute path stays as it is; a relative one is anchored on the working directory")
    func absolutePath() {
        #expect(FileIO.absolutePath("/x//y/") == "/x//y/")
        let cwd = FileManager.default.currentDirectoryPath
        #expect(FileIO.absolutePath("store.db") == (cwd == "/" ? "" : cwd) + "/store.db")
    }

    @Test("a file of exactly the limit is read whole; one byte more is refused as too large")
    func readLimit() throws {
        let path = try temporaryFile(bytes: 70_000)
        defer { unlink(path) }
        #expect(try FileIO.readFile(path, limit: 70_000).count == 70_000)
        #expect(throws: FileIO.ReadFailure.tooLarge(limit: 69_999)) { try FileIO.readFile(path, limit: 69_999) }
    }

    @Test("a missing file fails to open with ENOENT; a directory is not a regular file")
    func readFailures() {
        #expect(throws: FileIO.ReadFailure.open(.noSuchFileOrDirectory)) {
            try FileIO.readFile("/nonexistent-\(getpid())/x", limit: 10)
        }
        #expect(throws: FileIO.ReadFailure.notRegularFile) { try FileIO.readFile("/", limit: 10) }
    }

    @Test("the null device reads as an empty file; another character device is not a regular file")
    func nullDevice() throws {
        #expect(try FileIO.readFile("/dev/null", limit: 10).isEmpty)
        #expect(throws: FileIO.ReadFailure.notRegularFile) { try FileIO.readFile("/dev/zero", limit: 10) }
    }

    @Test("/proc files, which report size 0, are read to the end")
    func procFile() throws {
        let text = String(decoding: try FileIO.readFile("/proc/self/mountinfo", limit: 64 << 20), as: UTF8.self)
        #expect(text.hasSuffix("\n"))
        #expect(text.split(separator: "\n").allSatisfy { $0.contains(" - ") })
    }

    private func temporaryFile(bytes: Int) throws -> String {
        let path = "/tmp/fileio-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = try FileDescriptor.open(FilePath(path), .writeOnly, options: [.create, .exclusiveCreate],
                                         permissions: .ownerReadWrite)
        defer { try? fd.close() }
        try fd.writeAll([UInt8](repeating: 0x61, count: bytes))
        return path
    }
}
