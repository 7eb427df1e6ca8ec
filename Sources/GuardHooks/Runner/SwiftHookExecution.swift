import FoundationEssentials

/// Runs one in-process Swift hook with the executables' outcome rules.
///
/// The timeout can only cancel the hook's task: in-process code cannot be killed, so the
/// runner then waits for the hook to notice cancellation and return. The result is
/// `failed`/timed out whatever it returns.
enum SwiftHookExecution {
    private enum Ending: Sendable {
        case returned(Int32)
        case threw(String)
        case timedOut
    }

    static func run(_ hook: any SwiftHook, phase: String, targets: [String], context: HookContext,
                    collector: OutputCollector) async -> HookResult {
        var result = HookResult(name: hook.name, path: "swift:\(hook.name)", kind: .swift,
                                outcome: .failed, startedAt: Date())
        let invocation = HookInvocation(phase: phase, targets: targets, hookName: hook.name,
                                        context: context, emit: { collector.consume($0) })
        let timeout = context.timeout
        let ending = await withTaskGroup(of: Ending?.self) { group -> Ending in
            group.addTask {
                do { return .returned(try await hook.run(invocation)) } catch { return .threw(String(describing: error)) }
            }
            group.addTask {
                do { try await Task.sleep(for: timeout) } catch { return nil }
                return .timedOut
            }
            // nil comes from the timer only when the caller cancelled us: then the hook's
            // own ending (it sees the cancellation too) is the one to report.
            var first: Ending = .timedOut
            while let next = await group.next() {
                if let ending = next { first = ending; break }
            }
            group.cancelAll()
            return first
        }
        switch ending {
        case .returned(let code):
            result.exitCode = code
            (result.outcome, result.reason) = code == 0 ? (.ok, nil) : code == 75 ? (.softSkip, nil) : (.failed, "exit \(code)")
        case .threw(let description):
            collector.consume("error: \(description)\n")
            result.reason = "threw: \(description)"
        case .timedOut:
            result.timedOut = true
            result.reason = "timed out after \(timeout.formatted)"
        }
        result.outputTail = collector.finish()
        result.finishedAt = Date()
        return result
    }
}
