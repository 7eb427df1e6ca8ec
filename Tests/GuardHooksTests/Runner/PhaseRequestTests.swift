import Foundation
import GuardHooks
import Testing
import Glibc

/// The Swift API fails closed: a phase whose hooks would call back a hook-runner that is not
/// there refuses to start, instead of every guard hook failing with 127 (issue 16).
@Suite struct PhaseRequestTests {
    @Test func defaultsToHookRunnersOwnHooksDirectory() {
        #expect(PhaseRequest(phase: "pre-backup", targets: []).hooksDirectory == "/etc/guard-hooks/hooks.d")
    }

    @Test(.enabled(if: geteuid() == 0, "hooks.d is vetted as root-owned: needs root"))
    func aMissingHookRunnerStopsThePhaseBeforeAnyHook() async throws {
        let dir = NSTemporaryDirectory() + "gh-binpath-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let hooks = dir + "/hooks.d", marker = dir + "/ran"
        try FileManager.default.createDirectory(atPath: hooks, withIntermediateDirectories: true)
        #expect(chmod(dir, 0o755) == 0 && chmod(hooks, 0o755) == 0)
        let hook = hooks + "/10-guard"
        try "#!/bin/sh\n# phases: pre-backup\ntouch \(marker)\n".write(toFile: hook, atomically: false, encoding: .utf8)
        #expect(chmod(hook, 0o755) == 0)
        let engine = GuardEngine(configuration: GuardEngineConfiguration(storePath: dir + "/state/guards.db", actor: "test"))
        let request = PhaseRequest(phase: "pre-backup", targets: [], hooksDirectory: hooks, binaryPath: dir + "/no-hook-runner")
        let error = await #expect(throws: GuardEngineError.self) { try await engine.runPhase(request) { _ in } }
        #expect(error?.description.contains("hook-runner not found at \(dir)/no-hook-runner") == true, "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: marker), "no hook ran")
        #expect(!FileManager.default.fileExists(atPath: dir + "/state/guards.db"), "nothing recorded")
    }
}
