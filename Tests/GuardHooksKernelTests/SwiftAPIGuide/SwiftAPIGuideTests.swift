import Foundation
import GuardHooks
import GuardStore
import GuardTestSupport
import Testing

/// docs/guide-swift-api.md shows exactly the code that compiles in SwiftAPIGuideExample.swift
/// and SwiftAPIGuideScopeExample.swift, and that code works.
@Suite struct SwiftAPIGuide {
    @Test(arguments: ["SwiftAPIGuideExample.swift", "SwiftAPIGuideScopeExample.swift"])
    func guideShowsTheCompiledExample(_ file: String) throws {
        let source = try String(contentsOfFile: packageRoot + "/Tests/GuardHooksKernelTests/SwiftAPIGuide/" + file, encoding: .utf8)
        let begin = try #require(source.range(of: "// BEGIN EXAMPLE\n"))
        let end = try #require(source.range(of: "// END EXAMPLE"))
        let example = String(source[begin.upperBound..<end.lowerBound])
        let guide = try String(contentsOfFile: packageRoot + "/docs/guide-swift-api.md", encoding: .utf8)
        #expect(guide.contains("```swift\n" + example + "```"), "docs/guide-swift-api.md must quote \(file) verbatim")
    }

    @Test(sandboxed) func exampleRuns() async throws {
        let dir = try Sandbox.make("swift-api")
        defer { dir.cleanUp() }
        let storage = try dir.mkdir("usb")
        let db = dir.sub("state/guards.db")
        let code = try await nightlyBackup(storage: storage, storePath: db, hooksDirectory: nil)
        #expect(code == 0)
        let store = try GuardStore.open(path: db, mode: .readOnly)
        defer { store.close() }
        #expect(try store.outstandingGuards().isEmpty)
        let rows = try store.guards(path: storage)
        #expect(rows.count == 1 && rows[0].state == .cleared && rows[0].label == "nightly")
        let runs = try store.runs()
        #expect(runs.map(\.phase) == ["pre-backup"])
        #expect(runs.first?.hooks.first?.outputTail.contains("snapshotting \(storage)") == true)
    }

    struct BackupFailed: Error, Equatable {}

    /// Where the `withGuards` example works: a storage directory, the shipped hooks.
    struct ScopeWorld {
        let dir: SandboxDirectory
        let storage: String
        let db: String
        let hooks: String
        init() throws {
            dir = try Sandbox.make("swift-scope")
            storage = try dir.mkdir("usb")
            db = dir.sub("state/guards.db")
            // The example's engine wants an existing store (hook-runner's, on a real host).
            _ = try GuardEngine(configuration: GuardEngineConfiguration(storePath: db, createStoreIfMissing: true)).apply([])
            let cli = SandboxCLI(dir: dir, hooksDirInSandbox: true)
            try cli.installShippedHooks()
            hooks = cli.hooksDir
        }
        func backup<T: Sendable>(_ work: () async throws -> T) async throws -> T {
            try await guardedBackup(storage: storage, storePath: db, hooksDirectory: hooks,
                                    hookRunner: hookRunnerBinary, backup: work)
        }
        var guarded: Bool { get throws { try findmnt(storage).contains { $0.contains("ro,") } } }
        var writable: Bool { FileManager.default.createFile(atPath: storage + "/probe", contents: nil) }
        func claims() throws -> [ClaimRecord] {
            let store = try GuardStore.open(path: db, mode: .readOnly)
            defer { store.close() }
            return try store.guards(path: storage).flatMap { try store.claims(guardID: $0.id) }
        }
    }

    @Test(sandboxed) func scopeExampleGuardsWhileTheClosureRuns() async throws {
        let w = try ScopeWorld()
        defer { w.dir.cleanUp() }
        let inside = try await w.backup { () async throws -> [Bool] in [try w.guarded, w.writable] }
        #expect(inside == [true, false], "guarded and read-only inside the closure")
        #expect(try !w.guarded)
        #expect(w.writable)
        let claims = try w.claims()
        #expect(claims.count == 1 && claims[0].holder.kind == .process && claims[0].holder.token != nil)
        #expect(claims.map(\.releaseReason) == ["released by its job"])
    }

    @Test(sandboxed) func scopeExampleClearsWhenTheClosureThrows() async throws {
        let w = try ScopeWorld()
        defer { w.dir.cleanUp() }
        var inside: [Bool] = []
        await #expect(throws: BackupFailed.self) {
            try await w.backup { () async throws -> Int in
                inside = [try w.guarded, w.writable]
                throw BackupFailed()
            }
        }
        #expect(inside == [true, false], "guarded and read-only inside the closure")
        #expect(try !w.guarded)
        #expect(w.writable)
        #expect(try w.claims().map(\.releaseReason) == ["released by its job"])
    }

    /// Another job's claim keeps the guard after the scope ends (here an explicit key's).
    @Test(sandboxed) func scopeExampleLeavesAGuardAnotherJobHolds() async throws {
        let w = try ScopeWorld()
        defer { w.dir.cleanUp() }
        let cli = SandboxCLI(dir: w.dir, hooksDirInSandbox: true)
        expectStatus(try cli.run(["apply", "--claim", "nightly", w.storage]), 0)
        let inside = try await w.backup { () async throws -> Bool in try w.guarded }
        #expect(inside)
        #expect(try w.guarded, "the other job's claim keeps the guard")
        #expect(try w.claims().map(\.releaseReason) == [nil, "released by its job"])
        expectStatus(try cli.run(["clear", "--claim", "nightly", w.storage]), 0)
        #expect(try !w.guarded)
    }

    @Test(sandboxed) func scopeExampleNeverRunsTheClosureWhenPreFails() async throws {
        let w = try ScopeWorld()
        defer { w.dir.cleanUp() }
        // A pre-backup hook after the shipped guard hook fails.
        try writeFile(w.hooks + "/20-fail", "#!/bin/sh\n# phases: pre-backup\nexit 3\n", mode: 0o755)
        var ran = false
        await #expect(throws: GuardedScopeError.self) {
            try await w.backup { ran = true }
        }
        #expect(!ran)
        #expect(try !w.guarded, "the post phase ran")
        #expect(try w.claims().map(\.releaseReason) == ["released by its job"])
    }
}
