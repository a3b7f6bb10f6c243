#!/bin/sh
# Metrics count refusals by the library's reason code, never by the words
# of the log line: a client named CN=revoked-api that no rule allows is a
# rule refusal (access_denied), not a revoked certificate, and a client
# whose certificate is revoked is counted as revoked.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

make_pki
run 0 "$MTLS" cert issue --ca pki/ca --client --name revoked-api --out revoked-api
run 0 "$MTLS" cert issue --ca pki/ca --client --name gone --out gone
run 0 "$MTLS" cert revoke --ca pki/ca --cert gone.crt
run 0 "$MTLS" ca crl --ca pki/ca --out crl.pem
start_backend echo
MPORT=$(free_port)
start_serve --allow-cn client --crl crl.pem --metrics "127.0.0.1:$MPORT"

s_client revoked-api
wait_log 'reason="no rule allows CN=revoked-api'
s_client gone
wait_log 'reason="client certificate revoked (CN=gone, serial '
sleep 0.3
run 0 curl -sS --max-time 5 "http://127.0.0.1:$MPORT/metrics"
cp "$T/out" metrics.txt
assert_contains metrics.txt 'mtls_serve_handshakes_total{outcome="rejected",reason="access_denied"} 1'
assert_contains metrics.txt 'mtls_serve_handshakes_total{outcome="rejected",reason="certificate_revoked"} 1'
assert_contains metrics.txt 'mtls_serve_handshakes_total{outcome="rejected",reason="other"} 0'
ok "CN=revoked-api refused by the rules counts as access_denied; a revoked certificate as certificate_revoked"
backend_saw_nothing "refused clients"
