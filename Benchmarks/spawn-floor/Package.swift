// swift-tools-version: 6.2
// The spawn floor of workload 4 (BENCHMARKS.md): the same hooks run one after the other by
// the bare library calls hook-runner builds on, with nothing of hook-runner's (no store, no
// discovery, no output capture, no watch thread). Built and run by Benchmarks/bench.py.
import PackageDescription

let package = Package(
    name: "spawn-floor",
    dependencies: [
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        .executableTarget(name: "spawn-floor", dependencies: [
            .product(name: "Subprocess", package: "swift-subprocess"),
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
    ]
)
