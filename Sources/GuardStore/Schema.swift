/// The store's schema as numbered migrations. Step N brings `PRAGMA user_version` from N-1
/// to N inside its own transaction, so a crash leaves the store at a whole version.
enum Schema {
    /// `PRAGMA application_id` of a GuardHooks store: "GHKS". Tells our files from other SQLite files.
    static let applicationID: Int64 = 0x4748_4B53

    static var knownVersion: Int { migrations.count }
    /// The oldest version a read-only connection can query as is: v2 only dropped an index,
    /// so `guards` and `history` keep working on a v1 store until the next write migrates it.
    static let oldestReadableVersion = 1

    static let migrations: [String] = [version1, version2, version3, version4, version5]

    /// The triggers the migrations create (and no views): any other is refused on open.
    static let ownTriggers: Set<String> = Set(migrations.flatMap { sql in
        sql.split(whereSeparator: \.isWhitespace).split(separator: "TRIGGER").dropFirst().compactMap { $0.first.map(String.init) }
    })

    // STRICT tables: a wrong type is an error, not a silently stored string.
    // A CHECK on a list of more than two values is spelled `c = 'a' OR c = 'b' OR …`, not
    // `c IN ('a', 'b', …)`: same truth table (NULL stays NULL, so a NULL column passes either
    // way), but SQLite 3.40 evaluates a constant IN list of more than two values by building
    // an ephemeral table on every statement execution, which dominated a batch's SQLite time
    // (BENCHMARKS.md).
    static let version1 = """
    PRAGMA application_id = \(applicationID);

    CREATE TABLE runs (
        id          INTEGER PRIMARY KEY,
        phase       TEXT NOT NULL,
        targets     TEXT NOT NULL DEFAULT '',   -- newline-joined (paths cannot contain newlines)
        dry_run     INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
        started_at  INTEGER NOT NULL,           -- unix milliseconds, UTC
        finished_at INTEGER,
        exit_code   INTEGER,
        actor       TEXT NOT NULL
    ) STRICT;
    CREATE INDEX runs_by_phase ON runs(phase, started_at);
    CREATE INDEX runs_by_start ON runs(started_at);

    CREATE TABLE guards (
        id              INTEGER PRIMARY KEY,
        path            TEXT NOT NULL CHECK (length(path) > 0),
        kind            TEXT NOT NULL CHECK (kind IN ('bind', 'immutable')),
        lifetime        TEXT NOT NULL CHECK (lifetime IN ('transient', 'persistent')),
        state           TEXT NOT NULL CHECK (state = 'pending' OR state = 'applied' OR state = 'failed' OR state = 'cleared'),
        pending_action  TEXT CHECK (pending_action = 'applying' OR pending_action = 'clearing' OR pending_action = 'clear-deferred'),
        reason          TEXT,
        device          INTEGER,
        inode           INTEGER,
        mount_id        INTEGER,
        mount_id_unique INTEGER NOT NULL DEFAULT 0 CHECK (mount_id_unique IN (0, 1)),
        mount_ns        INTEGER,
        boot_id         TEXT NOT NULL,
        label           TEXT,
        run_id          INTEGER REFERENCES runs(id),
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        CHECK ((state = 'pending') = (pending_action IS NOT NULL))
    ) STRICT;
    -- At most one outstanding guard per path, enforced by the database, not only by code.
    CREATE UNIQUE INDEX guards_one_outstanding_per_path ON guards(path) WHERE state <> 'cleared';
    CREATE INDEX guards_by_path ON guards(path);
    CREATE INDEX guards_by_state ON guards(state);
    -- Cleared is terminal: guarding the path again makes a new row.
    CREATE TRIGGER guards_cleared_is_terminal BEFORE UPDATE ON guards
        WHEN OLD.state = 'cleared'
        BEGIN SELECT RAISE(ABORT, 'a cleared guard is terminal'); END;

    CREATE TABLE events (
        id          INTEGER PRIMARY KEY,
        guard_id    INTEGER NOT NULL REFERENCES guards(id),
        from_state  TEXT CHECK (from_state = 'pending' OR from_state = 'applied' OR from_state = 'failed' OR from_state = 'cleared'),
        from_action TEXT CHECK (from_action = 'applying' OR from_action = 'clearing' OR from_action = 'clear-deferred'),
        to_state    TEXT NOT NULL CHECK (to_state = 'pending' OR to_state = 'applied' OR to_state = 'failed' OR to_state = 'cleared'),
        to_action   TEXT CHECK (to_action = 'applying' OR to_action = 'clearing' OR to_action = 'clear-deferred'),
        reason      TEXT,
        at          INTEGER NOT NULL,
        run_id      INTEGER REFERENCES runs(id),
        actor       TEXT NOT NULL,
        CHECK (from_state IS NOT NULL OR from_action IS NULL),
        CHECK (from_state IS NULL OR (from_state = 'pending') = (from_action IS NOT NULL)),
        CHECK ((to_state = 'pending') = (to_action IS NOT NULL))
    ) STRICT;
    CREATE INDEX events_by_guard ON events(guard_id);
    -- History is append-only.
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

    CREATE TABLE hook_results (
        id          INTEGER PRIMARY KEY,
        run_id      INTEGER NOT NULL REFERENCES runs(id),
        seq         INTEGER NOT NULL,
        name        TEXT NOT NULL,
        path        TEXT NOT NULL,
        outcome     TEXT NOT NULL CHECK (outcome = 'ok' OR outcome = 'soft-skip' OR outcome = 'failed' OR outcome = 'skipped'),
        exit_code   INTEGER,
        signal      INTEGER,
        timed_out   INTEGER NOT NULL DEFAULT 0 CHECK (timed_out IN (0, 1)),
        started_at  INTEGER,
        finished_at INTEGER,
        output_tail TEXT NOT NULL DEFAULT '',
        reason      TEXT,
        UNIQUE (run_id, seq)                    -- also the index for "results of a run"
    ) STRICT;
    """

