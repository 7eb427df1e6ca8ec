import Foundation
import GuardTestSupport
import Testing
import Glibc

/// The security pass (RELIABILITY.md §6), the parts that can be checked for real.
extension ReliabilityTests {
    @Suite struct Security {
        static let nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

        func mode(_ path: String) -> mode_t {
            var st = stat()
            return lstat(path, &st) == 0 ? st.st_mode & 0o7777 : 0xFFFF
        }

        @Test(sandboxed) func storeAndLockFilesArePrivateWhateverTheUmask() throws {
            let dir = try Sandbox.make("rel-perm")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let t = try dir.mkdir("t")
            // A permissive umask must not widen anything.
            let r = try runCommand(["/bin/sh", "-c", "umask 000; exec \"$0\" apply \"$1\"", hookRunnerBinary, t],
                                   environment: cli.environment)
            try #require(r.status == 0, "\(r.stderr)")
            #expect(mode(dir.sub("state")) == 0o700, "store directory")
            for name in try FileManager.default.contentsOfDirectory(atPath: dir.sub("state")) {
                #expect(mode(dir.sub("state/\(name)")) == 0o600, "\(name) is \(String(mode(dir.sub("state/\(name)")), radix: 8))")
            }
            #expect(FileManager.default.fileExists(atPath: cli.db + ".lock"))
            report("security: store dir 0\(String(mode(dir.sub("state")), radix: 8)); files "
                   + (try FileManager.default.contentsOfDirectory(atPath: dir.sub("state")).sorted()
                      .map { "\($0) 0\(String(mode(dir.sub("state/\($0)")), radix: 8))" }.joined(separator: ", ")))
        }

        @Test(sandboxed) func hookEnvironmentIsScrubbed() throws {
            let dir = try Sandbox.make("rel-env")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let hooks = try dir.mkdir("hooks.d")
            chmod(hooks, 0o755)
            let out = dir.sub("env.out")
            _ = FileManager.default.createFile(atPath: "\(hooks)/10-env",
                                           contents: Data("#!/bin/sh\nenv > '\(out)'\npwd >> '\(out)'\n".utf8))
            chmod("\(hooks)/10-env", 0o755)
            let r = try cli.run(["run", "pre-restore", "--hooks-dir", hooks, dir.sub("x")],
                                env: ["LD_PRELOAD": "/nonexistent.so", "HTTP_PROXY": "http://evil", "SECRET_TOKEN": "s3cr3t",
                                      "IFS": "x", "HOME": "/root"])
            #expect(r.status == 0, "\(r.stderr)")
            let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map(String.init)
            let keys = Set(lines.dropLast().compactMap { $0.split(separator: "=", maxSplits: 1).first.map(String.init) })
            let allowed: Set<String> = ["PATH", "GUARD_HOOKS_PHASE", "GUARD_HOOKS_TARGETS", "GUARD_HOOKS_RUN_ID",
                                        "GUARD_HOOKS_DRY_RUN", "GUARD_HOOKS_DB", "GUARD_HOOKS_ALLOW_ROOTS", "GUARD_HOOKS_BIN",
                                        "GUARD_HOOKS_HOOK", "GUARD_HOOKS_HOOK_PATH", "GUARD_HOOKS_JOB", "PWD", "SHLVL", "_", "OLDPWD"]   // the last four: set by sh itself
            #expect(keys.isSubset(of: allowed), "leaked: \(keys.subtracting(allowed))")
            #expect(lines.last == "/", "cwd is /")
            report("security: hook environment keys: \(keys.sorted().joined(separator: " "))")
        }

        @Test(sandboxed) func anUnprivilegedUserCanNeitherReadNorChangeGuards() throws {
            let dir = try Sandbox.make("rel-nobody")
            defer { dir.cleanUp() }
            let cli = CLI(dir: dir)
            let a = try dir.mkdir("a"), b = try dir.mkdir("b")
            try #require(try cli.run(["apply", a]).status == 0)
            chmod(dir.path, 0o755)
            // Default modes (0700 directory, 0600 files): nobody can read nothing.
            for args in [["guards"], ["history", a], ["runs"]] {
                let r = try cli.run(args, prefix: Self.nobody)
                #expect(r.status == 70, "\(args): \(r.status) \(r.stderr)")
                #expect(!r.stdout.contains(a), "\(args) leaked a guard: \(r.stdout)")
            }
            // Every change is refused before anything is opened: 77.
            let before = try sql(cli.db, "SELECT count(*) || ' ' || (SELECT count(*) FROM events) FROM guards")
            for args in [["apply", b], ["clear", a], ["clear", "--all"], ["seal", b], ["unseal", a], ["reconcile"]] {
                let r = try cli.run(args, prefix: Self.nobody)
                #expect(r.status == 77, "\(args): \(r.status) \(r.stderr)")
            }
            #expect(Sandbox.mountPoints(under: b).isEmpty && Sandbox.mountPoints(under: a).count == 1)
            // Readable store files: queries work, changes still 77.
            chmod(dir.sub("state"), 0o755)
            for name in try FileManager.default.contentsOfDirectory(atPath: dir.sub("state")) { chmod(dir.sub("state/\(name)"), 0o644) }
            #expect(try cli.run(["guards"], prefix: Self.nobody).stdout.contains(a))
            #expect(try cli.run(["history", a], prefix: Self.nobody).status == 0)
            #expect(try cli.run(["apply", b], prefix: Self.nobody).status == 77)
            #expect(try sql(cli.db, "SELECT count(*) || ' ' || (SELECT count(*) FROM events) FROM guards") == before)
        }
    }
}
