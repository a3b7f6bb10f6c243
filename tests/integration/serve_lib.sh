# serve_lib.sh - sourced by the test_serve_*.sh scripts after lib.sh: a PKI
# made with the mtls CLI, the test backend, and mtls serve in the
# background, all stopped by PID on exit.
BACKEND_PY="$MTLS_TOP/tests/integration/backend.py"

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
	(printf 'ping\n'; sleep 0.5) | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" \
	    -CAfile pki/ca/ca.crt -servername localhost $certargs "$@" \
	    >"$T/sc.out" 2>&1
	return 0
}

# gnutls CERTPREFIX [extra args]: the same with gnutls-cli; $T/gc.out.
gnutls() {
	pfx=$1; shift
	if [ "$pfx" = - ]; then certargs=""; else certargs="--x509certfile $pfx.crt --x509keyfile $pfx.key"; fi
	# shellcheck disable=SC2086
	(printf 'ping\n'; sleep 0.5) | timeout 10 gnutls-cli --port "$PORT" \
	    --x509cafile pki/ca/ca.crt $certargs "$@" localhost \
	    >"$T/gc.out" 2>&1
	return 0
}

# Waits until the serve log has N lines matching TEXT (up to 5 s).
wait_log() {
	i=0
	while [ $i -lt 50 ]; do
		n=$(grep -cF -- "$1" "$T/serve.log")
		[ "$n" -ge "${2:-1}" ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	cat "$T/serve.log"
	fail "serve.log has no line with '$1'"
}
