# Sourced by packaging/test-deb and packaging/test-nspawn: a fresh clean Debian rootfs,
# booting it with a probe, and reading the probe's "== SECTION" output.

# nspawn_test_init NAME: skips (exit 0, with a message) without root; otherwise installs
# the tools, sets $work and $root (a fresh rootfs from packaging/rootfs) and deletes both
# at exit (after lifting the container's seals, which would block the delete).
nspawn_test_init() {
    test_name=$1
    if [ "$(id -u)" -ne 0 ]; then
        echo "$test_name: SKIPPED: needs root (mmdebstrap, systemd-nspawn, chattr in the container)" >&2
        exit 0
    fi
    . scripts/setup.sh
    . packaging/setup.sh
    work=$(mktemp -d "/var/tmp/guard-hooks-$test_name.XXXXXX")
    root=$work/rootfs
    trap nspawn_cleanup EXIT
    packaging/rootfs "$root"
    pass=0 fail=0
}
nspawn_cleanup() {
    [ ! -d "$root/mnt" ] || chattr -R -i "$root/mnt" 2>/dev/null || true
    rm -rf "$work"
}

# A command in the container, not booted (dpkg -i, systemctl enable/preset work offline).
# --pipe: plain stdout, never a pty (which would end lines with \r); nspawn's notice about
# its propagation directory is dropped.
nspawn() { systemd-nspawn -q --pipe -D "$root" --register=no --keep-unit "$@" 2> >(grep -v "propagate" >&2); }

# boot_with_probe SCRIPT: boots the container once; SCRIPT runs as a service after
# multi-user.target, writes /root/probe.out and powers off. Sets $out.
boot_with_probe() {
    install -m 0755 "$1" "$root/root/probe.sh"
    cat > "$root/etc/systemd/system/guard-hooks-probe.service" <<'UNIT'
[Unit]
Description=guard-hooks test probe
After=multi-user.target guard-hooks-seal.service
[Service]
Type=simple
ExecStart=/root/probe.sh
UNIT
    ln -sf /etc/systemd/system/guard-hooks-probe.service "$root/etc/systemd/system/multi-user.target.wants/guard-hooks-probe.service"
    echo "$test_name: booting the container" >&2
    timeout 600 systemd-nspawn -q -D "$root" --register=no --keep-unit --boot --console=pipe >/dev/null 2>&1 || true
    out=$(cat "$root/root/probe.out" 2>/dev/null || echo "no probe output: the container did not boot to multi-user")
    printf '%s\n' "$out" | sed 's/^/    /' >&2
}

check() { if eval "$2"; then pass=$((pass + 1)); else echo "$test_name: FAILED: $1" >&2; fail=$((fail + 1)); fi; }
section() { awk -v name="== $1" '$0 == name {on=1; next} /^== / {on=0} on' <<<"$out"; }
# has / hasnt DESCRIPTION SECTION REGEX: the probe's section has (has not) a matching line.
has() { local name=$2 pattern=$3; check "$1" 'section "$name" | grep -qE -- "$pattern"'; }
hasnt() { local name=$2 pattern=$3; check "$1" '! section "$name" | grep -qE -- "$pattern"'; }
# The closing line, and the exit status.
nspawn_test_done() {
    check "the probe ran to the end" 'grep -qx "== end" <<<"$out"'
    echo "$test_name: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}
