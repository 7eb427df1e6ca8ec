import Testing

@Test func placeholderHookRunnerTests() { #expect(Bool(true)) }
