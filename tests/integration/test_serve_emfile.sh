#!/bin/sh
# Out of file descriptors: with a small RLIMIT_NOFILE and more idle
# connections than it allows, mtls serve pauses accepting (and says so)
# instead of spinning on accept(), and once the handshake timeout has
# freed descriptors a valid client gets in.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

command -v prlimit >/dev/null || skip "prlimit is not installed"
make_pki
start_backend echo
PORT=$(free_port)
prlimit --nofile=40:40 "$MTLS" serve --listen "127.0.0.1:$PORT" --cert pki/server.crt \
    --key pki/server.key --ca pki/ca/ca.crt --backend "127.0.0.1:$BPORT" \
    --allow-cn client --workers 1 --handshake-timeout 2 2>>"$T/serve.log" &
SPID=$!
track $SPID
wait_port "$PORT"

cat >"$T/hold.py" <<PY
import socket, time
socks = [socket.create_connection(("127.0.0.1", $PORT)) for _ in range(60)]
time.sleep(4)
PY
python3 "$T/hold.py" &
track $!
wait_log "pausing new connections"
ticks() { awk '{print $14 + $15}' /proc/"$SPID"/stat; }
t0=$(ticks)
sleep 1
t1=$(ticks)
hz=$(getconf CLK_TCK)
echo "CPU while out of descriptors: $((t1 - t0)) ticks of $hz in a second"
[ $((t1 - t0)) -lt $((hz / 2)) ] || fail "mtls serve spins while out of descriptors"
ok "out of descriptors: accepting pauses instead of spinning"

# The idle ones time out; a valid client gets in.
i=0
while [ $i -lt 10 ]; do
	s_client pki/client
	grep -q ping "$T/sc.out" && break
	sleep 0.5; i=$((i + 1))
done
assert_contains "$T/sc.out" "ping"
ok "once descriptors are free again, a valid client connects"
