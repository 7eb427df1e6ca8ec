/// A JSON value as our documents hold it: what `JSONValueEncoder` makes of an `Encodable`
/// value and `JSONWriter.value` writes (an object's members in byte order of their keys).
package indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// An integer as magnitude and sign: every Swift integer type fits.
    case integer(UInt64, negative: Bool)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    package static func integer<I: BinaryInteger>(_ i: I) -> JSONValue { .integer(UInt64(i.magnitude), negative: i < 0) }
}
