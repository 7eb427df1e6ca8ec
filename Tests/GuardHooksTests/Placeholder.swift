import Testing

@Test func placeholderGuardHooksTests() { #expect(Bool(true)) }
