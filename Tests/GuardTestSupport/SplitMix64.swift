import Glibc

/// A small seeded generator, so a random test can be replayed from the seed it prints.
package struct SplitMix64: RandomNumberGenerator {
    package var state: UInt64
    package init(seed: UInt64) { state = seed }

    /// The environment variable that replays any seeded test: `GUARD_HOOKS_TEST_SEED=S`.
    package static let replayVariable = "GUARD_HOOKS_TEST_SEED"

    /// The seed of a random test: from the first of `variables` set in the environment (to
    /// replay a failure), else fresh. It is printed with `test`'s name and how to replay it.
    package static func seed(for test: String, variables: [String] = [replayVariable]) -> UInt64 {
        let given = variables.lazy.compactMap { name in getenv(name).flatMap { UInt64(String(cString: $0)) } }.first
        let seed = given ?? UInt64.random(in: 0...UInt64.max)
        print("\(test): seed \(seed) (replay with \(variables[0])=\(seed))")
        return seed
    }

    /// A generator for `test`, seeded as `seed(for:variables:)` says.
    package static func seeded(for test: String, variables: [String] = [replayVariable]) -> SplitMix64 {
        SplitMix64(seed: seed(for: test, variables: variables))
    }

    /// `count` bytes from the generator.
    package mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
