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

    /// The whole of the regular file at `path`, at most `limit` bytes. Opened with
    /// O_CLOEXEC|O_NOCTTY and read to EOF (/proc files report size 0, so fstat's size is
    /// not trusted).
    package static func readFile(_ path: String, limit: Int) throws(ReadFailure) -> [UInt8] {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec, noControllingTerminal])
        } catch { throw .open(errno(of: error)) }
        defer { try? fd.close() }
        let type: FileType
        do { type = try fd.stat().type } catch { throw .read(error) }
        guard type == .regular else { throw .notRegularFile }
        let bytes: [UInt8]
        do { bytes = try read(fd, upTo: limit + 1) } catch { throw .read(error) }
        if bytes.count > limit { throw .tooLarge(limit: limit) }
        return bytes
    }

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
        let parent = FilePath(path).removingLastComponent()
        return parent.isEmpty ? "." : parent.string
    }

    /// The last component of `path` ("b" for "/a/b/"), nil for "/" or "".
    package static func lastComponent(_ path: String) -> String? {
        FilePath(path).lastComponent?.string
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
