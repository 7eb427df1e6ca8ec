#!/usr/bin/env python3
"""A FUSE filesystem that stops answering: the stand-in for a dead NFS or SMB server.

Usage: dead_fuse.py MOUNTPOINT TRIGGER

It serves an empty root directory until the file TRIGGER exists; from then on every
request blocks forever, and TRIGGER.blocked exists once one has (like a hard NFS mount whose server is gone). Killing the daemon
aborts the connection, which releases every process blocked in it.
"""
import errno
import os
import stat
import sys
import threading
import time

try:
    from fuse import FUSE, FuseOSError, Operations  # PyPI fusepy
except ImportError:
    from fusepy import FUSE, FuseOSError, Operations  # Debian python3-fusepy

NEVER = threading.Event()


class DeadWhenTriggered(Operations):
    def __init__(self, trigger):
        self.trigger = trigger

    def __call__(self, op, *args):
        if op not in ("init", "destroy") and os.path.exists(self.trigger):
            open(self.trigger + ".blocked", "a").close()  # tests wait for a caller to be stuck
            NEVER.wait()  # never set: the request is never answered
        return super().__call__(op, *args)

    def getattr(self, path, fh=None):
        if path != "/":
            raise FuseOSError(errno.ENOENT)
        now = time.time()
        return {"st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2,
                "st_atime": now, "st_mtime": now, "st_ctime": now}

    def readdir(self, path, fh):
        return [".", ".."]


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: dead_fuse.py MOUNTPOINT TRIGGER")
    # Multithreaded: each blocked request holds one thread, the others keep blocking too.
    # attr_timeout/entry_timeout 0: the kernel cannot answer from its cache after the trigger.
    FUSE(DeadWhenTriggered(sys.argv[2]), sys.argv[1], foreground=True, nothreads=False,
         fsname="deadnfs", attr_timeout=0, entry_timeout=0)
