@testable import GuardHooks
import GuardStore
import Testing

/// A batch holds one item per target and gathers what the steps ask for as they are decided
/// (GuardBatch.run); at 10,000 targets every byte per item is 10 kB of peak memory
/// (BENCHMARKS.md, footprint). A row, 176 bytes, sits behind one pointer (`OnHeap`).
@Suite struct BatchFootprintTests {
    @Test func aBatchItemHoldsItsRowBehindOnePointer() {
        #expect(MemoryLayout<OnHeap<GuardRecord>>.size == MemoryLayout<Int>.size)
        #expect(MemoryLayout<BatchItem>.stride < MemoryLayout<GuardRecord>.stride + 32,
                "BatchItem is \(MemoryLayout<BatchItem>.stride) bytes")
    }

    @Test func onHeapKeepsValueSemantics() {
        var a = OnHeap<[Int]>(wrappedValue: [1])
        let b = a
        a.wrappedValue?.append(2)
        #expect(a.wrappedValue == [1, 2])
        #expect(b.wrappedValue == [1], "a copy is not changed through the original")
        a.wrappedValue = nil
        #expect(a.wrappedValue == nil && b.wrappedValue == [1])
    }
}
