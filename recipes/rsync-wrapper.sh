#!/bin/sh
# rsync into a storage mountpoint that may be offline, guarded by GuardHooks:
#
#   rsync-wrapper.sh MOUNTPOINT [RSYNC ARG...]
#   e.g. rsync-wrapper.sh /mnt/backup -a --delete /srv/data/ /mnt/backup/data/
#
# Offline storage: the guard makes rsync fail (EROFS, rsync exit 23/11) and the wrapper
# exits non-zero, instead of rsync quietly filling the root filesystem. Online: untouched.
# If pre-backup fails, rsync never starts (exit 1). RSYNC selects the binary (default
# rsync), HOOK_RUNNER hook-runner; see guarded-backup.sh for the protocol (`hook-runner exec`).
set -u
[ "$#" -ge 1 ] || { echo "usage: $0 MOUNTPOINT [RSYNC ARG...]" >&2; exit 64; }
target=$1; shift
# hook-runner: HOOK_RUNNER if set, else the path the installer wrote in, else PATH's. None
# found: exit 127 before anything runs.
installed='@HOOK_RUNNER@'
case $installed in @*) installed=hook-runner ;; esac
exec "${HOOK_RUNNER:-$installed}" exec --phase backup "$target" -- "${RSYNC:-rsync}" "$@"
