#!/bin/sh
# A backend that does not answer (its accept queue is full, so the
# connect hangs) closes the client after the backend timeout (5 s) with the
# reason logged, and the proxy keeps serving.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

make_pki
BPORT=$(free_port)
cat >"$T/stuck.py" <<PY
import socket, time
s = socket.socket()
s.bind(("127.0.0.1", $BPORT))
s.listen(0)
# Fill the accept queue; later SYNs are dropped and connects hang.
held = []
for _ in range(4):
    c = socket.socket()
    c.setblocking(False)
    c.connect_ex(("127.0.0.1", $BPORT))
    held.append(c)
print("stuck", flush=True)
time.sleep(30)
PY
python3 "$T/stuck.py" >"$T/stuck.out" 2>&1 &
track $!
i=0
while ! grep -q stuck "$T/stuck.out" && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
start_serve --allow-cn client
(printf 'ping\n'; sleep 7) | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" \
    -CAfile pki/ca/ca.crt -cert pki/client.crt -key pki/client.key >"$T/sc.out" 2>&1
assert_not_contains "$T/sc.out" "ping"
wait_log "outcome=backend_error"
assert_contains "$T/serve.log" "no answer within 5s"
ok "a backend that does not answer: the client is closed after the backend timeout, reason logged"
kill -0 "$SPID" || fail "mtls serve died"
ok "the proxy keeps running"
