import FoundationEssentials
import GuardRender
@testable import GuardStore
import Testing

/// Records list their document fields once (`DocumentFields`); JSON is written from the list
/// directly. The direct bytes must be what the same value gives through any `Encoder`
/// (Foundation's JSONEncoder with sorted keys; our own `JSONEncoding` through `encode(to:)`),
/// which also proves each list is in byte order of its keys.
@Suite struct DocumentFieldsTests {
    /// The value through `encode(to:)` only (the direct overload is not chosen for it).
    struct ThroughEncoder<T: Encodable>: Encodable {
        let value: T
        func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
    }

    func direct<T: DocumentFields>(_ value: T) throws -> String {
        let encoding = JSONEncoding()
        try encoding.encode(value)
        return String(decoding: encoding.take(), as: UTF8.self)
    }

    func viaEncoders<T: Encodable>(_ value: T) throws -> (foundation: String, ours: String) {
        let foundation = JSONEncoder()
        foundation.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        foundation.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(Timestamp.rfc3339(date))
        }
        let encoding = JSONEncoding()
        try encoding.encode(ThroughEncoder(value: value))
        return (String(decoding: try foundation.encode(value), as: UTF8.self), String(decoding: encoding.take(), as: UTF8.self))
    }

    static let t0 = Date(timeIntervalSince1970: 1_764_547_200.125)

    static let full = GuardRecord(
        id: 7, path: "/mnt/pve/nfs \"1\"", kind: .bind, lifetime: .transient, status: GuardStatus(.pending, .clearDeferred),
        reason: "shadowed\nby storage", device: 2049, inode: UInt64(Int64.max) + 5, mountID: 1 << 40, mountIDIsUnique: true,
        mountNamespace: 4_026_531_841, bootID: "boot-a", label: "restore-42", runID: 3, createdAt: t0, updatedAt: t0 + 1)
    static let sparse = GuardRecord(
        id: 8, path: "/mnt/x", kind: .immutable, lifetime: .persistent, status: GuardStatus(.applied), reason: nil,
        device: nil, inode: nil, mountID: nil, mountIDIsUnique: false, mountNamespace: nil, bootID: "b", label: nil,
        runID: nil, createdAt: t0, updatedAt: t0)
    static let holder = ClaimHolder(kind: .process, pid: 600, pidStart: 2000, sid: 500, sidStart: 1000, bootID: "boot-a",
                                    key: "nightly", description: "cron job")
    static let claim = ClaimRecord(id: 4, guardID: 7, holder: holder, runID: 3, claimedAt: t0, actor: "t")
    static let bareClaim = ClaimRecord(id: 5, guardID: 7, holder: ClaimHolder(kind: .session, sid: 9, bootID: "b"),
                                       runID: nil, claimedAt: t0, actor: "t")

    @Test(arguments: [full, sparse])
    func aGuardRecord(_ record: GuardRecord) throws {
        let (foundation, ours) = try viaEncoders(record)
        #expect(try direct(record) == foundation)
        #expect(ours == foundation)
    }

    @Test(arguments: [[], [claim], [claim, bareClaim]])
    func aGuardListedWithItsClaims(_ claims: [ClaimRecord]) throws {
        for record in [Self.full, Self.sparse] {
            let listing = GuardListing(record: record, claims: claims)
            let (foundation, ours) = try viaEncoders(listing)
            #expect(try direct(listing) == foundation)
            #expect(ours == foundation)
            #expect(foundation.contains(#""boot_id":"\#(record.bootID)","claims":["#), "claims sort after boot_id")
        }
    }

    @Test(arguments: [
        GuardEvent(id: 1, guardID: 7, path: "/mnt/a", from: nil, to: GuardStatus(.pending, .applying), reason: nil,
                   at: t0, runID: nil, actor: "hook-runner"),
        GuardEvent(id: 2, guardID: 7, path: "/mnt/a", from: GuardStatus(.pending, .applying), to: GuardStatus(.applied),
                   reason: "read-only bind", at: t0, runID: 9, actor: "hook-runner"),
    ])
    func aGuardEvent(_ event: GuardEvent) throws {
        let (foundation, ours) = try viaEncoders(event)
        #expect(try direct(event) == foundation)
        #expect(ours == foundation)
    }

    @Test(arguments: [claim, bareClaim])
    func aClaim(_ claim: ClaimRecord) throws {
        let (foundation, ours) = try viaEncoders(claim)
        #expect(try direct(claim) == foundation)
        #expect(ours == foundation)
    }
}
