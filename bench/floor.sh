#!/bin/sh
# bench/floor.sh - the floor under the bulk cell (issue 17): what any TLS
# proxy on this machine must spend per MB echoed, whatever its code.
#   - the kernel's part: a plain TCP relay (HAProxy, mode tcp, no TLS),
#     once copying through user space and once with splice(2), moving the
#     bulk cell's traffic (4 connections echoing 1 MiB blocks through
#     bench/backend.c); its CPU per MB from /proc;
#   - the crypto's part: AES-128-GCM (the suite the servers pick), one MB
#     decrypted and one encrypted per MB echoed (openssl speed).
# The floor is their sum; the bulk cell's "server CPU per op" is compared
# with it.  Pinning as bench/run.sh: relay on core 0, load and backend on
# core 1.
#   bench/floor.sh [SECONDS]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
SECS=${1:-10}
. "$top/bench/lib.sh"
bench_workdir floor
command -v haproxy >/dev/null || { echo "floor: haproxy is needed" >&2; exit 1; }
PIN_SRV="taskset -c 0" PIN_LOAD="taskset -c 1"
[ "$(nproc)" -ge 2 ] || PIN_SRV="" PIN_LOAD=""

cc -O2 -o "$W/backend" "$top/bench/backend.c" || exit 1
BE=$(free_port)
$PIN_LOAD "$W/backend" "$BE" echo & PIDS="$PIDS $!"
wait_port "$BE" || { echo "floor: the backend did not start" >&2; exit 1; }

# The load: 4 connections, each writing a 1 MiB block and reading it back,
# for SECS seconds; prints the MB echoed.
cat >"$W/load.py" <<'PY'
import socket, sys, threading, time
port, secs = int(sys.argv[1]), float(sys.argv[2])
block = bytes(1 << 20)
done = [0]
lock = threading.Lock()
def run():
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    end = time.monotonic() + secs
    while time.monotonic() < end:
        def send():
            s.sendall(block)
        t = threading.Thread(target=send)
        t.start()
        got = 0
        while got < len(block):
            n = s.recv_into(view[got:])
            if n == 0:
                raise SystemExit("closed")
            got += n
        t.join()
        with lock:
            done[0] += 1
    s.close()
ts = [threading.Thread(target=run) for _ in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print(done[0] * len(block) / 1e6)
PY

cpu_of() { # pid: utime + stime in seconds
	awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"
}

relay() { # label, extra haproxy option
	P=$(free_port)
	cat >"$W/h.cfg" <<CFG
global
	nbthread 1
defaults
	mode tcp
	timeout connect 5s
	timeout client 60s
	timeout server 60s
	$2
frontend fe
	bind 127.0.0.1:$P
	default_backend be
backend be
	server echo 127.0.0.1:$BE
CFG
	$PIN_SRV haproxy -f "$W/h.cfg" & hp=$!
	PIDS="$PIDS $hp"
	wait_port "$P" || { echo "floor: haproxy did not start" >&2; exit 1; }
	c0=$(cpu_of "$hp")
	mb=$($PIN_LOAD python3 "$W/load.py" "$P" "$SECS")
	c1=$(cpu_of "$hp")
	kill "$hp"; wait "$hp" 2>/dev/null
	awk -v l="$1" -v mb="$mb" -v c="$(echo "$c1 - $c0" | bc -l)" -v s="$SECS" \
	    'BEGIN { printf "%-34s %8.1f MB/s echoed  %7.0f us per MB  (%.0f%% of a core)\n", l, mb / s, c * 1e6 / mb, c * 100 / s }'
}

echo "floor: $(nproc) cores, $(uname -r), $(haproxy -v | head -n 1)"
relay "plain TCP relay, user-space copy" ""
relay "plain TCP relay, splice" "option splice-auto"
# AES-128-GCM on 16 KiB records (a full TLS record), one core.
openssl speed -evp aes-128-gcm -bytes 16384 -seconds 3 2>/dev/null |
    awk 'tolower($1) == "aes-128-gcm" { kb = $NF; sub(/k$/, "", kb);
	printf "%-34s %8.0f MB/s          %7.0f us per MB echoed (one MB decrypted + one encrypted)\n",
	    "AES-128-GCM, 16 KiB records", kb * 1000 / 1e6, 2e9 / kb }'
