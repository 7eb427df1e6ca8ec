import Foundation
import GuardHooks
import GuardStore
import GuardTestSupport
import Testing
import Glibc

/// The guard engine against the real kernel and a real store (issue 3): the same engine as
/// `EngineFakeKernelTests`, checked with the tools operators trust (findmnt, lsattr, touch,
/// rmdir, sqlite3). Every test works in its own sandbox directory under the /mnt tmpfs of
/// the private namespace `scripts/test` makes, with the store inside it. The tests live in
/// extensions in the `EngineKernel*.swift` files. Serialized: several tests depend on which
/// reusable mount ids are free, and interrupted child processes share the sandbox.
@Suite(.serialized) struct EngineKernelTests {}

/// One sandbox directory, its store, and an engine on the real kernel whose only allowed
/// root is the sandbox (so every target lies strictly below it).
struct EngineKernelWorld {
    let dir: SandboxDirectory
    let storePath: String
    let engine: GuardEngine

    init(_ dir: SandboxDirectory, storePath: String? = nil, lockTimeout: Double = 5,
         pendingWarnAfter: Double = 86_400) {
        self.dir = dir
        self.storePath = storePath ?? dir.sub("state/guards.db")
        engine = GuardEngine(kernel: LinuxKernel(), configuration: GuardEngineConfiguration(
            storePath: self.storePath, allowedRoots: [dir.path], lockTimeout: lockTimeout,
            actor: "engine-kernel-tests", pendingWarnAfter: pendingWarnAfter, createStoreIfMissing: true))
    }

    /// Reads the store through a read-only connection that is closed again.
    func withStore<T>(_ body: (GuardStore) throws -> T) throws -> T {
        let store = try GuardStore.open(path: storePath, mode: .readOnly, create: false)
        defer { store.close() }
        return try body(store)
    }

    func row(_ path: String) throws -> GuardRecord? { try withStore { try $0.currentGuard(path: path) } }
    func allRows() throws -> [GuardRecord] { try withStore { try $0.allGuards() } }

    /// The `sqlite3` shell's answer (read-only), trimmed.
    func sql(_ query: String) throws -> String {
        try output(["sqlite3", "-readonly", storePath, query])
    }

    /// The transitions of every guard of `path`, oldest first, as "from→to"; each one is
    /// checked to be legal (`GuardStateMachine`) and to start where the previous one ended.
    @discardableResult
    func legalHistory(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        let events = try withStore { try $0.history(path: path) }
        var last: [GuardID: GuardStatus] = [:]
        for e in events {
            #expect(GuardStateMachine.isLegal(from: e.from, to: e.to),
                    "illegal \(e.from?.description ?? "∅")→\(e.to) (\(e.reason ?? ""))", sourceLocation: sourceLocation)
            #expect(e.from == last[e.guardID], "guard #\(e.guardID): chain broken at \(e.from?.description ?? "∅")",
                    sourceLocation: sourceLocation)
            last[e.guardID] = e.to
        }
        return events.map { "\($0.from?.description ?? "∅")→\($0.to)" }
    }
}

/// `findmnt -n -o OPTIONS PATH` of the topmost mount at PATH; empty when nothing is mounted.
func mountOptions(_ path: String) throws -> Set<String> {
    let r = try runCommand(["findmnt", "-n", "-o", "OPTIONS", path])
    let top = r.stdout.split(separator: "\n").last ?? ""
    return Set(top.split(separator: ",").map(String.init))
}

/// Whether `lsattr -d` shows the immutable flag.
func lsattrImmutable(_ path: String) throws -> Bool { try lsattrFlags(path).contains("i") }

/// `rmdir PATH`: nil when it worked, else its stderr.
func rmdirFailure(_ path: String) throws -> String? {
    let r = try runCommand(["rmdir", path])
    return r.status == 0 ? nil : r.stderr
}

/// The unique mount id of the topmost mount at `path` (statx on a fresh fd, closed again).
func topMountID(_ path: String) throws -> UInt64? {
    let k = LinuxKernel()
    let h = try k.openDirectory(path)
    defer { k.close(h) }
    return try k.probe(h).mountID
}

/// Runs hook-runner in a child process against the world's store and sandbox, optionally
/// killed by its own test fault point; `prefix` runs it under another command (unshare).
@discardableResult
func runHookRunner(_ w: EngineKernelWorld, _ args: [String], fault: FaultPoint? = nil,
                   prefix: [String] = [], kernel: OlderKernelPaths = .current) throws -> CommandResult {
    var env = ["PATH": safePath,
               "GUARD_HOOKS_DB": w.storePath, "GUARD_HOOKS_ALLOW_ROOTS": w.dir.path,
               "GUARD_HOOKS_LOCK_TIMEOUT": "5"]
    if let fault { env["GUARD_HOOKS_TEST_FAULT"] = fault.rawValue }
    if kernel != .current { env["GUARD_HOOKS_TEST_KERNEL"] = kernel.rawValue }
    return try runCommand(prefix + [hookRunnerBinary] + args, environment: env)
}

/// The kernel code paths a debug hook-runner can be made to take on this kernel
/// (`GUARD_HOOKS_TEST_KERNEL`): as on kernels without statmount/listmount/openat2 (mountinfo)
/// and without open_tree/mount_setattr (bind + remount).
enum OlderKernelPaths: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case current = ""
    case mountInfo = "mountinfo"
    case legacyBind = "legacy-bind"
    case both = "mountinfo,legacy-bind"
    var testDescription: String { self == .current ? "this kernel's calls" : rawValue }
}
