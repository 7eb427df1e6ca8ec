#!/usr/bin/env python3
"""Floors: the least a workload can cost, measured in-process so that no interpreter start-up
is counted. Prints the elapsed seconds of the measured part on stdout. Used by bench.py.

  floor.py store-apply DB PATHS   the writes `apply` records for PATHS (one per line), and
                                  nothing else: per target a guard insert and an event insert
                                  (1 transaction), then an update and an event insert (1
                                  transaction); executemany (the loop runs in C), WAL,
                                  synchronous=FULL, the same libsqlite3 hook-runner links.
  floor.py store-clear DB PATHS   the same for `clear`: 2 transactions of update + event per target.
  floor.py bind PATHS             the bare syscalls of a bind guard and its removal, per target:
                                  mount(MS_BIND), mount(MS_REMOUNT|MS_BIND|MS_RDONLY), umount2.
"""
import ctypes
import os
import sqlite3
import sys
import time

EVENT = ("INSERT INTO events (guard_id, from_state, from_action, to_state, to_action, reason, at, run_id, actor) "
         "VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)")
UPDATE = "UPDATE guards SET state = ?, pending_action = ?, reason = ?, updated_at = ? WHERE id = ?"
ACTOR = "floor (uid 0, pid 1)"


def connect(db):
    c = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    c.execute("PRAGMA foreign_keys = ON")
    c.execute("PRAGMA synchronous = FULL")
    return c


def settle(c, ids, frm, to, now):
    c.execute("BEGIN IMMEDIATE")
    c.executemany(UPDATE, [(to[0], to[1], "floor", now, gid) for gid in ids])
    c.executemany(EVENT, [(gid, frm[0], frm[1], to[0], to[1], "floor", now, ACTOR) for gid in ids])
    c.execute("COMMIT")


def store_apply(db, paths):
    c = connect(db)
    now = int(time.time() * 1000)
    c.execute("BEGIN IMMEDIATE")
    c.executemany("INSERT INTO guards (path, kind, lifetime, state, pending_action, device, inode, mount_ns, "
                  "boot_id, created_at, updated_at) VALUES (?, 'immutable', 'transient', 'pending', 'applying', "
                  "2049, 1, 1, 'b', ?, ?)", [(p, now, now) for p in paths])
    last = c.execute("SELECT last_insert_rowid()").fetchone()[0]
    ids = list(range(last - len(paths) + 1, last + 1))   # one transaction: consecutive rowids
    c.executemany(EVENT, [(gid, None, None, "pending", "applying", None, now, ACTOR) for gid in ids])
    c.execute("COMMIT")
    settle(c, ids, ("pending", "applying"), ("applied", None), now)
    c.close()


def store_clear(db, paths):
    c = connect(db)
    now = int(time.time() * 1000)
    # The floor store holds nothing but these guards.
    ids = [r[0] for r in c.execute("SELECT id FROM guards WHERE state <> 'cleared'")]
    assert len(ids) == len(paths), (len(ids), len(paths))
    settle(c, ids, ("applied", None), ("pending", "clearing"), now)
    settle(c, ids, ("pending", "clearing"), ("cleared", None), now)
    c.close()


def bind(paths):
    libc = ctypes.CDLL(None, use_errno=True)
    MS_RDONLY, MS_REMOUNT, MS_BIND = 1, 32, 4096
    for p in paths:
        b = p.encode()
        if libc.mount(b, b, None, MS_BIND, None) != 0 or \
           libc.mount(None, b, None, MS_REMOUNT | MS_BIND | MS_RDONLY, None) != 0:
            raise OSError(ctypes.get_errno(), f"mount {p}")
    for p in paths:
        if libc.umount2(p.encode(), 0) != 0:
            raise OSError(ctypes.get_errno(), f"umount {p}")


def main():
    mode = sys.argv[1]
    with open(sys.argv[-1]) as f:
        paths = f.read().split()
    t0 = time.perf_counter()
    if mode == "store-apply":
        store_apply(sys.argv[2], paths)
    elif mode == "store-clear":
        store_clear(sys.argv[2], paths)
    elif mode == "bind":
        bind(paths)
    else:
        sys.exit(f"floor.py: unknown mode {mode}")
    print(f"{time.perf_counter() - t0:.9f}")


if __name__ == "__main__":
    main()
