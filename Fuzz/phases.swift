// libFuzzer harness: PhasesHeader.parse (Sources/GuardHooks/Runner/PhasesHeader.swift).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPhases(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    if let phases = PhasesHeader.parse(bytes) {
        precondition(Set(phases).count == phases.count, "duplicate phase")
        for p in phases { precondition(PhasesHeader.isPhaseName(p), p) }
        // The header lies within the first maxLines lines: cutting after them changes nothing.
        var cut = 0, lines = 0
        while cut < bytes.count, lines < PhasesHeader.maxLines {
            if bytes[cut] == UInt8(ascii: "\n") { lines += 1 }
            cut += 1
        }
        precondition(PhasesHeader.parse(Array(bytes[..<cut])) == phases, "depends on bytes after line 10")
    }
    _ = PhasesHeader.isPhaseName(bytes)
    return 0
}
