import Testing

@Test func placeholderGuardStoreTests() { #expect(Bool(true)) }
