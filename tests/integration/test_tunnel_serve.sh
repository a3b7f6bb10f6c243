#!/bin/sh
# A plain client -> mtls tunnel -> mtls serve -> backend: 100 MB sent by
# socat keep their SHA-256 through both hops; the client's FIN travels as
# close_notify and reaches the backend as a FIN while the answer still
# comes back, and the backend's FIN reaches the client while its later
# bytes still reach the backend (half-close both ways); the tunnel resumes
# its TLS sessions (the server logs resumed=yes); the tunnel also listens
# on a unix socket, which it removes when it stops.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

command -v socat >/dev/null 2>&1 || skip "socat is not installed"
make_pki
start_backend sha
start_serve --allow-cn client --workers 2
start_tunnel "$PORT" --workers 2

# 100 MB of random bytes, streamed (never on disk) by socat, a program that
# speaks plain TCP: hashed as they leave (tee into a FIFO read by
# sha256sum) and by the backend as they arrive; socat half-closes at the
# end of its input and waits (-t) for the backend's "<bytes> <sha256>".
N=100000000
mkfifo sent.fifo
sha256sum <sent.fifo >sent.sha &
SHAPID=$!
track $SHAPID
head -c $N /dev/urandom | tee sent.fifo |
    socat -t 60 -T 60 - "TCP:127.0.0.1:$TPORT" >answer.txt 2>socat.err ||
    { cat socat.err; fail "socat through the tunnel failed"; }
wait $SHAPID || fail "sha256sum of the sent bytes failed"
want="$N $(cut -d' ' -f1 sent.sha)"
got=$(cat answer.txt)
echo "sent $want, backend says $got"
[ "$got" = "$want" ] || fail "the backend received other bytes than socat sent"
ok "100 MB from socat through tunnel and serve keep their SHA-256; the answer comes back after the client's FIN"
wait_file_log "$T/tunnel.log" "outcome=ok"
assert_contains "$T/tunnel.log" "upstream=127.0.0.1:$PORT outcome=ok subject=\"CN=localhost\""
assert_contains "$T/tunnel.log" "in=$N "
wait_log "in=$N "
assert_contains "$T/serve.log" "subject=\"CN=client\""
ok "both log the connection: the tunnel the server's certificate, serve the client's"

for i in 1 2 3; do
	run 0 python3 "$PLAIN_CLIENT" "$TPORT" sha 1000
done
wait_log "outcome=ok" 4
n=$(grep -c "resumed=yes" "$T/serve.log")
[ "$n" -ge 2 ] || { cat "$T/serve.log"; fail "serve saw $n resumed sessions, expected at least 2"; }
assert_contains "$T/tunnel.log" "resumed=yes"
ok "the tunnel resumes its sessions to the upstream ($n resumed)"

kill "$SPID"; wait "$SPID" 2>/dev/null
kill "$BPID"; wait "$BPID" 2>/dev/null
start_backend send 3000000
start_serve --allow-cn client
kill "$TPID"; wait "$TPID" 2>/dev/null
start_tunnel "$PORT"
run 0 python3 "$PLAIN_CLIENT" "$TPORT" recv 12345
assert_contains "$T/out" "read 3000000 bytes"
i=0
while ! grep -q after-eof "$T/backend.log" && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
assert_contains "$T/backend.log" "after-eof 12351"
ok "after the backend's FIN the client gets EOF, and its later bytes still reach the backend"

kill "$SPID"; wait "$SPID" 2>/dev/null
kill "$BPID"; wait "$BPID" 2>/dev/null
start_backend sha
start_serve --allow-cn client
mtls_cmd tunnel --listen "unix:$T/t.sock" --connect "localhost:$PORT" \
    --cert pki/client.crt --key pki/client.key --ca pki/ca/ca.crt \
    --workers 2 2>>"$T/unix.log" &
UPID=$!
track $UPID
i=0
while [ ! -S "$T/t.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
run 0 python3 "$PLAIN_CLIENT" "unix:$T/t.sock" sha 1000000
ok "the tunnel listens on a unix socket (server name from --connect: localhost)"
kill "$UPID"; wait "$UPID" 2>/dev/null
assert_no_file "$T/t.sock"
assert_contains "$T/unix.log" "client=unix: upstream="
ok "the unix socket is removed at exit"

# A socket file left by a process that died is replaced; one that something
# still listens on is not.
python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.bind('$T/t.sock')"
[ -S "$T/t.sock" ] || fail "no stale socket file to test with"
: >"$T/unix.log"
mtls_cmd tunnel --listen "unix:$T/t.sock" --connect "127.0.0.1:$PORT" \
    --cert pki/client.crt --key pki/client.key --ca pki/ca/ca.crt \
    --workers 1 2>>"$T/unix.log" &
UPID=$!
track $UPID
wait_file_log "$T/unix.log" "listening on unix:$T/t.sock"
run 0 python3 "$PLAIN_CLIENT" "unix:$T/t.sock" sha 1000
run 1 "$MTLS" tunnel --listen "unix:$T/t.sock" --connect "127.0.0.1:$PORT" \
    --cert pki/client.crt --key pki/client.key --ca pki/ca/ca.crt
assert_one_line_error "another process is listening there"
run 0 python3 "$PLAIN_CLIENT" "unix:$T/t.sock" sha 1000
ok "a stale unix socket file is replaced; a live one is refused (exit 1) and keeps working"
