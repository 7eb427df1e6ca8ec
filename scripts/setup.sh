# Sourced by the top-level scripts: puts Swift on PATH and installs what is missing.
# Idempotent; installs only when a tool or header is absent.
set -euo pipefail
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH=/opt/swift/usr/bin:$PATH
fi
command -v swift >/dev/null 2>&1 || { echo "setup: no swift toolchain on PATH (expected /opt/swift)" >&2; exit 69; }

need_pkgs=()
pkg-config --exists sqlite3 2>/dev/null || need_pkgs+=(libsqlite3-dev pkg-config)
command -v sqlite3 >/dev/null 2>&1 || need_pkgs+=(sqlite3)
command -v lsattr >/dev/null 2>&1 || need_pkgs+=(e2fsprogs)
command -v findmnt >/dev/null 2>&1 || need_pkgs+=(util-linux)
command -v run-parts >/dev/null 2>&1 || need_pkgs+=(debianutils)
# The dead-storage tests mount a FUSE filesystem that stops answering (Tests/Fixtures/dead_fuse.py).
command -v fusermount3 >/dev/null 2>&1 || need_pkgs+=(fuse3)
PATH=/usr/bin:/bin python3 -c 'import fusepy' 2>/dev/null || PATH=/usr/bin:/bin python3 -c 'import fuse' 2>/dev/null || need_pkgs+=(python3-fusepy)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: missing ${need_pkgs[*]}; install them as root (apt-get install ${need_pkgs[*]})" >&2
        exit 69
    fi
    echo "setup: installing ${need_pkgs[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >&2
fi

# Python modules some tests use: prometheus_client parses `hook-runner metrics` with the
# real exposition-format parser; PyYAML checks the borgmatic recipes.
if [ "$(id -u)" -eq 0 ]; then
    python3 -c 'import prometheus_client' 2>/dev/null \
        || python3 -m pip install --quiet --disable-pip-version-check prometheus_client >&2
    python3 -c 'import yaml' 2>/dev/null \
        || python3 -m pip install --quiet --disable-pip-version-check PyYAML >&2
fi

# Packaging (`make`, `make deb`): make, dpkg-shlibdeps and strip/objcopy (dpkg-dev pulls
# in binutils).
pkg_tools=()
command -v make >/dev/null 2>&1 || pkg_tools+=(make)
command -v dpkg-shlibdeps >/dev/null 2>&1 || pkg_tools+=(dpkg-dev)
if [ ${#pkg_tools[@]} -gt 0 ] && [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing ${pkg_tools[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkg_tools[@]}" >&2 \
        || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkg_tools[@]}" >&2; }
fi

# The real backup clients the recipe tests run (Tests/AdapterTests/RecipeEndToEnd*Tests.swift):
# borg, restic and rsnapshot from Debian; borgmatic from PyPI, the latest 2.x and the last
# 1.9.x (its hooks are configured differently), each in a venv of its own under
# GUARD_HOOKS_TEST_TOOLS (outside the repository). Root only; without them those tests skip.
export GUARD_HOOKS_TEST_TOOLS=${GUARD_HOOKS_TEST_TOOLS:-/opt/guard-hooks-test}
if [ "$(id -u)" -eq 0 ]; then
    clients=()
    command -v borg >/dev/null 2>&1 || clients+=(borgbackup)
    command -v restic >/dev/null 2>&1 || clients+=(restic)
    command -v rsnapshot >/dev/null 2>&1 || clients+=(rsnapshot)
    command -v rsync >/dev/null 2>&1 || clients+=(rsync)
    if [ ${#clients[@]} -gt 0 ]; then
        echo "setup: installing ${clients[*]}" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${clients[@]}" >&2 \
            || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${clients[@]}" >&2; }
    fi
    for spec in "2:borgmatic>=2.1,<3" "1.9:borgmatic>=1.9,<1.10"; do
        venv=$GUARD_HOOKS_TEST_TOOLS/borgmatic-${spec%%:*}
        [ -x "$venv/bin/borgmatic" ] && continue
        echo "setup: installing ${spec#*:} into $venv" >&2
        rm -rf "$venv"
        python3 -m venv "$venv" 2>/dev/null || {
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >&2
            /usr/bin/python3 -m venv "$venv"
        }
        "$venv/bin/pip" install --quiet --disable-pip-version-check "${spec#*:}" >&2
    done
fi
