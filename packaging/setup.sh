# Sourced by the packaging tests: installs the Debian tools they need when missing
# (as root only; the tests skip without root). mmdebstrap makes the clean rootfs,
# systemd-container boots it (systemd-nspawn), lintian checks the .deb, prometheus
# brings promtool for the alerting rules.
pkg_test_tools=()
command -v mmdebstrap >/dev/null 2>&1 || pkg_test_tools+=(mmdebstrap)
command -v systemd-nspawn >/dev/null 2>&1 || pkg_test_tools+=(systemd-container)
command -v lintian >/dev/null 2>&1 || pkg_test_tools+=(lintian)
command -v promtool >/dev/null 2>&1 || pkg_test_tools+=(prometheus)
if [ ${#pkg_test_tools[@]} -gt 0 ] && [ "$(id -u)" -eq 0 ]; then
    echo "packaging/setup.sh: installing ${pkg_test_tools[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkg_test_tools[@]}" >&2
fi
