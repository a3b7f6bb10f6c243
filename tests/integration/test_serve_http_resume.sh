#!/bin/sh
# serve --http on resumed TLS sessions: a client certificate from an
# intermediate CA, and every identity header (XFCC, Client-Cert,
# Client-Cert-Chain, X-Client-*) checked by http_identity_check.py on a
# request of a resumed session, TLS 1.3 and 1.2, with the session cache and
# with tickets from a key file: a resumed session must give the backend
# the same identity as the full handshake (the chain too, which no
# resumption sends again).
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"
. "$MTLS_TOP/tests/integration/http_lib.sh"
python3 -c 'import cryptography.x509' 2>/dev/null || skip "python3-cryptography is not installed"

run 0 "$MTLS" init --dir pki
run 0 "$MTLS" ca init --dir inter --parent pki/ca --name "Team CA"
run 0 "$MTLS" cert issue --ca inter --client --name app \
    --uri spiffe://example.org/ns/prod/app --dns app.example.org --out app
run 0 "$MTLS" cert issue --ca pki/ca --server --name localhost \
    --dns localhost --uri spiffe://example.org/proxy --out srv
head -c 80 /dev/urandom >tickets.key
start_http_backend

# serve_http ARGS: serve --http with every identity header.
serve_http() {
	PORT=$(free_port)
	mtls_cmd serve --listen "127.0.0.1:$PORT" --cert srv.crt \
	    --key srv.key --ca pki/ca/ca.crt --backend "127.0.0.1:$BPORT" \
	    --allow-any --http --workers 1 \
	    --http-identity xfcc,client-cert,client-cert-chain,subject \
	    "$@" 2>>"$T/serve.log" &
	SPID=$!
	track $SPID
	wait_port "$PORT"
}

# get VERSION PATH IN OUT: one request with openssl s_client (the session
# read from IN, written to OUT, "-" for none); prints New or Reused.
get() {
	sin="" sout=""
	[ "$3" = - ] || sin="-sess_in $3"
	[ "$4" = - ] || sout="-sess_out $4"
	# Input stays open until serve has logged the answer (up to 20 s:
	# valgrind is slow); the TLS 1.3 tickets went out before it.
	n0=$(grep -c "path=\"$2\"" "$T/serve.log")
	# shellcheck disable=SC2086
	(printf 'GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n' "$2"; i=0
	 while [ $i -lt 200 ] &&
	     [ "$(grep -c "path=\"$2\"" "$T/serve.log")" -le "$n0" ]; do
		sleep 0.1; i=$((i + 1))
	 done; sleep 0.3) |
	    timeout 20 openssl s_client -connect "127.0.0.1:$PORT" "-$1" \
	    -servername localhost -CAfile pki/ca/ca.crt -cert app.crt \
	    -key app.key -cert_chain inter/ca.crt $sin $sout >"$T/sc.out" 2>&1
	sed -n 's/^\(New\|Reused\), TLS.*/\1/p' "$T/sc.out" | head -n 1
}

for how in cache tickets; do
	if [ $how = tickets ]; then
		serve_http --ticket-key-file tickets.key
	else
		serve_http
	fi
	for v in tls1_3 tls1_2; do
		rm -f s.pem
		: >"$T/http.log"
		r=$(get $v /full - s.pem)
		[ "$r" = New ] || { cat "$T/sc.out"; fail "$how $v: first handshake: '$r'"; }
		grep -q '"path": "/full"' "$T/http.log" || { cat "$T/sc.out" "$T/serve.log"; fail "$how $v: /full did not reach the backend"; }
		run 0 python3 "$MTLS_TOP/tests/integration/http_identity_check.py" \
		    "$T/http.log" app.crt spiffe://example.org/proxy
		: >"$T/http.log"
		n=$(grep -c 'resumed=yes' "$T/serve.log")
		r=$(get $v /resumed s.pem -)
		[ "$r" = Reused ] || { cat "$T/sc.out"; fail "$how $v: the session was not resumed: '$r'"; }
		wait_log 'resumed=yes' $((n + 1))
		assert_contains "$T/http.log" '"path": "/resumed"'
		assert_contains "$T/http.log" '"Client-Cert-Chain", ":'
		run 0 python3 "$MTLS_TOP/tests/integration/http_identity_check.py" \
		    "$T/http.log" app.crt spiffe://example.org/proxy
		assert_contains "$T/serve.log" 'request=GET path="/resumed" status=200'
		ok "$how, $v: the resumed session's request carries the same XFCC, Client-Cert, Client-Cert-Chain and subject headers"
	done
	kill "$SPID"; wait "$SPID" 2>/dev/null
done
