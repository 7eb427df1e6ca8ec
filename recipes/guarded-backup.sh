#!/bin/sh
# Runs a backup command with its storage mountpoint guarded:
#
#   guarded-backup.sh MOUNTPOINT -- COMMAND [ARG...]
#
# 1. hook-runner run pre-backup MOUNTPOINT  (the shipped hook guards it if it is OFFLINE)
# 2. COMMAND ARG...                          (offline: its writes fail with EROFS/EPERM
#                                             instead of filling the root filesystem)
# 3. hook-runner run post-backup MOUNTPOINT (always, from an EXIT trap: clears the guard;
#                                             one under mounted storage stays pending)
#
# Exit status: COMMAND's; if COMMAND succeeded, a failing post-backup's; if pre-backup
# fails, its status, and COMMAND does not run. Set HOOK_RUNNER to another binary if needed.
set -u
HOOK_RUNNER=${HOOK_RUNNER:-hook-runner}

if [ "$#" -lt 3 ] || [ "$2" != "--" ]; then
    echo "usage: $0 MOUNTPOINT -- COMMAND [ARG...]" >&2
    exit 64
fi
target=$1
shift 2

post_backup() {
    rc=$?
    trap - EXIT INT TERM HUP
    "$HOOK_RUNNER" run post-backup "$target" >&2
    post=$?
    if [ "$post" -ne 0 ]; then
        echo "$0: post-backup for $target failed (exit $post): see hook-runner guards --outstanding" >&2
        [ "$rc" -eq 0 ] && rc=$post
    fi
    exit "$rc"
}
trap post_backup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

"$HOOK_RUNNER" run pre-backup "$target" >&2 || {
    rc=$?
    echo "$0: pre-backup for $target failed (exit $rc): not running $1" >&2
    exit "$rc"
}
"$@"
