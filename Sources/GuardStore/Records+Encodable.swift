/// How the records read in the command line's JSON documents (`guards`, `history`, `runs`,
/// `status`): where that shape differs from the stored fields. DESIGN.md documents it.

extension GuardRecord {
    private enum DocumentKeys: String, CodingKey {
        case id, path, kind, lifetime, state, pendingAction, reason, device, inode, mountID
        case mountIDIsUnique = "mount_id_unique"
        case mountNamespace, bootID, label, runID, createdAt, updatedAt
    }

    /// The status as two fields, `state` and `pending_action`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: DocumentKeys.self)
        try c.encode(id, forKey: .id); try c.encode(path, forKey: .path)
        try c.encode(kind, forKey: .kind); try c.encode(lifetime, forKey: .lifetime)
        try c.encode(state, forKey: .state); try c.encodeIfPresent(pendingAction, forKey: .pendingAction)
        try c.encodeIfPresent(reason, forKey: .reason)
        try c.encodeIfPresent(device, forKey: .device); try c.encodeIfPresent(inode, forKey: .inode)
        try c.encodeIfPresent(mountID, forKey: .mountID); try c.encode(mountIDIsUnique, forKey: .mountIDIsUnique)
        try c.encodeIfPresent(mountNamespace, forKey: .mountNamespace); try c.encode(bootID, forKey: .bootID)
        try c.encodeIfPresent(label, forKey: .label); try c.encodeIfPresent(runID, forKey: .runID)
        try c.encode(createdAt, forKey: .createdAt); try c.encode(updatedAt, forKey: .updatedAt)
    }
}

extension GuardEvent {
    private enum DocumentKeys: String, CodingKey {
        case id, guardID, path, fromState, fromAction, toState, toAction, reason, at, runID, actor
    }

    /// The statuses as `from_state`/`from_action` and `to_state`/`to_action`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: DocumentKeys.self)
        try c.encode(id, forKey: .id); try c.encode(guardID, forKey: .guardID); try c.encode(path, forKey: .path)
        try c.encodeIfPresent(from?.state, forKey: .fromState); try c.encodeIfPresent(from?.action, forKey: .fromAction)
        try c.encode(to.state, forKey: .toState); try c.encodeIfPresent(to.action, forKey: .toAction)
        try c.encodeIfPresent(reason, forKey: .reason); try c.encode(at, forKey: .at)
        try c.encodeIfPresent(runID, forKey: .runID); try c.encode(actor, forKey: .actor)
    }
}

extension RunRecord {
    /// The hook-runner process (`pid`, `pid_start`) is not part of the document.
    enum CodingKeys: String, CodingKey {
        case id, phase, targets, dryRun, startedAt, finishedAt, exitCode, actor, hooks, interruptedBy
    }
}

extension ClaimRecord {
    private enum DocumentKeys: String, CodingKey {
        case id, runID, claimedAt, description, holder, key, kind, pid, session
    }

    /// A live claim as `guards` shows it: the holder's identity as one string (`holder`) and
    /// its parts for people and scripts.
    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: DocumentKeys.self)
        try c.encode(id, forKey: .id); try c.encodeIfPresent(runID, forKey: .runID)
        try c.encode(claimedAt, forKey: .claimedAt)
        try c.encodeIfPresent(holder.description, forKey: .description)
        try c.encode(holder.canonicalKey, forKey: .holder)
        try c.encodeIfPresent(holder.key, forKey: .key); try c.encode(holder.kind, forKey: .kind)
        try c.encodeIfPresent(holder.pid, forKey: .pid); try c.encodeIfPresent(holder.sid, forKey: .session)
    }
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
