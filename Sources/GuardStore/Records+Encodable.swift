/// How the records read in the command line's JSON documents (`guards`, `history`, `runs`,
/// `status`): where that shape differs from the stored fields. DESIGN.md documents it.
/// Guards, their events and claims list their fields once (`DocumentFields`): JSON is written
/// from that list directly.

extension GuardRecord: DocumentFields {
    /// The status as two fields, `state` and `pending_action`.
    @inlinable package func documentFields<S: DocumentFieldSink>(_ s: inout S) throws {
        try s.field("boot_id", bootID); try s.field("created_at", createdAt); try s.field("device", device)
        try s.field("id", id); try s.field("inode", inode); try s.field("kind", kind.rawValue)
        try s.field("label", label); try s.field("lifetime", lifetime.rawValue); try s.field("mount_id", mountID)
        try s.field("mount_id_unique", mountIDIsUnique); try s.field("mount_namespace", mountNamespace)
        try s.field("path", path); try s.field("pending_action", pendingAction?.rawValue); try s.field("reason", reason)
        try s.field("run_id", runID); try s.field("state", state.rawValue); try s.field("updated_at", updatedAt)
    }

    public func encode(to encoder: any Encoder) throws { try encodeFields(to: encoder) }
}

extension GuardEvent: DocumentFields {
    /// The statuses as `from_state`/`from_action` and `to_state`/`to_action`.
    @inlinable package func documentFields<S: DocumentFieldSink>(_ s: inout S) throws {
        try s.field("actor", actor); try s.field("at", at); try s.field("from_action", from?.action?.rawValue)
        try s.field("from_state", from?.state.rawValue); try s.field("guard_id", guardID); try s.field("id", id)
        try s.field("path", path); try s.field("reason", reason); try s.field("run_id", runID)
        try s.field("to_action", to.action?.rawValue); try s.field("to_state", to.state.rawValue)
    }

    public func encode(to encoder: any Encoder) throws { try encodeFields(to: encoder) }
}

extension RunRecord {
    /// The hook-runner process (`pid`, `pid_start`) is not part of the document.
    enum CodingKeys: String, CodingKey {
        case id, phase, targets, dryRun, startedAt, finishedAt, exitCode, actor, hooks, interruptedBy
    }
}

extension ClaimRecord: DocumentFields {
    /// A live claim as `guards` shows it: the holder's identity as one string (`holder`) and
    /// its parts for people and scripts.
    @inlinable package func documentFields<S: DocumentFieldSink>(_ s: inout S) throws {
        try s.field("claimed_at", claimedAt); try s.field("description", holder.description)
        try s.field("holder", holder.canonicalKey); try s.field("id", id); try s.field("key", holder.key)
        try s.field("kind", holder.kind.rawValue); try s.field("pid", holder.pid); try s.field("run_id", runID)
        try s.field("session", holder.sid)
    }

    package func encode(to encoder: any Encoder) throws { try encodeFields(to: encoder) }
}

extension ClaimEvent: Encodable {
    private enum DocumentKeys: String, CodingKey { case actor, at, claim, guardID, path, reason, runID }

    /// The claim as `guards` shows it; `actor` of an added claim, `reason` of a released one.
    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: DocumentKeys.self)
        try c.encodeIfPresent(change == .added ? claim.actor : nil, forKey: .actor)
        try c.encode(at, forKey: .at); try c.encode(claim, forKey: .claim)
        try c.encode(claim.guardID, forKey: .guardID); try c.encode(path, forKey: .path)
        try c.encodeIfPresent(change == .released ? claim.releaseReason : nil, forKey: .reason)
        try c.encodeIfPresent(runID, forKey: .runID)
    }
}
