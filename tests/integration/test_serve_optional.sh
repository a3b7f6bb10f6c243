#!/bin/sh
# --client-auth optional: a client without a certificate is let through
# only when a rule allows it (--allow-any), and the backend is told "no
# certificate" in the PROXY v2 header; a client with a certificate is named.
# Also: ":PORT" listens on IPv4 and IPv6 at once.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

make_pki
start_backend pp2
PORT=$(free_port)
mtls_cmd serve --listen ":$PORT" --cert pki/server.crt --key pki/server.key \
    --ca pki/ca/ca.crt --backend "127.0.0.1:$BPORT" --client-auth optional \
    --allow-any --proxy-protocol 2>>"$T/serve.log" &
SPID=$!
track $SPID
wait_port "$PORT"
sleep 0.2
: >"$T/backend.log"

s_client -
assert_contains "$T/sc.out" "ping"
i=0
while ! grep -q '^pp2' "$T/backend.log" && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
assert_contains "$T/backend.log" '"client": 1,'
assert_not_contains "$T/backend.log" '"cn"'
assert_not_contains "$T/backend.log" '"verify": 0'
ok "optional: no certificate gets through with --allow-any, and the backend is told so"
: >"$T/backend.log"
s_client pki/client
assert_contains "$T/sc.out" "ping"
i=0
while ! grep -q '^pp2' "$T/backend.log" && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
assert_contains "$T/backend.log" '"cn": "client"'
assert_contains "$T/backend.log" '"verify": 0'
ok "optional: a client with a certificate is verified and named"
s_client other-client
assert_not_contains "$T/sc.out" "ping"
assert_contains "$T/sc.out" "alert unknown ca"
ok "optional: a certificate that does not verify is still refused"

if python3 -c "import socket; s=socket.socket(socket.AF_INET6); s.connect(('::1', $PORT))" 2>/dev/null; then
	(printf 'ping\n'; sleep 0.5) | timeout 10 openssl s_client -connect "[::1]:$PORT" \
	    -CAfile pki/ca/ca.crt -cert pki/client.crt -key pki/client.key >"$T/sc.out" 2>&1
	assert_contains "$T/sc.out" "ping"
	ok ":PORT answers on IPv6 (::1) as well as on IPv4"
fi
kill "$SPID"; wait "$SPID" 2>/dev/null

kill "$BPID"; wait "$BPID" 2>/dev/null
start_backend echo
start_serve --client-auth optional --allow-cn client
s_client -
assert_not_contains "$T/sc.out" "ping"
wait_log "outcome=rejected reason=\"no client certificate"
backend_saw_nothing "optional, no certificate, --allow-cn"
ok "optional with --allow-cn: no certificate matches no rule and is refused"
