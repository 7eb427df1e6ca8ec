import FoundationEssentials
import GuardStore

/// The encoder handed to one value's `encode(to:)`: its containers write into the frame at
/// `depth` (all containers of one value share it, as a second keyed container must add to
/// the same object).
struct ByteEncoder: Encoder {
    let encoding: JSONEncoding
    let depth: Int
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        encoding.shape(depth, .object)
        return KeyedEncodingContainer(KeyedByteContainer(encoder: self))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        encoding.shape(depth, .array)
        return UnkeyedByteContainer(encoder: self)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleByteContainer(encoder: self) }
}

/// The typed `encode` overloads of the container protocols are all served by the generic one.
struct KeyedByteContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: ByteEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    mutating func encodeNil(forKey key: Key) throws { encoder.encoding.nullEntry(encoder.depth, key: key) }

    // The scalars of our records, without the generic path (`encodeIfPresent` comes here too).
    mutating func encode(_ value: String, forKey key: Key) throws { encoder.encoding.scalarEntry(encoder.depth, key: key) { $0.string(value) } }
    mutating func encode(_ value: Bool, forKey key: Key) throws {
        encoder.encoding.scalarEntry(encoder.depth, key: key) { $0.literal(value ? "true" : "false") }
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { encoder.encoding.scalarEntry(encoder.depth, key: key) { $0.integer(value) } }
    mutating func encode(_ value: Int64, forKey key: Key) throws { encoder.encoding.scalarEntry(encoder.depth, key: key) { $0.integer(value) } }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { encoder.encoding.scalarEntry(encoder.depth, key: key) { $0.integer(value) } }
    mutating func encode(_ value: Int32, forKey key: Key) throws { encoder.encoding.scalarEntry(encoder.depth, key: key) { $0.integer(value) } }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { encoder.encoding.scalarEntry(encoder.depth, key: key) { $0.integer(value) } }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try encoder.encoding.entry(encoder.depth, key: key, value, path: encoder.codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                        forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        encoder.encoding.deferredEntry(encoder.depth, key: key, codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        encoder.encoding.deferredEntry(encoder.depth, key: key, codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { superEncoder(forKey: Key(stringValue: "super")!) }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        encoder.encoding.deferredEntry(encoder.depth, key: key, codingPath: codingPath + [key])
    }
}

struct UnkeyedByteContainer: UnkeyedEncodingContainer {
    let encoder: ByteEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }
    var count: Int { encoder.encoding.entryCount(encoder.depth) }

    mutating func encodeNil() throws { encoder.encoding.nullEntry(encoder.depth, key: nil) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try encoder.encoding.entry(encoder.depth, key: nil, value, path: encoder.codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        encoder.encoding.deferredEntry(encoder.depth, key: nil, codingPath: codingPath).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        encoder.encoding.deferredEntry(encoder.depth, key: nil, codingPath: codingPath).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { encoder.encoding.deferredEntry(encoder.depth, key: nil, codingPath: codingPath) }
}

struct SingleByteContainer: SingleValueEncodingContainer {
    let encoder: ByteEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    mutating func encodeNil() throws { encoder.encoding.singleNull(encoder.depth) }

    // An enum's raw value, a wrapped id: without the generic path.
    mutating func encode(_ value: String) throws { encoder.encoding.singleScalar(encoder.depth) { $0.string(value) } }
    mutating func encode(_ value: Int64) throws { encoder.encoding.singleScalar(encoder.depth) { $0.integer(value) } }
    mutating func encode(_ value: UInt64) throws { encoder.encoding.singleScalar(encoder.depth) { $0.integer(value) } }
    mutating func encode(_ value: Int) throws { encoder.encoding.singleScalar(encoder.depth) { $0.integer(value) } }
    mutating func encode(_ value: Double) throws { throw JSONEncoding.refuseFloat(value, codingPath) }
    mutating func encode(_ value: Float) throws { throw JSONEncoding.refuseFloat(value, codingPath) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try encoder.encoding.single(encoder.depth, value, path: encoder.codingPath)
    }
}

/// Writes a record's fields (`DocumentFields`, in key order already) as members of the object
/// `JSONEncoding.encode` opened, into the buffer it lends (`out`).
struct JSONFieldSink: DocumentFieldSink {
    let encoding: JSONEncoding
    var out: [UInt8]

    mutating func field(_ key: StaticString, _ value: String?) throws {
        guard let value else { return }
        JSONBytes.member(key, into: &out); JSONBytes.string(value, into: &out)
    }

    mutating func field(_ key: StaticString, _ value: Int64?) throws {
        guard let value else { return }
        JSONBytes.member(key, into: &out); JSONBytes.integer(value, into: &out)
    }

    mutating func field(_ key: StaticString, _ value: Int32?) throws {
        guard let value else { return }
        JSONBytes.member(key, into: &out); JSONBytes.integer(value, into: &out)
    }

    mutating func field(_ key: StaticString, _ value: Bool) throws {
        JSONBytes.member(key, into: &out); JSONBytes.literal(value ? "true" : "false", into: &out)
    }

    mutating func field(_ key: StaticString, _ value: Date) throws {
        JSONBytes.member(key, into: &out); JSONBytes.string(Timestamp.rfc3339(value), into: &out)
    }

    /// Any other value goes through the encoder, which writes to its own buffer: lend it back.
    mutating func field<T: Encodable>(_ key: StaticString, encoding value: T) throws {
        JSONBytes.member(key, into: &out)
        try encoding.appendEncoded(value, to: &out, path: [DocumentKey(key)])
    }
}
