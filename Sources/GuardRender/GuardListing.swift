import GuardStore

/// A guard in JSON (`guards`, `status`): the record, with its live claims as `claims`.
package struct GuardListing: DocumentFields {
    package var record: GuardRecord
    package var claims: [ClaimRecord]

    package init(record: GuardRecord, claims: [ClaimRecord]) { self.record = record; self.claims = claims }

    package func documentFields<S: DocumentFieldSink>(_ sink: inout S) throws {
        var s = InsertingFieldSink(sink, adding: claims, as: "claims")
        try record.documentFields(&s)
        try s.flush()
        sink = s.base
    }

    package func encode(to encoder: any Encoder) throws { try encodeFields(to: encoder) }
}