    /// v2: `guards_by_state` goes. It served only `guards --state`, and every guard write paid
    /// for it (two index changes per state change: BENCHMARKS.md).
    /// The partial unique index holds exactly the rows not `cleared`, so it serves a listing
    /// of any other state; `cleared` rows are listed in rowid order by a table scan, which is
    /// what a listing of most of the table costs anyway.
    static let version2 = """
    DROP INDEX guards_by_state;
    """

    /// v3: claims, one per job that relies on a guard (DESIGN.md "Claims"). A claim is never
    /// deleted: releasing it stamps when, why and by which run, once; that row is its history.
    /// `holder` is the job's canonical key (its kind, ids and boot), unique among the live
    /// claims of one guard, so a job that runs pre twice holds one claim.
    static let version3 = """
    CREATE TABLE claims (
        id              INTEGER PRIMARY KEY,
        guard_id        INTEGER NOT NULL REFERENCES guards(id),
        holder          TEXT NOT NULL CHECK (length(holder) > 0),
        kind            TEXT NOT NULL CHECK (kind = 'session' OR kind = 'process' OR kind = 'key'),
        pid             INTEGER,
        pid_start       INTEGER,
        sid             INTEGER,
        sid_start       INTEGER,
        boot_id         TEXT NOT NULL,
        key             TEXT,
        token           TEXT,
        description     TEXT,
        run_id          INTEGER REFERENCES runs(id),
        claimed_at      INTEGER NOT NULL,
        actor           TEXT NOT NULL,
        released_at     INTEGER,
        release_reason  TEXT,
        released_run_id INTEGER REFERENCES runs(id),
        CHECK ((released_at IS NULL) = (release_reason IS NULL))
    ) STRICT;
    CREATE UNIQUE INDEX claims_one_live_per_holder ON claims(guard_id, holder) WHERE released_at IS NULL;
    CREATE INDEX claims_by_guard ON claims(guard_id);
    -- A claim is released once and otherwise never changes; none is deleted.
    CREATE TRIGGER claims_release_once BEFORE UPDATE ON claims
        WHEN OLD.released_at IS NOT NULL OR NEW.guard_id IS NOT OLD.guard_id OR NEW.holder IS NOT OLD.holder
          OR NEW.claimed_at IS NOT OLD.claimed_at OR NEW.run_id IS NOT OLD.run_id
        BEGIN SELECT RAISE(ABORT, 'a claim is released once and otherwise never changes'); END;
    CREATE TRIGGER claims_no_delete BEFORE DELETE ON claims
        BEGIN SELECT RAISE(ABORT, 'claims are kept as history'); END;
    """

