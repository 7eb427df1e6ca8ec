import GuardStore
import SystemPackage

/// Adopts the immutable guards another tool made (ProxSave's restore-time `chattr +i`
/// fallback, recorded one absolute path per line in `/var/lib/proxsave/guards/chattr-targets`)
/// into our store, so `guards`, `history`, `doctor` and `clear` know them.
///
/// Every line is checked like our own input (normalised, resolved, below an allowed root,
/// opened without following symlinks); only a directory that is offline and still carries
/// the flag is adopted — through `GuardEngine.apply(kind: .immutable)`, whose decision for a
/// flagged directory without a row is `adoptImmutable` (recorded `applied`, reason "already
/// immutable: adopted"). The engine works through `AdoptOnlyKernel`, so an import can never
/// set a flag or make a bind mount, even if a flag vanishes between our check and its act.
public enum ProxsaveImport {
    public static let defaultIndexPath = "/var/lib/proxsave/guards/chattr-targets"
    public static let label = "imported"
    /// The index is a short list; a huge file is not an index.
    public static let maxIndexBytes = 1 << 20

    /// One line of the index: its number (from 1) and its text, or why it is not text.
    public struct Line: Sendable, Hashable {
        public var number: Int
        public var text: String
        public var invalidUTF8: Bool
    }

    /// Splits the index at `\n` (a final newline ends the last line; a `\r` stays in the line
    /// and is refused as a control character). Empty lines are dropped: they name nothing.
    public static func lines(_ bytes: [UInt8]) -> [Line] {
        var out: [Line] = []
        var number = 0
        for slice in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            if slice.isEmpty { continue }
            let text = String(validating: slice, as: UTF8.self)
            out.append(Line(number: number, text: text ?? String(decoding: slice, as: UTF8.self), invalidUTF8: text == nil))
        }
        return out
    }

    /// What became of one line.
    public enum Verdict: String, Sendable, Hashable, Codable {
        /// Recorded as an `applied` immutable guard labelled `imported` (or would be, dry run).
        case adopted
        /// Already recorded by us: nothing to do.
        case alreadyRecorded = "already-recorded"
        /// Valid, but not adopted: the flag is gone, or storage is mounted over it.
        case skipped
        /// Invalid: not an absolute path, a control character, outside the roots, a duplicate…
        case refused
        /// The engine tried and failed (store or kernel error for this line).
        case failed
    }

    public struct LineResult: Sendable, Hashable, Codable {
        public var line: Int
        public var text: String
        /// The canonical path, once resolved.
        public var path: String?
        public var verdict: Verdict
        public var reason: String
        public var guardID: GuardID?

        public init(line: Int, text: String, path: String? = nil, verdict: Verdict, reason: String, guardID: GuardID? = nil) {
            self.line = line; self.text = text; self.path = path; self.verdict = verdict; self.reason = reason
            self.guardID = guardID
        }
    }

    /// The pure half: refuses lines that are invalid as typed, and repeated paths.
    /// Returns the refusals and the lines left for the kernel, with their normalised paths.
    public static func validate(_ lines: [Line]) -> (refused: [LineResult], candidates: [(Line, String)]) {
        var refused: [LineResult] = []
        var candidates: [(Line, String)] = []
        var firstLine: [String: Int] = [:]
        for line in lines {
            if line.invalidUTF8 {
                refused.append(LineResult(line: line.number, text: line.text, verdict: .refused, reason: PathRefusal.invalidUTF8.description))
                continue
            }
            switch PathPolicy.normalize(line.text) {
            case .failure(let why):
                refused.append(LineResult(line: line.number, text: line.text, verdict: .refused, reason: why.description))
            case .success(let normal):
                if let first = firstLine[normal] {
                    refused.append(LineResult(line: line.number, text: line.text, path: normal, verdict: .refused,
                                              reason: "duplicate of line \(first)"))
                } else {
                    firstLine[normal] = line.number
                    candidates.append((line, normal))
                }
            }
        }
        return (refused, candidates)
    }
}

