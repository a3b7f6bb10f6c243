#!/bin/sh
# mtls serve's capacity: it raises its descriptor limit to the hard limit
# at start (and says so), so that it holds more idle proxied connections
# than the soft limit it was started with would allow; each idle
# connection, after one request or after several in a row (when it kept
# its record buffers while busy), stays under a memory bound (OpenSSL's
# and the relay's buffers given back while idle); and the session cache
# size is an option, checked like the others.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

command -v prlimit >/dev/null || skip "prlimit (util-linux) is not installed"
make_pki
base="--listen 127.0.0.1:1 --cert pki/server.crt --key pki/server.key --ca pki/ca/ca.crt --backend 127.0.0.1:1 --allow-any"
# shellcheck disable=SC2086
run 2 "$MTLS" serve $base --session-cache 0
assert_contains "$T/err" "--session-cache"
# shellcheck disable=SC2086
run 2 "$MTLS" serve $base --session-cache many
assert_contains "$T/err" "--session-cache"
ok "--session-cache takes a number of sessions from 1"

hard=$(ulimit -Hn)
# Under valgrind (make valgrind) the process is slow and valgrind keeps
# descriptors of its own: fewer connections, the soft limit left alone.
if [ -n "${MTLS_WRAP:-}" ]; then
	N=20 soft=$hard
else
	N=300 soft=512
fi
[ "$hard" = unlimited ] || [ "$hard" -ge $((2 * N + 64)) ] ||
    skip "the hard descriptor limit ($hard) is too low for $N connections"
[ "$soft" = "$hard" ] || [ "$hard" = unlimited ] || [ "$hard" -gt "$soft" ] ||
    skip "the hard descriptor limit ($hard) is not above $soft"

start_backend echo
PORT=$(free_port)
# The soft limit lowered for serve alone: $N connections need 2N
# descriptors, more than it.
prlimit --nofile="$soft:$hard" ${MTLS_WRAP:-} "$MTLS" serve \
    --listen "127.0.0.1:$PORT" --cert pki/server.crt --key pki/server.key \
    --ca pki/ca/ca.crt --backend "127.0.0.1:$BPORT" --allow-any \
    --workers 1 --session-cache 100 2>>"$T/serve.log" &
SPID=$!
track $SPID
wait_port "$PORT"
if [ "$soft" != "$hard" ]; then
	wait_log "descriptor limit"
	assert_contains "$T/serve.log" "descriptor limit: raised from $soft to the hard limit $hard"
fi
lim=$(awk '/^Max open files/ { print $4 " " $5 }' "/proc/$SPID/limits")
[ "$lim" = "$hard $hard" ] || fail "serve's descriptor limit is '$lim', not $hard"
ok "the descriptor limit is raised to the hard limit ($soft -> $hard) and logged"

# settled_rss: serve's RSS in KiB once it has not moved for 3 s (a worker
# gives back the record buffers of connections idle for a whole 1 s tick,
# and trims at a quiet tick: up to 2 s).
settled_rss() {
	prev=0 still=0 i=0
	while [ $i -lt 40 ] && [ $still -lt 3 ]; do
		sleep 1
		rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SPID/status")
		if [ "$rss" = "$prev" ]; then still=$((still + 1)); else still=0; fi
		prev=$rss i=$((i + 1))
	done
	echo "$rss"
}

# check_idle_kib WHAT: serve's growth from rss0 to rss1 over the $N
# connections is at most 34 KiB each (about 20 here; record buffers kept
# while idle add about 25, relay buffers 16).  Sanitizers and valgrind
# change what memory costs: the bound is for the plain build.
check_idle_kib() {
	if [ -n "${MTLS_WRAP:-}" ] || [ -n "${ASAN_OPTIONS:-}" ]; then
		ok "$1: memory not checked under a sanitizer or valgrind"
		return
	fi
	kib=$(( (rss1 - rss0) / N ))
	[ "$kib" -le 34 ] || fail "$kib KiB per connection $1 (RSS $rss0 -> $rss1 KiB for $N), more than 34"
	ok "$kib KiB per connection $1 (RSS $rss0 -> $rss1 KiB)"
}

GOOD="--cert pki/client.crt --key pki/client.key --ca pki/ca/ca.crt --servername localhost"
# Warm up (the TLS context, the first buffers), then the memory before.
# (Under valgrind a second may not see a handshake through: not checked.)
# shellcheck disable=SC2086
"$MTLS" bench "127.0.0.1:$PORT" $GOOD -c 2 -d 2 >/dev/null 2>&1
sleep 3
rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SPID/status")
# $N connections, each one request/response of 8 KiB (the echo) then
# idle, held until the bench ends; the held ones are counted while they are
# held.  (With a few bytes, record buffers kept by idle connections would
# hardly show: RSS counts only the pages written.)
REQ=$(head -c 8190 /dev/zero | tr '\0' a)
# shellcheck disable=SC2086
"$MTLS" bench "127.0.0.1:$PORT" $GOOD -c "$N" -d 120 --timeout 100 \
    --mode idle --request "$REQ\r\n" --response-bytes 8192 --json \
    >"$T/idle.json" 2>"$T/idle.err" &
BENCH=$!
track $BENCH
held=0 i=0
while [ $i -lt 900 ]; do
	# The backend logs one line per connection it accepted.
	held=$(wc -l <"$T/backend.log")
	[ "$held" -ge "$N" ] && break
	sleep 0.1; i=$((i + 1))
done
[ "$held" -ge "$N" ] || fail "only $held of $N connections reached the backend"
# Every exchange done, and the worker's memory settled.
rss1=$(settled_rss)
nfd=$(ls "/proc/$SPID/fd" | wc -l)
[ "$nfd" -gt "$soft" ] || [ "$soft" = "$hard" ] ||
    fail "serve holds $nfd descriptors, not more than the soft limit $soft"
ok "$N idle proxied connections held with $nfd descriptors (the soft limit was $soft)"

check_idle_kib "idle after one request"
kill "$BENCH" 2>/dev/null
wait "$BENCH" 2>/dev/null || true

# Busy, then idle: a connection that sends again within a tick keeps its
# record buffers between records, and gives them back once a tick finds it
# idle.  A fresh serve, so that the memory freed above does not hide them.
kill "$SPID"; wait "$SPID" 2>/dev/null
: >"$T/backend.log"
start_serve --allow-any --workers 1
# shellcheck disable=SC2086
"$MTLS" bench "127.0.0.1:$PORT" $GOOD -c 2 -d 2 >/dev/null 2>&1
rss0=$(settled_rss)
python3 "$MTLS_TOP/tests/integration/busy_idle_client.py" "$PORT" \
    pki/ca/ca.crt pki/client.crt pki/client.key "$N" 3 8192 \
    >"$T/busy.out" 2>&1 &
BUSY=$!
track $BUSY
i=0
while ! grep -q "^held $N" "$T/busy.out" && [ $i -lt 900 ]; do
	kill -0 $BUSY 2>/dev/null || { cat "$T/busy.out"; fail "the busy client ended"; }
	sleep 0.1; i=$((i + 1))
done
grep -q "^held $N" "$T/busy.out" || fail "the busy client did not get its $N connections through"
rss1=$(settled_rss)
check_idle_kib "idle after 3 requests in a row"
kill $BUSY 2>/dev/null
wait $BUSY 2>/dev/null || true
