import FoundationEssentials

/// Turns an `Encodable` value into a `JSONValue`, with the conventions of every JSON document
/// of the command line: keys are the coding keys in snake_case (`bootID` → `boot_id`, as
/// JSONEncoder's `convertToSnakeCase`), dates are RFC 3339 UTC strings (`Timestamp`), an
/// optional field with no value is left out (synthesised `encodeIfPresent`), enums are their
/// raw values. Floating-point numbers are refused: no document has one, and none should
/// depend on a float formatter. One encoder remembers the keys it has converted.
package struct JSONValueEncoder {
    private let keys = SnakeCaseKeys()

    package init() {}

    package func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        let node = Node(keys: keys)
        try node.store(value, at: [])
        return node.value
    }
}

/// The snake_case form of coding keys, each converted once per encoder.
final class SnakeCaseKeys {
    private var converted: [String: String] = [:]

    func callAsFunction(_ key: any CodingKey) -> String {
        let name = key.stringValue
        if let known = converted[name] { return known }
        let snake = Self.snakeCase(name)
        converted[name] = snake
        return snake
    }

    /// A word starts at an uppercase letter after a non-uppercase one, and at the last
    /// capital of an acronym followed by lowercase (`mountIDIsUnique` → `mount_id_is_unique`).
    static func snakeCase(_ name: String) -> String {
        let chars = Array(name)
        var out = ""
        for (i, c) in chars.enumerated() {
            if i > 0, c.isUppercase,
               !chars[i - 1].isUppercase || (i + 1 < chars.count && chars[i + 1].isLowercase) {
                out.append("_")
            }
            out += c.lowercased()
        }
        return out
    }
}

/// One value being encoded: a scalar, or the members or elements its containers add to.
/// A class, because the containers of one value (and a `superEncoder`) share it.
final class Node {
    let keys: SnakeCaseKeys
    private var scalar: JSONValue?
    private var members: [String: Node]?
    private var elements: [Node]?

    init(keys: SnakeCaseKeys) { self.keys = keys }

    /// What was encoded; a value that encoded nothing is an empty object, as with JSONEncoder.
    var value: JSONValue {
        if let elements { return .array(elements.map(\.value)) }
        if let members { return .object(members.mapValues(\.value)) }
        return scalar ?? .object([:])
    }

    var count: Int { elements?.count ?? 0 }

    func set(_ v: JSONValue) { scalar = v; members = nil; elements = nil }

    func startObject() { if members == nil { set(.null); members = [:] } }

    func startArray() { if elements == nil { set(.null); elements = [] } }

    /// The member `key`, added when new (a second keyed container of one value adds to it).
    func member(_ key: any CodingKey) -> Node {
        startObject()
        let name = keys(key)
        if let existing = members![name] { return existing }
        let child = Node(keys: keys)
        members![name] = child
        return child
    }

    func appendElement() -> Node {
        startArray()
        let child = Node(keys: keys)
        elements!.append(child)
        return child
    }

    func store<T: Encodable>(_ value: T, at path: [any CodingKey]) throws {
        switch value {
        case let v as String: set(.string(v))
        case let v as Bool: set(.bool(v))
        case let v as Date: set(.string(Timestamp.rfc3339(v)))
        case let v as any BinaryInteger: set(.integer(v))
        case is any BinaryFloatingPoint:
            throw EncodingError.invalidValue(value, .init(codingPath: path, debugDescription: "no floating-point numbers in JSON documents"))
        default: try value.encode(to: NodeEncoder(node: self, codingPath: path))
        }
    }
}

struct NodeEncoder: Encoder {
    let node: Node
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.startObject()
        return KeyedEncodingContainer(KeyedNodeContainer(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.startArray()
        return UnkeyedNodeContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleNodeContainer(node: node, codingPath: codingPath) }
}

/// The typed `encode` overloads of the container protocols are all served by the generic one.
struct KeyedNodeContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { node.member(key).set(.null) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try node.member(key).store(value, at: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                        forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        NodeEncoder(node: node.member(key), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        NodeEncoder(node: node.member(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { superEncoder(forKey: Key(stringValue: "super")!) }

    mutating func superEncoder(forKey key: Key) -> any Encoder { NodeEncoder(node: node.member(key), codingPath: codingPath + [key]) }
}

struct UnkeyedNodeContainer: UnkeyedEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]
    var count: Int { node.count }

    mutating func encodeNil() throws { node.appendElement().set(.null) }

    mutating func encode<T: Encodable>(_ value: T) throws { try node.appendElement().store(value, at: codingPath) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        NodeEncoder(node: node.appendElement(), codingPath: codingPath).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        NodeEncoder(node: node.appendElement(), codingPath: codingPath).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { NodeEncoder(node: node.appendElement(), codingPath: codingPath) }
}

struct SingleNodeContainer: SingleValueEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.set(.null) }

    mutating func encode<T: Encodable>(_ value: T) throws { try node.store(value, at: codingPath) }
}
