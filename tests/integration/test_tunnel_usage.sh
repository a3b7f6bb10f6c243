#!/bin/sh
# mtls tunnel's command line: usage errors exit 2, file errors exit 1, each
# one line; a listen address other machines can reach needs
# --unsafe-listen; --max-conns closes connections beyond the limit at once.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

make_pki
base="--connect 127.0.0.1:1 --cert pki/client.crt --key pki/client.key --ca pki/ca/ca.crt"

run 0 "$MTLS" tunnel --help
assert_contains "$T/out" "--unsafe-listen"
ok "--help"

# shellcheck disable=SC2086
{
run 2 "$MTLS" tunnel $base
assert_one_line_error "--listen is required"
run 2 "$MTLS" tunnel --listen 127.0.0.1:1 --cert pki/client.crt --key pki/client.key --ca pki/ca/ca.crt
assert_one_line_error "--connect is required"
run 2 "$MTLS" tunnel --listen 127.0.0.1:1 $base --tls-min 1.1
assert_one_line_error "--tls-min: '1.1' is not 1.2 or 1.3"
run 2 "$MTLS" tunnel --listen 127.0.0.1:1 $base --idle-timeout 0
assert_one_line_error "--idle-timeout"
run 2 "$MTLS" tunnel --listen 127.0.0.1:1 $base --connect nohost
assert_one_line_error "expected HOST:PORT"
run 2 "$MTLS" tunnel --listen 127.0.0.1:1 $base --bogus
assert_one_line_error "--bogus"
ok "option errors exit 2 with one line"

run 2 "$MTLS" tunnel --listen :1234 $base
assert_one_line_error "use --unsafe-listen"
run 2 "$MTLS" tunnel --listen 0.0.0.0:1234 $base
assert_one_line_error "0.0.0.0:1234 is not a loopback address or unix socket"
# With --unsafe-listen the address passes the check, and the start fails
# on the next problem (a missing file), before anything listens.
run 1 "$MTLS" tunnel --listen :1234 --unsafe-listen --connect 127.0.0.1:1 \
    --cert missing.crt --key pki/client.key --ca pki/ca/ca.crt
assert_one_line_error "missing.crt"
ok "a non-loopback listen address needs --unsafe-listen (exit 2 without it)"

run 1 "$MTLS" tunnel --listen 127.0.0.1:1 --connect 127.0.0.1:1 \
    --cert pki/client.crt --key pki/client.key --ca missing-ca.crt
assert_one_line_error "missing-ca.crt"
run 1 "$MTLS" tunnel --listen 127.0.0.1:1 --connect 127.0.0.1:1 \
    --cert pki/client.crt --key pki/server.key --ca pki/ca/ca.crt
n=$(wc -l <"$T/err"); [ "$n" -eq 1 ] || fail "a key that does not match: $n lines"
run 1 "$MTLS" tunnel --listen 127.0.0.1:1 --connect no-such-host.invalid:443 \
    --cert pki/client.crt --key pki/client.key --ca pki/ca/ca.crt
assert_one_line_error "no-such-host.invalid"
ok "file and name errors exit 1 with one line"
}

start_backend echo
start_serve --allow-cn client
start_tunnel "$PORT" --max-conns 1 --workers 1
# wait_port's probe is a connection too: let it end first.
wait_file_log "$T/tunnel.log" "outcome="
python3 "$PLAIN_CLIENT" "$TPORT" hold 3 >"$T/hold.out" 2>&1 &
HPID=$!
i=0
while ! grep -q hold "$T/hold.out" && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
assert_contains "$T/hold.out" "hold"
run 0 python3 "$PLAIN_CLIENT" "$TPORT" first
assert_contains "$T/out" "EOF"
wait_file_log "$T/tunnel.log" "connection limit 1 reached"
wait $HPID
run 0 python3 "$PLAIN_CLIENT" "$TPORT" line "after"
assert_contains "$T/out" "after"
ok "--max-conns 1: a second connection is closed at once, and served again once the first ends"
