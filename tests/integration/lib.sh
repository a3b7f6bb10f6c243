# lib.sh - sourced by every integration test: a temp dir removed on exit,
# processes started in the background stopped by PID, free loopback ports,
# and assertions that say what they expected.
set -u
: "${MTLS:?run through tests/run-all.sh or set MTLS}"
T=$(mktemp -d "${TMPDIR:-/tmp}/mtls-test.XXXXXX")
PIDS=""
cleanup() {
	# $T/.pids also holds what track saw in a subshell, such as a
	# backend started inside $(...), whose PIDS the shell never got back.
	all="$PIDS $(cat "$T/.pids" 2>/dev/null)"
	for p in $all; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
cd "$T" || exit 1
NPASS=0

# A failure shows the end of the serve log too, when the test has one: in
# CI that is all there is to read afterwards.
fail() {
	echo "FAIL: $*" >&2
	if [ -s "$T/serve.log" ]; then
		echo "--- last lines of serve.log:" >&2
		tail -n 15 "$T/serve.log" >&2
	fi
	exit 1
}
ok() { NPASS=$((NPASS + 1)); echo "ok $NPASS - $*"; }
skip() { echo "skipped: $*"; exit 77; }

# Remember a background process so that cleanup stops it (from a subshell
# too: the file outlives it).
track() { PIDS="$PIDS $1"; echo "$1" >>"$T/.pids"; }

# A TCP port free on 127.0.0.1 now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Wait until something listens on 127.0.0.1:$1 (up to 10 s).
wait_port() {
	i=0
	while [ $i -lt 100 ]; do
		if python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$1)))" 2>/dev/null; then
			return 0
		fi
		sleep 0.1; i=$((i + 1))
	done
	fail "nothing listens on 127.0.0.1:$1 after 10 s"
}

# run EXPECTED-STATUS CMD...: runs CMD, keeps stdout in $T/out and stderr in
# $T/err, and fails unless it exited with EXPECTED-STATUS.
run() {
	want=$1; shift
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "--- stdout"; cat "$T/out"; echo "--- stderr"; cat "$T/err"
		fail "'$*' exited $got, expected $want"
	fi
}

# assert_contains FILE TEXT: FILE holds TEXT (fixed string).
assert_contains() {
	grep -qF -- "$2" "$1" || { echo "--- $1:"; cat "$1"; fail "$1 does not contain '$2'"; }
}
assert_not_contains() {
	! grep -qF -- "$2" "$1" || { echo "--- $1:"; cat "$1"; fail "$1 contains '$2'"; }
}
# The stderr of the last run() is one line that contains TEXT.
assert_one_line_error() {
	n=$(wc -l <"$T/err")
	[ "$n" -eq 1 ] || { cat "$T/err"; fail "expected one line on stderr, got $n"; }
	assert_contains "$T/err" "$1"
}
# ca_cn FILE: the common name of the certificate in FILE (mtls init names
# each root CA uniquely: "mtls Root CA 1a2b3c4d").
ca_cn() {
	openssl x509 -in "$1" -noout -subject -nameopt RFC2253 |
	    sed 's/^subject=//; s/.*CN=//; s/,.*//'
}
assert_no_file() { [ ! -e "$1" ] || fail "$1 exists but should not"; }
assert_file() { [ -s "$1" ] || fail "$1 is missing or empty"; }
assert_mode() {
	m=$(stat -c %a "$1")
	[ "$m" = "$2" ] || fail "$1 has mode $m, expected $2"
}
# No leftover temp files from an atomic write in DIR.
assert_no_tmp() {
	if ls "$1" | grep -q '\.tmp\.'; then ls -la "$1"; fail "temp files left in $1"; fi
}

# mtls_cmd ARGS...: runs $MTLS, under $MTLS_WRAP when that is set (`make
# valgrind` sets it to valgrind with its options).  Started in the
# background (mtls_cmd serve ... &), it execs, so that $! is the PID of
# mtls itself and track/kill stop it; in the foreground it runs as a child.
mtls_cmd() {
	# shellcheck disable=SC2086
	if [ "$(exec sh -c 'echo $PPID')" = "$$" ]; then
		${MTLS_WRAP:-} "$MTLS" "$@"
	else
		exec ${MTLS_WRAP:-} "$MTLS" "$@"
	fi
}
