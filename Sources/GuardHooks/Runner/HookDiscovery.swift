import Glibc
import SystemPackage

/// What discovery decided about one directory entry.
public enum HookDecision: Sendable, Hashable, CustomStringConvertible {
    /// Runs (for the phase asked about).
    case run
    /// Not a hook for this phase: bad name, not a regular executable file, other phase.
    case skip(String)
    /// A hook that would run but fails the ownership and permission rules (cron's rule).
    /// `run` records these as `failed`, with the reason, so a refused guard hook stops a
    /// `pre-*` phase and is visible in `runs`.
    case refuse(String)

    public var reason: String? {
        switch self {
        case .run: nil
        case .skip(let r), .refuse(let r): r
        }
    }

    public var description: String {
        switch self {
        case .run: "run"
        case .skip(let r), .refuse(let r): "skip: \(r)"
        }
    }
}

/// One entry of a hooks directory and the decision about it.
public struct DiscoveredHook: Sendable, Hashable {
    /// The entry's name (invalid UTF-8 shown with replacement characters; such names never run).
    public var name: String
    /// `directory/name`. For symlinks, the link itself: it is what run-parts would execute.
    public var path: String
    public var decision: HookDecision
    /// The phases its `# phases:` header lists; nil when it has none (runs for every phase)
    /// or when discovery did not get far enough to read it.
    public var phases: [String]?

    public init(name: String, path: String, decision: HookDecision, phases: [String]? = nil) {
        self.name = name; self.path = path; self.decision = decision; self.phases = phases
    }

    /// Whether the hook is meant for `phase` by its header (true without a header).
    public func isFor(phase: String) -> Bool { phases.map { $0.contains(phase) } ?? true }
}

/// Which security rules apply to discovery.
public struct HookPolicy: Sendable, Hashable {
    /// Refuse hooks (and directories) that are not root-owned or are group/world-writable,
    /// and symlinks that leave the hooks directory. On by default when running as root.
    public var enforceOwnership: Bool

    public init(enforceOwnership: Bool) { self.enforceOwnership = enforceOwnership }

    /// The policy for this process: enforced when the effective uid is 0.
    public static var current: HookPolicy { HookPolicy(enforceOwnership: geteuid() == 0) }
}

public struct HookDiscoveryError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var errno: Errno
    public var description: String { "cannot read hooks directory \(path): \(errno)" }
}

/// Lists a hooks directory the way run-parts selects, with cron's ownership rules on top.
///
/// Rules, in the order they are checked (the first that fails is the reason shown):
/// 1. the name matches run-parts' default `^[a-zA-Z0-9_-]+$` (bytes, C locale);
/// 2. the entry is a regular file, or a symlink whose target is one (a dangling symlink
///    is skipped, as run-parts does after complaining);
/// 3. it is executable (`access(X_OK)`, like run-parts);
/// 4. with `enforceOwnership`: a symlink must resolve to a file directly inside the hooks
///    directory (otherwise the checks below would judge a file whose directory nobody
///    vetted); the file (the symlink's target) must be owned by root and not group- or
///    world-writable; the hooks directory likewise;
/// 5. with a phase: the `# phases:` header, if any, lists it.
/// Entries come in byte order of their names, every entry included, so `hooks` can say
/// why each file does not run.
public enum HookDiscovery {
    public static func discover(directory: String, phase: String?, policy: HookPolicy) throws -> [DiscoveredHook] {
        let names = try entryNames(of: directory)
        // Hooks run with cwd `/`, so their paths must not depend on ours.
        let absolute = directory.hasPrefix("/") ? directory : (currentDirectory() ?? "") + "/" + directory
        let base = absolute.hasSuffix("/") && absolute.count > 1 ? String(absolute.dropLast()) : absolute
        let directoryRefusal = policy.enforceOwnership ? HookSecurity.directoryRefusal(base) : nil
        let resolvedDirectory = policy.enforceOwnership ? HookSecurity.realPath(base) : nil
        return names.map { raw in
            let name = String(decoding: raw, as: UTF8.self)
            let path = base == "/" ? "/\(name)" : "\(base)/\(name)"
            guard isHookName(raw) else {
                return DiscoveredHook(name: name, path: path, decision: .skip("name does not match ^[a-zA-Z0-9_-]+$"))
            }
            return classify(name: name, path: path, phase: phase, policy: policy,
                            directoryRefusal: directoryRefusal, resolvedDirectory: resolvedDirectory)
        }
    }

    /// run-parts' default name rule, on bytes so no locale can widen `[a-z]`.
    public static func isHookName<S: Sequence>(_ bytes: S) -> Bool where S.Element == UInt8 {
        var any = false
        for b in bytes {
            let ok = (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39)
                || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
            guard ok else { return false }
            any = true
        }
        return any
    }

    static func classify(name: String, path: String, phase: String?, policy: HookPolicy,
                         directoryRefusal: String?, resolvedDirectory: String?) -> DiscoveredHook {
        func hook(_ decision: HookDecision, _ phases: [String]? = nil) -> DiscoveredHook {
            DiscoveredHook(name: name, path: path, decision: decision, phases: phases)
        }
        var linkInfo = stat()
        guard lstat(path, &linkInfo) == 0 else { return hook(.skip("cannot stat: \(Errno(rawValue: errno))")) }
        let isSymlink = (linkInfo.st_mode & S_IFMT) == S_IFLNK
        var info = linkInfo
        if isSymlink, stat(path, &info) != 0 { return hook(.skip("dangling symlink")) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return hook(.skip("not a regular file")) }
        guard access(path, X_OK) == 0 else { return hook(.skip("not executable")) }

        let phases = PhasesHeader.parse(HookSecurity.readPrefix(path, upTo: PhasesHeader.maxBytes))
        if policy.enforceOwnership {
            if isSymlink, !HookSecurity.resolvesDirectlyInside(path, directory: resolvedDirectory) {
                return hook(.refuse("refused: symlink leaves the hooks directory"), phases)
            }
            if let refusal = HookSecurity.fileRefusal(info) ?? directoryRefusal {
                return hook(.refuse(refusal), phases)
            }
        }
        if let phase, let phases, !phases.contains(phase) { return hook(.skip("not for phase \(phase)"), phases) }
        return hook(.run, phases)
    }

    static func currentDirectory() -> String? {
        guard let cwd = getcwd(nil, 0) else { return nil }
        defer { free(cwd) }
        return String(cString: cwd)
    }

    /// Every entry name but `.` and `..`, as raw bytes, in byte order.
    static func entryNames(of directory: String) throws -> [[UInt8]] {
        guard let dir = opendir(directory) else {
            throw HookDiscoveryError(path: directory, errno: Errno(rawValue: errno))
        }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw HookDiscoveryError(path: directory, errno: Errno(rawValue: errno)) }
                break
            }
            let raw = withUnsafeBytes(of: entry.pointee.d_name) { buffer -> [UInt8] in
                Array(buffer.prefix { $0 != 0 })
            }
            if raw == [0x2E] || raw == [0x2E, 0x2E] { continue }
            names.append(raw)
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }
}
