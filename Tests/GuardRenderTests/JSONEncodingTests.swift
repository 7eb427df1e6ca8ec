import FoundationEssentials
import GuardRender
import Testing

/// `JSONEncoding`: the bytes an `Encodable` value becomes, without a tree in between.
@Suite struct JSONEncodingTests {
    func json<T: Encodable>(_ value: T) throws -> String {
        let encoding = JSONEncoding()
        try encoding.encode(value)
        return String(decoding: encoding.take(), as: UTF8.self)
    }

    struct Names: Encodable {
        var bootID = 1, mountIDIsUnique = 2, dryRun = 3, runID = 4
        var isReadOnlySelfBind = 5, id = 6, a_b = 7, file2Name = 8
    }

    /// Keys as JSONEncoder's `convertToSnakeCase` makes them, members in byte order of their
    /// keys (what the documents have always had).
    @Test func keysAreSnakeCaseAndSortedAsJSONEncoderMakesThem() throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        let foundation = String(decoding: try encoder.encode(Names()), as: UTF8.self)
        #expect(try json(Names()) == foundation)
        #expect(try captured { fd in try Render.json(Names(), fd: fd) } == foundation + "\n")
    }

    enum Colour: String, Encodable { case deepRed = "deep-red" }

    struct Mixed: Encodable {
        var colour = Colour.deepRed
        var when = Date(timeIntervalSince1970: 0.25)
        var list: [Int8] = [-1, 2]
        var nothing: String? = nil
    }

    @Test func enumsAreRawValuesDatesRFC3339AndAbsentOptionalsLeftOut() throws {
        #expect(try json(Mixed()) == #"{"colour":"deep-red","list":[-1,2],"when":"1970-01-01T00:00:00.250Z"}"#)
    }

    /// A type that adds members to another's encoding (a guard with its claims) asks the
    /// same encoder for a second keyed container; an explicit nil is `null`.
    struct Extended: Encodable {
        var base = Mixed()
        enum Keys: String, CodingKey { case extra, explicitNull, colour }
        var overrideColour = false
        func encode(to encoder: any Encoder) throws {
            try base.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(true, forKey: .extra)
            try c.encodeNil(forKey: .explicitNull)
            if overrideColour { try c.encode("blue", forKey: .colour) }
        }
    }

    @Test func aSecondKeyedContainerAddsToTheSameObject() throws {
        #expect(try json(Extended()) ==
                #"{"colour":"deep-red","explicit_null":null,"extra":true,"list":[-1,2],"when":"1970-01-01T00:00:00.250Z"}"#)
    }

    @Test func aKeyEncodedTwiceKeepsTheLastValue() throws {
        #expect(try json(Extended(overrideColour: true)) ==
                #"{"colour":"blue","explicit_null":null,"extra":true,"list":[-1,2],"when":"1970-01-01T00:00:00.250Z"}"#)
    }

    struct Nesting: Encodable {
        enum Keys: String, CodingKey { case inner, items, zed }
        enum InnerKeys: String, CodingKey { case deepValue, another }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            var inner = c.nestedContainer(keyedBy: InnerKeys.self, forKey: .inner)
            var items = c.nestedUnkeyedContainer(forKey: .items)
            try c.encode(1, forKey: .zed)
            // Filled in after other members were encoded: written where their keys sort.
            try inner.encode("x", forKey: .deepValue)
            try items.encodeNil()
            var sub = items.nestedUnkeyedContainer()
            try sub.encode(UInt64.max)
            try inner.encode(Mixed(), forKey: .another)
            try items.encode(Int64.min)
        }
    }

    @Test func nestedContainersAreWrittenWhereTheirKeysSort() throws {
        #expect(try json(Nesting()) == #"{"inner":{"another":{"colour":"deep-red","list":[-1,2],"#
                + #""when":"1970-01-01T00:00:00.250Z"},"deep_value":"x"},"items":[null,[18446744073709551615],"#
                + #"-9223372036854775808],"zed":1}"#)
    }

    struct Nothing: Encodable { func encode(to encoder: any Encoder) throws {} }

    @Test func aValueThatEncodesNothingIsAnEmptyObject() throws {
        #expect(try json([Nothing()]) == "[{}]")
    }

    @Test func floatingPointIsRefusedAndNothingIsLeftHalfWritten() throws {
        let encoding = JSONEncoding()
        #expect(throws: EncodingError.self) { try encoding.encode(["ratio": 0.5]) }
        try encoding.encode(["ok": 1])
        #expect(String(decoding: encoding.take(), as: UTF8.self) == #"{"ok":1}"#)
        #expect(throws: EncodingError.self) { try encoding.encode([Float(1)]) }
        #expect(throws: EncodingError.self) { try encoding.encode(["a": ["b": 2.5]]) }
    }

    func foundation<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    struct Holder: Encodable {
        var byPath: [String: Int]
        var runID = 1
    }

    /// A dictionary's keys are data (paths, names): written as they are, as JSONEncoder does.
    @Test func dictionaryKeysAreWrittenAsTheyAre() throws {
        let value = Holder(byPath: ["/mnt/MyNAS": 1, "runID": 2, "b": 3, "\u{e9}t\u{e9}": 4])
        #expect(try json(value) == foundation(value))
        #expect(try json(value).hasPrefix(#"{"by_path":{"/mnt/MyNAS":1,"b":3,"runID":2,"#))
    }

    struct TwiceNested: Encodable {
        enum Keys: String, CodingKey { case a }
        enum Inner: String, CodingKey { case a, b }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            var first = c.nestedContainer(keyedBy: Inner.self, forKey: .a)
            try first.encode(1, forKey: .a)
            var second = c.nestedContainer(keyedBy: Inner.self, forKey: .a)
            try second.encode(2, forKey: .b)
        }
    }

    @Test func theSameNestedContainerAskedForTwiceAddsToTheFirst() throws {
        #expect(try json(TwiceNested()) == #"{"a":{"a":1,"b":2}}"#)
        #expect(try json(TwiceNested()) == foundation(TwiceNested()))
    }
}
