import Foundation

/// The `hook-runner` built next to the running test bundle (every test target that runs
/// it depends on the executable, so SwiftPM builds it there); falls back to the nearest
/// `.build/debug/hook-runner` above.
package let hookRunnerBinary: String = {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
    let beside = dir.appendingPathComponent("hook-runner").path
    if FileManager.default.isExecutableFile(atPath: beside) { return beside }
    while dir.path != "/" {
        let candidate = dir.appendingPathComponent(".build/debug/hook-runner").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return beside
}()

/// The package root (for the shipped `hooks.d`, recipes, packaging).
package let packageRoot: String = {
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while dir.path != "/", !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
        dir = dir.deletingLastPathComponent()
    }
    return dir.path
}()

/// The PATH hooks get, and the one tests give the binary.
package let safePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
