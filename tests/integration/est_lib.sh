# est_lib.sh - sourced by the EST tests (test_est_*.sh) after lib.sh: a CA,
# a server certificate for 127.0.0.1, and `mtls ca serve` on a free port.
#   est_ca                      makes ca/ and srv.crt/.key
#   est_start [OPTIONS...]      starts ca serve (log in $T/ca.log); sets
#                               EST_PORT, EST_URL, EST_PID
#   est_stop                    stops it (SIGTERM) and waits
#   est_csr NAME FILE.b64 [SAN] a new P-256 key (FILE.key) and its CSR in
#                               base64 DER, as an operator scripts it
#   est_post OP FILE.b64 CURL-ARGS...  POSTs a CSR; the answer in $T/resp,
#                               the status in $T/code

est_ca() {
	run 0 "$MTLS" ca init --dir ca
	run 0 "$MTLS" cert issue --ca ca --server --name localhost \
	    --ip 127.0.0.1 --out srv
}

est_start() {
	EST_PORT=$(free_port)
	EST_URL="https://127.0.0.1:$EST_PORT"
	mtls_cmd ca serve --ca ca --listen "127.0.0.1:$EST_PORT" \
	    --cert srv.crt --key srv.key "$@" 2>>"$T/ca.log" &
	EST_PID=$!
	track $EST_PID
	wait_port "$EST_PORT"
}

est_stop() {
	kill "$EST_PID" 2>/dev/null
	wait "$EST_PID" 2>/dev/null
}

est_csr() { # NAME OUT.b64 [SAN]
	if [ -n "${3:-}" ]; then
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout "${2%.b64}.key" -subj "/CN=$1" \
		    -addext "subjectAltName=$3" -outform DER 2>/dev/null |
		    base64 >"$2"
	else
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout "${2%.b64}.key" -subj "/CN=$1" \
		    -outform DER 2>/dev/null | base64 >"$2"
	fi
	[ -s "$2" ] || fail "openssl req did not make $2"
}

est_post() { # OP FILE CURL-ARGS...
	op=$1 file=$2
	shift 2
	curl -sS --cacert ca/ca.crt -o "$T/resp" -w '%{http_code}' \
	    -H 'Content-Type: application/pkcs10' --data-binary "@$file" \
	    "$@" "$EST_URL/.well-known/est/$op" >"$T/code" 2>"$T/curl.err"
}

# est_code WANT: the last est_post answered WANT.
est_code() {
	got=$(cat "$T/code")
	[ "$got" = "$1" ] || { cat "$T/resp" "$T/curl.err"; tail -n 3 "$T/ca.log"; fail "HTTP $got, expected $1"; }
}

# The certificate of a certs-only answer ($T/resp) into FILE (PEM).
est_p7_cert() {
	base64 -d "$T/resp" | openssl pkcs7 -inform DER -print_certs >"$1" ||
	    fail "the answer is not a base64 PKCS#7 certs-only"
	grep -q "BEGIN CERTIFICATE" "$1" || fail "no certificate in the answer"
}
