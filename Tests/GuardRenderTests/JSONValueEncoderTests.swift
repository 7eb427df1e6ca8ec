import FoundationEssentials
import GuardRender
import Testing

/// `JSONValueEncoder`: the tree an `Encodable` value becomes, before any writing.
@Suite struct JSONValueEncoderTests {
    struct Names: Encodable {
        var bootID = 1, mountIDIsUnique = 2, dryRun = 3, runID = 4
        var isReadOnlySelfBind = 5, id = 6, a_b = 7, file2Name = 8
    }

    /// Keys as JSONEncoder's `convertToSnakeCase` makes them (what the documents have always had).
    @Test func keysAreSnakeCaseAsJSONEncoderMakesThem() throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        let foundation = String(decoding: try encoder.encode(Names()), as: UTF8.self) + "\n"
        #expect(try captured { fd in try Render.json(Names(), fd: fd) } == foundation)
        guard case .object(let members) = try JSONValueEncoder().encode(Names()) else { Issue.record("not an object"); return }
        #expect(members["boot_id"] == .integer(1) && members["mount_id_is_unique"] == .integer(2))
    }

    enum Colour: String, Encodable { case deepRed = "deep-red" }

    struct Mixed: Encodable {
        var colour = Colour.deepRed
        var when = Date(timeIntervalSince1970: 0.25)
        var list: [Int8] = [-1, 2]
        var nothing: String? = nil
    }

    @Test func enumsAreRawValuesDatesRFC3339AndAbsentOptionalsLeftOut() throws {
        #expect(try JSONValueEncoder().encode(Mixed()) == .object([
            "colour": .string("deep-red"), "when": .string("1970-01-01T00:00:00.250Z"),
            "list": .array([.integer(1, negative: true), .integer(2)]),
        ]))
    }

    /// A type that adds members to another's encoding (a guard with its claims) asks the
    /// same encoder for a second keyed container; an explicit nil is `null`.
    struct Extended: Encodable {
        var base = Mixed()
        enum Keys: String, CodingKey { case extra, explicitNull }
        func encode(to encoder: any Encoder) throws {
            try base.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(true, forKey: .extra)
            try c.encodeNil(forKey: .explicitNull)
        }
    }

    @Test func aSecondKeyedContainerAddsToTheSameObject() throws {
        guard case .object(let members) = try JSONValueEncoder().encode(Extended()) else { Issue.record("not an object"); return }
        #expect(members.keys.sorted() == ["colour", "explicit_null", "extra", "list", "when"])
        #expect(members["explicit_null"] == .null && members["extra"] == .bool(true))
    }

    struct Nesting: Encodable {
        enum Keys: String, CodingKey { case inner, items }
        enum InnerKeys: String, CodingKey { case deepValue }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            var inner = c.nestedContainer(keyedBy: InnerKeys.self, forKey: .inner)
            try inner.encode("x", forKey: .deepValue)
            var items = c.nestedUnkeyedContainer(forKey: .items)
            try items.encodeNil()
            var sub = items.nestedUnkeyedContainer()
            try sub.encode(UInt64.max)
        }
    }

    @Test func nestedContainers() throws {
        #expect(try JSONValueEncoder().encode(Nesting()) == .object([
            "inner": .object(["deep_value": .string("x")]),
            "items": .array([.null, .array([.integer(UInt64.max, negative: false)])]),
        ]))
    }

    @Test func floatingPointIsRefused() {
        #expect(throws: EncodingError.self) { try JSONValueEncoder().encode(["ratio": 0.5]) }
    }
}
