import Foundation
import GuardHooks
import GuardStore
import GuardTestSupport
import Testing
import Glibc

/// Hostile input (RELIABILITY.md §3): the complete catalogue in one table. Each case names
/// the command, the exit code, a substring of its output, and whether the kernel and the
/// store must be left exactly as they were (refusals) — checked with findmnt-equivalent
/// mountinfo, `lsattr -d` on every directory of the sandbox, and the store's rows (or its
/// bytes, for the hostile stores).
extension ReliabilityTests {
    @Suite(.serialized) struct HostileInput {
        /// One sandbox: a store with one applied guard (`base`), directories to aim at.
        final class World {
            let dir: SandboxDirectory
            let cli: CLI
            init(_ dir: SandboxDirectory) { self.dir = dir; cli = CLI(dir: dir) }
        }

        enum Expect { case unchanged, changes }

        struct Case: CustomStringConvertible {
            var name: String
            var status: Int32
            var message: String
            var expect: Expect = .unchanged
            /// Prepares what the case needs and runs the command.
            var run: (World) throws -> CommandResult
            /// Extra checks after the command (a hook did or did not run, the guard landed where…).
            var verify: (World, CommandResult) throws -> Void = { _, _ in }
            var description: String { name }
        }

        // MARK: snapshots

        /// Mounts under the sandbox and the attributes of every directory in it.
        static func kernelSnapshot(_ w: World) throws -> String {
            let info = try #require(Sandbox.readProcFile("/proc/self/mountinfo"))
            let mounts = MountInfo.parse(info).filter { PathPolicy.isStrictlyBelow($0.mountPoint, w.dir.path) }
                .map { "\($0.mountPoint) \($0.root) \($0.options) \($0.fsType)" }.sorted()
            var dirs: [String] = []
            if let e = FileManager.default.enumerator(atPath: w.dir.path) {
                while let rel = e.nextObject() as? String {
                    let p = w.dir.sub(rel)
                    var st = stat()
                    if lstat(p, &st) == 0, st.st_mode & S_IFMT == S_IFDIR { dirs.append(p) }
                    if rel.split(separator: "/").count > 3 { e.skipDescendants() }
                }
            }
            let attrs = dirs.isEmpty ? "" : try runCommand(["lsattr", "-d"] + dirs.sorted()).stdout
            return (mounts + [attrs]).joined(separator: "\n")
        }

        /// Rows and events of the world's store (the store of a hostile-store case is compared by bytes).
        static func storeSnapshot(_ w: World) throws -> String {
            try sql(w.cli.db, """
                SELECT (SELECT count(*) FROM guards) || ' ' || (SELECT count(*) FROM events) || ' ' ||
                       (SELECT group_concat(id || path || state || coalesce(pending_action, ''), ',') FROM guards)
                """)
        }

        // MARK: the table

