import FoundationEssentials

/// Text and JSON output of the command line. JSON: one document, snake_case fields, RFC 3339
/// UTC times. Every writer takes the file descriptor to write to (1, stdout, by default).
package enum Render {
    /// `value` as one JSON document (`JSONEncoding`: snake_case keys in byte order, RFC
    /// 3339 times, absent optionals left out) and a newline.
    package static func json<T: Encodable>(_ value: T, fd: Int32 = 1) throws {
        var w = JSONWriter(fd: fd)
        try w.encode(value)
        w.finish()
    }

    /// Writes all of `data`, unbuffered.
    package static func write(_ data: Data, fd: Int32 = 1) {
        data.withUnsafeBytes { write($0, fd: fd) }
    }

    package static func write(_ buf: UnsafeRawBufferPointer, fd: Int32 = 1) {
        guard let base = buf.baseAddress else { return }
        OutputBuffer.writeAll(fd, base, buf.count)
    }

    package static func line(_ s: String, fd: Int32 = 1) { write(Data((s + "\n").utf8), fd: fd) }
}
