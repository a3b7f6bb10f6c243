# bench/lib.sh - helpers shared by the bench scripts (sourced, not run).
# The caller sets top (the source tree); bench_workdir sets W.

# The binary measured: BUILD as for make (relative to the tree), its mtls;
# KEY, the key type of the scripts that take one.
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD="$top/$BUILD" ;; esac
MTLS="$BUILD/mtls"
KEY=${KEY:-ec-p256}

# bench_workdir NAME: a temporary directory W, removed at exit with the
# processes whose PIDs the script adds to PIDS (stopped, then waited for).
bench_workdir() {
	W=$(mktemp -d "${TMPDIR:-/tmp}/mtls-$1.XXXXXX") || exit 1
	PIDS=""
	trap bench_cleanup EXIT
	trap 'exit 130' HUP INT PIPE TERM
}
bench_cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	rm -rf "$W"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_port() {
	i=0
	while [ $i -lt 100 ]; do
		python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$1)))" 2>/dev/null && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# Established connections to a local port (the backend's): a server opens
# one once it has verified a client, so they count finished handshakes.
# (/proc/net/tcp: field 3 is the remote address, 4 the state, 01
# established.)
to_backend() { # port
	awk -v port="$(printf '%04X' "$1")" \
	    '$4 == "01" && substr($3, index($3, ":") + 1) == port { n++ }
	    END { print n + 0 }' /proc/net/tcp
}

# A CA, a server certificate for localhost/127.0.0.1 and a client
# certificate in DIR.
make_pki() { # dir key-type
	mkdir -p "$1"
	"$MTLS" ca init --dir "$1/ca" --name "bench CA $2" --key-type "$2" \
	    >/dev/null || return 1
	"$MTLS" cert issue --ca "$1/ca" --server --name localhost \
	    --ip 127.0.0.1 --key-type "$2" --out "$1/server" >/dev/null ||
	    return 1
	"$MTLS" cert issue --ca "$1/ca" --client --name bench-client \
	    --key-type "$2" --out "$1/client" >/dev/null
}

# The rr exchange of every bench script: a small HTTP-like request (escapes
# decoded by mtls bench), a 1 KiB answer; the backend answers every
# RR_REQLEN bytes it receives.
RR_REQUEST='GET /bench HTTP/1.1\r\nHost: localhost\r\n\r\n'
RR_REQLEN=$(( $(printf '%b' "$RR_REQUEST" | wc -c) ))
RR_RESPONSE=1024
