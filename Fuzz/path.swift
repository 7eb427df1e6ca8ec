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
        precondition(p.hasPrefix("/") && p != "/" && !p.hasSuffix("/"), p)
        precondition(!p.contains("//"), p)
        for c in p.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            precondition(!c.isEmpty && c != "." && c != "..", p)
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
