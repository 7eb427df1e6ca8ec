import Glibc

/// What `body` writes to a file descriptor: an unlinked temporary file, read back whole
/// (a pipe would block a writer of more than its 64 KiB).
func captured(_ body: (Int32) throws -> Void) rethrows -> String {
    var template = Array("/tmp/guard-render-test-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    precondition(fd >= 0, "mkstemp: \(String(cString: strerror(errno)))")
    template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
    defer { close(fd) }
    try body(fd)
    precondition(lseek(fd, 0, SEEK_SET) == 0)
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = read(fd, &chunk, chunk.count)
        precondition(n >= 0 || errno == EINTR, "read: \(String(cString: strerror(errno)))")
        if n == 0 { break }
        if n > 0 { bytes += chunk[..<n] }
    }
    return String(decoding: bytes, as: UTF8.self)
}
