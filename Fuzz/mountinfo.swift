// libFuzzer harness: MountInfo.parse / parseReporting / decode (Sources/GuardHooks/Kernel/MountInfo.swift).
// Built by Fuzz/run with the parser's own source file; never part of `swift build`.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMountInfo(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let text = String(decoding: bytes, as: UTF8.self)
    let (entries, malformed) = MountInfo.parseReporting(text)
    let lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).count
    // Total: every non-blank line is either an entry or a malformed note, never both, never more.
    precondition(entries.count + malformed.count == lines, "lines \(lines) != \(entries.count) + \(malformed.count)")
    precondition(MountInfo.parse(text) == entries)
    for e in entries {
        precondition(!e.root.isEmpty && !e.mountPoint.isEmpty)
        // A decoded field has no escape left that decoding again would change, unless it
        // decoded to a backslash followed by octal digits (then a second decode may differ:
        // that is why callers decode exactly once). Just exercise it.
        _ = MountInfo.decode(e.mountPoint)
        _ = e.isReadOnly
    }
    for m in malformed { precondition(m.line >= 1 && !m.reason.isEmpty) }
    // decode is total on raw bytes and never grows the text.
    precondition(MountInfo.decode(ArraySlice(bytes)).utf8.count <= max(bytes.count * 3, 0))
    return 0
}
