#!/bin/sh
# Runs a backup command with its storage mountpoint guarded:
#
#   guarded-backup.sh MOUNTPOINT -- COMMAND [ARG...]
#
# `hook-runner exec` does the whole protocol, in one process that is this job:
# 1. pre-backup MOUNTPOINT  (the shipped hook guards it if it is OFFLINE, and the guard is
#                            claimed for this job)
# 2. COMMAND ARG...         (offline: its writes fail with EROFS/EPERM instead of filling
#                            the root filesystem); INT, TERM and HUP are passed on to it
# 3. post-backup MOUNTPOINT (always, also after a failure or a signal: releases this job's
#                            claim; the guard goes only when no other job still holds it,
#                            and one under mounted storage stays pending)
#
# Fails closed: if pre-backup fails, COMMAND does not run and the exit status is 1 (65 for
# a target hook-runner refuses, 77 without root). Otherwise it is COMMAND's (128+N for
# signal N). A failing post-backup is shown on stderr and by `hook-runner runs`; what it
# left is listed by `hook-runner guards --outstanding`. Set HOOK_RUNNER to another binary
# if needed.
set -u

if [ "$#" -lt 3 ] || [ "$2" != "--" ]; then
    echo "usage: $0 MOUNTPOINT -- COMMAND [ARG...]" >&2
    exit 64
fi
target=$1
shift 2
# hook-runner: HOOK_RUNNER if set, else the path the installer wrote in, else PATH's. None
# found: exit 127 before anything runs.
installed='@HOOK_RUNNER@'
case $installed in @*) installed=hook-runner ;; esac
exec "${HOOK_RUNNER:-$installed}" exec --phase backup "$target" -- "$@"
