import Glibc

/// Errors of the guard store with a meaning of their own. Anything else SQLite reports
/// surfaces as `DatabaseError`.
package enum StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The store file does not exist and the caller did not ask to create it.
    case notFound(path: String)
    /// The file exists but is not a usable SQLite database (not a regular file, empty, wrong
    /// header or page size, truncated, unreadable, or SQLite cannot open it or read its schema). It was
    /// left untouched; `doctor`, not every open, runs `quick_check` (`integrityProblems`).
    case notADatabase(path: String, reason: String)
    /// The store could not be read in this mode (e.g. a WAL store opened read-only by a user who
    /// can neither map its -shm nor create one). It was left untouched.
    case cannotRead(path: String, reason: String)
    /// A valid SQLite database that is not a GuardHooks store. It was left untouched.
    case notAGuardStore(path: String, reason: String)
    /// The store was written by a newer GuardHooks: refused, left untouched.
    case futureSchema(path: String, found: Int, known: Int)
    /// The store needs a migration but was opened read-only.
    case migrationNeeded(path: String, found: Int, known: Int)
    /// A write was attempted on a store opened read-only.
    /// A file root must not trust: not root's alone, or not a regular file (StoreTrust).
    case untrusted(path: String, reason: String)
    case readOnly(path: String)
    /// The state machine refuses `from → to` for this guard. Nothing was written.
    case illegalTransition(guardID: GuardID, from: GuardStatus?, to: GuardStatus)
    /// A path already has an outstanding (non-cleared, non-failed) guard. Nothing was written.
    case duplicateOutstanding(path: String)
    case unknownGuard(id: GuardID)
    case unknownRun(id: RunID)
    /// A row holds values the model cannot represent (the CHECKs should make this impossible).
    case corruptRow(table: String, id: Int64, reason: String)
    /// A filesystem step of opening or creating the store failed (`errno` and what was tried).
    case fileSystem(path: String, operation: String, errno: Int32)

    package var description: String {
        switch self {
        case .notFound(let path):
            return "guard store \(path) does not exist"
        case .notADatabase(let path, let reason):
            return "\(path) is not a usable SQLite database (\(reason)); left untouched"
        case .cannotRead(let path, let reason):
            return "cannot read guard store \(path): \(reason); left untouched"
        case .notAGuardStore(let path, let reason):
            return "\(path) is not a GuardHooks store (\(reason)); left untouched"
        case .futureSchema(let path, let found, let known):
            return "\(path) has schema version \(found), newer than the \(known) this GuardHooks knows; "
                + "upgrade GuardHooks (the store was left untouched)"
        case .migrationNeeded(let path, let found, let known):
            return "\(path) has schema version \(found) and needs migrating to \(known); open it read-write once"
        case .untrusted(let path, let reason):
            return "\(path): refused: \(reason); left untouched"
        case .readOnly(let path):
            return "guard store \(path) is open read-only"
        case .illegalTransition(let id, let from, let to):
            return "guard \(id): illegal transition \(from?.description ?? "∅") → \(to); nothing was written"
        case .duplicateOutstanding(let path):
            return "\(path) already has an outstanding guard; nothing was written"
        case .unknownGuard(let id):
            return "no guard with id \(id)"
        case .unknownRun(let id):
            return "no run with id \(id)"
        case .corruptRow(let table, let id, let reason):
            return "\(table) row \(id) is corrupt: \(reason)"
        case .fileSystem(let path, let operation, let errno):
            return "\(operation) \(path): \(String(cString: strerror(errno)))"
        }
    }
}
