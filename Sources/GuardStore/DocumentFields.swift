import FoundationEssentials

/// Where a record's document fields go: JSON bytes written directly (GuardRender's
/// `JSONEncoding`), or any `Encoder` (`encodeFields(to:)`).
@usableFromInline package protocol DocumentFieldSink {
    mutating func field(_ key: StaticString, _ value: String?) throws
    mutating func field(_ key: StaticString, _ value: Int64?) throws
    mutating func field(_ key: StaticString, _ value: Int32?) throws
    mutating func field(_ key: StaticString, _ value: Bool) throws
    mutating func field(_ key: StaticString, _ value: Date) throws
    mutating func field<T: Encodable>(_ key: StaticString, encoding value: T) throws
}

extension DocumentFieldSink {
    @inlinable package mutating func field(_ key: StaticString, _ value: UInt64?) throws {
        // Device numbers, inodes, mount ids and namespaces: all below 2^63 on Linux, but
        // written as they are even if not.
        guard let value else { return }
        if let signed = Int64(exactly: value) { try field(key, signed) } else { try field(key, encoding: value) }
    }
}

/// A record as the command line's JSON documents show it, its fields listed once, **in byte
/// order of their snake_case keys** (a nil value is left out). JSON is written from the list
/// directly, with no `Encoder` in between (a listing of 10,000 guards, BENCHMARKS.md workload
/// 5); `Encodable` goes through the same list, so the two cannot disagree
/// (DocumentFieldsTests compares them, and checks the order).
@usableFromInline package protocol DocumentFields: Encodable {
    func documentFields<S: DocumentFieldSink>(_ sink: inout S) throws
}

extension DocumentFields {
    /// `encode(to:)` of a record: its fields in a keyed container, keys as in the documents.
    package func encodeFields(to encoder: any Encoder) throws {
        var sink = EncoderFieldSink(container: encoder.container(keyedBy: DocumentKey.self))
        try documentFields(&sink)
    }
}

/// A document's key, as written (already snake_case).
package struct DocumentKey: CodingKey {
    package let stringValue: String
    package init(_ key: StaticString) { stringValue = key.description }
    package init?(stringValue: String) { self.stringValue = stringValue }
    package var intValue: Int? { nil }
    package init?(intValue: Int) { nil }
}

struct EncoderFieldSink: DocumentFieldSink {
    var container: KeyedEncodingContainer<DocumentKey>

    mutating func field(_ key: StaticString, _ value: String?) throws { try container.encodeIfPresent(value, forKey: DocumentKey(key)) }
    mutating func field(_ key: StaticString, _ value: Int64?) throws { try container.encodeIfPresent(value, forKey: DocumentKey(key)) }
    mutating func field(_ key: StaticString, _ value: Int32?) throws { try container.encodeIfPresent(value, forKey: DocumentKey(key)) }
    mutating func field(_ key: StaticString, _ value: Bool) throws { try container.encode(value, forKey: DocumentKey(key)) }
    mutating func field(_ key: StaticString, _ value: Date) throws { try container.encode(value, forKey: DocumentKey(key)) }
    mutating func field<T: Encodable>(_ key: StaticString, encoding value: T) throws {
        try container.encode(value, forKey: DocumentKey(key))
    }
}

/// Forwards a record's fields and adds one of its own where its key sorts (a guard listed
/// with its claims): the list stays in byte order without the record knowing.
@usableFromInline package struct InsertingFieldSink<Base: DocumentFieldSink, Value: Encodable>: DocumentFieldSink {
    @usableFromInline package var base: Base
    @usableFromInline let key: StaticString
    @usableFromInline let value: Value
    /// Until the added field is written (a plain flag: the sink is on every field's path).
    @usableFromInline var pending = true

    @inlinable package init(_ base: Base, adding value: Value, as key: StaticString) {
        self.base = base; self.key = key; self.value = value
    }

    /// Writes the added field before the first key that sorts after it (or at the end).
    @inlinable package mutating func flush(before next: StaticString? = nil) throws {
        guard pending else { return }
        if let next, !Self.precedes(key, next) { return }
        pending = false
        try base.field(key, encoding: value)
    }

    @inlinable static func precedes(_ a: StaticString, _ b: StaticString) -> Bool {
        let (x, y) = (UnsafeBufferPointer(start: a.utf8Start, count: a.utf8CodeUnitCount),
                      UnsafeBufferPointer(start: b.utf8Start, count: b.utf8CodeUnitCount))
        return x.lexicographicallyPrecedes(y)
    }

    @inlinable package mutating func field(_ key: StaticString, _ value: String?) throws { try flush(before: key); try base.field(key, value) }
    @inlinable package mutating func field(_ key: StaticString, _ value: Int64?) throws { try flush(before: key); try base.field(key, value) }
    @inlinable package mutating func field(_ key: StaticString, _ value: Int32?) throws { try flush(before: key); try base.field(key, value) }
    @inlinable package mutating func field(_ key: StaticString, _ value: Bool) throws { try flush(before: key); try base.field(key, value) }
    @inlinable package mutating func field(_ key: StaticString, _ value: Date) throws { try flush(before: key); try base.field(key, value) }
    @inlinable package mutating func field<T: Encodable>(_ key: StaticString, encoding value: T) throws {
        try flush(before: key); try base.field(key, encoding: value)
    }
}