    /// v4: a run ended by a signal is recorded as such (`interrupted_by`, the signal number),
    /// and a run records the process that runs it (`pid` and its start time, field 22 of
    /// `/proc/PID/stat`, against pid reuse), so a later command can tell a run whose
    /// hook-runner was SIGKILLed from one still going. Readers of older stores see NULLs.
    static let version4 = """
    ALTER TABLE runs ADD COLUMN interrupted_by INTEGER;
    ALTER TABLE runs ADD COLUMN pid INTEGER;
    ALTER TABLE runs ADD COLUMN pid_start INTEGER;
    """

    /// v5: rescues of hidden data (`hook-runner rescue`, issue 15). A rescue row is written
    /// `started` before anything moves and settled `done` after, with the entries that moved
    /// (`rescue_entries`); a row left `started` is a rescue that was interrupted, and its
    /// destination holds what had moved by then. Kept as history: never updated once settled,
    /// never deleted.
    static let version5 = """
    CREATE TABLE rescues (
        id          INTEGER PRIMARY KEY,
        path        TEXT NOT NULL CHECK (length(path) > 0),   -- the mountpoint whose bare directory was emptied
        destination TEXT NOT NULL CHECK (length(destination) > 0),
        method      TEXT NOT NULL CHECK (method IN ('rename', 'copy')),
        state       TEXT NOT NULL CHECK (state IN ('started', 'done')),
        entries     INTEGER NOT NULL DEFAULT 0,               -- entries moved, at any depth
        bytes       INTEGER NOT NULL DEFAULT 0,
        left_behind TEXT,                                     -- what stayed, and why
        started_at  INTEGER NOT NULL,
        finished_at INTEGER,
        run_id      INTEGER REFERENCES runs(id),
        actor       TEXT NOT NULL,
        CHECK ((state = 'done') = (finished_at IS NOT NULL))
    ) STRICT;
    CREATE INDEX rescues_by_path ON rescues(path);
    CREATE TABLE rescue_entries (
        rescue_id INTEGER NOT NULL REFERENCES rescues(id),
        name      TEXT NOT NULL,
        bytes     INTEGER NOT NULL,
        entries   INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX rescue_entries_by_rescue ON rescue_entries(rescue_id);
    CREATE TRIGGER rescues_settle_once BEFORE UPDATE ON rescues
        WHEN OLD.state = 'done'
        BEGIN SELECT RAISE(ABORT, 'a settled rescue never changes'); END;
    CREATE TRIGGER rescues_no_delete BEFORE DELETE ON rescues
        BEGIN SELECT RAISE(ABORT, 'rescues are kept as history'); END;
    """

    /// Brings the store from `current` to `knownVersion`, one transaction per step.
    static func migrate(_ db: Database, from current: Int) throws {
        guard current < knownVersion else { return }
        for version in (current + 1)...knownVersion {
            try db.writeTransaction {
                // Re-read inside the write lock: another process may have migrated meanwhile.
                let now = Int(try db.int64("PRAGMA user_version") ?? 0)
                guard now == version - 1 else { return }
                try db.executeScript(migrations[version - 1])
                try db.executeScript("PRAGMA user_version = \(version)")
            }
        }
    }
}
