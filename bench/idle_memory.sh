#!/bin/sh
# bench/idle_memory.sh - memory per idle mTLS connection held by mtls serve.
#
#   bench/idle_memory.sh [N ...]      (default: 2000)
#
# For each N: a fresh `mtls serve` (one worker) in front of bench/backend.c's
# rr service; `mtls bench --mode idle` opens N mTLS connections, does one
# request/response on each (40 B request, 1 KiB response: a keep-alive
# connection between two requests) and holds them.  The server's VmRSS and
# Pss (/proc/PID/smaps_rollup) are read before the first connection and
# once all N are held and the server's memory has settled; the growth
# divided by N is the figure.  It includes each connection's session in the
# server's session cache.
#
# Environment: BUILD=build (where the mtls binary is), KEY=ec-p256,
# EXTRA="..." (more serve arguments, e.g. to compare a change), HTTP=1
# (serve --http in front of the backend's http service: the request is
# then an HTTP exchange, the answer a 1 KiB body).
# Prints one line per N:  N held rss_before rss_held kib_per_conn(rss)
# pss_before pss_held kib_per_conn(pss).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
EXTRA=${EXTRA:-}
HTTP=${HTTP:-0}
[ $# -gt 0 ] || set -- 2000

die() { echo "idle_memory: $*" >&2; exit 1; }
[ -x "$MTLS" ] || die "$MTLS is missing: run 'make build' first"

# Each proxied connection holds two descriptors in the server, one in the
# client: take the hard limit (the script's children inherit it).
ulimit -n "$(ulimit -Hn)" 2>/dev/null

bench_workdir idle

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
pss() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup"; }

d="$W/pki"
make_pki "$d" "$KEY" || die "cannot make the certificates"
cc -O2 -o "$W/backend" "$top/bench/backend.c" || die "cannot build the backend"
be=$(free_port)
if [ "$HTTP" = 1 ]; then
	"$W/backend" "$be" http "$RR_RESPONSE" & PIDS="$PIDS $!"
	EXTRA="$EXTRA --http"
	# The answer's length: backend.c's head, then the body.
	h=$(printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %s\r\n\r\n' \
	    "$RR_RESPONSE" | wc -c)
	answer="--response-bytes $((h + RR_RESPONSE))"
else
	"$W/backend" "$be" rr "$RR_REQLEN" "$RR_RESPONSE" & PIDS="$PIDS $!"
	answer="--response-bytes $RR_RESPONSE"
fi
wait_port "$be" || die "the backend did not start"

echo "# N held rss_before_kib rss_held_kib kib_per_conn_rss pss_before_kib pss_held_kib kib_per_conn_pss"
for n in "$@"; do
	port=$(free_port)
	# shellcheck disable=SC2086
	"$MTLS" serve --listen "127.0.0.1:$port" --cert "$d/server.crt" \
	    --key "$d/server.key" --ca "$d/ca/ca.crt" \
	    --backend "127.0.0.1:$be" --allow-any --workers 1 \
	    --max-conns $((n + 100)) --session-cache $((n + 100)) $EXTRA \
	    >"$W/serve-$n.log" 2>&1 &
	spid=$!
	PIDS="$PIDS $spid"
	wait_port "$port" || die "mtls serve did not start: $(cat "$W/serve-$n.log")"
	sleep 1
	# wait_port's probe connection has come and gone: the worker is the
	# process holding the connections (one worker: the child, if any).
	wpid=$(pgrep -P "$spid" | head -1)
	[ -n "$wpid" ] || wpid=$spid
	rb=$(rss "$wpid"); pb=$(pss "$wpid"); base=$(to_backend "$be")
	# shellcheck disable=SC2086
	"$MTLS" bench "127.0.0.1:$port" --cert "$d/client.crt" \
	    --key "$d/client.key" --ca "$d/ca/ca.crt" --servername localhost \
	    --mode idle -c "$n" -d 600 --timeout 60 --json \
	    --request "$RR_REQUEST" $answer \
	    >"$W/bench-$n.json" 2>"$W/bench-$n.err" &
	bpid=$!
	PIDS="$PIDS $bpid"
	i=0 held=0
	while [ $i -lt 3000 ]; do
		held=$(( $(to_backend "$be") - base ))
		[ "$held" -ge "$n" ] && break
		kill -0 "$bpid" 2>/dev/null || break
		sleep 0.2; i=$((i + 1))
	done
	# Settled: the server's RSS unchanged over two seconds (the worker
	# trims free pages once its accepts stop).
	prev=0 cur=$(rss "$wpid")
	while [ "$cur" != "$prev" ]; do
		sleep 2; prev=$cur; cur=$(rss "$wpid")
	done
	held=$(( $(to_backend "$be") - base ))
	[ "$held" -gt "$n" ] && held=$n
	rh=$(rss "$wpid"); ph=$(pss "$wpid")
	fds=$(ls "/proc/$wpid/fd" | wc -l)
	python3 -c 'import sys
n, held, rb, rh, pb, ph = map(int, sys.argv[1:])
d = held or 1
print("%d %d %d %d %.1f %d %d %.1f" % (n, held, rb, rh, (rh - rb) / d, pb, ph, (ph - pb) / d))' \
	    "$n" "$held" "$rb" "$rh" "$pb" "$ph"
	echo "#   server descriptors open: $fds; bench: $(tail -c 300 "$W/bench-$n.err" | tr '\n' ' ')" >&2
	kill "$bpid" 2>/dev/null; wait "$bpid" 2>/dev/null
	kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
done
