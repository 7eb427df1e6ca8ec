import Glibc

/// A small seeded generator, so a random test can be replayed from the seed it prints.
package struct SplitMix64: RandomNumberGenerator {
    package var state: UInt64
    package init(seed: UInt64) { state = seed }

    /// Seeded from the environment variable `name` (to replay a failure), else freshly; the
    /// seed is printed with `test`'s name and how to replay it.
    package static func seeded(from name: String, for test: String) -> SplitMix64 {
        let seed = getenv(name).flatMap { UInt64(String(cString: $0)) } ?? UInt64.random(in: 0...UInt64.max)
        print("\(test): seed \(seed) (replay with \(name)=\(seed))")
        return SplitMix64(seed: seed)
    }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
