#!/usr/bin/env bash
# install-deps.sh - installs the Debian 12 packages Abuse Mesh builds and
# tests with, only those missing. Idempotent; says clearly when it cannot.
set -euo pipefail

PACKAGES=(
	build-essential cmake pkg-config     # toolchain
	libsodium-dev                        # signatures, key exchange, AEAD, Argon2id
	libnng-dev                           # transport: ipc control socket, tcp mesh
	libprotobuf-c-dev protobuf-c-compiler # every wire and control message
	liblmdb-dev                          # storage
	libidn2-dev libpsl-dev publicsuffix  # IDNA2008 names, public suffix list
	libunistring-dev                     # libidn2's own dependency: its archive, for the static CLI
	libicu-dev                           # UTS #46 for U-labels IDNA2008 refuses (as browsers map them)
	libinih-dev                          # config files
	libjansson-dev                       # JSON: warninglists, STIX and MISP feeds, --json output
	nettle-dev                           # MD5 for MISP feeds' hashes.csv (the format's own choice)
	libcmocka-dev                        # unit tests
	prometheus                           # promtool: the metrics tests validate /metrics with it
	faketime                             # libfaketime: integration_clock_step steps the daemon's wall clock
	systemd                              # systemd-analyze: the tests verify deploy/systemd/ameshd@.service
	libldns-dev                          # DNS messages and TSIG for the RPZ server
	unbound bind9 bind9-dnsutils         # real resolvers in the RPZ tests; named-checkzone, dig
)
# --fuzz: also what tests/fuzz/run.sh needs (libFuzzer ships with clang's
# runtime), kept out of the default set: the suite itself does not need it.
if [ "${1:-}" = --fuzz ]; then
	PACKAGES+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${PACKAGES[@]}"; do
	[[ $p == \#* ]] && continue
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		SUDO=sudo
	else
		echo "install-deps: missing packages: ${missing[*]}" >&2
		echo "install-deps: not root and no passwordless sudo; run as root: apt-get install ${missing[*]}" >&2
		exit 1
	fi
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get update -qq >&2 || ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
	echo "install-deps: apt-get failed (no network or no Debian mirror?); needed: ${missing[*]}" >&2
	exit 1
fi
