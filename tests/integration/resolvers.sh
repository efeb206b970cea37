# resolvers.sh - real resolvers on loopback for the RPZ tests: a fake root
# (BIND, authoritative for "." with every name at 192.0.2.1), Unbound 1.17
# and BIND 9.18 as resolvers taking the peer's zones as secondaries.
# Sourced after lib.sh. Configs come from tests/resolvers/*.in.
R_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../resolvers" && pwd)

# The primary's address (the peer's dns_listen) in the resolvers' configs.
R_PRIMARY_ADDR=${R_PRIMARY_ADDR:-127.0.0.1}

# render TEMPLATE OUT KEY=VALUE...: @KEY@ -> VALUE (PRIMARY_ADDR: R_PRIMARY_ADDR)
render() {
	local in=$1 out=$2 kv; shift 2
	cp "$R_SRC/$in" "$out"
	for kv in "$@" PRIMARY_ADDR="$R_PRIMARY_ADDR"; do sed -i "s|@${kv%%=*}@|${kv#*=}|g" "$out"; done
}

# start_bg NAME DIR CMD...: a background server, its pid kept for cleanup
start_bg() {
	local name=$1 dir=$2; shift 2
	"$@" >"$dir/$name.log" 2>&1 &
	local pid=$!
	disown "$pid"
	T_PIDS+=("$pid")
	echo "$pid" >"$dir/$name.pid"
}

# answer PORT NAME: NXDOMAIN, the first A record, or what went wrong
answer() {
	local out
	out=$(dig +time=1 +tries=1 @127.0.0.1 -p "$1" "$2" A 2>&1)
	if grep -q "status: NXDOMAIN" <<<"$out"; then echo NXDOMAIN; return; fi
	local a; a=$(grep -v '^;' <<<"$out" | awk '$4 == "A" { print $5; exit }')
	if [ -n "$a" ]; then echo "$a"; else echo "?$(grep -o 'status: [A-Z]*' <<<"$out")"; fi
}
# answers PORT NAME WANT: true when the answer is WANT
answers() { [ "$(answer "$1" "$2")" = "$3" ]; }

# start_root DIR PORT
start_root() {
	mkdir -p "$1"
	render named-auth.conf.in "$1/named.conf" DIR="$1" PORT="$2" SRC="$R_SRC"
	start_bg named "$1" named -g -c "$1/named.conf"
	wait_until 10 answers "$2" probe.example 192.0.2.1 || { echo "fake root did not start:"; cat "$1/named.log"; return 1; }
}

# start_unbound DIR PORT ROOTPORT PRIMARYPORT ZONE
start_unbound() {
	mkdir -p "$1"
	render unbound.conf.in "$1/unbound.conf" DIR="$1" PORT="$2" AUTH="$3" PRIMARY="$4" ZONE="$5"
	unbound-checkconf "$1/unbound.conf" >/dev/null || return 1
	start_bg unbound "$1" unbound -d -c "$1/unbound.conf"
}

# start_bind DIR PORT ROOTPORT PRIMARYPORT ZONE ZONE2 KEYNAME SECRET
start_bind() {
	mkdir -p "$1"
	render named-resolver.conf.in "$1/named.conf" DIR="$1" PORT="$2" AUTH="$3" PRIMARY="$4" \
		ZONE="$5" ZONE2="$6" KEYNAME="$7" SECRET="$8"
	named-checkconf "$1/named.conf" || return 1
	start_bg named "$1" named -g -c "$1/named.conf"
}
