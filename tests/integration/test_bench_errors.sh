#!/bin/sh
# mtls bench counts failures by kind and never as successes: a client
# certificate the server does not trust (TLS 1.3, where the refusal comes
# after the client's handshake, and TLS 1.2), nothing listening, a response
# that never completes; and usage errors exit 2.
. "$MTLS_TOP/tests/integration/lib.sh"

command -v openssl >/dev/null || skip "openssl is not installed"
command -v socat >/dev/null || skip "socat is not installed"

run 0 "$MTLS" init --dir pki
run 0 "$MTLS" init --dir other
P="$T/pki"
GOOD="--cert $P/client.crt --key $P/client.key --ca $P/ca/ca.crt"
# A client certificate from another CA, the server verified as usual.
BAD="--cert $T/other/client.crt --key $T/other/client.key --ca $P/ca/ca.crt"

check() {
	python3 - "$1" "$2" <<'PY' || { cat "$1"; fail "JSON check failed: $2"; }
import json, sys
r = json.load(open(sys.argv[1]))
if not eval(sys.argv[2], {}, {"r": r}):
    sys.exit(1)
PY
}

port=$(free_port)
openssl s_server -accept "127.0.0.1:$port" -cert "$P/server.crt" \
    -key "$P/server.key" -CAfile "$P/ca/ca.crt" -Verify 1 \
    -verify_return_error -quiet >/dev/null 2>&1 &
track $!
wait_port "$port"

# shellcheck disable=SC2086
run 1 "$MTLS" bench "127.0.0.1:$port" $BAD -c 2 -d 1 --json
check "$T/out" 'r["ops"] == 0 and r["errors"]["handshake_failed"] > 0'
check "$T/out" 'any("unknown_ca" in f["reason"] for f in r["handshake_failures"])'
assert_contains "$T/err" "no operation succeeded"
ok "TLS 1.3: an untrusted client certificate counts as handshake_failed (unknown_ca), not as success"

# shellcheck disable=SC2086
run 1 "$MTLS" bench "127.0.0.1:$port" $BAD -c 2 -d 1 --tls-max 1.2 --json
check "$T/out" 'r["ops"] == 0 and r["errors"]["handshake_failed"] > 0'
ok "TLS 1.2: the same refusal is counted"

# shellcheck disable=SC2086
run 1 "$MTLS" bench "127.0.0.1:$port" $BAD -c 2 -d 1
assert_contains "$T/out" "handshake_failed"
assert_contains "$T/out" "unknown_ca"
ok "text report lists the refusal with its reason"

# The server's certificate does not verify against the client's --ca.
# shellcheck disable=SC2086
run 1 "$MTLS" bench "127.0.0.1:$port" --cert "$P/client.crt" \
    --key "$P/client.key" --ca "$T/other/ca/ca.crt" -c 1 -d 1 --json
check "$T/out" 'r["ops"] == 0 and r["errors"]["handshake_failed"] > 0'
ok "an unverifiable server certificate is a handshake failure"

closed=$(free_port)
# shellcheck disable=SC2086
run 1 "$MTLS" bench "127.0.0.1:$closed" $GOOD -c 2 -d 1 --json
check "$T/out" 'r["ops"] == 0 and r["errors"]["connect_refused"] > 0'
ok "nothing listening: connect_refused"

# An echo answers 6 bytes to a 6-byte request: asking for 7 never completes.
eport=$(free_port)
socat "OPENSSL-LISTEN:$eport,bind=127.0.0.1,reuseaddr,fork,cert=$P/server.crt,key=$P/server.key,cafile=$P/ca/ca.crt,verify=1" \
    EXEC:cat >/dev/null 2>&1 &
track $!
wait_port "$eport"
# shellcheck disable=SC2086
run 1 "$MTLS" bench "127.0.0.1:$eport" $GOOD -c 2 -d 1.5 --timeout 0.5 \
    --mode rr --request 'ping\r\n' --response-bytes 7 --json
check "$T/out" 'r["ops"] == 0 and r["errors"]["timeout"] > 0'
ok "an incomplete response is a timeout, not a success"

# shellcheck disable=SC2086
run 2 "$MTLS" bench "127.0.0.1:$port" $GOOD --mode rr --request 'ping\n'
assert_contains "$T/err" "--response-bytes"
# shellcheck disable=SC2086
run 2 "$MTLS" bench "127.0.0.1:$port" $GOOD --mode fast
# shellcheck disable=SC2086
run 2 "$MTLS" bench "127.0.0.1:$port" $GOOD -c 0
# shellcheck disable=SC2086
run 2 "$MTLS" bench "127.0.0.1" $GOOD
run 2 "$MTLS" bench "127.0.0.1:$port"
# shellcheck disable=SC2086
run 2 "$MTLS" bench "127.0.0.1:$port" $GOOD --request 'x\q' --mode rr --response-bytes 1
run 0 "$MTLS" bench --help
assert_contains "$T/out" "--mode"
ok "usage errors exit 2"

# shellcheck disable=SC2086
run 1 "$MTLS" bench "127.0.0.1:$port" --cert "$T/missing.crt" \
    --key "$P/client.key" --ca "$P/ca/ca.crt" -d 1
assert_one_line_error "missing.crt"
ok "a missing certificate file: one line naming it, exit 1"

# A key that is not the certificate's: refused before any load, one line.
run 1 "$MTLS" bench "127.0.0.1:$port" --cert "$P/client.crt" \
    --key "$T/other/client.key" --ca "$P/ca/ca.crt" -d 1 --json
assert_one_line_error "other/client.key: not the key of $P/client.crt"
[ ! -s "$T/out" ] || fail "a report was printed for a run that never started"
ok "a key that does not match the certificate: one line, exit 1, no report"