        static func pathCases() -> [Case] {
            func apply(_ target: @escaping (World) throws -> String, _ extra: [String] = []) -> (World) throws -> CommandResult {
                { w in try w.cli.run(["apply"] + extra + [try target(w)]) }
            }
            func refused(_ name: String, _ message: String, _ command: String = "apply",
                         _ target: @escaping (World) throws -> String) -> Case {
                Case(name: name, status: 65, message: message) { w in try w.cli.run([command, try target(w)]) }
            }
            /// Accepted and guarded on `landsOn` (the normalised path); cleared again afterwards.
            func accepted(_ name: String, _ target: @escaping (World) throws -> String, landsOn: String) -> Case {
                Case(name: name, status: 0, message: "applied", expect: .changes, run: apply(target)) { (w: World, r: CommandResult) throws in
                    let path = w.dir.sub(landsOn)
                    #expect(try sql(w.cli.db, "SELECT state FROM guards WHERE path = '\(path)' AND state <> 'cleared'") == "applied",
                            "\(name): \(r.stdout)")
                    #expect(try invariantViolations(dir: w.dir, db: w.cli.db, targets: [path],
                                                    storage: [w.dir.sub("ramfs"), w.dir.sub("online")]).isEmpty)
                    #expect(try w.cli.run(["reconcile", "--json"]).stdout.contains("\"changes\":[]"),
                            "\(name): reconcile finds nothing to change")
                    #expect(try w.cli.run(["clear", path]).status == 0)
                }
            }
            return [
                refused("relative path", "not an absolute path") { _ in "relative/dir" },
                refused("relative ./", "not an absolute path") { _ in "./a" },
                refused("'..' component", "'..' component") { w in w.dir.sub("a/../a") },
                refused("trailing '..'", "'..' component") { w in w.dir.sub("a/..") },
                refused("'..' escaping the root", "'..' component") { w in w.dir.sub("../../etc") },
                accepted("'//' collapsed", { w in w.dir.path + "//a" }, landsOn: "a"),
                accepted("trailing slash normalised", { w in w.dir.sub("a/") }, landsOn: "a"),
                accepted("'/./' dropped", { w in w.dir.path + "/./a/." }, landsOn: "a"),
                accepted("space in the name (mountinfo \\040)", { w in try w.dir.mkdir("with space") }, landsOn: "with space"),
                accepted("backslash in the name (mountinfo \\134)", { w in try w.dir.mkdir("back\\134slash") }, landsOn: "back\\134slash"),
                accepted("non-ASCII name", { w in try w.dir.mkdir("dépôt-データ") }, landsOn: "dépôt-データ"),
                accepted("symlink inside the root: guards the resolved directory", { w in
                    try? FileManager.default.createSymbolicLink(atPath: w.dir.sub("inlink"), withDestinationPath: w.dir.sub("a"))
                    return w.dir.sub("inlink")
                }, landsOn: "a"),
                refused("newline", "U+000A") { w in w.dir.sub("bad\nname") },
                refused("tab", "U+0009") { w in w.dir.sub("bad\tname") },
                refused("carriage return", "U+000D") { w in w.dir.sub("bad\rname") },
                refused("escape", "U+001B") { w in w.dir.sub("bad\u{1B}[2Jname") },
                refused("DEL", "U+007F") { w in w.dir.sub("bad\u{7F}name") },
                refused("C1 NEL U+0085", "U+0085") { w in w.dir.sub("bad\u{85}name") },
                refused("C1 CSI U+009B", "U+009B") { w in w.dir.sub("bad\u{9B}name") },
                Case(name: "invalid UTF-8 bytes (an existing directory of that name)", status: 65, message: "not valid UTF-8") { w in
                    // Raw bytes cannot live in a Swift String: let the shell make and pass them.
                    try runCommand(["/bin/sh", "-c", #"mkdir -p "$1/raw$(printf '\377\376')""#, "sh", w.dir.path])
                    return try runCommand(["/bin/sh", "-c", #"exec "$0" apply "$1/raw$(printf '\377\376')""#,
                                           hookRunnerBinary, w.dir.path], environment: w.cli.environment)
                },
                Case(name: "invalid UTF-8: lone continuation byte", status: 65, message: "not valid UTF-8") { w in
                    try runCommand(["/bin/sh", "-c", #"exec "$0" seal "$1/x$(printf '\200')y""#,
                                    hookRunnerBinary, w.dir.path], environment: w.cli.environment)
                },
                refused("longer than PATH_MAX", "longer than PATH_MAX") { w in w.dir.sub(String(repeating: "a/", count: 2100)) },
                refused("component longer than NAME_MAX", "too long") { w in w.dir.sub(String(repeating: "n", count: 300)) },
                refused("/", "refusing to guard /") { _ in "/" },
                refused("'//'", "refusing to guard /") { _ in "//" },
                refused("/proc", "not below an allowed root") { _ in "/proc" },
                refused("/etc", "not below an allowed root") { _ in "/etc" },
                refused("/etc via seal", "not below an allowed root", "seal") { _ in "/etc" },
                refused("/etc via clear", "not below an allowed root", "clear") { _ in "/etc" },
                // The root holds the store's directory here, so that refusal comes first.
                refused("the allowed root itself (it holds the store)", "overlaps the store's directory") { w in w.dir.path },
                refused("empty string", "empty path") { _ in "" },
                refused("symlink leaf escaping to /etc", "/etc is not below an allowed root") { w in
                    try? FileManager.default.createSymbolicLink(atPath: w.dir.sub("leaf"), withDestinationPath: "/etc")
                    return w.dir.sub("leaf")
                },
                refused("symlink parent escaping to /", "/etc is not below an allowed root") { w in
                    try? FileManager.default.createSymbolicLink(atPath: w.dir.sub("par"), withDestinationPath: "/")
                    return w.dir.sub("par/etc")
                },
                refused("relative symlink escaping with ..", "not below an allowed root") { w in
                    try? FileManager.default.createSymbolicLink(atPath: w.dir.sub("up"), withDestinationPath: "../../etc")
                    return w.dir.sub("up")
                },
                Case(name: "--create below a parent symlink escaping to /", status: 65, message: "not below an allowed root") { w in
                    try? FileManager.default.createSymbolicLink(atPath: w.dir.sub("par"), withDestinationPath: "/")
                    return try w.cli.run(["apply", "--create", w.dir.sub("par/guardhooks-rel-must-not-exist")])
                } verify: { (_: World, _: CommandResult) throws in
                    #expect(!FileManager.default.fileExists(atPath: "/guardhooks-rel-must-not-exist"), "created outside the root")
                },
                Case(name: "--create with a '..' component", status: 65, message: "'..' component") { w in
                    try w.cli.run(["apply", "--create", w.dir.sub("a/../new")])
                },
                refused("symlink loop", "Too many levels of symbolic links") { w in
                    try? FileManager.default.createSymbolicLink(atPath: w.dir.sub("loop1"), withDestinationPath: w.dir.sub("loop2"))
                    try? FileManager.default.createSymbolicLink(atPath: w.dir.sub("loop2"), withDestinationPath: w.dir.sub("loop1"))
                    return w.dir.sub("loop1")
                },
                refused("dangling symlink", "does not exist") { w in
                    try? FileManager.default.createSymbolicLink(atPath: w.dir.sub("dangling"), withDestinationPath: w.dir.sub("nowhere"))
                    return w.dir.sub("dangling")
                },
                refused("regular file", "not a directory") { w in
                    _ = FileManager.default.createFile(atPath: w.dir.sub("file"), contents: Data("x".utf8))
                    return w.dir.sub("file")
                },
                refused("FIFO", "not a directory") { w in
                    if access(w.dir.sub("fifo"), F_OK) != 0 { mkfifo(w.dir.sub("fifo"), 0o600) }
                    return w.dir.sub("fifo")
                },
                refused("missing directory", "does not exist") { w in w.dir.sub("missing") },
                refused("the store's own directory", "overlaps the store's directory") { w in w.dir.sub("state") },
                refused("inside the store's directory", "overlaps the store's directory") { w in
                    try w.dir.mkdir("state/inner")
                },
                refused("history of a relative path", "relative", "history") { _ in "relative" },
                Case(name: "ramfs --kind immutable: unsupported", status: 1, message: "unsupported") { w in
                    try w.cli.run(["apply", "--kind", "immutable", w.dir.sub("ramfs/d")])
                },
                Case(name: "ramfs seal: unsupported", status: 1, message: "unsupported") { w in
                    try w.cli.run(["seal", w.dir.sub("ramfs/d")])
                },
                Case(name: "ramfs --kind auto: bind guard", status: 0, message: "applied", expect: .changes) { w in
                    try w.cli.run(["apply", "--kind", "auto", w.dir.sub("ramfs/d")])
                } verify: { (w: World, _: CommandResult) throws in
                    #expect(try sql(w.cli.db, "SELECT kind FROM guards WHERE path = '\(w.dir.sub("ramfs/d"))' AND state = 'applied'") == "bind")
                    #expect(try w.cli.run(["clear", w.dir.sub("ramfs/d")]).status == 0)
                },
                Case(name: "live mount root: skipped-mounted", status: 0, message: "skipped-mounted") { w in
                    try w.cli.run(["apply", w.dir.sub("online")])
                },
                Case(name: "--allow-root /", status: 64, message: "/ cannot be an allowed root") { w in
                    try w.cli.run(["apply", "--allow-root", "/", "/etc"])
                },
                Case(name: "--allow-root relative", status: 64, message: "--allow-root rel") { w in
                    try w.cli.run(["guards", "--allow-root", "rel"])
                },
            ]
        }

        static func mountRamfs(_ w: World) throws {
            let p = try w.dir.mkdir("ramfs")
            if !Sandbox.mountPoints(under: p).contains(p) {
                try #require(try runCommand(["mount", "-t", "ramfs", "ramfs", p]).status == 0)
            }
            try FileManager.default.createDirectory(atPath: p + "/d", withIntermediateDirectories: true)
        }

        static func hookCases() -> [Case] {
            /// A fresh hooks directory with one hook; the hook touches `<dir>/ran-<name>`.
            /// `targets` come after the phase; `parent` (below the sandbox) holds the hooks
            /// directory, made with `parentMode`; `prefix` wraps the command (`timeout`).
            func hooks(_ name: String, _ make: @escaping (World, String, String) throws -> Void,
                       args: [String] = ["run", "pre-restore"], targets: @escaping (World) -> [String] = { _ in [] },
                       parent: String? = nil, parentMode: mode_t = 0o755,
                       prefix: [String] = []) -> (World) throws -> CommandResult {
                { w in
                    var base = w.dir.path
                    if let parent {
                        base = w.dir.sub(parent)
                        try? FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: false)
                        chmod(base, parentMode)
                    }
                    let d = "\(base)/hooks-\(abs(name.hashValue))"
                    try? FileManager.default.removeItem(atPath: d)
                    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: false)
                    chmod(d, 0o755)
                    try make(w, d, w.dir.sub("ran-\(abs(name.hashValue))"))
                    return try w.cli.run(args + targets(w) + ["--hooks-dir", d], prefix: prefix)
                }
            }
            func ran(_ name: String) -> (World, CommandResult) throws -> Void {
                { w, r in #expect(FileManager.default.fileExists(atPath: w.dir.sub("ran-\(abs(name.hashValue))")), "\(name) did not run: \(r.stderr)") }
            }
            /// The hook ran, and its process started with `argument` is gone once the command returns.
            func ranLeavingNothing(_ name: String, _ argument: String) -> (World, CommandResult) throws -> Void {
                { w, r in
                    try ran(name)(w, r)
                    usleep(200_000)
                    #expect(!processRunning(argument: argument), "\(name): a process the hook started survived")
                }
            }
            func notRun(_ name: String) -> (World, CommandResult) throws -> Void {
                { w, r in #expect(!FileManager.default.fileExists(atPath: w.dir.sub("ran-\(abs(name.hashValue))")), "\(name) ran: \(r.stdout)") }
            }
            func refusedHook(_ name: String, _ message: String, mode: mode_t = 0o755, owner: uid_t = 0,
                             dirMode: mode_t = 0o755, dirOwner: uid_t = 0) -> Case {
                Case(name: name, status: 1, message: message, run: hooks(name) { _, d, marker in
                    try writeScript("\(d)/10-hook", "touch '\(marker)'", mode: mode)
                    chown("\(d)/10-hook", owner, owner)
                    chmod(d, dirMode)
                    chown(d, dirOwner, dirOwner)
                }, verify: notRun(name))
            }
            return [
                refusedHook("world-writable hook", "refused: world-writable", mode: 0o757),
                refusedHook("group-writable hook", "refused: group-writable", mode: 0o775),
                refusedHook("hook owned by uid 65534", "refused: owned by uid 65534", owner: 65534),
                refusedHook("world-writable hooks directory", "is world-writable", dirMode: 0o777),
                refusedHook("sticky world-writable hooks directory (/tmp-like)", "is world-writable", dirMode: 0o1777),
                refusedHook("group-writable hooks directory", "is group-writable", dirMode: 0o775),
                refusedHook("hooks directory owned by uid 65534", "owned by uid 65534", dirOwner: 65534),
                Case(name: "symlink to a file outside the directory", status: 1, message: "symlink leaves the hooks directory",
                     run: hooks("symlink-out") { w, d, marker in
                         try writeScript("\(w.dir.path)/outside-hook", "touch '\(marker)'")
                         try FileManager.default.createSymbolicLink(atPath: "\(d)/10-out", withDestinationPath: w.dir.sub("outside-hook"))
                     }, verify: notRun("symlink-out")),
                Case(name: "FIFO in the hooks directory: skipped, discovery does not block", status: 0, message: "not a regular file",
                     run: hooks("fifo", { _, d, _ in mkfifo("\(d)/10-fifo", 0o755) }, args: ["hooks", "pre-restore"])),
                Case(name: "subdirectory: skipped", status: 0, message: "not a regular file",
                     run: hooks("subdir", { _, d, _ in mkdir("\(d)/10-sub", 0o755) }, args: ["hooks", "pre-restore"])),
                Case(name: "non-executable file: skipped, not run", status: 0, message: "not executable",
                     run: hooks("noexec", { _, d, marker in try writeScript("\(d)/10-noexec", "touch '\(marker)'", mode: 0o644) },
                                args: ["hooks", "pre-restore"])),
                // Not run, and the only file: a pre-* phase with no hook guards nothing, so it fails (issue 16).
                Case(name: "non-executable file is not run", status: 1, message: "no hook runs for this phase", expect: .unchanged,
                     run: hooks("noexec-run") { _, d, marker in try writeScript("\(d)/10-noexec", "touch '\(marker)'", mode: 0o644) },
                     verify: notRun("noexec-run")),
                Case(name: "name with a dot (run-parts rule): skipped", status: 0, message: "name does not match",
                     run: hooks("dotname", { _, d, marker in try writeScript("\(d)/10-hook.sh", "touch '\(marker)'") }, args: ["hooks", "pre-restore"])),
                Case(name: "dangling symlink: skipped", status: 0, message: "dangling symlink",
                     run: hooks("dangling", { _, d, _ in
                         try FileManager.default.createSymbolicLink(atPath: "\(d)/10-gone", withDestinationPath: "\(d)/nowhere")
                     }, args: ["hooks", "pre-restore"])),
                Case(name: "hook closes its stdout early", status: 0, message: "",
                     run: hooks("close-stdout") { _, d, marker in
                         try writeScript("\(d)/10-close", "echo before; exec >&-; echo after-close >&2; sleep 0.2; touch '\(marker)'")
                     }, verify: ran("close-stdout")),
                Case(name: "hook reads stdin to EOF (stdin is /dev/null)", status: 0, message: "",
                     run: hooks("stdin") { _, d, marker in try writeScript("\(d)/10-stdin", "cat >/dev/null; touch '\(marker)'") },
                     verify: ran("stdin")),
                Case(name: "hook never reads stdin", status: 0, message: "",
                     run: hooks("no-stdin") { _, d, marker in try writeScript("\(d)/10-nostdin", "touch '\(marker)'") },
                     verify: ran("no-stdin")),
                Case(name: "hook forks a child and exits: the group is killed", status: 0, message: "",
                     run: hooks("forks") { _, d, marker in
                         try writeScript("\(d)/10-fork", "(exec sleep 4242.5) & touch '\(marker)'; exit 0")
                     }, verify: ranLeavingNothing("forks", "4242.5")),
                Case(name: "hook without a shebang (exec format error)", status: 1, message: "10-garbage",
                     run: hooks("garbage") { _, d, _ in
                         _ = FileManager.default.createFile(atPath: "\(d)/10-garbage", contents: Data([0x7F, 0x45, 0x00, 0xFF, 0x13]))
                         chmod("\(d)/10-garbage", 0o755)
                     }),
                // Issue 14: the hooks.d trust boundary and what reaches hooks and the terminal.
                Case(name: "hooks directory in a world-writable parent: refused", status: 1, message: "is world-writable",
                     run: hooks("open-parent", { _, d, marker in try writeScript("\(d)/10-hook", "touch '\(marker)'") },
                                parent: "open-parent", parentMode: 0o777),
                     verify: notRun("open-parent")),
                Case(name: "run target with a newline: 65 before any hook", status: 65, message: "control character",
                     run: hooks("nl-target", { _, d, marker in try writeScript("\(d)/10-hook", "touch '\(marker)'") },
                                targets: { w in [w.dir.sub("a") + "\n/etc"] }),
                     verify: notRun("nl-target")),
                Case(name: "run target outside the allowed roots: 65 before any hook", status: 65, message: "allowed root",
                     run: hooks("etc-target", { _, d, marker in try writeScript("\(d)/10-hook", "touch '\(marker)'") },
                                targets: { _ in ["/etc"] }),
                     verify: notRun("etc-target")),
                Case(name: "hook prints terminal escapes: shown escaped", status: 0, message: "\\u{1b}]2;owned",
                     run: hooks("escapes") { _, d, marker in
                         try writeScript("\(d)/10-esc", "printf '\\033]2;owned\\007\\033[2J\\n'; touch '\(marker)'")
                     }, verify: { (w: World, r: CommandResult) throws in
                         try ran("escapes")(w, r)
                         #expect(!r.stdout.contains("\u{1B}") && !r.stderr.contains("\u{1B}"), "raw ESC reached the terminal")
                     }),
                Case(name: "7,000 targets reach the hook as GUARD_HOOKS_TARGETS_FILE", status: 0, message: "",
                     run: hooks("many-targets", { _, d, marker in
                         try writeScript("\(d)/10-count", "[ \"$(wc -l < \"$GUARD_HOOKS_TARGETS_FILE\")\" -eq 7000 ] && [ $# -eq 1 ] && touch '\(marker)'")
                     }, targets: { w in (0..<7000).map { w.dir.sub("t-\($0)-0123456789") } }),
                     verify: ran("many-targets")),
                Case(name: "dry run: a hook without '# dry-run: yes' is listed, not run", status: 0, message: "would-run",
                     run: hooks("dry-undeclared", { _, d, marker in try writeScript("\(d)/10-hook", "touch '\(marker)'") },
                                args: ["run", "--dry-run", "pre-restore"]),
                     verify: notRun("dry-undeclared")),
                Case(name: "dry run: a hook with '# dry-run: yes' runs", status: 0, message: "",
                     run: hooks("dry-declared", { _, d, marker in try writeScript("\(d)/10-hook", "# dry-run: yes\ntouch '\(marker)'") },
                                args: ["run", "--dry-run", "pre-restore"]),
                     verify: ran("dry-declared")),
                Case(name: "hook's setsid() descendant is killed with its hook", status: 0, message: "",
                     run: hooks("setsid") { _, d, marker in
                         try writeScript("\(d)/10-setsid", "setsid sh -c 'exec sleep 4242.7' >/dev/null 2>&1 </dev/null & touch '\(marker)'")
                     }, verify: ranLeavingNothing("setsid", "4242.7")),
                Case(name: "SIGTERM to hook-runner mid-hook: the hook ends, exit 143", status: 143,
                     message: "interrupted by signal 15",
                     run: hooks("sigterm", { _, d, marker in try writeScript("\(d)/10-slow", "touch '\(marker)'; exec sleep 4242.8") },
                                prefix: ["timeout", "--preserve-status", "-s", "TERM", "2"]),
                     verify: ranLeavingNothing("sigterm", "4242.8")),
                Case(name: "missing hooks directory", status: 64, message: "cannot read hooks directory") { w in
                    try w.cli.run(["run", "pre-restore", "--hooks-dir", w.dir.sub("no-such-hooks")])
                },
                Case(name: "hooks directory is a file", status: 64, message: "hooks directory") { w in
                    _ = FileManager.default.createFile(atPath: w.dir.sub("hooks-file"), contents: Data())
                    return try w.cli.run(["run", "pre-restore", "--hooks-dir", w.dir.sub("hooks-file")])
                },
            ]
        }

        // MARK: the test over paths and hooks

        /// The name of every path and hook case; a test case looks its case up by name.
        static let caseNames = (pathCases() + hookCases()).map(\.name)

        @Test func everyCaseHasANameOfItsOwn() {
            #expect(Set(Self.caseNames).count == Self.caseNames.count, "two cases share a name")
            report("hostile: path+hook cases=\(Self.caseNames.count)")
        }

        /// One case in a sandbox of its own: a store with one applied guard (`base`), a
        /// directory `a`, and storage to aim at (a ramfs, which has no immutable flag, and a
        /// live tmpfs mount). The command answers as catalogued; a refusal leaves the kernel
        /// and the store as they were; the invariant holds afterwards.
        @Test(sandboxed, arguments: caseNames) func hostilePathOrHookGetsItsCataloguedAnswer(_ name: String) throws {
            let c = try #require((Self.pathCases() + Self.hookCases()).first { $0.name == name })
            let dir = try Sandbox.make("rel-hostile")
            defer { dir.cleanUp() }
            let w = World(dir)
            try dir.mkdir("a")
            try #require(try w.cli.run(["apply", try dir.mkdir("base")]).status == 0)
            try Self.mountRamfs(w)
            try mountTmpfs(try dir.mkdir("online"))
            let kernelBefore = try Self.kernelSnapshot(w), storeBefore = try Self.storeSnapshot(w)
            let r = try c.run(w)
            let out = r.stdout + r.stderr
            if r.status != c.status || !(c.message.isEmpty || out.contains(c.message)) { report("hostile: FAILING \(c.name)") }
            #expect(r.status == c.status, "\(c.name): exit \(r.status)\n\(out)")
            #expect(c.message.isEmpty || out.contains(c.message), "\(c.name): lacks \(c.message.debugDescription): \(out)")
            try c.verify(w, r)
            if c.expect == .unchanged {
                // Preparing a case may add directories (with no flags): compare what was there.
                let after = try Self.kernelSnapshot(w)
                #expect(Self.mountLines(after) == Self.mountLines(kernelBefore), "\(c.name): the mounts changed")
                #expect(Self.flagged(after) == Self.flagged(kernelBefore), "\(c.name): immutable flags changed")
                #expect(try Self.storeSnapshot(w) == storeBefore, "\(c.name): the store's guards/events changed")
            }
            let violations = try invariantViolations(dir: dir, db: w.cli.db, targets: [dir.sub("a"), dir.sub("base")],
                                                     storage: [dir.sub("ramfs"), dir.sub("online")])
            #expect(violations.isEmpty, "\(c.name): \(violations)")
        }

        static func mountLines(_ snapshot: String) -> [String] {
            snapshot.split(separator: "\n").filter { !$0.hasPrefix("-") }.map(String.init).filter { $0.hasPrefix("/") }
        }

        static func flagged(_ snapshot: String) -> Set<String> {
            Set(snapshot.split(separator: "\n").filter { $0.hasPrefix("-") || $0.first?.isLetter == true }
                .filter { $0.split(separator: " ").first?.contains("i") == true }.map(String.init))
        }
    }
}
