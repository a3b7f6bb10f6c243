#!/bin/sh
# serve --renew-from with 36-second certificates from mtls ca serve: the
# served certificate changes at least twice by itself, a client connected
# the whole time keeps its connection and its SHA-256-checked echo, and the
# CA being down for a while is survived (the current certificate keeps
# serving; the renewal is retried and succeeds once the CA is back).
# Alongside, tunnel --renew-from renews its client certificate the same way.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/est_lib.sh"

# 36-second certificates; three times longer under valgrind (make
# valgrind), whose slowness would otherwise eat a certificate's life
# before the first client connects.
HOURS=0.01 LIFE=36
if [ -n "${MTLS_WRAP:-}" ]; then HOURS=0.03 LIFE=108; fi
est_ca
est_start --hours $HOURS
run 0 "$MTLS" cert issue --ca ca --client --name client --out client
tok=$("$MTLS" ca token --ca ca --name localhost --ip 127.0.0.1 --server 2>/dev/null) ||
    fail "ca token failed"
run 0 "$MTLS" enroll --server "$EST_URL" --ca-cert ca/ca.crt --token "$tok" \
    --name localhost --ip 127.0.0.1 --out web

BPORT=$(free_port)
python3 "$MTLS_TOP/tests/integration/backend.py" echo "$BPORT" backend.log &
track $!
wait_port "$BPORT"
PORT=$(free_port)
MPORT=$(free_port)
mtls_cmd serve --listen "127.0.0.1:$PORT" --cert web.crt --key web.key \
    --ca ca/ca.crt --backend "127.0.0.1:$BPORT" --allow-cn client \
    --allow-cn tun --renew-from "$EST_URL" --metrics "127.0.0.1:$MPORT" \
    2>serve.log &
SPID=$!
track $SPID
wait_port "$PORT"


served() {
	openssl s_client -connect "127.0.0.1:$PORT" -CAfile ca/ca.crt \
	    -cert client.crt -key client.key </dev/null 2>/dev/null |
	    openssl x509 -noout -serial 2>/dev/null
}
first=$(served)
[ -n "$first" ] || { cat serve.log; fail "no certificate served"; }
echo "$first" >serials

# One client for the whole test: 16 KiB every 0.2 s, echoed, hashed both
# ways; it stops when the file "stop" appears.
python3 - "$PORT" <<'PY' >client.out 2>&1 &
import hashlib, os, socket, ssl, sys, time
port = int(sys.argv[1])
ctx = ssl.create_default_context(cafile="ca/ca.crt")
ctx.load_cert_chain("client.crt", "client.key")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                    server_hostname="127.0.0.1")
sent, got, n = hashlib.sha256(), hashlib.sha256(), 0
while not os.path.exists("stop"):
    chunk = os.urandom(16384)
    s.sendall(chunk)
    sent.update(chunk)
    left = len(chunk)
    while left:
        b = s.recv(left)
        if not b:
            sys.exit("the connection was closed after %d bytes" % n)
        got.update(b)
        left -= len(b)
    n += len(chunk)
    time.sleep(0.2)
print("bytes", n, "sent", sent.hexdigest(), "got", got.hexdigest())
sys.exit(0 if sent.digest() == got.digest() else "SHA-256 differs")
PY
CPID=$!
track $CPID

tok=$("$MTLS" ca token --ca ca --name tun 2>/dev/null) || fail "ca token failed"
run 0 "$MTLS" enroll --server "$EST_URL" --ca-cert ca/ca.crt --token "$tok" \
    --name tun --out tun
TPORT=$(free_port)
mtls_cmd tunnel --listen "127.0.0.1:$TPORT" --connect "127.0.0.1:$PORT" \
    --cert tun.crt --key tun.key --ca ca/ca.crt --renew-from "$EST_URL" \
    2>tunnel.log &
track $!
wait_port "$TPORT"
t1=$(openssl x509 -in tun.crt -noout -serial)

# watch N TIMEOUT: polls the served certificate until N distinct serials.
watch() {
	i=0
	while [ $i -lt "$2" ]; do
		s=$(served)
		if [ -n "$s" ] && ! grep -qx "$s" serials; then echo "$s" >>serials; fi
		[ "$(wc -l <serials)" -ge "$1" ] && return 0
		kill -0 $CPID 2>/dev/null || { cat client.out; fail "the long-lived client ended early"; }
		sleep 1
		i=$((i + 1))
	done
	cat serve.log; fail "after $2 s, $(wc -l <serials) distinct served certificates, expected $1"
}
watch 2 $((LIFE * 2))
assert_contains serve.log "certificate renewed, valid until"
ok "serve --renew-from: the served certificate was renewed and swapped in"

# The tunnel renews too (before the outage below, which it could not
# survive if its own certificate's life ended inside it).
i=0
while [ $i -lt $((LIFE * 2)) ] && ! grep -q "certificate renewed, valid until" tunnel.log; do sleep 1; i=$((i + 1)); done
assert_contains tunnel.log "certificate renewed, valid until"
[ "$(openssl x509 -in tun.crt -noout -serial)" != "$t1" ] || fail "tun.crt was not renewed"
ok "tunnel --renew-from: its client certificate renewed"

# The CA goes away: the next renewal fails, is retried, and the current
# certificate keeps serving.
est_stop
i=0
while [ $i -lt $((LIFE * 2)) ] && ! grep -q "renewal from .* failed" serve.log; do sleep 1; i=$((i + 1)); done
grep -q "renewal from .* failed" serve.log || { cat serve.log; fail "no failed renewal logged while the CA was down"; }
[ -n "$(served)" ] || fail "nothing served while the CA was down"
assert_contains serve.log "serving with the current certificate until"
ok "CA down: the renewal failure is logged, the current certificate keeps serving"

# The CA is back on the same address: the retry succeeds.
mtls_cmd ca serve --ca ca --listen "127.0.0.1:$EST_PORT" --cert srv.crt \
    --key srv.key --hours $HOURS 2>>"$T/ca.log" &
EST_PID=$!
track $EST_PID
wait_port "$EST_PORT"
watch 3 $((LIFE * 2))
ok "CA back: renewed again, 3 distinct certificates served"

touch stop
wait $CPID || { cat client.out; fail "the long-lived client failed"; }
assert_contains client.out "bytes"
ok "one client connected the whole time: $(cut -d' ' -f2 client.out) bytes echoed, SHA-256 equal"

# The tunnel still carries connections after its renewals.
echo=$(python3 -c "
import socket
s = socket.create_connection(('127.0.0.1', $TPORT), timeout=10)
s.sendall(b'ping'); print(s.recv(4).decode())")
[ "$echo" = "ping" ] || { cat tunnel.log; fail "nothing came back through the tunnel after its renewal"; }
ok "tunnel --renew-from: connections still carried after the renewals"

curl -s "http://127.0.0.1:$MPORT/metrics" >metrics
grep -q 'mtls_certificate_renewals_total{service="[^"]*",outcome="ok"} [2-9]' metrics ||
    { grep renewals metrics; fail "metrics do not count 2 renewals"; }
grep -q 'mtls_certificate_renewals_total{service="[^"]*",outcome="failed"} [1-9]' metrics ||
    fail "metrics do not count the failed renewal"
na=$(grep 'mtls_certificate_expiration_timestamp_seconds{service="[^"]*",role="server"}' metrics | awk '{print $2}')
[ -n "$na" ] && [ "$na" -gt "$(date +%s)" ] || fail "no future expiration timestamp for role server"
ok "metrics: renewals by outcome, the served certificate's expiration"
