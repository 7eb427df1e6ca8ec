/// Path rules of DESIGN.md, as pure functions over strings.
///
/// A target is first *validated* as typed (absolute, no control characters, no `..`,
/// not `/`, not too long), then *resolved* by the kernel (symlinks followed), and the
/// resolved path must lie strictly below an allowed root. Every later kernel action
/// happens through an fd opened on the resolved path without following symlinks.
package struct PathPolicy: Sendable, Hashable {
    package static let defaultAllowedRoots = ["/mnt", "/media", "/run/media"]
    /// PATH_MAX on Linux, including the terminating NUL.
    package static let maxPathBytes = 4095

    package var allowedRoots: [String]
    /// Paths that must never be guarded: the store's own directory, for one.
    package var protectedPaths: [String]

    package init(allowedRoots: [String] = PathPolicy.defaultAllowedRoots, protectedPaths: [String] = []) {
        self.allowedRoots = allowedRoots
        self.protectedPaths = protectedPaths
    }

    /// Validates a root given by the operator (`--allow-root`, env, config).
    package static func validateRoot(_ raw: String) -> Result<String, PathRefusal> {
        if raw == "/" { return .failure(.rootNotAllowedAsAllowedRoot) }
        return normalize(raw)
    }

    /// Validates and normalises a target as typed: collapses `//` and `/./`, drops a
    /// trailing slash; refuses everything that could mean two things.
    package static func normalize(_ raw: String) -> Result<String, PathRefusal> {
        if raw.isEmpty { return .failure(.empty) }
        if raw.utf8.count > maxPathBytes { return .failure(.tooLong(raw.utf8.count)) }
        for scalar in raw.unicodeScalars {
            if scalar == "\u{FFFD}" { return .failure(.invalidUTF8) }
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                return .failure(.controlCharacter(scalar.value))
            }
        }
        guard raw.utf8.first == UInt8(ascii: "/") else { return .failure(.notAbsolute) }
        if isNormal(raw.utf8) { return .success(raw) }
        // Split on the byte '/', as the kernel does. Splitting Characters would miss a slash
        // that a following combining mark turns into one grapheme with it ("/\u{301}"), and
        // with it a ".." component: "/mnt/a/../\u{301}x" read as the components mnt, a,
        // "../\u{301}x".
        var components: [Substring.UTF8View] = []
        for part in raw.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            if part.elementsEqual(".".utf8) { continue }
            if part.elementsEqual("..".utf8) { return .failure(.dotDot) }
            components.append(part)
        }
        if components.isEmpty { return .failure(.isRoot) }
        var normal: [UInt8] = []
        normal.reserveCapacity(raw.utf8.count)
        for c in components { normal.append(UInt8(ascii: "/")); normal.append(contentsOf: c) }
        return .success(String(decoding: normal, as: UTF8.self))
    }

    /// True when an absolute path is already in normal form (the common case, checked without
    /// allocating): no empty, `.` or `..` component, no trailing slash, not `/` alone.
    static func isNormal(_ bytes: String.UTF8View) -> Bool {
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        var length = 0, dots = 0, first = true
        for b in bytes {
            if b == slash {
                if !first && (length == 0 || dots == length && length <= 2) { return false }
                first = false; length = 0; dots = 0
            } else {
                length += 1
                if b == dot { dots += 1 }
            }
        }
        return !(length == 0 || dots == length && length <= 2)
    }

    /// Whether `path` (normalised, resolved) lies strictly below `root`. Byte-wise: two paths
    /// are the same only when their bytes are (Swift's `hasPrefix` would call a precomposed
    /// "é" and a decomposed one equal; the kernel does not).
    package static func isStrictlyBelow(_ path: String, _ root: String) -> Bool {
        let p = path.utf8, r = root.utf8
        let rootLength = r.last == UInt8(ascii: "/") ? r.count - 1 : r.count
        guard p.count > rootLength + 1, p.starts(with: r.prefix(rootLength)) else { return false }
        return p[p.index(p.startIndex, offsetBy: rootLength)] == UInt8(ascii: "/")
    }

    /// Whether two normalised paths are equal or one contains the other.
    package static func overlaps(_ a: String, _ b: String) -> Bool {
        a.utf8.elementsEqual(b.utf8) || isStrictlyBelow(a, b) || isStrictlyBelow(b, a)
    }

    /// The rule applied to the resolved path.
    package func check(resolved path: String) -> Result<String, PathRefusal> {
        switch Self.normalize(path) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let normal):
            if let protected = protectedPaths.first(where: { Self.overlaps(normal, $0) }) {
                return .failure(.protected(protected))
            }
            guard allowedRoots.contains(where: { Self.isStrictlyBelow(normal, $0) }) else {
                return .failure(.outsideAllowedRoots(normal, allowedRoots))
            }
            return .success(normal)
        }
    }
}

/// A path as a dictionary or set key, equal only when its bytes are: Swift's `String`
/// equality is canonical equivalence, under which two different directories (a precomposed
/// and a decomposed "é") are one key.
package struct PathKey: Hashable, Sendable {
    package let path: String
    package init(_ path: String) { self.path = path }
    package static func == (a: PathKey, b: PathKey) -> Bool { a.path.utf8.elementsEqual(b.path.utf8) }
    package func hash(into hasher: inout Hasher) {
        var path = path
        path.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// Why a path was refused; `description` is the one-line message operators see.
package enum PathRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    case empty
    case notAbsolute
    case isRoot
    case dotDot
    case tooLong(Int)
    case invalidUTF8
    case controlCharacter(UInt32)
    case outsideAllowedRoots(String, [String])
    case protected(String)
    case rootNotAllowedAsAllowedRoot

    package var description: String {
        switch self {
        case .empty: return "empty path"
        case .notAbsolute: return "not an absolute path"
        case .isRoot: return "refusing to guard /"
        case .dotDot: return "path contains a '..' component"
        case .tooLong(let n): return "path is \(n) bytes, longer than PATH_MAX"
        case .invalidUTF8: return "path is not valid UTF-8"
        case .controlCharacter(let v):
            return "path contains a control character (U+\(String(v, radix: 16, uppercase: true).leftPadded(to: 4)))"
        case .outsideAllowedRoots(let p, let roots):
            return "\(p) is not below an allowed root (\(roots.joined(separator: ", ")))"
        case .protected(let p): return "path overlaps the store's directory \(p)"
        case .rootNotAllowedAsAllowedRoot: return "/ cannot be an allowed root"
        }
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
