#!/usr/bin/env bash
# install-service.sh - installs the systemd unit ameshd@.service: one peer
# per instance, run as the unprivileged user `amesh' (README, "Running it
# under systemd"). Idempotent. Run as root after `cmake --install build`.
#
#   deploy/install-service.sh [--bindir DIR] [--unitdir DIR] [--no-user]
#
#   --bindir DIR   where ameshd is installed (default: the directory of the
#                  ameshd on PATH, else /usr/local/bin)
#   --unitdir DIR  where the unit goes (default /etc/systemd/system)
#   --no-user      do not create the user, group and /var/lib/amesh (for
#                  rendering the unit elsewhere, as the tests do)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bindir=""
unitdir=/etc/systemd/system
make_user=1
while [ $# -gt 0 ]; do
	case $1 in
	--bindir) bindir=$2; shift 2 ;;
	--unitdir) unitdir=$2; shift 2 ;;
	--no-user) make_user=0; shift ;;
	-h|--help) sed -n '2,14p' "$0"; exit 0 ;;
	*) echo "install-service: unknown option \`$1' (see --help)" >&2; exit 2 ;;
	esac
done
if [ -z "$bindir" ]; then
	if p=$(command -v ameshd); then bindir=$(dirname "$p"); else bindir=/usr/local/bin; fi
fi
[ -x "$bindir/ameshd" ] || { echo "install-service: no executable $bindir/ameshd (cmake --install build, or --bindir)" >&2; exit 1; }
[ -x "$bindir/amesh" ] || { echo "install-service: no executable $bindir/amesh beside ameshd (the unit's ExecReload runs it; cmake --install build, or --bindir)" >&2; exit 1; }
case $bindir in *[!A-Za-z0-9/._-]*) echo "install-service: unusual characters in \`$bindir'" >&2; exit 1 ;; esac

if [ "$make_user" = 1 ]; then
	[ "$(id -u)" -eq 0 ] || { echo "install-service: run as root (or with --no-user --unitdir DIR)" >&2; exit 1; }
	getent group amesh >/dev/null || groupadd --system amesh
	getent passwd amesh >/dev/null ||
		useradd --system --gid amesh --home-dir /var/lib/amesh --no-create-home \
		        --shell /usr/sbin/nologin --comment "Abuse Mesh peers" amesh
	install -d -o amesh -g amesh -m 0750 /var/lib/amesh
fi
install -d "$unitdir"
sed "s#/usr/local/bin/amesh#$bindir/amesh#g" "$here/systemd/ameshd@.service" >"$unitdir/ameshd@.service.tmp"
chmod 0644 "$unitdir/ameshd@.service.tmp"
mv "$unitdir/ameshd@.service.tmp" "$unitdir/ameshd@.service"
echo "install-service: installed $unitdir/ameshd@.service (ameshd from $bindir)"
if [ "$unitdir" = /etc/systemd/system ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload
fi
