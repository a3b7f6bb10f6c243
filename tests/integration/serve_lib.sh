# serve_lib.sh - sourced by the test_serve_*.sh scripts after lib.sh: a PKI
# made with the mtls CLI, the test backend, and mtls serve in the
# background, all stopped by PID on exit.
BACKEND_PY="$MTLS_TOP/tests/integration/backend.py"
# How long s_client()/gnutls() keep their stdin open: serve runs 10-30x
# slower under valgrind (`make valgrind` sets MTLS_WRAP).
if [ -n "${MTLS_WRAP:-}" ]; then PAUSE=2; else PAUSE=0.5; fi

# make_pki: pki/ (root CA, server.crt for localhost/127.0.0.1, client.crt
# CN=client) and other/ (a CA the proxy does not trust, with a client).
make_pki() {
	run 0 "$MTLS" init --dir pki
	run 0 "$MTLS" ca init --dir other --name "Other CA"
	run 0 "$MTLS" cert issue --ca other --client --name client --out other-client
}

# start_backend MODE [ARG]: the test backend on a free port, its accepted
# connections logged in $T/backend.log; sets BPORT.
start_backend() {
	BPORT=$(free_port)
	: >"$T/backend.log"
	python3 "$BACKEND_PY" "$1" "$BPORT" "$T/backend.log" ${2:-} &
	BPID=$!
	track $BPID
	wait_port "$BPORT"
	# wait_port's probe is a connection too: forget it.
	sleep 0.1
	: >"$T/backend.log"
}

# start_serve ARGS...: mtls serve on a free port in front of the backend,
# stderr in $T/serve.log; sets PORT and SPID.
start_serve() {
	PORT=$(free_port)
	mtls_cmd serve --listen "127.0.0.1:$PORT" --cert pki/server.crt \
	    --key pki/server.key --ca pki/ca/ca.crt \
	    --backend "127.0.0.1:$BPORT" "$@" 2>>"$T/serve.log" &
	SPID=$!
	track $SPID
	wait_port "$PORT"
}

# wait_backend_conns N: waits until the backend has accepted N connections
# since its log was last emptied, so that a test acts on a connection that is
# really open (a fixed sleep is not enough on a loaded machine).
wait_backend_conns() {
	i=0
	while [ $i -lt 200 ]; do
		[ "$(wc -l <"$T/backend.log")" -ge "$1" ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	fail "the backend accepted fewer than $1 connection(s)"
}

# backend_saw_nothing: the backend never accepted a connection.
backend_saw_nothing() {
	sleep 0.2
	if [ -s "$T/backend.log" ]; then
		cat "$T/backend.log"
		fail "the backend saw a connection: $*"
	fi
}

# s_client CERTPREFIX [extra args]: one openssl s_client exchange sending
# "ping"; output in $T/sc.out.  CERTPREFIX "-" means no certificate.
s_client() {
	pfx=$1; shift
	if [ "$pfx" = - ]; then certargs=""; else certargs="-cert $pfx.crt -key $pfx.key"; fi
	# shellcheck disable=SC2086
	(printf 'ping\n'; sleep "$PAUSE") | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" \
	    -CAfile pki/ca/ca.crt -servername localhost $certargs "$@" \
	    >"$T/sc.out" 2>&1
	return 0
}

# gnutls CERTPREFIX [extra args]: the same with gnutls-cli; $T/gc.out.
gnutls() {
	pfx=$1; shift
	if [ "$pfx" = - ]; then certargs=""; else certargs="--x509certfile $pfx.crt --x509keyfile $pfx.key"; fi
	# shellcheck disable=SC2086
	(printf 'ping\n'; sleep "$PAUSE") | timeout 10 gnutls-cli --port "$PORT" \
	    --x509cafile pki/ca/ca.crt $certargs "$@" localhost \
	    >"$T/gc.out" 2>&1
	return 0
}

# Waits until the serve log has N lines matching TEXT (up to 5 s).
wait_log() {
	i=0
	while [ $i -lt 200 ]; do
		n=$(grep -cF -- "$1" "$T/serve.log")
		[ "$n" -ge "${2:-1}" ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	cat "$T/serve.log"
	fail "serve.log has no line with '$1'"
}

# start_tunnel UPSTREAM-PORT ARGS...: mtls tunnel on a free loopback port to
# 127.0.0.1:UPSTREAM-PORT with pki/client.crt, stderr in $T/tunnel.log;
# sets TPORT and TPID.  ARGS may override --cert/--key/--ca (later wins).
start_tunnel() {
	up=$1; shift
	TPORT=$(free_port)
	mtls_cmd tunnel --listen "127.0.0.1:$TPORT" --connect "127.0.0.1:$up" \
	    --cert pki/client.crt --key pki/client.key --ca pki/ca/ca.crt \
	    "$@" 2>>"$T/tunnel.log" &
	TPID=$!
	track $TPID
	wait_port "$TPORT"
}

# Waits until FILE has N lines matching TEXT (up to 20 s: a loaded machine
# or valgrind is slow, and a line that comes returns at once).
wait_file_log() {
	i=0
	while [ $i -lt 200 ]; do
		n=$(grep -cF -- "$2" "$1")
		[ "$n" -ge "${3:-1}" ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	cat "$1"
	fail "$1 has no line with '$2'"
}

# plain_client PORT|unix:/path MODE [ARG]: a plaintext client for the tunnel
# tests (tests/integration/plain_client.py); output in $T/out.
PLAIN_CLIENT="$MTLS_TOP/tests/integration/plain_client.py"

# assert_sandboxed PID LOG: the process has no_new_privs and a seccomp
# filter (not under valgrind, which the filter would catch), and its log
# says so.
assert_sandboxed() {
	grep -q '^NoNewPrivs:[[:space:]]*1' /proc/"$1"/status || fail "process $1 has no no_new_privs"
	if [ -n "${MTLS_WRAP:-}" ]; then
		assert_contains "$2" "sandbox: no seccomp filter under valgrind"
	else
		grep -q '^Seccomp:[[:space:]]*2' /proc/"$1"/status || { cat /proc/"$1"/status; fail "process $1 has no seccomp filter (Seccomp: 2)"; }
		assert_contains "$2" "sandbox: seccomp filter of"
	fi
}
