import Glibc
import SystemPackage

/// What discovery decided about one directory entry.
package enum HookDecision: Sendable, Hashable, CustomStringConvertible {
    /// Runs (for the phase asked about).
    case run
    /// Not a hook for this phase: bad name, not a regular executable file, other phase.
    case skip(String)
    /// A hook that would run but fails the ownership and permission rules (cron's rule).
    /// `run` records these as `failed`, with the reason, so a refused guard hook stops a
    /// `pre-*` phase and is visible in `runs`.
    case refuse(String)

    package var reason: String? {
        switch self {
        case .run: nil
        case .skip(let r), .refuse(let r): r
        }
    }

    package var description: String {
        switch self {
        case .run: "run"
        case .skip(let r), .refuse(let r): "skip: \(r)"
        }
    }
}

/// One entry of a hooks directory and the decision about it.
package struct DiscoveredHook: Sendable, Hashable {
    /// The entry's name (invalid UTF-8 shown with replacement characters; such names never run).
    package var name: String
    /// `directory/name`. For symlinks, the link itself: it is what run-parts would execute.
    package var path: String
    package var decision: HookDecision
    /// The phases its `# phases:` header lists; nil when it has none (runs for every phase)
    /// or when discovery did not get far enough to read it.
    package var phases: [String]?
    /// Whether its first lines say `# dry-run: yes`: only such hooks run in a dry run.
    package var understandsDryRun: Bool
    /// Where it is executed from: the vetted directory fd, the entry to open in it and the
    /// file discovery judged. nil for hooks described by path only (then opened by path).
    package var origin: HookOrigin?

    package init(name: String, path: String, decision: HookDecision, phases: [String]? = nil,
                understandsDryRun: Bool = false, origin: HookOrigin? = nil) {
        self.name = name; self.path = path; self.decision = decision; self.phases = phases
        self.understandsDryRun = understandsDryRun; self.origin = origin
    }

    /// Whether the hook is meant for `phase` by its header (true without a header).
    package func isFor(phase: String) -> Bool { phases.map { $0.contains(phase) } ?? true }
}

/// Which security rules apply to discovery.
package struct HookPolicy: Sendable, Hashable {
    /// Refuse hooks (and directories) that are not root-owned or are group/world-writable,
    /// and symlinks that leave the hooks directory. On by default when running as root.
    package var enforceOwnership: Bool

    package init(enforceOwnership: Bool) { self.enforceOwnership = enforceOwnership }

    /// The policy for this process: enforced when the effective uid is 0.
    package static var current: HookPolicy { HookPolicy(enforceOwnership: geteuid() == 0) }
}

