import Foundation
import GuardStore
import GuardTestSupport
import Testing
import GuardHooks
import Glibc

extension RunnerTests {
    @Suite struct Discovery {
        /// Names run-parts and we must agree on (tricky on purpose).
        static let executableNames = [
            "00-first", "99_last", "Z", "a", "_under", "-dash", "--", "9", "MiXeD-09", "UPPER",
            "README", "foo.sh", ".hidden", "foo~", "x.dpkg-old", "x.dpkg-dist", "x.dpkg-new",
            "y.rpmsave", "sp ace", "tab\tname", "café", "#foo#", "foo,v", "a.b", "ctl\u{1}x", "Zz",
        ]

        @Test func selectionMatchesRunParts() throws {
            guard FileManager.default.isExecutableFile(atPath: "/bin/run-parts") else {
                Issue.record("run-parts is not installed"); return
            }
            let dir = try HookDir()
            defer { dir.remove() }
            for name in Self.executableNames { try dir.script(name, "exit 0") }
            try dir.script("noexec", "exit 0", mode: 0o644)
            try FileManager.default.createDirectory(atPath: dir.sub("validdir"), withIntermediateDirectories: false)
            #expect(symlink("a", dir.sub("link-ok")) == 0)
            #expect(symlink("nothere", dir.sub("link-dangling")) == 0)
            #expect(symlink("validdir", dir.sub("link-dir")) == 0)
            #expect(symlink("noexec", dir.sub("link-noexec")) == 0)
            #expect(mkfifo(dir.sub("fifo"), 0o755) == 0)

            let expected = try runCommand(["/usr/bin/env", "-i", "LC_ALL=C", "/bin/run-parts", "--test", dir.path])
            let theirs = expected.stdout.split(separator: "\n").map(String.init)
            let discovered = try HookDiscovery.discover(directory: dir.path, phase: "pre-restore", policy: .current)
            let ours = discovered.filter { $0.decision == .run }.map(\.path)

            #expect(theirs.count >= 10)
            #expect(ours == theirs)
            // Every entry is listed, in byte order, each with a reason when skipped.
            #expect(discovered.count == Self.executableNames.count + 7)
            #expect(discovered.map { Array($0.name.utf8) } == discovered.map { Array($0.name.utf8) }.sorted { $0.lexicographicallyPrecedes($1) })
            let reasons = Dictionary(uniqueKeysWithValues: discovered.map { ($0.name, $0.decision) })
            #expect(reasons["foo.sh"] == .skip("name does not match ^[a-zA-Z0-9_-]+$"))
            #expect(reasons["café"] == .skip("name does not match ^[a-zA-Z0-9_-]+$"))
            #expect(reasons["validdir"] == .skip("not a regular file"))
            #expect(reasons["fifo"] == .skip("not a regular file"))
            #expect(reasons["link-dir"] == .skip("not a regular file"))
            #expect(reasons["noexec"] == .skip("not executable"))
            #expect(reasons["link-noexec"] == .skip("not executable"))
            #expect(reasons["link-dangling"] == .skip("dangling symlink"))
            #expect(reasons["link-ok"] == .run)
        }

        @Test func nameRuleIsBytewise() {
            #expect(HookDiscovery.isHookName(Array("00-ok_Z".utf8)))
            #expect(!HookDiscovery.isHookName([UInt8]()))
            #expect(!HookDiscovery.isHookName(Array("é".utf8)))
            #expect(!HookDiscovery.isHookName([0x61, 0xFF]))
            #expect(!HookDiscovery.isHookName(Array("a/b".utf8)))
        }

        @Test func missingDirectoryThrows() {
            #expect(throws: HookDiscoveryError.self) {
                try HookDiscovery.discover(directory: "/tmp/gh-runner-does-not-exist", phase: nil, policy: .current)
            }
        }

