import GuardTestSupport
import Testing
import GuardHooks

extension RunnerTests {
    @Suite struct PhasesHeaderParsing {
        static let table: [(String, [String]?)] = [
            ("#!/bin/sh\n# phases: pre-restore post-mount\n", ["pre-restore", "post-mount"]),
            ("# phases: pre-restore\n", ["pre-restore"]),
            ("#phases:pre-restore", ["pre-restore"]),
            ("  #   phases   :   a-1   b2\t c  \r\n", ["a-1", "b2", "c"]),
            ("# phases: pre-restore, post-mount", ["pre-restore", "post-mount"]),
            ("# phases: pre-restore pre-restore", ["pre-restore"]),
            ("# phases:", []),
            ("# phases: Pre-Restore", []),
            ("# phases: ok bad_word café", ["ok"]),
            ("# Phases: pre-restore", nil),
            ("# phase: pre-restore", nil),
            ("echo # phases: pre-restore", nil),
            ("// phases: pre-restore", nil),
            ("", nil),
            ("\n\n\n", nil),
            ("# phases: first\n# phases: second", ["first"]),
            (String(repeating: "\n", count: 9) + "# phases: tenth", ["tenth"]),
            (String(repeating: "\n", count: 10) + "# phases: eleventh", nil),
        ]

        @Test(arguments: 0..<table.count)
        func parses(_ index: Int) {
            let (input, expected) = Self.table[index]
            #expect(PhasesHeader.parse(Array(input.utf8)) == expected, "input: \(input.debugDescription)")
        }

        @Test func garbageNeverTraps() {
            var generator = SplitMix64.seeded(for: "RunnerTests.PhasesHeaderParsing.garbageNeverTraps")
            let seeds: [[UInt8]] = [Array("# phases: ".utf8), Array("#phases:".utf8), [0x23], [0x0A], [0xFF, 0xFE, 0x00]]
            for round in 0..<3000 {
                var bytes: [UInt8] = []
                let pieces = Int.random(in: 0...12, using: &generator)
                for _ in 0..<pieces {
                    if Bool.random(using: &generator) {
                        bytes += seeds[Int.random(in: 0..<seeds.count, using: &generator)]
                    } else {
                        bytes += (0..<Int.random(in: 0...40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                    }
                }
                if round % 7 == 0 { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator))) }
                let phases = PhasesHeader.parse(bytes)
                #expect(phases?.allSatisfy(PhasesHeader.isPhaseName) ?? true)
            }
            #expect(PhasesHeader.parse([UInt8](repeating: 0x0A, count: 100_000)) == nil)
            #expect(PhasesHeader.parse([UInt8](repeating: 0x23, count: 100_000)) == nil)
        }
    }
}
