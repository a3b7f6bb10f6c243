#!/bin/sh
# serve --ktls: kernel TLS asked for, OpenSSL's answer decides.  On a
# kernel without the tls ULP (these machines, CI) OpenSSL keeps to user
# space and nothing changes: 8 MiB each way arrive byte-exact (SHA-256
# compared), the backend's end still reaches the client as close_notify
# while the client's later bytes still reach the backend, the log line
# carries no ktls field (text and JSON) and the kTLS metric stays 0; the
# start line says kernel TLS was asked for.  Where
# the kernel has the ULP, the same transfers must pass with ktls=tx (the
# backend's bytes then go by splice(2)); tests/ktls/run.sh checks that in a
# virtual machine.  --ktls with --http is a usage error; the configuration
# file's ktls key does the same, and is refused beside http.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"
. "$MTLS_TOP/tests/integration/config_lib.sh"

CLIENT="$MTLS_TOP/tests/integration/tls_client.py"
c="pki/ca/ca.crt pki/client.crt pki/client.key"
MiB8=8388608
# What OpenSSL will do first: set the tls ULP on a connected TCP socket.
if python3 - <<'PY' 2>/dev/null
import socket
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
s = socket.create_connection(l.getsockname())
s.setsockopt(socket.IPPROTO_TCP, 31, b"tls")  # TCP_ULP
PY
then
	KTLS=1
	echo "this kernel offers the tls ULP: kTLS expected"
else
	KTLS=0
	echo "no tls ULP on this kernel: the user-space fallback expected"
fi
make_pki

run 2 "$MTLS" serve --listen 127.0.0.1:1 --cert pki/server.crt \
    --key pki/server.key --ca pki/ca/ca.crt --backend 127.0.0.1:2 \
    --allow-cn client --http --ktls
assert_one_line_error "--ktls is for the raw relay"
ok "--ktls with --http is a usage error"

# Client to backend: 8 MiB, the backend answers their SHA-256.
start_backend sha
MPORT=$(free_port)
start_serve --allow-cn client --ktls --workers 1 --metrics "127.0.0.1:$MPORT"
wait_port "$MPORT"
wait_log "listening on"
assert_contains "$T/serve.log" "(kernel TLS asked for; each connection's log line says whether it was used)"
ok "the start line says kernel TLS was asked for"
# shellcheck disable=SC2086
run 0 python3 "$CLIENT" "$PORT" $c sha $MiB8
cat "$T/out"
wait_log "outcome=ok" 1
assert_contains "$T/serve.log" "in=$MiB8 "
ok "client to backend: 8 MiB arrive with the same SHA-256, in=$MiB8 in the log"

# Backend to client: 8 MiB of the backend's pattern, then its FIN, which
# must reach the client as close_notify; the client's bytes after it still
# reach the backend (half-close).
kill "$BPID"; wait "$BPID" 2>/dev/null
start_backend send $MiB8
kill "$SPID"; wait "$SPID" 2>/dev/null
: >"$T/serve.log"
start_serve --allow-cn client --ktls --workers 1 --metrics "127.0.0.1:$MPORT"
wait_port "$MPORT"
digest=$(python3 -c "import hashlib; c=b'0123456789abcdef'*4096; n=$MiB8; print(hashlib.sha256((c*(n//len(c)+1))[:n]).hexdigest())") || fail "no digest"

# shellcheck disable=SC2086
run 0 python3 "$CLIENT" "$PORT" $c recv 777
assert_contains "$T/out" "read $MiB8 bytes sha256 $digest"
i=0
while ! grep -q after-eof "$T/backend.log" && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
assert_contains "$T/backend.log" "after-eof 783"
wait_log "outcome=ok" 1
assert_contains "$T/serve.log" "out=$MiB8 "
ok "backend to client: 8 MiB byte-exact, then close_notify; the client's later bytes reach the backend; out=$MiB8 in the log"

run 0 curl -sS --max-time 5 "http://127.0.0.1:$MPORT/metrics"
assert_contains "$T/out" "# TYPE mtls_serve_ktls_send_connections_total counter"
if [ $KTLS = 0 ]; then
	assert_not_contains "$T/serve.log" "ktls="
	assert_contains "$T/out" "mtls_serve_ktls_send_connections_total 0"
	ok "no tls ULP: the log line has no ktls field and the metric stays 0"
else
	assert_contains "$T/serve.log" "ktls=tx"
	assert_contains "$T/out" "mtls_serve_ktls_send_connections_total 1"
	ok "the kernel encrypted: ktls=tx in the log line, the metric counts it"
fi

# The JSON line: the field is left out when kTLS is not in use.
kill "$SPID"; wait "$SPID" 2>/dev/null
: >"$T/serve.log"
start_serve --allow-cn client --ktls --log-format json
# shellcheck disable=SC2086
run 0 python3 "$CLIENT" "$PORT" $c recv 0
wait_log '"outcome":"ok"' 1
if [ $KTLS = 0 ]; then
	assert_not_contains "$T/serve.log" '"ktls"'
	ok "JSON: no ktls key without kTLS"
else
	assert_contains "$T/serve.log" '"ktls":"tx'
	ok "JSON: the ktls key says what the kernel does"
fi

# TLS 1.2 (the kernel would decrypt too): openssl s_client, an echo.
kill "$SPID"; wait "$SPID" 2>/dev/null
kill "$BPID"; wait "$BPID" 2>/dev/null
start_backend echo
: >"$T/serve.log"
start_serve --allow-cn client --ktls
s_client pki/client -tls1_2
assert_contains "$T/sc.out" "ping"
wait_log "outcome=ok" 1
assert_contains "$T/serve.log" "tls=TLSv1.2"
if [ $KTLS = 0 ]; then
	assert_not_contains "$T/serve.log" "ktls="
else
	assert_contains "$T/serve.log" "ktls=txrx"
fi
ok "TLS 1.2 with --ktls: the echo comes back"

# The configuration file's key: the same start line and echo; with http it
# is refused at --check, naming the file, the line and the service.
kill "$SPID"; wait "$SPID" 2>/dev/null
: >"$T/serve.log"
P=$(free_port)
service_conf "$P" "$T/pki" "    ktls: true" >ktls.yaml
mtls_cmd serve --config ktls.yaml 2>>"$T/serve.log" &
SPID=$!
track $SPID
wait_port "$P"
# The port is open before the start line is written (slow under valgrind).
wait_log "kernel TLS asked for"
PORT=$P s_client pki/client -tls1_3
assert_contains "$T/sc.out" "ping"
ok "ktls: true in a configuration file: kernel TLS asked for, the echo comes back"
service_conf "$P" "$T/pki" "    ktls: true
    http: true" >both.yaml
run 1 "$MTLS" serve --config both.yaml --check
assert_one_line_error "services.api: http and ktls cannot both be true"
ok "ktls with http in a configuration file: refused in one line"