        @Test(.enabled(if: geteuid() == 0, "ownership rules apply to root"))
        func insecureHooksAreRefusedAndNeverRun() async throws {
            let dir = try HookDir()
            defer { dir.remove() }
            let marker = { (name: String) in "touch '\(dir.sub("ran-" + name))'" }
            try dir.script("10-world", marker("10-world"), mode: 0o777)
            try dir.script("20-group", marker("20-group"), mode: 0o775)
            try dir.script("30-nobody", marker("30-nobody"))
            #expect(chown(dir.sub("30-nobody"), 65534, 65534) == 0)
            try dir.script("40-good", marker("40-good"))

            let hooks = try HookDiscovery.discover(directory: dir.path, phase: "pre-restore", policy: .current)
            #expect(hooks.map(\.decision) == [
                .refuse("refused: world-writable"), .refuse("refused: group-writable"),
                .refuse("refused: owned by uid 65534"), .run,
            ])
            // A refused hook is a failure: pre-restore stops at it, so the restore does not go
            // ahead without the guard the refused hook was meant to make.
            let report = try await runPhase("pre-restore", in: dir)
            #expect(report.results.map(\.outcome) == [.failed, .skipped, .skipped, .skipped])
            #expect(report.results[0].reason == "refused: world-writable")
            #expect(report.results[1].reason == "stopped after refusal of 10-world")
            #expect(report.exitStatus == 1)
            // post-mount runs every hook and reports every refusal.
            let post = try await runPhase("post-mount", in: dir)
            #expect(post.results.map(\.outcome) == [.failed, .failed, .failed, .ok])
            #expect(post.results.map(\.reason).prefix(3) == ["refused: world-writable", "refused: group-writable",
                                                               "refused: owned by uid 65534"])
            #expect(post.exitStatus == 1)
            #expect(!dir.exists("ran-10-world") && !dir.exists("ran-20-group") && !dir.exists("ran-30-nobody"))
            #expect(dir.exists("ran-40-good"))

            // Without the root policy (an unprivileged caller) the same files are ordinary hooks.
            let relaxed = try HookDiscovery.discover(directory: dir.path, phase: nil, policy: HookPolicy(enforceOwnership: false))
            #expect(relaxed.filter { $0.name.hasPrefix("ran-") == false }.allSatisfy { $0.decision == .run })
        }

        @Test(.enabled(if: geteuid() == 0, "ownership rules apply to root"))
        func hooksInAnInsecureDirectoryAreRefused() async throws {
            for (mode, word) in [(mode_t(0o777), "world"), (0o775, "group")] {
                let dir = try HookDir(mode: mode)
                defer { dir.remove() }
                try dir.script("10-hook", "touch '\(dir.sub("ran"))'")
                let hooks = try HookDiscovery.discover(directory: dir.path, phase: nil, policy: .current)
                #expect(hooks.map(\.decision) == [.refuse("refused: directory \(dir.path) is \(word)-writable")])
                let report = try await runPhase("post-mount", in: dir)
                #expect(report.results.map(\.outcome) == [.failed])
                #expect(report.exitStatus == 1)
                #expect(!dir.exists("ran"))
            }
        }

        @Test(.enabled(if: geteuid() == 0, "ownership rules apply to root"))
        func symlinksMustStayInTheHooksDirectory() throws {
            let dir = try HookDir(), outside = try HookDir()
            defer { dir.remove(); outside.remove() }
            try outside.script("elsewhere", "exit 0")
            try dir.script("inside", "exit 0")
            #expect(symlink(outside.sub("elsewhere"), dir.sub("10-out")) == 0)
            #expect(symlink("inside", dir.sub("20-in")) == 0)
            #expect(symlink("/bin/true", dir.sub("30-bin")) == 0)
            let hooks = try HookDiscovery.discover(directory: dir.path, phase: nil, policy: .current)
            #expect(hooks.map(\.name) == ["10-out", "20-in", "30-bin", "inside"])
            #expect(hooks[0].decision == .refuse("refused: symlink leaves the hooks directory"))
            #expect(hooks[1].decision == .run)
            #expect(hooks[2].decision == .refuse("refused: symlink leaves the hooks directory"))
            let relaxed = try HookDiscovery.discover(directory: dir.path, phase: nil, policy: HookPolicy(enforceOwnership: false))
            #expect(relaxed.allSatisfy { $0.decision == .run })
        }

        @Test func phasesHeaderSelectsPerPhase() throws {
            let dir = try HookDir()
            defer { dir.remove() }
            try dir.script("10-both", "# phases: pre-restore  post-mount\nexit 0")
            try dir.script("20-pre", "#phases:pre-restore\nexit 0")
            try dir.script("30-any", "# no header here\nexit 0")
            let late = String(repeating: "# filler\n", count: 9) + "# phases: post-mount\nexit 0"
            try dir.script("40-late", late)  // header on line 11 (after the shebang): ignored

            func selected(_ phase: String) throws -> [String] {
                try HookDiscovery.discover(directory: dir.path, phase: phase, policy: .current)
                    .filter { $0.decision == .run }.map(\.name)
            }
            #expect(try selected("pre-restore") == ["10-both", "20-pre", "30-any", "40-late"])
            #expect(try selected("post-mount") == ["10-both", "30-any", "40-late"])
            #expect(try selected("pre-backup") == ["30-any", "40-late"])
            let listed = try HookDiscovery.discover(directory: dir.path, phase: "post-mount", policy: .current)
            #expect(listed[1].decision == .skip("not for phase post-mount"))
            #expect(listed[1].phases == ["pre-restore"])
            #expect(listed[3].phases == nil)
        }
    }
}

extension RunnerTests.Discovery {
    @Test func relativeDirectoriesYieldAbsolutePaths() throws {
        let dir = try HookDir()
        defer { dir.remove() }
        try dir.script("10-a", "exit 0")
        let cwd = FileManager.default.currentDirectoryPath
        let relative = String(repeating: "../", count: cwd.split(separator: "/").count) + String(dir.path.dropFirst())
        let hooks = try HookDiscovery.discover(directory: relative, phase: nil, policy: .current)
        #expect(hooks.first?.path.hasPrefix("/") == true)
        #expect(hooks.first.map { FileManager.default.fileExists(atPath: $0.path) } == true)
    }
}
