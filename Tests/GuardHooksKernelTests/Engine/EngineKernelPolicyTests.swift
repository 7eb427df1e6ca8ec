import Foundation
import GuardHooks
import GuardStore
import GuardTestSupport
import Testing

/// Targets the engine must refuse on the real filesystem, and what it may create.
extension EngineKernelTests {
    /// A symlink out of the sandbox, as the leaf or as a parent component, is resolved and
    /// refused: /etc is never flagged or mounted on, whichever command and kind.
    @Test(sandboxed) func symlinkEscapesAreRefused() throws {
        let dir = try Sandbox.make("ek-symlink")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let leaf = dir.sub("x"), parent = dir.sub("a")
        try FileManager.default.createSymbolicLink(atPath: leaf, withDestinationPath: "/etc")
        try FileManager.default.createSymbolicLink(atPath: parent, withDestinationPath: "/etc")
        let throughParent = "\(parent)/ssl"
        try #require(FileManager.default.fileExists(atPath: "/etc/ssl"))

        let attrs = try output(["lsattr", "-d", "/etc", "/etc/ssl"])
        let mounts = try findmnt("/etc") + findmnt("/etc/ssl")

        for kind in RequestedKind.allCases {
            let out = try w.engine.apply([leaf, throughParent], kind: kind)
            #expect(out.map(\.outcome) == [.refused, .refused], "\(kind): \(out)")
            #expect(out.map(\.path) == ["/etc", "/etc/ssl"], "the resolved paths are reported")
            #expect(out.allSatisfy { $0.reason?.contains("not below an allowed root") == true }, "\(out)")
        }
        #expect(try w.engine.seal([leaf, throughParent]).map(\.outcome) == [.refused, .refused])
        #expect(try w.engine.unseal([leaf, throughParent]).map(\.outcome) == [.refused, .refused])
        #expect(try w.engine.clear([leaf, throughParent]).map(\.outcome) == [.refused, .refused])
        // --create under a parent that escapes: refused, nothing created in /etc.
        let name = "guard-hooks-test-\(UInt32.random(in: 0...UInt32.max))"
        let create = try w.engine.apply(["\(parent)/\(name)"], createMissing: true)
        #expect(create.map(\.outcome) == [.refused])
        #expect(!FileManager.default.fileExists(atPath: "/etc/\(name)"))

        #expect(try output(["lsattr", "-d", "/etc", "/etc/ssl"]) == attrs)
        #expect(try findmnt("/etc") + findmnt("/etc/ssl") == mounts)
        #expect(try findmnt("/etc").isEmpty && findmnt("/etc/ssl").isEmpty)
        #expect(try w.allRows().isEmpty)

        // A symlink that stays inside the sandbox is followed: the real directory is guarded.
        let real = try dir.mkdir("real")
        let inside = dir.sub("alias")
        try FileManager.default.createSymbolicLink(atPath: inside, withDestinationPath: real)
        let out = try w.engine.apply([inside], kind: .bind)
        #expect(out.map(\.outcome) == [.applied] && out[0].path == real)
        #expect(try findmnt(real).count == 1)
        #expect(try w.allRows().map(\.path) == [real])
    }

    @Test(sandboxed) func badTargetsAreRefusedWithClearReasons() throws {
        let dir = try Sandbox.make("ek-refuse")
        defer { dir.cleanUp() }
        let w = EngineKernelWorld(dir)
        let file = dir.sub("file")
        try makeFile(file, "x")
        let missing = dir.sub("missing")
        let newline = try dir.mkdir("a\nb")   // exists: refused for the newline, not for being absent
        let other = try Sandbox.make("ek-outside")
        defer { other.cleanUp() }

        let targets = [file, missing, "/", other.path, "/tmp", dir.path, newline, "relative/dir", "\(dir.path)/../x"]
        let out = try w.engine.apply(targets)
        #expect(out.map(\.outcome) == Array(repeating: .refused, count: targets.count), "\(out)")
        let reasons = out.map { $0.reason ?? "" }
        #expect(reasons[0] == "not a directory")
        #expect(reasons[1] == "does not exist (use --create to make it)")
        #expect(reasons[2] == "refusing to guard /")
        #expect(reasons[3].contains("is not below an allowed root (\(dir.path))"), "\(reasons[3])")
        #expect(reasons[4].contains("is not below an allowed root"))
        // The sandbox itself holds the store's directory: that refusal comes first.
        #expect(reasons[5] == "path overlaps the store's directory \(dir.sub("state"))", "\(reasons[5])")
        #expect(reasons[6].contains("control character (U+000A)"), "\(reasons[6])")
        #expect(reasons[7] == "not an absolute path")
        #expect(reasons[8].contains("'..'"))
        #expect(reasons.allSatisfy { !$0.contains("\n") }, "one-line reasons")
        #expect(try findmnt(newline).isEmpty && findmnt(other.path).isEmpty)
        #expect(try !lsattrImmutable(newline) && !lsattrImmutable(other.path))
        #expect(!FileManager.default.fileExists(atPath: missing))
        #expect(try w.allRows().isEmpty)

        // With createMissing the missing directory is made and guarded.
        let created = try w.engine.apply([missing], createMissing: true)
        #expect(created.map(\.outcome) == [.applied] && created[0].kind == .bind)
        var isDir: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: missing, isDirectory: &isDir) && isDir.boolValue)
        #expect(try mountOptions(missing).contains("ro"))
        #expect(try touchFailure("\(missing)/f")?.contains("Read-only file system") == true)
        #expect(try w.allRows().map(\.path) == [missing], "no rows for the refused targets")
        #expect(try w.sql("SELECT count(*) FROM guards") == "1")
    }
}
