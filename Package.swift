// swift-tools-version: 6.2
import PackageDescription

// Direction of dependencies: C shims -> GuardStore -> GuardHooks -> GuardRender -> hook-runner.
// Fault points (`FaultPoint`, `GUARD_HOOKS_TEST_FAULT`) let the crash tests kill the process
// mid-protocol; they exist in debug builds only, so a release binary cannot be told to die.
let faultPoints: [SwiftSetting] = [.define("GUARD_HOOKS_FAULT_POINTS", .when(configuration: .debug))]

let package = Package(
    name: "GuardHooks",
    products: [
        .library(name: "GuardHooks", targets: ["GuardHooks"]),
        .executable(name: "hook-runner", targets: ["hook-runner"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(name: "CGuardSys"),
        // File I/O on swift-system (whole-file reads, paths, the EINTR retry) for every target.
        .target(name: "FileIO", dependencies: [.product(name: "SystemPackage", package: "swift-system")]),
        .target(
            name: "GuardStore",
            dependencies: ["CSQLite", "FileIO"]
        ),
        .target(
            name: "GuardHooks",
            dependencies: [
                "GuardStore",
                "CGuardSys",
                "FileIO",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            swiftSettings: faultPoints
        ),
        // Output of the command line: JSON, tables, RFC 3339, Prometheus text, outcome words
        // and exit codes. GuardHooks returns values; this renders them.
        .target(
            name: "GuardRender",
            dependencies: ["GuardHooks", "GuardStore", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .executableTarget(
            name: "hook-runner",
            dependencies: [
                "GuardHooks",
                "GuardRender",
                "GuardStore",
                "FileIO",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: faultPoints
        ),
        // Shared by the test targets: the /mnt sandbox and a command runner.
        .target(name: "GuardTestSupport", dependencies: ["CGuardSys", "FileIO"], path: "Tests/GuardTestSupport"),
        // The in-memory kernel for engine tests; kept out of the product.
        .target(
            name: "GuardHooksTesting",
            dependencies: ["GuardHooks", .product(name: "SystemPackage", package: "swift-system")],
            path: "Tests/GuardHooksTesting"
        ),
        // A second process for GuardStoreTests (concurrent writers, an unprivileged reader).
        .executableTarget(name: "guard-store-stress", dependencies: ["GuardStore"], path: "Tests/GuardStoreStress"),
        .testTarget(
            name: "GuardStoreTests",
            dependencies: ["GuardStore", "CSQLite", "GuardTestSupport", "guard-store-stress"]
        ),
        // Test targets by module. FileIO: whole-file reads and paths.
        .testTarget(name: "FileIOTests", dependencies: ["FileIO", "GuardTestSupport", .product(name: "SystemPackage", package: "swift-system")]),
        // GuardHooks without the real kernel: decision tables, policy, configuration, the
        // runner, and the engine on the FakeKernel.
        .testTarget(
            name: "GuardHooksTests",
            dependencies: ["GuardHooks", "GuardHooksTesting", "GuardRender", "GuardStore", "GuardTestSupport", "FileIO",
                           .product(name: "SystemPackage", package: "swift-system")]
        ),
        // GuardHooks against the real kernel, in the sandbox: the kernel layer, the engine,
        // and the Swift API guide's examples.
        .testTarget(
            name: "GuardHooksKernelTests",
            dependencies: ["GuardHooks", "GuardRender", "GuardStore", "CGuardSys", "GuardTestSupport", "hook-runner",
                           .product(name: "SystemPackage", package: "swift-system")]
        ),
        // Rendering only: no root, no sandbox.
        .testTarget(name: "GuardRenderTests", dependencies: ["GuardRender", "GuardHooks", "GuardStore", "GuardTestSupport"]),
        // The command end to end, by feature: commands, runner, claims, adapters, operations
        // (configuration, journal, seal unit) and the reliability scenarios (RELIABILITY.md).
        .testTarget(
            name: "HookRunnerTests",
            dependencies: ["GuardHooks", "GuardHooksTesting", "GuardRender", "GuardStore", "GuardTestSupport", "hook-runner"]
        ),
    ]
)
