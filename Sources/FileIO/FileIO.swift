import Glibc
import SystemPackage

/// The package's file I/O on swift-system: whole small files read with a size bound, paths
/// anchored on the working directory, a path's parent, and the one EINTR retry loop.
/// Writing everything is swift-system's `FileDescriptor.writeAll`, used as it is.
/// Package-internal: every target of this package uses it, nothing outside may.
package enum FileIO {
    /// Why a whole file could not be read.
    package enum ReadFailure: Error, Sendable, Hashable {
        case open(Errno)
        case notRegularFile
        case read(Errno)
        /// More than the caller's limit of bytes.
        case tooLarge(limit: Int)
    }

    /// The whole of the regular file at `path` (or the null device, as an empty file), at most `limit` bytes. Opened with
    /// O_CLOEXEC|O_NOCTTY and read to EOF (/proc files report size 0, so fstat's size is
    /// not trusted).
    package static func readFile(_ path: String, limit: Int) throws(ReadFailure) -> [UInt8] {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec, noControllingTerminal])
        } catch { throw .open(errno(of: error)) }
        defer { try? fd.close() }
        let status: Stat
        do { status = try fd.stat() } catch { throw .read(error) }
        // The null device is the usual way to say "no file" (GUARD_HOOKS_CONFIG=/dev/null):
        // it reads as an empty file. Any other device, fifo or directory is refused.
        if status.type == .characterSpecial && status.specialDeviceID.rawValue == nullDeviceID { return [] }
        guard status.type == .regular else { throw .notRegularFile }
        let bytes: [UInt8]
        do { bytes = try read(fd, upTo: limit + 1) } catch { throw .read(error) }
        if bytes.count > limit { throw .tooLarge(limit: limit) }
        return bytes
    }

    /// `makedev(1, 3)`: the character device /dev/null is on every Linux system.
    static let nullDeviceID: CInterop.DeviceID = (1 << 8) | 3

    /// Up to `maxCount` bytes from `fd`'s offset on, fewer at EOF; EINTR is retried.
    package static func read(_ fd: FileDescriptor, upTo maxCount: Int) throws(Errno) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(maxCount, 64 * 1024))
        while bytes.count < maxCount {
            let wanted = min(chunk.count, maxCount - bytes.count)
            let n: Int
            do {
                n = try chunk.withUnsafeMutableBytes { try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<wanted])) }
            } catch { throw errno(of: error) }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[..<n])
        }
        return bytes
    }

    /// swift-system's `open` and `read` throw only `Errno`, but untyped.
    private static func errno(of error: any Error) -> Errno { error as? Errno ?? .ioError }

    /// `path` anchored on the working directory when it is relative (an absolute path is
    /// returned as it is). When the working directory cannot be known, "./" + `path`: the
    /// same file, and never a `file:` URI to SQLite.
    package static func absolutePath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        guard let cwd = getcwd(nil, 0) else { return "./" + path }
        defer { free(cwd) }
        return FilePath(String(cString: cwd)).pushing(FilePath(path)).string
    }

    /// The directory holding `path`: "/a" for "/a/b" and "/a/b/", "/" for "/b", "." for a
    /// bare name.
    package static func parentDirectory(_ path: String) -> String {
        if let slash = lastSlashOfCanonical(path) {
            return slash == path.utf8.startIndex ? "/" : String(path.utf8[..<slash])!
        }
        let parent = FilePath(path).removingLastComponent()
        return parent.isEmpty ? "." : parent.string
    }

    /// The last component of `path` ("b" for "/a/b/"), nil for "/" or "".
    package static func lastComponent(_ path: String) -> String? {
        if let slash = lastSlashOfCanonical(path) { return String(path.utf8[path.utf8.index(after: slash)...])! }
        return FilePath(path).lastComponent?.string
    }

    /// The position of the last "/" of an absolute path with no empty component and no
    /// trailing "/" ("/a/b"), where splitting at it is what FilePath would do; nil for any
    /// other path, which FilePath normalises first. Batches split thousands of such paths, and
    /// FilePath's parse was most of their cost.
    private static func lastSlashOfCanonical(_ path: String) -> String.UTF8View.Index? {
        let bytes = path.utf8
        guard bytes.count > 1, bytes.first == UInt8(ascii: "/"), bytes.last != UInt8(ascii: "/") else { return nil }
        var previous: UInt8 = 0
        var last = bytes.startIndex
        for i in bytes.indices {
            let b = bytes[i]
            if b == UInt8(ascii: "/") {
                if previous == UInt8(ascii: "/") { return nil }
                last = i
            }
            previous = b
        }
        return last
    }

    private static var noControllingTerminal: FileDescriptor.OpenOptions { .init(rawValue: O_NOCTTY) }
}

/// The one EINTR retry loop of the package: calls `call` again for as long as `interrupted`
/// says its result was EINTR. swift-system's calls retry in the same way (`retryOnInterrupt`).
@inline(__always)
package func retryingInterrupts<R>(_ call: () -> R, interrupted: (R) -> Bool) -> R {
    while true {
        let result = call()
        if !interrupted(result) { return result }
    }
}

/// `retryingInterrupts` for a libc call that fails with -1 and `errno`.
@inline(__always)
package func retryingInterrupts<R: BinaryInteger>(_ call: () -> R) -> R {
    retryingInterrupts(call) { $0 == -1 && errno == EINTR }
}
