#!/bin/sh
# Faults: 200 idle sockets plus random bytes do not stop a valid client,
# and the handshake timeout closes them all; --max-conns holds (excess
# connections are closed at once, the rest keep working); a backend that is
# down closes the client with the reason logged, and once it is back
# clients get through again.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

make_pki
start_backend echo
start_serve --allow-cn client --handshake-timeout 1 --workers 2

cat >"$T/idle.py" <<PY
import os, socket, time
socks = []
for i in range(200):
    s = socket.create_connection(("127.0.0.1", $PORT))
    if i % 4 == 0:
        s.sendall(os.urandom(300))
    socks.append(s)
print("opened", len(socks))
time.sleep(0.3)
# Every one of them is closed by the proxy within the handshake timeout.
deadline = time.time() + 8
closed = 0
for s in socks:
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        while s.recv(4096):
            pass
        closed += 1
    except ConnectionResetError:
        closed += 1
    except socket.timeout:
        pass
print("closed", closed)
PY
python3 "$T/idle.py" >"$T/idle.out" 2>&1 &
IPID=$!
track $IPID
sleep 0.5
s_client pki/client
assert_contains "$T/sc.out" "ping"
ok "a valid client connects while 200 idle and garbage sockets are open"
wait $IPID
assert_contains "$T/idle.out" "closed 200"
wait_log "outcome=handshake_timeout" 100
ok "the handshake timeout closes all of them"

kill "$SPID"; wait "$SPID" 2>/dev/null
start_serve --allow-cn client --max-conns 5 --workers 2
cat >"$T/limit.py" <<PY
import socket, time
held = [socket.create_connection(("127.0.0.1", $PORT)) for _ in range(5)]
time.sleep(0.3)
s = socket.create_connection(("127.0.0.1", $PORT))
s.settimeout(3)
try:
    print("excess:", "closed" if s.recv(1) == b"" else "open")
except ConnectionResetError:
    print("excess: closed")
except socket.timeout:
    print("excess: open")
time.sleep(1)
PY
python3 "$T/limit.py" >"$T/limit.out" 2>&1 &
LPID=$!
track $LPID
sleep 0.7
s_client pki/client
assert_not_contains "$T/sc.out" "ping"
wait $LPID
assert_contains "$T/limit.out" "excess: closed"
wait_log "connection limit 5 reached"
ok "--max-conns 5: a sixth connection is closed at once"
sleep 0.3
s_client pki/client
assert_contains "$T/sc.out" "ping"
ok "once they are gone, clients get in again"

kill "$SPID"; wait "$SPID" 2>/dev/null
kill "$BPID"; wait "$BPID" 2>/dev/null
start_serve --allow-cn client
s_client pki/client
assert_not_contains "$T/sc.out" "ping"
wait_log "outcome=backend_error"
assert_contains "$T/serve.log" "Connection refused"
ok "a backend that is down: the client is closed and the log says why"
python3 "$BACKEND_PY" echo "$BPORT" "$T/backend.log" &
track $!
wait_port "$BPORT"
s_client pki/client
assert_contains "$T/sc.out" "ping"
ok "the backend back: clients get through again"

kill "$SPID"; wait "$SPID" 2>/dev/null
start_serve --allow-cn client --idle-timeout 1
cat >"$T/idle2.py" <<PY
import socket, ssl, time
c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
c.load_verify_locations("pki/ca/ca.crt")
c.load_cert_chain("pki/client.crt", "pki/client.key")
s = c.wrap_socket(socket.create_connection(("127.0.0.1", $PORT)), server_hostname="localhost")
s.sendall(b"ping")
assert s.recv(4) == b"ping"
s.settimeout(5)
try:
    print("idle:", "closed" if s.recv(1) == b"" else "data")
except (ssl.SSLError, OSError) as e:
    print("idle: closed", e)
PY
run 0 python3 "$T/idle2.py"
assert_contains "$T/out" "idle: closed"
wait_log "outcome=idle_timeout"
ok "--idle-timeout closes a connection with no data either way"
