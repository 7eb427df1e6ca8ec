import Synchronization

/// Turns one hook's output bytes into lines for the caller and a bounded tail for the
/// store. Locked because a Swift hook may print from several tasks at once.
final class OutputCollector: Sendable {
    private struct State {
        var splitter: LineSplitter
        var tail: OutputTail
    }

    let hook: String
    private let sink: @Sendable (HookOutputLine) -> Void
    private let state: Mutex<State>

    init(hook: String, limits: OutputLimits, sink: @escaping @Sendable (HookOutputLine) -> Void) {
        self.hook = hook
        self.sink = sink
        self.state = Mutex(State(splitter: LineSplitter(maxLineBytes: limits.maxLineBytes),
                                 tail: OutputTail(limit: limits.tailBytes)))
    }

    func consume(_ bytes: UnsafeRawBufferPointer) {
        state.withLock { state in
            state.tail.append(bytes)
            state.splitter.feed(bytes) { line, continued in emit(line, continued) }
        }
    }

    func consume(_ text: String) {
        var copy = text
        copy.withUTF8 { consume(UnsafeRawBufferPointer($0)) }
    }

    /// Flushes a last line without newline and returns the tail.
    func finish() -> String {
        state.withLock { state in
            state.splitter.finish { line, continued in emit(line, continued) }
            return state.tail.text
        }
    }

    private func emit(_ line: ArraySlice<UInt8>, _ continued: Bool) {
        sink(HookOutputLine(hook: hook, text: String(decoding: line, as: UTF8.self), isContinued: continued))
    }
}
