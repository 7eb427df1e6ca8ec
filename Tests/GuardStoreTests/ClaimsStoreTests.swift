import Foundation
import GuardStore
import Testing

/// Claims as the store keeps them: one live claim per job and guard, released once, never
/// deleted (the triggers hold even against raw SQL).
@Suite("Claims store")
struct ClaimsStoreTests {
    static let cron = ClaimHolder(kind: .session, sid: 500, sidStart: 1000, bootID: "boot-a", description: "cron")
    static let exec = ClaimHolder(kind: .process, pid: 600, pidStart: 2000, sid: 500, sidStart: 1000, bootID: "boot-a")
    static let nightly = ClaimHolder(kind: .key, bootID: "boot-a", key: "nightly", description: "nightly")

    @Test("a job that claims one guard twice holds one live claim")
    func addTwiceKeepsOne() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            let id = try makeGuard(store, path: "/mnt/a", at: .applied)
            #expect(try store.addClaim(guardID: id, holder: Self.cron, runID: nil, actor: testActor))
            #expect(try !store.addClaim(guardID: id, holder: Self.cron, runID: nil, actor: testActor))
            // The description is not part of the identity: the same session, named differently.
            var renamed = Self.cron
            renamed.description = "sh"
            #expect(try !store.addClaim(guardID: id, holder: renamed, runID: nil, actor: testActor))
            let live = try store.liveClaims(guardID: id)
            #expect(live.count == 1)
            #expect(live.first?.holder == Self.cron)
            // Another job (the same session's exec) is a claim of its own.
            #expect(try store.addClaim(guardID: id, holder: Self.exec, runID: nil, actor: testActor))
            #expect(try store.liveClaims(guardID: id).map(\.holder) == [Self.cron, Self.exec])
            // Once released, the same job may claim again: a new row, the old one kept as history.
            try store.releaseClaim(guardID: id, holder: Self.cron, reason: "released by its job", runID: nil)
            #expect(try store.addClaim(guardID: id, holder: Self.cron, runID: nil, actor: testActor))
            let all = try store.claims(guardID: id)
            #expect(all.map(\.holder.canonicalKey) == [Self.cron, Self.exec, Self.cron].map(\.canonicalKey))
            #expect(all.map(\.isLive) == [false, true, true])
        }
    }

    @Test("a claim is released once; the trigger refuses a second change and any delete")
    func releasedOnce() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            let run = try store.beginRun(phase: "post-backup", targets: ["/mnt/a"], dryRun: false, actor: testActor)
            let id = try makeGuard(store, path: "/mnt/a", at: .applied)
            try store.addClaim(guardID: id, holder: Self.nightly, runID: nil, actor: testActor)
            let claim = try #require(try store.liveClaims(guardID: id).first)
            try store.releaseClaims([ClaimRelease(claimID: claim.id, reason: "released by its job")], runID: run)
            // Released again through the API: left as it was.
            try store.releaseClaims([ClaimRelease(claimID: claim.id, reason: "stale: again")], runID: nil)
            try store.releaseClaim(guardID: id, holder: Self.nightly, reason: "stale: again", runID: nil)
            let released = try #require(try store.claims(guardID: id).first)
            #expect(released.releaseReason == "released by its job")
            #expect(released.releasedRunID == run)
            #expect(released.releasedAt != nil)
            #expect(try store.liveClaims(guardID: id).isEmpty)

            let db = store.database
            for sql in [
                "UPDATE claims SET release_reason = 'rewritten' WHERE id = \(claim.id)",
                "UPDATE claims SET released_at = NULL, release_reason = NULL WHERE id = \(claim.id)",
                "DELETE FROM claims WHERE id = \(claim.id)",
            ] {
                #expect(throws: DatabaseError.self, "\(sql)") { try db.execute(sql) }
            }
            // A live claim cannot be deleted either, nor moved to another guard or holder.
            try store.addClaim(guardID: id, holder: Self.cron, runID: nil, actor: testActor)
            let other = try makeGuard(store, path: "/mnt/b", at: .applied)
            for sql in [
                "DELETE FROM claims WHERE released_at IS NULL",
                "UPDATE claims SET guard_id = \(other) WHERE released_at IS NULL",
                "UPDATE claims SET holder = 'key:someone-else' WHERE released_at IS NULL",
                "UPDATE claims SET claimed_at = 0 WHERE released_at IS NULL",
            ] {
                #expect(throws: DatabaseError.self, "\(sql)") { try db.execute(sql) }
            }
            #expect(try store.claims(guardID: id).map(\.releaseReason) == ["released by its job", nil])
            #expect(try db.rows("PRAGMA integrity_check") { $0.text(0) } == ["ok"])
        }
    }

    @Test("liveClaims groups the live claims by guard, oldest first, and leaves out released ones")
    func liveClaimsGrouping() throws {
        try withTemporaryDirectory { dir in
            let store = try makeStore(dir)
            defer { store.close() }
            let a = try makeGuard(store, path: "/mnt/a", at: .applied)
            let b = try makeGuard(store, path: "/mnt/b", at: .applied)
            let c = try makeGuard(store, path: "/mnt/c", at: .applied)
            try store.addClaim(guardID: a, holder: Self.cron, runID: nil, actor: testActor)
            try store.addClaim(guardID: b, holder: Self.nightly, runID: nil, actor: testActor)
            try store.addClaim(guardID: a, holder: Self.exec, runID: nil, actor: testActor)
            try store.addClaim(guardID: a, holder: Self.nightly, runID: nil, actor: testActor)
            try store.addClaim(guardID: c, holder: Self.cron, runID: nil, actor: testActor)
            try store.releaseClaim(guardID: a, holder: Self.exec, reason: "released by its job", runID: nil)
            try store.releaseClaim(guardID: c, holder: Self.cron, reason: "released by its job", runID: nil)

            let live = try store.liveClaims()
            #expect(Set(live.keys) == [a, b])
            #expect(live[a]?.map(\.holder) == [Self.cron, Self.nightly])
            #expect(live[b]?.map(\.holder) == [Self.nightly])
            #expect(live.values.joined().allSatisfy { $0.isLive && $0.releaseReason == nil })
            #expect(try store.liveClaims(guardID: a) == live[a])
            #expect(try store.liveClaims(guardID: c).isEmpty)
            #expect(try store.claims(guardID: c).count == 1)
        }
    }

    /// A v2 store (before the claims table; also without v4's run columns and v5's rescues)
    /// read by a reader that may not migrate it: it has no claims, and reading them is no error.
    @Test("a read-only reader of a version 2 store sees no claims")
    func versionTwoReaderSeesNone() throws {
        try withTemporaryDirectory { dir in
            let path = "\(dir)/guards.db"
            let store = try makeStore(dir)
            let id = try makeGuard(store, path: "/mnt/a", at: .applied)
            try store.addClaim(guardID: id, holder: Self.cron, runID: nil, actor: testActor)
            store.close()
            let raw = try Database(path: path, mode: .readWrite)
            try raw.executeScript("DROP TABLE claims; DROP TABLE rescue_entries; DROP TABLE rescues")
            for column in ["interrupted_by", "pid", "pid_start"] { try raw.execute("ALTER TABLE runs DROP COLUMN \(column)") }
            try raw.execute("PRAGMA user_version = 2")
            raw.close()
            let before = try Data(contentsOf: URL(fileURLWithPath: path))

            let reader = try GuardStore.open(path: path, mode: .readOnly)
            #expect(try reader.database.int64("PRAGMA user_version") == 2)
            #expect(try reader.outstandingGuards().map(\.path) == ["/mnt/a"])
            #expect(try reader.liveClaims().isEmpty)
            #expect(try reader.liveClaims(guardID: id).isEmpty)
            #expect(try reader.claims(guardID: id).isEmpty)
            reader.close()
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "a reader never migrates")
        }
    }
}
