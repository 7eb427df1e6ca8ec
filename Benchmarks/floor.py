#!/usr/bin/env python3
"""Floors: the least a workload can cost, measured in-process so that no interpreter start-up
is counted. Prints the elapsed seconds of the measured part on stdout. Used by bench.py.

  floor.py store-apply DB PATHS   the store statements of `apply` on PATHS (one per line):
                                  per target a lookup by path, a guard insert, an event insert and
                                  a read back (1 transaction), then a read, an update, an event
                                  insert and a read back (1 transaction); synchronous=FULL, WAL,
                                  prepared statements, the same libsqlite3 hook-runner links.
  floor.py store-clear DB PATHS   the same for `clear` (lookup, then 2 transactions of
                                  read + update + event + read back).
  floor.py bind PATHS             the bare syscalls of a bind guard and its removal, per target:
                                  mount(MS_BIND), mount(MS_REMOUNT|MS_BIND|MS_RDONLY), umount2.
"""
import ctypes
import os
import sqlite3
import sys
import time

COLS = ("id, path, kind, lifetime, state, pending_action, reason, device, inode, mount_id, mount_id_unique, "
        "mount_ns, boot_id, label, run_id, created_at, updated_at")
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
    for gid in ids:
        c.execute(f"SELECT {COLS} FROM guards WHERE id = ?", (gid,)).fetchone()
        c.execute(UPDATE, (to[0], to[1], "floor", now, gid))
        c.execute(EVENT, (gid, frm[0], frm[1], to[0], to[1], "floor", now, ACTOR))
        c.execute(f"SELECT {COLS} FROM guards WHERE id = ?", (gid,)).fetchone()
    c.execute("COMMIT")


def store_apply(db, paths):
    c = connect(db)
    now = int(time.time() * 1000)
    ids = []
    c.execute("BEGIN IMMEDIATE")
    for p in paths:
        c.execute(f"SELECT {COLS} FROM guards WHERE path = ? AND state <> 'cleared'", (p,)).fetchone()
        cur = c.execute("INSERT INTO guards (path, kind, lifetime, state, pending_action, device, inode, mount_ns, "
                        "boot_id, created_at, updated_at) VALUES (?, 'immutable', 'transient', 'pending', 'applying', "
                        "2049, 1, 1, 'b', ?, ?)", (p, now, now))
        gid = cur.lastrowid
        c.execute(EVENT, (gid, None, None, "pending", "applying", None, now, ACTOR))
        c.execute(f"SELECT {COLS} FROM guards WHERE id = ?", (gid,)).fetchone()
        ids.append(gid)
    c.execute("COMMIT")
    settle(c, ids, ("pending", "applying"), ("applied", None), now)
    c.close()


def store_clear(db, paths):
    c = connect(db)
    now = int(time.time() * 1000)
    ids = [c.execute(f"SELECT {COLS} FROM guards WHERE path = ? AND state <> 'cleared'", (p,)).fetchone()[0]
           for p in paths]
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