package struct HookDiscoveryError: Error, Sendable, Hashable, CustomStringConvertible {
    package var path: String
    package var errno: Errno
    package var description: String { "cannot read hooks directory \(path): \(errno)" }
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
package enum HookDiscovery {
    package static func discover(directory: String, phase: String?, policy: HookPolicy) throws -> [DiscoveredHook] {
        try listing(directory: directory, phase: phase, policy: policy).hooks
    }

    /// `discover`, and why the directory itself (or an ancestor) is refused, if it is: then
    /// every hook in it is refused with that reason.
    package static func listing(directory: String, phase: String?, policy: HookPolicy) throws
        -> (hooks: [DiscoveredHook], directoryRefusal: String?)
    {
        // Hooks run with cwd `/`, so their paths must not depend on ours.
        let absolute = directory.hasPrefix("/") ? directory : (currentDirectory() ?? "") + "/" + directory
        let base = absolute.hasSuffix("/") && absolute.count > 1 ? String(absolute.dropLast()) : absolute
        let handle = try HooksDirectory.open(base, enforceOwnership: policy.enforceOwnership)
        let names = try entryNames(of: handle)
        let directoryRefusal = policy.enforceOwnership ? HookSecurity.directoryRefusal(handle) : nil
        let resolvedDirectory = policy.enforceOwnership ? HookSecurity.realPath(base) : nil
        let hooks = names.map { raw in
            let name = String(decoding: raw, as: UTF8.self)
            let path = base == "/" ? "/\(name)" : "\(base)/\(name)"
            guard isHookName(raw) else {
                return DiscoveredHook(name: name, path: path, decision: .skip("name does not match ^[a-zA-Z0-9_-]+$"))
            }
            return classify(name: name, path: path, in: handle, phase: phase, policy: policy,
                            directoryRefusal: directoryRefusal, resolvedDirectory: resolvedDirectory)
        }
        return (hooks, directoryRefusal)
    }

    /// run-parts' default name rule, on bytes so no locale can widen `[a-z]`.
    package static func isHookName<S: Sequence>(_ bytes: S) -> Bool where S.Element == UInt8 {
        var any = false
        for b in bytes {
            let ok = (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39)
                || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
            guard ok else { return false }
            any = true
        }
        return any
    }

    static func classify(name: String, path: String, in directory: HooksDirectory, phase: String?, policy: HookPolicy,
                         directoryRefusal: String?, resolvedDirectory: String?) -> DiscoveredHook {
        func hook(_ decision: HookDecision, _ header: [UInt8] = [], origin: HookOrigin? = nil) -> DiscoveredHook {
            DiscoveredHook(name: name, path: path, decision: decision, phases: header.isEmpty ? nil : PhasesHeader.parse(header),
                           understandsDryRun: DryRunHeader.declared(in: header), origin: origin)
        }
        // Everything relative to the directory fd: the entries judged are those of the
        // directory that was vetted, whatever is renamed meanwhile.
        let fd = directory.fd
        var linkInfo = stat()
        guard fstatat(fd, name, &linkInfo, AT_SYMLINK_NOFOLLOW) == 0 else {
            return hook(.skip("cannot stat: \(Errno(rawValue: errno))"))
        }
        let isSymlink = (linkInfo.st_mode & S_IFMT) == S_IFLNK
        var info = linkInfo
        if isSymlink, fstatat(fd, name, &info, 0) != 0 { return hook(.skip("dangling symlink")) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return hook(.skip("not a regular file")) }
        guard faccessat(fd, name, X_OK, 0) == 0 else { return hook(.skip("not executable")) }

        let header = HookSecurity.readPrefix(fd, name, upTo: PhasesHeader.maxBytes)
        // A symlink is opened by its target's name: it resolves directly inside the directory.
        var entry = name
        if policy.enforceOwnership {
            if isSymlink {
                guard let target = HookSecurity.resolvedEntryName(path, directory: resolvedDirectory) else {
                    return hook(.refuse("refused: symlink leaves the hooks directory"), header)
                }
                entry = target
            }
            if let refusal = HookSecurity.fileRefusal(info) ?? directoryRefusal {
                return hook(.refuse(refusal), header)
            }
        }
        let origin = HookOrigin(directory: directory, entry: entry, device: UInt64(info.st_dev),
                                inode: UInt64(info.st_ino), enforceOwnership: policy.enforceOwnership)
        let discovered = hook(.run, header, origin: origin)
        if let phase, let phases = discovered.phases, !phases.contains(phase) {
            return hook(.skip("not for phase \(phase)"), header)
        }
        return discovered
    }

    static func currentDirectory() -> String? {
        guard let cwd = getcwd(nil, 0) else { return nil }
        defer { free(cwd) }
        return String(cString: cwd)
    }

    /// Every entry name but `.` and `..`, as raw bytes, in byte order.
    static func entryNames(of directory: HooksDirectory) throws -> [[UInt8]] {
        let copy = dup(directory.fd)
        guard copy >= 0, let dir = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            throw HookDiscoveryError(path: directory.path, errno: Errno(rawValue: errno))
        }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw HookDiscoveryError(path: directory.path, errno: Errno(rawValue: errno)) }
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
