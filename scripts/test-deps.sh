#!/usr/bin/env bash
# test-deps.sh installs the OS packages the tests drive for real: OpenLDAP's
# slapd (with ldap-utils) for the LDAP sign-in tests, Chromium for the
# browser tests and Node.js with npm for the interoperability suite
# (interop/, which runs npm ci itself). It installs only what is missing, as root or through
# passwordless sudo; otherwise it prints what to install and exits 0, so that
# `make test` then skips those tests loudly (or fails them when
# LATCHKEY_TEST_REQUIRE_SERVICES=1, as in CI).
set -euo pipefail

# binary → Debian package
declare -A need=(
	[/usr/sbin/slapd]=slapd
	[/usr/bin/ldapsearch]=ldap-utils
	[/usr/bin/chromium]=chromium
)

missing=()
for bin in /usr/sbin/slapd /usr/bin/ldapsearch /usr/bin/chromium; do
	if [ ! -x "$bin" ]; then
		missing+=("${need[$bin]}")
	fi
done
# node and npm anywhere on PATH will do (nvm, a tarball, Debian's packages).
for cmd in node npm; do
	if ! command -v "$cmd" >/dev/null 2>&1; then
		case "$cmd" in
		node) missing+=(nodejs) ;;
		npm) missing+=(npm) ;;
		esac
	fi
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "test-deps: slapd, ldap-utils, chromium, node and npm are installed"
	exit 0
fi

install() {
	"$@" apt-get update -q
	"$@" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

if ! command -v apt-get >/dev/null 2>&1; then
	echo "test-deps: no apt-get here; install these packages (or your system's equivalents): ${missing[*]}" >&2
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	install
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	install sudo -n
else
	echo "test-deps: missing test packages; install them with:" >&2
	echo "  sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ${missing[*]}" >&2
	echo "test-deps: until then the LDAP, browser and interop tests are skipped (or fail with LATCHKEY_TEST_REQUIRE_SERVICES=1)" >&2
	exit 0
fi
echo "test-deps: installed ${missing[*]}"