extension GuardEngine {
    /// Imports the index lines: checks each on the kernel (resolution, roots, an fd opened
    /// without symlinks, mount state, the flag on that fd), then adopts the flagged offline
    /// directories in one `apply` batch labelled `imported`. Results are in line order.
    public func importImmutableIndex(_ lines: [ProxsaveImport.Line], lifetime: GuardLifetime = .transient,
                                     dryRun: Bool = false) throws -> [ProxsaveImport.LineResult] {
        typealias R = ProxsaveImport.LineResult
        let (refused, candidates) = ProxsaveImport.validate(lines)
        var results = refused
        var adopt: [(ProxsaveImport.Line, String)] = []
        var seenResolved: [String: Int] = [:]
        for (line, normal) in candidates {
            func result(_ verdict: ProxsaveImport.Verdict, _ reason: String, _ path: String? = normal) {
                results.append(R(line: line.number, text: line.text, path: path, verdict: verdict, reason: reason))
            }
            let resolved: String
            do { resolved = try kernel.resolve(normal) } catch {
                result(error.errno == .noSuchFileOrDirectory ? .skipped : .refused,
                       error.errno == .noSuchFileOrDirectory ? "does not exist" : "cannot resolve: \(error.errno)")
                continue
            }
            switch policy.check(resolved: resolved) {
            case .failure(let why): result(.refused, why.description, resolved); continue
            case .success: break
            }
            if let first = seenResolved[resolved] {
                result(.refused, "same directory as line \(first)", resolved); continue
            }
            seenResolved[resolved] = line.number
            let handle: DirectoryHandle
            do { handle = try kernel.openDirectory(resolved) } catch {
                switch error.errno {
                case .notDirectory: result(.refused, "not a directory", resolved)
                case .tooManySymbolicLinkLevels: result(.refused, "a symlink appeared in the path", resolved)
                default: result(.refused, "cannot open: \(error.errno)", resolved)
                }
                continue
            }
            defer { kernel.close(handle) }
            let probe: DirectoryProbe
            do { probe = try kernel.probe(handle) } catch { result(.failed, "cannot stat: \(error.errno)", resolved); continue }
            switch probe.mountState {
            case .mounted:
                result(.skipped, "storage is mounted: a flag would be on the directory underneath; import again once it is unmounted", resolved)
                continue
            case .unknown:
                result(.skipped, "mount state unknown: refusing to guess", resolved); continue
            case .notMounted: break
            }
            do {
                if try !kernel.isImmutable(handle) {
                    result(.skipped, "not immutable any more: nothing to adopt", resolved); continue
                }
            } catch {
                result(.skipped, error.isUnsupported ? "the filesystem does not support the immutable flag"
                                                     : "cannot read the inode flags: \(error.errno)", resolved)
                continue
            }
            adopt.append((line, resolved))
        }

        if !adopt.isEmpty {
            let adopter = GuardEngine(kernel: AdoptOnlyKernel(kernel), configuration: configuration)
            let outcomes = try adopter.apply(adopt.map(\.1), kind: .immutable, lifetime: lifetime,
                                             label: ProxsaveImport.label, dryRun: dryRun)
            for ((line, path), o) in zip(adopt, outcomes) {
                let verdict: ProxsaveImport.Verdict
                var reason = o.reason ?? ""
                switch o.outcome {
                case .applied:
                    verdict = .adopted
                    if dryRun { reason = "would adopt the immutable flag" }
                case .alreadyApplied:
                    verdict = .alreadyRecorded
                    reason = "already recorded" + (o.guardID.map { " as guard #\($0)" } ?? "") + (reason.isEmpty ? "" : ": \(reason)")
                case .refused: verdict = .refused
                case .skippedMounted, .deferred, .cleared, .alreadyClear: verdict = .skipped
                case .failed, .unsupported: verdict = .failed
                }
                results.append(R(line: line.number, text: line.text, path: o.path ?? path, verdict: verdict,
                                 reason: reason.isEmpty ? o.outcome.rawValue : reason, guardID: o.guardID))
            }
        }
        return results.sorted { $0.line < $1.line }
    }
}

/// A kernel that can look but never guard: every call passes through except setting the
/// immutable flag and making a bind mount, which fail with `EPERM`. Clearing is passed
/// through (the engine never clears during an apply; reconcile repairs may need it not).
public struct AdoptOnlyKernel: KernelOperations {
    public let base: any KernelOperations
    public init(_ base: any KernelOperations) { self.base = base }

    public func resolve(_ path: String) throws(KernelError) -> String { try base.resolve(path) }
    public func openDirectory(_ path: String) throws(KernelError) -> DirectoryHandle { try base.openDirectory(path) }
    public func openShadowed(_ path: String) throws(KernelError) -> DirectoryHandle { try base.openShadowed(path) }
    public func close(_ handle: DirectoryHandle) { base.close(handle) }
    public func createDirectory(_ path: String) throws(KernelError) {
        throw KernelError(.notPermitted, "import never creates a directory", path)
    }
    public func probe(_ handle: DirectoryHandle) throws(KernelError) -> DirectoryProbe { try base.probe(handle) }
    public func hasEntries(_ handle: DirectoryHandle) throws(KernelError) -> Bool { try base.hasEntries(handle) }
    public func isImmutable(_ handle: DirectoryHandle) throws(KernelError) -> Bool { try base.isImmutable(handle) }
    public func setImmutable(_ handle: DirectoryHandle, _ on: Bool) throws(KernelError) {
        if on { throw KernelError(.notPermitted, "import only adopts: refusing to set the immutable flag on", handle.path) }
        try base.setImmutable(handle, on)
    }
    public func makeReadOnlyBind(_ handle: DirectoryHandle) throws(KernelError) -> BindGuardMount {
        throw KernelError(.notPermitted, "import only adopts: refusing to bind-mount", handle.path)
    }
    public func removeBind(at path: String, mountID: UInt64, mountIDIsUnique: Bool) throws(KernelError) -> BindRemoval {
        try base.removeBind(at: path, mountID: mountID, mountIDIsUnique: mountIDIsUnique)
    }
    public func mountExists(uniqueID: UInt64) -> Bool? { base.mountExists(uniqueID: uniqueID) }
    public func mountInfo() throws(KernelError) -> [MountInfoEntry] { try base.mountInfo() }
    public func bootID() throws(KernelError) -> String { try base.bootID() }
    public func mountNamespace() -> UInt64? { base.mountNamespace() }
    public func mountNamespaceAlive(_ namespace: UInt64) -> Bool? { base.mountNamespaceAlive(namespace) }
}
