import GuardStore

/// `GUARD_HOOKS_RUN_ID`, which hook-runner gives its hooks so the guards they change are
/// linked to the run (issue 14, item 9). A stale or foreign value (a copied environment, a
/// store switched with `--db`) names no run, and linking to it would fail every recording
/// command on the foreign key: such a value is dropped with a warning and the changes are
/// recorded without a run.
package enum RunReference {
    /// The run `raw` names in the store at `storePath`, or nil and why it is ignored. A store
    /// that cannot be opened keeps the value: the command itself reports that store.
    package static func resolve(_ raw: String?, storePath: String) -> (runID: RunID?, warning: String?) {
        guard let raw, !raw.isEmpty else { return (nil, nil) }
        guard let id = RunID(raw), id > 0 else {
            return (nil, "GUARD_HOOKS_RUN_ID=\(raw.debugDescription) is not a run id; ignored")
        }
        let store: GuardStore
        do { store = try GuardStore.open(path: storePath, mode: .readOnly) } catch StoreError.notFound {
            return (nil, "GUARD_HOOKS_RUN_ID=\(id) names no run (\(storePath) does not exist); ignored")
        } catch {
            return (id, nil)
        }
        defer { store.close() }
        do {
            if try store.run(id: id) != nil { return (id, nil) }
        } catch {
            return (id, nil)
        }
        return (nil, "GUARD_HOOKS_RUN_ID=\(id) names no run in \(storePath); ignored")
    }
}
