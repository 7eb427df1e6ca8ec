import FileIO
import GuardStore
import SystemPackage

/// A validated, resolved target opened without following symlinks. `handle` is nil when
/// another filesystem is mounted there (storage): the engine never acts inside a storage,
/// and every call into one could block on a dead server.
struct PreparedTarget: Sendable {
    var path: String
    var handle: DirectoryHandle?
    var probe: DirectoryProbe
}

/// Why a target could not be prepared. `description` is the one-line message operators see;
/// callers decide what each case means for them (a missing directory is a refusal for
/// `apply`, a skip for an import).
enum PreparationFailure: Error, Sendable, Hashable, CustomStringConvertible {
    case policy(PathRefusal)
    case missing
    case cannotResolve(Errno)
    case cannotCreate(Errno)
    /// `--create` with a parent that is missing or outside the roots.
    case parent(String)
    case notDirectory
    case symlinkAppeared
    case cannotOpen(Errno)
    case cannotStat(Errno)
    /// The storage did not answer within the probe deadline (outcome `unreachable`).
    case unreachable(String)

    var description: String {
        switch self {
        case .policy(let r): return r.description
        case .missing: return "does not exist (use --create to make it)"
        case .cannotResolve(let e): return "cannot resolve: \(e)"
        case .cannotCreate(let e): return "cannot create: \(e)"
        case .parent(let why): return why
        case .notDirectory: return "not a directory"
        case .symlinkAppeared: return "a symlink appeared in the path"
        case .cannotOpen(let e): return "cannot open: \(e)"
        case .cannotStat(let e): return "cannot stat: \(e)"
        case .unreachable(let why): return why
        }
    }
}

enum Preparation: Sendable {
    case ready(PreparedTarget)
    /// The directory is missing and would be created (dry run of `--create`).
    case wouldCreate(path: String)
    /// `path`: how far the target was resolved before it was refused.
    case refused(path: String?, PreparationFailure)
}

extension GuardEngine {
    /// Validates, resolves and opens one target; with `createMissing`, makes a missing
    /// directory whose parent resolves inside the allowed roots. The one place where a
    /// caller's path becomes an fd, for every command. A target whose storage does not answer
    /// within the probe deadline is `unreachable` and not touched at all (`reachable`; the
    /// command asked it before taking the writers' lock, `askAhead`, so here the answer is known).
    /// Throws only when out of descriptors or memory (`GuardEngineError.resources`).
    func prepare(_ target: String, createMissing: Bool = false, dryRun: Bool = false) throws(GuardEngineError) -> Preparation {
        let normal: String
        switch PathPolicy.normalize(target) {
        case .failure(let r): return .refused(path: nil, .policy(r))
        case .success(let p): normal = p
        }
        guard reachable(normal) else { return .refused(path: normal, .unreachable(unreachableReason)) }
        var resolved: String
        var placed: PlacedDirectory
        do {
            (resolved, placed) = try locate(normal)
        } catch let e where e.errno == .noSuchFileOrDirectory && createMissing {
            switch resolveMissing(normal) {
            case .failure(let why): return .refused(path: normal, why)
            case .success(let p):
                if dryRun { return .wouldCreate(path: p) }
                do throws(KernelError) { try kernel.createDirectory(p) } catch { return .refused(path: p, .cannotCreate(error.errno)) }
                do throws(KernelError) { placed = try kernel.openPlaced(p) } catch {
                    if let refusal = try Self.refusal(error) { return .refused(path: p, refusal) }
                    return .refused(path: p, .cannotResolve(error.errno))
                }
                switch placed {
                case .missing: return .refused(path: p, .missing)
                case .symlink: return .refused(path: p, .symlinkAppeared)
                case .storage, .opened: break
                }
                resolved = p
            }
        } catch where error.operation == KernelError.openingDirectory {
            // The directory exists (at `error.path`, canonical) but could not be opened: the
            // path policy first, then why. Named by its canonical path, so a recorded row is
            // still found (clear keeps it for later).
            switch policy.check(resolved: error.path) {
            case .failure(let r): return .refused(path: error.path, .policy(r))
            case .success(let p): return .refused(path: p, try Self.refusal(error) ?? .cannotOpen(error.errno))
            }
        } catch {
            return .refused(path: normal, error.errno == .noSuchFileOrDirectory ? .missing : .cannotResolve(error.errno))
        }
        switch policy.check(resolved: resolved) {
        case .failure(let r):
            if case .opened(let h, _) = placed { kernel.close(h) }
            return .refused(path: resolved, .policy(r))
        case .success(let p): resolved = p
        }
        guard case .opened(let opened, _) = placed else {
            // Storage is mounted: never opened. Its root answered `reachable` just now.
            do { return .ready(PreparedTarget(path: resolved, handle: nil, probe: try kernel.probeMountRoot(resolved))) } catch {
                return .refused(path: resolved, .cannotStat(error.errno))
            }
        }
        let handle = DirectoryHandle(fd: opened.fd, path: resolved)
        do {
            return .ready(PreparedTarget(path: resolved, handle: handle, probe: try kernel.probe(handle)))
        } catch {
            kernel.close(handle)
            return .refused(path: resolved, .cannotStat(error.errno))
        }
    }

