#!/bin/sh
# mtls bench in every mode against real peers: openssl s_server for full and
# resumed handshakes (TLS 1.3 and 1.2), socat's TLS listener in front of an
# echo for request/response and bulk.  Counts, not timings, are checked.
. "$MTLS_TOP/tests/integration/lib.sh"

command -v openssl >/dev/null || skip "openssl is not installed"
command -v socat >/dev/null || skip "socat is not installed"

run 0 "$MTLS" init --dir pki
P="$T/pki"
CLIENT="--cert $P/client.crt --key $P/client.key --ca $P/ca/ca.crt"

# check FILE PYTHON-EXPRESSION: the JSON in FILE makes the expression true.
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
run 0 "$MTLS" bench "127.0.0.1:$port" $CLIENT -c 2 -d 1 --json
check "$T/out" 'r["mode"] == "handshake" and r["ops"] > 0 and r["resumed"] == 0'
check "$T/out" 'r["errors"]["total"] == 0 and r["latency_us"]["max"] > 0'
check "$T/out" 'r["latency_us"]["p50"] <= r["latency_us"]["p99"] <= r["latency_us"]["max"]'
ok "handshake mode: full handshakes counted, none resumed, latency reported"

# shellcheck disable=SC2086
run 0 "$MTLS" bench "127.0.0.1:$port" $CLIENT -c 2 -d 1 --tls-max 1.2 --json
check "$T/out" 'r["ops"] > 0 and r["errors"]["total"] == 0'
ok "handshake mode over TLS 1.2"

# shellcheck disable=SC2086
run 0 "$MTLS" bench "127.0.0.1:$port" $CLIENT -c 2 -d 1 --mode resume --json
check "$T/out" 'r["mode"] == "resume" and r["ops"] > 0 and r["resumed"] > 0'
check "$T/out" 'r["resumed"] <= r["ops"]'
ok "resume mode: $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["resumed"], "of", r["ops"])' "$T/out") handshakes resumed"

# shellcheck disable=SC2086
run 0 "$MTLS" bench "127.0.0.1:$port" $CLIENT -c 2 -d 1
assert_contains "$T/out" "operations"
assert_contains "$T/out" "latency"
assert_contains "$T/out" "p99"
ok "text report"

# socat terminates TLS (client certificate required) in front of cat.
eport=$(free_port)
socat "OPENSSL-LISTEN:$eport,bind=127.0.0.1,reuseaddr,fork,cert=$P/server.crt,key=$P/server.key,cafile=$P/ca/ca.crt,verify=1" \
    EXEC:cat >/dev/null 2>&1 &
track $!
wait_port "$eport"

# shellcheck disable=SC2086
run 0 "$MTLS" bench "127.0.0.1:$eport" $CLIENT -c 2 -d 1 --mode rr \
    --request 'ping\r\n' --response-bytes 6 --json
check "$T/out" 'r["mode"] == "rr" and r["ops"] > 0 and r["errors"]["total"] == 0'
check "$T/out" 'r["bytes_in"] >= 6 * r["ops"] and r["handshakes"] >= 2'
ok "rr mode: requests answered with the expected length"

# shellcheck disable=SC2086
run 0 "$MTLS" bench "127.0.0.1:$eport" $CLIENT -c 2 -d 1 --mode bulk \
    --size 64K --json
check "$T/out" 'r["mode"] == "bulk" and r["ops"] > 0 and r["errors"]["total"] == 0'
check "$T/out" 'r["mbytes_per_sec"] > 0 and r["bytes_in"] >= 65536 * r["ops"]'
ok "bulk mode: blocks echoed and checked, MB/s reported"
