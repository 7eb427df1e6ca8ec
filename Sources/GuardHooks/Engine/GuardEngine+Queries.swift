import GuardStore

/// The read side of the engine: every listing a client shows goes through here, so the rules
/// for opening a store (read-only, never created, errors named after the store) live in one
/// place. A store that does not exist yet reads as empty.
extension GuardEngine {
    /// Guards as selected, streamed row by row in constant memory.
    public func forEachGuard(_ selection: GuardSelection, _ body: (GuardRecord) throws -> Void) throws {
        try reading { store in try store.forEachGuard(selection, body) }
    }

    /// Guards as selected, collected.
    public func guards(_ selection: GuardSelection) throws -> [GuardRecord] {
        try reading { store in try store.guards(selection) } ?? []
    }

    /// Transitions, newest last: of one path, one guard, or all.
    public func history(path: String? = nil, guardID: GuardID? = nil, limit: Int? = nil) throws -> [GuardEvent] {
        try reading { store in
            if let guardID { return try store.history(guardID: guardID, limit: limit) }
            if let path { return try store.history(path: path, limit: limit) }
            return try store.history(limit: limit)
        } ?? []
    }

    /// Hook runs with their per-hook results, newest last.
    public func runs(phase: String? = nil, limit: Int? = nil) throws -> [RunRecord] {
        try reading { store in try store.runs(phase: phase, limit: limit) } ?? []
    }

    /// Runs `body` on the store opened read-only; nil when there is no store.
    func reading<T>(_ body: (GuardStore) throws -> T) throws -> T? {
        try mappingStoreErrors {
            guard let store = try openSession(forWriting: false).store else { return nil }
            return try body(store)
        }
    }
}


extension GuardEngine {
    /// Every live claim, by guard: who relies on which guard now.
    package func liveClaims() throws -> [GuardID: [ClaimRecord]] {
        try reading { store in try store.liveClaims() } ?? [:]
    }
}
