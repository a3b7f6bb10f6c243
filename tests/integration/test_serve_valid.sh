#!/bin/sh
# A valid client gets its bytes through mtls serve, whatever the client:
# curl, python3 requests, openssl s_client and gnutls-cli; the log line
# names the client and the outcome.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

make_pki
start_backend http
start_serve --allow-cn client --workers 2

run 0 curl -sS --max-time 10 --cacert pki/ca/ca.crt --cert pki/client.crt \
    --key pki/client.key "https://localhost:$PORT/"
assert_contains "$T/out" "hello from the backend"
ok "curl with the client certificate reaches the backend"

cat >"$T/req.py" <<PY
import requests
r = requests.get("https://localhost:$PORT/", cert=("pki/client.crt", "pki/client.key"), verify="pki/ca/ca.crt", timeout=10)
print(r.status_code, r.text)
PY
run 0 python3 "$T/req.py"
assert_contains "$T/out" "200 hello from the backend"
ok "python3 requests with the client certificate reaches the backend"

req='GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'
(printf "$req"; sleep 1) | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" \
    -CAfile pki/ca/ca.crt -servername localhost -verify_return_error \
    -cert pki/client.crt -key pki/client.key >"$T/sc.out" 2>&1
assert_contains "$T/sc.out" "hello from the backend"
assert_contains "$T/sc.out" "Verify return code: 0 (ok)"
ok "openssl s_client with the client certificate reaches the backend"

(printf "$req"; sleep 1) | timeout 10 gnutls-cli --port "$PORT" \
    --x509cafile pki/ca/ca.crt --x509certfile pki/client.crt \
    --x509keyfile pki/client.key localhost >"$T/gc.out" 2>&1
assert_contains "$T/gc.out" "hello from the backend"
ok "gnutls-cli with the client certificate reaches the backend"

(printf "$req"; sleep 1) | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" \
    -CAfile pki/ca/ca.crt -servername localhost -tls1_2 \
    -cert pki/client.crt -key pki/client.key >"$T/sc.out" 2>&1
assert_contains "$T/sc.out" "hello from the backend"
assert_contains "$T/sc.out" "Protocol  : TLSv1.2"
ok "TLS 1.2 works too"

n=$(grep -c conn "$T/backend.log")
[ "$n" -eq 5 ] || fail "the backend saw $n connections, expected 5"
# python3 requests keeps its connection alive and exits without a
# close_notify: if that reaches serve before the backend's close (valgrind, a
# loaded machine), its line says so as a client error.  The other four end ok.
wait_log 'subject="CN=client"' 5
n=$(grep -c 'outcome=ok' "$T/serve.log")
[ "$n" -ge 4 ] || { cat "$T/serve.log"; fail "$n connections ended ok, expected at least 4"; }
assert_contains "$T/serve.log" 'subject="CN=client"'
assert_contains "$T/serve.log" 'tls=TLSv1.3'
ok "one log line per connection with the identity and the outcome"