    /// The refusal for a directory that could not be opened; nil: not an opening error.
    /// Out of descriptors or memory is no verdict on the target: the command stops (exit 70)
    /// before anything is written.
    private static func refusal(_ error: KernelError) throws(GuardEngineError) -> PreparationFailure? {
        guard error.operation == KernelError.openingDirectory else { return nil }
        switch error.errno {
        case .notDirectory: return .notDirectory
        case .tooManySymbolicLinkLevels: return .symlinkAppeared
        case .tooManyOpenFiles, .tooManyOpenFilesInSystem, .noMemory:
            throw GuardEngineError.resources("\(error): out of resources (raise the descriptor limit)")
        default: return .cannotOpen(error.errno)
        }
    }

    /// The canonical path and the directory there, opened unless a storage is mounted on it.
    /// The parent is resolved (realpath), the last component is looked at from the parent's
    /// side (`openPlaced`), so a mounted storage is recognised without a call into it. Only a
    /// symlink as the last component is resolved as a whole (its target is looked at the
    /// same way again).
    func locate(_ normal: String) throws(KernelError) -> (String, PlacedDirectory) {
        let parent = try kernel.resolve(FileIO.parentDirectory(normal))
        let name = FileIO.lastComponent(normal) ?? ""
        let candidate = parent == "/" ? "/" + name : parent + "/" + name
        switch try kernel.openPlaced(candidate) {
        case .missing: throw KernelError(.noSuchFileOrDirectory, "resolve", normal)
        case .symlink:
            let target = try kernel.resolve(normal)
            let placed = try kernel.openPlaced(target)
            if placed == .missing || placed == .symlink { throw KernelError(.noSuchFileOrDirectory, "resolve", normal) }
            return (target, placed)
        case let placed: return (candidate, placed)
        }
    }

    /// The canonical path of a target, as `locate` finds it (nil: it cannot be resolved);
    /// the directory `locate` opened on the way is closed again.
    func canonicalPath(_ normal: String) -> String? {
        guard let (path, placed) = try? locate(normal) else { return nil }
        if case .opened(let h, _) = placed { kernel.close(h) }
        return path
    }

    /// Closes a prepared target's fd that no batch took over.
    func discard(_ prepared: PreparedTarget) {
        if let h = prepared.handle { kernel.close(h) }
    }

    /// A missing target is created only under a parent that itself resolves inside the roots.
    private func resolveMissing(_ normal: String) -> Result<String, PreparationFailure> {
        let parent = FileIO.parentDirectory(normal)
        guard parent != "/", let name = FileIO.lastComponent(normal) else { return .failure(.parent("no parent")) }
        do {
            let candidate = try kernel.resolve(parent) + "/" + name
            switch policy.check(resolved: candidate) {
            case .failure(let r): return .failure(.policy(r))
            case .success(let p): return .success(p)
            }
        } catch {
            return .failure(.parent("parent \(parent) does not exist"))
        }
    }
}

extension TargetOutcome {
    /// A target refused while being prepared.
    init(target: String, refused path: String?, _ failure: PreparationFailure, dryRun: Bool) {
        let outcome: Outcome
        if case .unreachable = failure { outcome = .unreachable } else { outcome = .refused }
        self.init(target: target, path: path, outcome: outcome, dryRun: dryRun, reason: failure.description)
    }
}
