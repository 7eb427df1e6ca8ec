import Testing

@Test func placeholderKernelTests() { #expect(Bool(true)) }
