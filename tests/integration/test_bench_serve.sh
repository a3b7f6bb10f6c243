#!/bin/sh
# mtls bench against mtls serve (one worker) in front of an echo backend:
# every mode completes operations, resumption really resumes, and a client
# certificate from another CA is counted as refused with the alert.
. "$MTLS_TOP/tests/integration/lib.sh"

command -v socat >/dev/null || skip "socat is not installed"
"$MTLS" serve --help >/dev/null 2>&1 || skip "mtls serve is not available"

run 0 "$MTLS" init --dir pki
run 0 "$MTLS" init --dir other
P="$T/pki"
GOOD="--cert $P/client.crt --key $P/client.key --ca $P/ca/ca.crt"

check() {
	python3 - "$1" "$2" <<'PY' || { cat "$1"; fail "JSON check failed: $2"; }
import json, sys
r = json.load(open(sys.argv[1]))
if not eval(sys.argv[2], {}, {"r": r}):
    sys.exit(1)
PY
}

be=$(free_port)
socat "TCP-LISTEN:$be,bind=127.0.0.1,reuseaddr,fork" EXEC:cat >/dev/null 2>&1 &
track $!
wait_port "$be"
port=$(free_port)
"$MTLS" serve --listen "127.0.0.1:$port" --cert "$P/server.crt" \
    --key "$P/server.key" --ca "$P/ca/ca.crt" --backend "127.0.0.1:$be" \
    --allow-any --workers 1 >"$T/serve.log" 2>&1 &
track $!
wait_port "$port"

# shellcheck disable=SC2086
run 0 "$MTLS" bench "127.0.0.1:$port" $GOOD -c 4 -d 1 --json
check "$T/out" 'r["ops"] > 0 and r["errors"]["total"] == 0 and r["resumed"] == 0'
ok "handshake mode against mtls serve"

# shellcheck disable=SC2086
run 0 "$MTLS" bench "127.0.0.1:$port" $GOOD -c 4 -d 1 --mode resume --json
check "$T/out" 'r["ops"] > 0 and r["resumed"] > 0 and r["errors"]["total"] == 0'
ok "resume mode: $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["resumed"], "of", r["ops"])' "$T/out") resumed by mtls serve"

# shellcheck disable=SC2086
run 0 "$MTLS" bench "127.0.0.1:$port" $GOOD -c 8 -d 1 --mode rr \
    --request 'GET / HTTP/1.1\r\n\r\n' --response-bytes 18 --json
check "$T/out" 'r["ops"] > 0 and r["errors"]["total"] == 0'
ok "rr mode through mtls serve"

# shellcheck disable=SC2086
run 0 "$MTLS" bench "127.0.0.1:$port" $GOOD -c 2 -d 1 --mode bulk \
    --size 16K --json
check "$T/out" 'r["ops"] > 0 and r["errors"]["total"] == 0 and r["mbytes_per_sec"] > 0'
ok "bulk mode through mtls serve"

# shellcheck disable=SC2086
run 0 "$MTLS" bench "127.0.0.1:$port" $GOOD -c 20 -d 1 --mode idle --json
check "$T/out" 'r["mode"] == "idle" and r["ops"] == 20'
ok "idle mode holds 20 connections"

# shellcheck disable=SC2086
run 0 "$MTLS" bench "127.0.0.1:$port" $GOOD -c 10 -d 3 --mode idle \
    --request 'ping\r\n' --response-bytes 6 --json
# Held connections made exactly one exchange each (a slow machine may
# still be busy with the others: they are not counted).
check "$T/out" 'r["mode"] == "idle" and 0 < r["ops"] <= 10'
check "$T/out" 'r["errors"]["total"] == 0 and r["bytes_in"] == 6 * r["ops"]'
check "$T/out" 'r["bytes_out"] <= 6 * r["handshakes"]'
ok "idle mode after one exchange: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ops"])' "$T/out") connections held, each echoed its request once"

# shellcheck disable=SC2086
run 2 "$MTLS" bench "127.0.0.1:$port" $GOOD --mode idle --request 'x'
assert_contains "$T/err" "--request and --response-bytes together"
ok "idle mode: --request without --response-bytes is a usage error"

run 1 "$MTLS" bench "127.0.0.1:$port" --cert "$T/other/client.crt" \
    --key "$T/other/client.key" --ca "$P/ca/ca.crt" -c 2 -d 1 --json
check "$T/out" 'r["ops"] == 0 and r["errors"]["handshake_failed"] > 0'
check "$T/out" 'any("unknown_ca" in f["reason"] for f in r["handshake_failures"])'
ok "a client from another CA: refused (unknown_ca), nothing counted as success"
