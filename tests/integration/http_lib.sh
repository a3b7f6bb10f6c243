# http_lib.sh - sourced by the test_serve_http*.sh scripts after lib.sh and
# serve_lib.sh: the recording HTTP backend (http_backend.py) and the raw
# mTLS HTTP client (http_probe.py).
HTTP_BACKEND_PY="$MTLS_TOP/tests/integration/http_backend.py"
HTTP_PROBE="$MTLS_TOP/tests/integration/http_probe.py"

# start_http_backend: the recording backend on a free port; every request
# it parsed in $T/http.log (JSON lines), every byte in $T/http.log.raw.
# Sets BPORT.
start_http_backend() {
	BPORT=$(free_port)
	: >"$T/http.log"
	: >"$T/http.log.raw"
	python3 "$HTTP_BACKEND_PY" "$BPORT" "$T/http.log" &
	track $!
	wait_port "$BPORT"
	sleep 0.1
	: >"$T/http.log.raw"
}

# probe MODE CERTPREFIX|- [ARGS]: http_probe.py against serve on $PORT;
# its output in $T/probe.out, echoed; fails the test when it fails.
probe() {
	m=$1; pfx=$2; shift 2
	if ! timeout 120 python3 "$HTTP_PROBE" "$m" "$PORT" "$pfx" pki/ca/ca.crt \
	    "$T/http.log" "$@" >"$T/probe.out" 2>&1; then
		cat "$T/probe.out"
		echo "--- serve.log (last lines)"; tail -n 20 "$T/serve.log"
		fail "http_probe.py $m"
	fi
	cat "$T/probe.out"
}

# curl_mtls ARGS...: curl with the client certificate against serve.
curl_mtls() {
	timeout 20 curl -sS --cacert pki/ca/ca.crt --cert pki/client.crt \
	    --key pki/client.key "$@"
}
