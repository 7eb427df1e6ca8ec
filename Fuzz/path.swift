// libFuzzer harness: PathPolicy.normalize + check (Sources/GuardHooks/Policy/PathPolicy.swift).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPath(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let raw = String(decoding: bytes, as: UTF8.self)
    let policy = PathPolicy(allowedRoots: ["/mnt", "/media"], protectedPaths: ["/mnt/state"])
    switch PathPolicy.normalize(raw) {
    case .failure(let why):
        precondition(!why.description.isEmpty)
    case .success(let p):
        // Normal form: absolute, not "/", no empty, "." or ".." component, no control
        // character, no invalid UTF-8, bounded, and a fixed point.
        // Checked on bytes, as the kernel reads a path (a combining mark after '/' makes one
        // Character with it, so Character-based checks would see no slash there).
        let slash = UInt8(ascii: "/")
        precondition(p.utf8.first == slash && p.utf8.count > 1 && p.utf8.last != slash, p)
        for c in p.utf8.split(separator: slash, omittingEmptySubsequences: false).dropFirst() {
            precondition(!c.isEmpty && !c.elementsEqual(".".utf8) && !c.elementsEqual("..".utf8), p)
        }
        precondition(!p.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "\u{FFFD}" })
        precondition(p.utf8.count <= PathPolicy.maxPathBytes)
        precondition(PathPolicy.normalize(p) == .success(p), "not idempotent: \(p)")
        switch policy.check(resolved: p) {
        case .success(let q):
            precondition(q == p)
            precondition(PathPolicy.isStrictlyBelow(q, "/mnt") || PathPolicy.isStrictlyBelow(q, "/media"), q)
            precondition(!PathPolicy.overlaps(q, "/mnt/state"), q)
        case .failure: break
        }
    }
    // check() on the raw string must refuse whatever normalize refuses.
    if case .failure = PathPolicy.normalize(raw) {
        if case .success = policy.check(resolved: raw) { preconditionFailure("check accepted what normalize refused") }
    }
    return 0
}
