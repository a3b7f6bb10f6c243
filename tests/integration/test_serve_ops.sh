#!/bin/sh
# Operations: --metrics serves Prometheus text (handshakes by outcome and
# reason, active connections, bytes, the latency histogram, seconds until
# the certificate and the CRL expire) and /healthz; --log-format json gives
# one JSON object per connection; a Kubernetes-style symlink swap of the
# certificate directory reloads without a signal; SIGTERM lets an open
# connection finish, then exits 0.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

CLIENT="$MTLS_TOP/tests/integration/tls_client.py"
make_pki
run 0 "$MTLS" ca crl --ca pki/ca --out crl.pem
# The layout of a mounted Kubernetes secret: files reached through the
# "..data" symlink, which an update swaps atomically.
mkdir -p secret/v1
cp pki/server.crt pki/server.key secret/v1/
ln -s v1 secret/..data
ln -s ..data/server.crt secret/tls.crt
ln -s ..data/server.key secret/tls.key
start_backend echo
MPORT=$(free_port)
PORT=$(free_port)
mtls_cmd serve --listen "127.0.0.1:$PORT" --cert secret/tls.crt --key secret/tls.key \
    --ca pki/ca/ca.crt --crl crl.pem --backend "127.0.0.1:$BPORT" \
    --allow-cn client --metrics "127.0.0.1:$MPORT" --log-format json \
    2>>"$T/serve.log" &
SPID=$!
track $SPID
wait_port "$PORT"

s_client pki/client
assert_contains "$T/sc.out" "ping"
s_client -
# A load balancer's health check: connect, close, nothing sent.
python3 -c "import socket; s=socket.create_connection(('127.0.0.1',$PORT)); s.close()"
run 0 curl -sS --max-time 5 "http://127.0.0.1:$MPORT/healthz"
assert_contains "$T/out" "ok"
sleep 0.3
run 0 curl -sS --max-time 5 "http://127.0.0.1:$MPORT/metrics"
cp "$T/out" metrics.txt
assert_contains metrics.txt 'mtls_serve_handshakes_total{outcome="ok",reason=""} 1'
assert_contains metrics.txt 'mtls_serve_handshakes_total{outcome="rejected",reason="no_certificate"} 1'
assert_contains metrics.txt 'mtls_serve_active_connections 0'
assert_contains metrics.txt 'mtls_serve_handshakes_total{outcome="rejected",reason="protocol_error"} 0'
assert_contains metrics.txt 'mtls_serve_bytes_total{direction="in"} 5'
assert_contains metrics.txt 'mtls_serve_handshake_duration_seconds_count 1'
assert_contains metrics.txt 'mtls_serve_handshake_duration_seconds_bucket{le="+Inf"} 1'
grep -q '^mtls_serve_certificate_expiry_seconds [1-9]' metrics.txt || fail "no certificate expiry gauge"
grep -q '^mtls_serve_crl_expiry_seconds [1-9]' metrics.txt || fail "no CRL expiry gauge"
ok "/metrics: handshakes by outcome and reason, connections, bytes, latency, expiry; /healthz"

grep '"outcome":"ok"' "$T/serve.log" | head -n 1 >line.json
python3 -c 'import json,sys; d=json.load(open("line.json")); assert d["subject"]=="CN=client" and d["bytes_in"]==5 and d["tls_version"]=="TLSv1.3", d' ||
    fail "the JSON log line is not what was expected"
grep '"outcome":"rejected"' "$T/serve.log" | head -n 1 >line.json
python3 -c 'import json; d=json.load(open("line.json")); assert d["reason"]=="no client certificate", d' ||
    fail "the JSON rejection line is not what was expected"
grep -q '"outcome":"closed_before_handshake"' "$T/serve.log" ||
    fail "a connect-and-close is not logged as closed_before_handshake"
ok "--log-format json: one JSON object per connection; a health check is logged as closed_before_handshake, not as a failed handshake"

# The swap: a new certificate in v2, then ..data points there.
run 0 "$MTLS" cert issue --ca pki/ca --server --name localhost --ip 127.0.0.1 --days 10 --out new
mkdir secret/v2
cp new.crt secret/v2/server.crt
cp new.key secret/v2/server.key
ln -s v2 secret/..data.tmp
mv -T secret/..data.tmp secret/..data
wait_log "a file changed"
serial=$(openssl x509 -in new.crt -noout -serial | sed 's/serial=//')
(printf 'x\n'; sleep 0.3) | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" \
    -CAfile pki/ca/ca.crt -cert pki/client.crt -key pki/client.key -showcerts >"$T/sc.out" 2>&1
sed -n '/BEGIN CERT/,/END CERT/p' "$T/sc.out" | head -n 30 | openssl x509 -noout -serial >served.txt
assert_contains served.txt "$serial"
ok "a symlink swap of the secret directory reloads the certificate, no signal"

# SIGTERM with a transfer under way: it finishes, then the process exits 0.
kill "$BPID"; wait "$BPID" 2>/dev/null
python3 "$BACKEND_PY" sha "$BPORT" "$T/backend.log" &
track $!
wait_port "$BPORT"
# wait_port's probe is a connection too: forget it.
sleep 0.2
: >"$T/backend.log"
python3 "$CLIENT" "$PORT" pki/ca/ca.crt pki/client.crt pki/client.key trickle 1048576 >"$T/long.out" 2>&1 &
LPID=$!
# SIGTERM once the transfer is under way (the backend has its connection),
# however long the client takes to start on a loaded machine.
wait_file_log "$T/backend.log" conn
kill -TERM "$SPID"
sleep 0.2
python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1',$PORT)))" &&
    fail "still accepting after SIGTERM"
wait $LPID || { cat "$T/long.out"; fail "the open transfer did not finish after SIGTERM"; }
wait "$SPID"
rc=$?
[ $rc -eq 0 ] || fail "mtls serve exited $rc after SIGTERM"
ok "SIGTERM: no new connections, the open one finishes, exit 0"
