import Foundation
import GuardStore
import GuardTestSupport
import Testing

/// docs/guide-swift-api.md shows exactly the code that compiles in SwiftAPIGuideExample.swift,
/// and that code works.
extension AdapterTests {
    @Suite struct SwiftAPIGuide {
        @Test func guideShowsTheCompiledExample() throws {
            let source = try String(contentsOfFile: packageRoot + "/Tests/AdapterTests/SwiftAPIGuideExample.swift", encoding: .utf8)
            let begin = try #require(source.range(of: "// BEGIN EXAMPLE\n"))
            let end = try #require(source.range(of: "// END EXAMPLE"))
            let example = String(source[begin.upperBound..<end.lowerBound])
            let guide = try String(contentsOfFile: packageRoot + "/docs/guide-swift-api.md", encoding: .utf8)
            #expect(guide.contains("```swift\n" + example + "```"), "docs/guide-swift-api.md must quote the example verbatim")
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
    }
}
