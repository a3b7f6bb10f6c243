#!/bin/sh
# bench/callgrind_http.sh - instructions per request of `mtls serve --http`
# in the bench's http cell, counted by callgrind (repeatable on a busy
# machine, unlike a wall-clock run).
#
#   bench/callgrind_http.sh [SECONDS] [OUTFILE]
#
# A fresh `mtls serve --http --http-identity client-cert --workers 1` under
# callgrind in front of bench/backend.c's http mode, loaded by `mtls bench
# --mode rr -c 64` with the bench's request for SECONDS (default 20).
# Counting starts once every connection has made its first request (its
# handshake is left out) and stops before the load ends.  Prints the
# requests counted (calls of SSL_write_ex: one response each, and a name
# the compiler cannot inline away), the instructions, and
# their ratio; OUTFILE keeps callgrind's output for callgrind_annotate.
# BUILD=build as for make; CONNS=64.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
SECS=${1:-20}
OUT=${2:-}
CONNS=${CONNS:-64}

die() { echo "callgrind_http: $*" >&2; exit 1; }
[ -x "$MTLS" ] || die "$MTLS is missing: run 'make build' first"
command -v valgrind >/dev/null 2>&1 || die "valgrind is not installed"

bench_workdir cg

d="$W/pki"
make_pki "$d" "$KEY" || die "cannot make the certificates"
cc -O2 -o "$W/backend" "$top/bench/backend.c" || die "cannot build the backend"
be=$(free_port)
"$W/backend" "$be" http "$RR_RESPONSE" & PIDS="$PIDS $!"
wait_port "$be" || die "the backend did not start"
port=$(free_port)
valgrind --tool=callgrind --instr-atstart=no \
    --callgrind-out-file="$W/cg.out" \
    "$MTLS" serve --listen "127.0.0.1:$port" --cert "$d/server.crt" \
    --key "$d/server.key" --ca "$d/ca/ca.crt" --backend "127.0.0.1:$be" \
    --allow-any --workers 1 --http --http-identity client-cert \
    --no-sandbox >"$W/serve.log" 2>&1 &
spid=$!
PIDS="$PIDS $spid"
i=0
while ! wait_port "$port"; do
	i=$((i + 1))
	[ $i -lt 6 ] || die "mtls serve did not start: $(cat "$W/serve.log")"
done
# The connections' handshakes are left out: counting starts once all of
# them reached the backend (serve connects at their first request).
"$MTLS" bench "127.0.0.1:$port" --cert "$d/client.crt" \
    --key "$d/client.key" --ca "$d/ca/ca.crt" --servername localhost \
    --mode rr -c "$CONNS" -d $((SECS + 40)) --timeout 60 --json \
    --request "$RR_REQUEST" >"$W/bench.json" 2>"$W/bench.err" &
bpid=$!
PIDS="$PIDS $bpid"
i=0
while [ "$(to_backend "$be")" -lt "$CONNS" ]; do
	i=$((i + 1))
	[ $i -lt 300 ] || die "the connections did not all reach the backend"
	sleep 0.1
done
sleep 1
callgrind_control -i on "$spid" >/dev/null || die "callgrind_control failed"
sleep "$SECS"
callgrind_control -i off "$spid" >/dev/null
kill "$bpid" 2>/dev/null
wait "$bpid" 2>/dev/null
kill -INT "$spid"
wait "$spid" 2>/dev/null
[ -n "$OUT" ] && cp "$W/cg.out" "$OUT"
# Requests: the calls of SSL_write_ex (one response per exchange) counted.
python3 - "$W/cg.out" <<'PY'
import re, sys
names, fn, calls_to, total, reqs = {}, None, None, 0, 0
for line in open(sys.argv[1]):
    m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line)
    if m:
        if m.group(3):
            names[m.group(2)] = m.group(3).strip()
        if m.group(1) == "cfn":
            calls_to = names.get(m.group(2))
        continue
    m = re.match(r"calls=(\d+)", line)
    if m:
        if calls_to == "SSL_write_ex":
            reqs += int(m.group(1))
        continue
    m = re.match(r"summary: (\d+)", line) or re.match(r"totals: (\d+)", line)
    if m:
        total = int(m.group(1))
print("requests %d  instructions %d  per request %.0f" %
      (reqs, total, total / max(reqs, 1)))
PY
