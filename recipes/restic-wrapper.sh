#!/bin/sh
# restic with its repository on a storage mountpoint that may be offline:
#
#   restic-wrapper.sh MOUNTPOINT [RESTIC ARG...]
#   e.g. RESTIC_PASSWORD_FILE=/root/.restic-pw \
#        restic-wrapper.sh /mnt/backup -r /mnt/backup/restic backup /srv
#
# MOUNTPOINT is the storage's mountpoint (not the repository below it): guarding it covers
# the repository. Offline: restic cannot write its lock/pack files and fails; the wrapper
# exits non-zero. If pre-backup fails, restic never starts (exit 1). RESTIC selects the
# binary (default restic), HOOK_RUNNER hook-runner; see guarded-backup.sh for the protocol
# (`hook-runner exec`).
set -u
[ "$#" -ge 1 ] || { echo "usage: $0 MOUNTPOINT [RESTIC ARG...]" >&2; exit 64; }
target=$1; shift
# hook-runner: HOOK_RUNNER if set, else the path the installer wrote in, else PATH's. None
# found: exit 127 before anything runs.
installed='@HOOK_RUNNER@'
case $installed in @*) installed=hook-runner ;; esac
exec "${HOOK_RUNNER:-$installed}" exec --phase backup "$target" -- "${RESTIC:-restic}" "$@"
