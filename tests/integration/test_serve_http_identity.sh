#!/bin/sh
# serve --http --http-identity xfcc,client-cert,client-cert-chain,subject:
# a client certificate from an intermediate CA, with URI and DNS SANs, read
# back from the backend's headers by python3-cryptography (RFC 9440) and an
# XFCC parser of Envoy's grammar; XFCC's By is the proxy's own URI SAN.
# With the default list only XFCC and Client-Cert are added, and without
# client authentication (--client-auth optional, no certificate) none.
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
start_http_backend
PORT=$(free_port)
mtls_cmd serve --listen "127.0.0.1:$PORT" --cert srv.crt --key srv.key \
    --ca pki/ca/ca.crt --backend "127.0.0.1:$BPORT" --allow-any --http \
    --client-auth optional --workers 1 \
    --http-identity xfcc,client-cert,client-cert-chain,subject \
    2>>"$T/serve.log" &
SPID=$!
track $SPID
wait_port "$PORT"

timeout 20 curl -sS --cacert pki/ca/ca.crt --cert app.crt --key app.key \
    "https://localhost:$PORT/id" >"$T/out" || fail "curl"
run 0 python3 "$MTLS_TOP/tests/integration/http_identity_check.py" \
    "$T/http.log" app.crt spiffe://example.org/proxy
cat "$T/out"

: >"$T/http.log"
timeout 20 curl -sS --cacert pki/ca/ca.crt "https://localhost:$PORT/anon" \
    -H 'Client-Cert: :AAAA:' -H 'X-Forwarded-Client-Cert: Hash=1' >"$T/out" ||
    fail "curl without a certificate"
assert_contains "$T/http.log" '"path": "/anon"'
assert_not_contains "$T/http.log" 'Client-Cert'
assert_not_contains "$T/http.log" 'X-Client-Subject'
assert_contains "$T/http.log" '"X-Forwarded-Proto", "https"'
ok "no client certificate (optional client auth): no identity header at all, the client's removed (RFC 9440: no Client-Cert without client auth)"
kill "$SPID"; wait "$SPID" 2>/dev/null

start_serve --http --allow-any --workers 1
: >"$T/http.log"
curl_mtls "https://localhost:$PORT/default" >"$T/out" || fail "curl"
assert_contains "$T/http.log" '"X-Forwarded-Client-Cert", "Hash='
assert_contains "$T/http.log" '"Client-Cert", ":'
assert_not_contains "$T/http.log" 'Client-Cert-Chain'
assert_not_contains "$T/http.log" 'X-Client-Subject'
assert_not_contains "$T/http.log" 'By='
ok "the default list adds XFCC (no By without a URI SAN of ours) and Client-Cert only"
