#!/bin/sh
# bench/profile_serve.sh - where mtls serve's time and system calls go
# under one mode of mtls bench.
#
#   bench/profile_serve.sh MODE TOOL [SECONDS]
#
# MODE: handshake, resume, rr (64 connections, 40 B request, 1 KiB
# response), bulk (4 connections, 1 MiB blocks echoed) or http (rr's
# request through serve --http --http-identity client-cert to the
# backend's http service, as in make bench's http cell).
# TOOL:
#   strace   system calls of the server per operation (strace -c -f)
#   perf     perf record -g (DWARF call graphs) of the server; the named
#            functions by share of samples spent in them or below
#   getpid   who calls getpid(): strace -k stack traces, grouped
# A fresh `mtls serve` (one worker) in front of bench/backend.c, ec-p256
# unless KEY says otherwise; BUILD=build as for make.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
MODE=${1:-}
TOOL=${2:-}
SECS=${3:-8}

die() { echo "profile_serve: $*" >&2; exit 1; }
case $MODE in handshake|resume|rr|bulk|http) ;; *) die "MODE: handshake, resume, rr, bulk or http" ;; esac
case $TOOL in strace|perf|getpid) ;; *) die "TOOL: strace, perf or getpid" ;; esac
[ -x "$MTLS" ] || die "$MTLS is missing: run 'make build' first"
command -v "${TOOL%pid}" >/dev/null 2>&1 || [ "$TOOL" = getpid ] ||
    die "$TOOL is not installed"

bench_workdir prof

d="$W/pki"
make_pki "$d" "$KEY" || die "cannot make the certificates"
cc -O2 -o "$W/backend" "$top/bench/backend.c" || die "cannot build the backend"
be=$(free_port)
set --
http=""
case $MODE in
http)
	"$W/backend" "$be" http "$RR_RESPONSE" & PIDS="$PIDS $!"
	http="--http --http-identity client-cert"
	set -- -c 64 --request "$RR_REQUEST" ;;
rr)
	"$W/backend" "$be" rr "$RR_REQLEN" "$RR_RESPONSE" & PIDS="$PIDS $!"
	set -- -c 64 --request "$RR_REQUEST" --response-bytes "$RR_RESPONSE" ;;
bulk)
	"$W/backend" "$be" echo & PIDS="$PIDS $!"
	set -- -c 4 ;;
*)
	"$W/backend" "$be" echo & PIDS="$PIDS $!"
	set -- -c 16 ;;
esac
wait_port "$be" || die "the backend did not start"
port=$(free_port)
# shellcheck disable=SC2086
"$MTLS" serve --listen "127.0.0.1:$port" --cert "$d/server.crt" \
    --key "$d/server.key" --ca "$d/ca/ca.crt" --backend "127.0.0.1:$be" \
    --allow-any --workers 1 $http >"$W/serve.log" 2>&1 &
spid=$!
PIDS="$PIDS $spid"
wait_port "$port" || die "mtls serve did not start: $(cat "$W/serve.log")"

# The tool attaches first, the load runs SECS seconds, the tool ends
# a second after it.
case $TOOL in
strace) strace -c -f -p "$spid" -o "$W/trace" & ;;
getpid) strace -f -k -e trace=getpid -p "$spid" -o "$W/trace" & ;;
perf)   perf record -q -F 999 --call-graph dwarf,16384 -p "$spid" \
	    -o "$W/perf.data" >/dev/null 2>&1 & ;;
esac
tpid=$!
PIDS="$PIDS $tpid"
sleep 1
"$MTLS" bench "127.0.0.1:$port" --cert "$d/client.crt" \
    --key "$d/client.key" --ca "$d/ca/ca.crt" --servername localhost \
    --mode "$(echo "$MODE" | sed 's/^http$/rr/')" -d "$SECS" --json "$@" >"$W/bench.json" 2>"$W/bench.err" ||
    die "mtls bench failed: $(cat "$W/bench.err")"
sleep 1
kill -INT "$tpid" 2>/dev/null
wait "$tpid" 2>/dev/null
ops=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))
print(r.get("bytes", 0) / 1e6 if sys.argv[2] == "bulk" else r["ops"])' \
    "$W/bench.json" "$MODE")
unit=operation; [ "$MODE" = bulk ] && unit=MB
echo "# mtls serve, $MODE, $KEY, $SECS s: $ops ${unit}s (+1 preflight handshake)"

case $TOOL in
strace)
	# "calls" per operation, busiest first.
	awk -v ops="$ops" -v unit="$unit" '
	    $1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {
		printf "%-16s %10d calls  %8.3f per %s\n", $NF, $4, $4 / ops, unit
	    }' "$W/trace" | sort -k4 -rn ;;
getpid)
	n=$(grep -c 'getpid()' "$W/trace")
	echo "getpid: $n calls, $(python3 -c "print('%.2f' % ($n / $ops))") per $unit; callers (first named frames):"
	awk '/getpid\(\)/ { if (s != "") c[s]++; s = ""; k = 0; next }
	    /^ > / && k < 4 && $0 !~ /__getpid|\(\+0x|X509_get0_reject/ {
		sub(/^ > [^(]*\(/, ""); sub(/\+0x.*/, ""); s = s " < " $0; k++ }
	    END { if (s != "") c[s]++; for (x in c) print c[x], x }' \
	    "$W/trace" | sort -rn | head -8 ;;
perf)
	perf report -i "$W/perf.data" --children --sort sym --stdio -g none \
	    2>/dev/null | grep -E '^ +[0-9]' | grep -v ' 0x0000' | head -60 ;;
esac
