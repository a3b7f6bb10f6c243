#!/bin/sh
# A port already in use is an error at start, for the TLS port and the
# metrics port: a second serve (say one with --allow-any) must never join a
# stricter instance's SO_REUSEPORT group and take part of its traffic, and
# --metrics on the proxy's own port must not take the proxy's connections.
# The worker threads of one process still share their port.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

make_pki
start_backend echo
MPORT=$(free_port)
start_serve --allow-cn client --workers 4 --metrics "127.0.0.1:$MPORT"
for i in 1 2 3 4 5 6; do
	s_client pki/client
	assert_contains "$T/sc.out" "ping"
done
ok "four workers of one process share the port"

run 1 timeout 10 "$MTLS" serve --listen "127.0.0.1:$PORT" --cert pki/server.crt \
    --key pki/server.key --ca pki/ca/ca.crt --backend "127.0.0.1:$BPORT" --allow-any
assert_contains "$T/err" "127.0.0.1:$PORT: bind: Address already in use"
ok "a second serve on the same port: bind: address already in use"

run 1 timeout 10 "$MTLS" serve --listen ":$PORT" --cert pki/server.crt \
    --key pki/server.key --ca pki/ca/ca.crt --backend "127.0.0.1:$BPORT" --allow-any
assert_contains "$T/err" "bind: Address already in use"
ok "a second serve on all addresses of the same port is refused too"

P2=$(free_port)
run 1 timeout 10 "$MTLS" serve --listen "127.0.0.1:$P2" --cert pki/server.crt \
    --key pki/server.key --ca pki/ca/ca.crt --backend "127.0.0.1:$BPORT" \
    --allow-any --metrics "127.0.0.1:$PORT"
assert_contains "$T/err" "--metrics 127.0.0.1:$PORT: bind: Address already in use"
run 1 timeout 10 "$MTLS" serve --listen "127.0.0.1:$P2" --cert pki/server.crt \
    --key pki/server.key --ca pki/ca/ca.crt --backend "127.0.0.1:$BPORT" \
    --allow-any --metrics "127.0.0.1:$MPORT"
assert_contains "$T/err" "--metrics 127.0.0.1:$MPORT: bind: Address already in use"
ok "--metrics on a port in use (the proxy's own, another metrics) is refused"

# Another program's SO_REUSEPORT listener is not joined either.
P3=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(5)
time.sleep(60)' "$P3" &
track $!
wait_port "$P3"
run 1 timeout 10 "$MTLS" serve --listen "127.0.0.1:$P3" --cert pki/server.crt \
    --key pki/server.key --ca pki/ca/ca.crt --backend "127.0.0.1:$BPORT" --allow-any
assert_contains "$T/err" "bind: Address already in use"
ok "another program's SO_REUSEPORT listener is not joined"

s_client pki/client
assert_contains "$T/sc.out" "ping"
kill -0 "$SPID" || fail "the first serve died"
ok "the first serve still answers"
