import Glibc

/// One line a hook printed (stdout and stderr merged), as passed to the runner's `output`.
public struct HookOutputLine: Sendable, Hashable {
    /// The hook's name: the CLI prints `[hook] text`.
    public var hook: String
    /// The line without its newline; invalid UTF-8 shows as replacement characters.
    public var text: String
    /// True when the line was cut at `maxLineBytes` and continues in the next one.
    public var isContinued: Bool

    package init(hook: String, text: String, isContinued: Bool = false) {
        self.hook = hook; self.text = text; self.isContinued = isContinued
    }
}

/// Limits that keep a hook's output cheap however much it prints.
package struct OutputLimits: Sendable, Hashable {
    /// Longer lines are split into pieces of at most this many bytes.
    package var maxLineBytes: Int
    /// How many of the last output bytes the result keeps.
    package var tailBytes: Int

    package init(maxLineBytes: Int = 4096, tailBytes: Int = 64 * 1024) {
        self.maxLineBytes = max(maxLineBytes, 4)
        self.tailBytes = max(tailBytes, 0)
    }
}

/// Cuts a byte stream into lines of bounded length. Holds at most one partial line.
struct LineSplitter {
    let maxLineBytes: Int
    private var pending: [UInt8] = []
    private let newline = UInt8(ascii: "\n")

    init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
        pending.reserveCapacity(maxLineBytes)
    }

    /// Feeds bytes; `emit(line, isContinued)` gets every complete (or cut) line.
    mutating func feed(_ bytes: UnsafeRawBufferPointer, emit: (ArraySlice<UInt8>, Bool) -> Void) {
        guard var cursor = bytes.baseAddress else { return }
        let end = cursor + bytes.count
        while cursor < end {
            // A full buffer is cut only once a byte other than its newline follows, so a
            // line of exactly maxLineBytes is one line, not a line and an empty one.
            if pending.count >= maxLineBytes {
                if cursor.load(as: UInt8.self) == newline {
                    emit(pending[...], false)
                    pending.removeAll(keepingCapacity: true)
                    cursor += 1
                    continue
                }
                cutLongLine(emit: emit)
            }
            // memchr keeps a hook that prints hundreds of megabytes from costing a Swift
            // loop iteration per byte.
            let scan = min(end - cursor, maxLineBytes - pending.count)
            if let hit = memchr(cursor, Int32(newline), scan) {
                let length = UnsafeRawPointer(hit) - cursor
                pending.append(contentsOf: UnsafeRawBufferPointer(start: cursor, count: length))
                emit(pending[...], false)
                pending.removeAll(keepingCapacity: true)
                cursor += length + 1
            } else {
                pending.append(contentsOf: UnsafeRawBufferPointer(start: cursor, count: scan))
                cursor += scan
            }
        }
    }

    /// Emits what is left when the stream ends without a final newline.
    mutating func finish(emit: (ArraySlice<UInt8>, Bool) -> Void) {
        if !pending.isEmpty { emit(pending[...], false) }
        pending.removeAll()
    }

    /// Cuts a full buffer, backing off to a UTF-8 character boundary (at most 3 bytes)
    /// so a multi-byte character is not split into two replacement characters.
    private mutating func cutLongLine(emit: (ArraySlice<UInt8>, Bool) -> Void) {
        var start = pending.count - 1
        while start > 0, pending.count - 1 - start < 3, pending[start] & 0xC0 == 0x80 { start -= 1 }
        let lead = pending[start]
        let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        let cut = start > 0 && start + length > pending.count ? start : pending.count
        emit(pending[..<cut], true)
        pending.removeFirst(cut)
    }
}

/// The last `limit` bytes of a stream, in at most `2 * limit` bytes of memory.
struct OutputTail {
    let limit: Int
    private var buffer: [UInt8] = []

    init(limit: Int) { self.limit = limit }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard limit > 0 else { return }
        let useful = bytes.count > limit ? UnsafeRawBufferPointer(rebasing: bytes[(bytes.count - limit)...]) : bytes
        buffer.append(contentsOf: useful)
        if buffer.count > 2 * limit { buffer.removeFirst(buffer.count - limit) }
    }

    mutating func append(_ text: String) {
        var copy = text
        copy.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// The tail as text of at most `limit` UTF-8 bytes: starts on a character boundary,
    /// and replacement characters for invalid bytes never push it past the bound.
    var text: String {
        var bytes = buffer.suffix(limit)
        while let first = bytes.first, first & 0xC0 == 0x80 { bytes = bytes.dropFirst() }
        let text = String(decoding: bytes, as: UTF8.self)
        var excess = text.utf8.count - limit
        guard excess > 0 else { return text }
        var start = text.unicodeScalars.startIndex
        while excess > 0, start < text.unicodeScalars.endIndex {
            excess -= UTF8.width(text.unicodeScalars[start])
            start = text.unicodeScalars.index(after: start)
        }
        return String(text.unicodeScalars[start...])
    }
}
