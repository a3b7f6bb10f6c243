#!/bin/bash
# soak.sh [SECONDS] - mtls serve and mtls tunnel under mixed load and
# injected faults for SECONDS (default $SOAK_SECONDS, else 1800), loopback
# only.  `make soak SOAK_SECONDS=N` runs it against $BUILD/mtls.
#
#   backend (bench/backend.c, echo) <- mtls serve --workers 2 <- mtls tunnel
#
# In rounds of about 10 s: `mtls bench` against serve (handshake, resume,
# rr, bulk in turn), a checked 5 MB transfer through serve and one through
# tunnel->serve (SHA-256 compared at both ends), and faults: SIGHUP to both
# and a touch of the certificate (reload), slow, garbage and vanishing
# clients, the backend killed and restarted every third round, and once,
# midway, serve's RLIMIT_NOFILE lowered to 64 for a while (EMFILE).
#
# At the end it fails unless: serve and tunnel are still alive; every
# completed checked transfer had the right SHA-256 and at least one of each
# kind completed; their descriptors and RSS are back near the baseline taken
# after warm-up; and every non-ok line of their logs is explained by an
# injected fault (the ALLOWED list below).  Everything it starts is stopped by
# PID; its files are in a temp dir, kept on failure.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
MTLS=${MTLS:-$top/$BUILD/mtls}
SECS=${1:-${SOAK_SECONDS:-1800}}
CHECK_BYTES=5000000
FD_MARGIN=8          # descriptors above the baseline allowed at the end
# RSS growth allowed: 48 MB, or 30% if that is more.  Not a leak check (LSan
# and valgrind do that); it catches unbounded growth.  The bound covers the
# server's session cache filling up: OpenSSL's default of 20480 sessions,
# each holding the client's certificate, is 30-40 MB when full, and a
# 2-minute soak on an idle machine gets close (one run grew 16 MB).
RSS_MARGIN_KB=49152
CLIENTS="$top/scripts/soak/clients.py"

# Log lines that an injected fault explains (extended regexps, matched
# against whole lines of the serve and tunnel logs).  Anything else that is
# not a successful connection or an informational line fails the soak.
ALLOWED=(
	# the backend killed and restarted
	'outcome=backend_error reason="backend 127\.0\.0\.1:[0-9]+: Connection refused"'
	# garbage and vanishing clients, clients that give up mid-handshake
	'outcome=handshake_failed reason="TLS handshake failed: '
	'outcome=closed_before_handshake '
	# slow clients
	'outcome=handshake_timeout'
	'reason="[^"]*(timed out|timeout)[^"]*"'
	# connections open while the backend was killed
	'reason="[^"]*(Connection reset by peer|Broken pipe)[^"]*"'
	# vanishing clients after the handshake: closed without close_notify
	'outcome=client_error reason="TLS read: the peer closed the connection without close_notify"'
	# the EMFILE phase
	'(Too many open files|pausing new connections|accepting again|resuming)'
	# the tunnel: its upstream (serve) refusing or dropping during faults
	'outcome=(upstream_error|upstream_failed|connect_failed) '
)

die() { echo "soak: FAIL: $*" >&2; exit 1; }
[ -x "$MTLS" ] || die "$MTLS is not built (make build)"
for c in python3 prlimit cc; do
	command -v $c >/dev/null || die "$c is not installed"
done

W=$(mktemp -d "${TMPDIR:-/tmp}/mtls-soak.XXXXXX")
PIDS=""
BPID="" SPID="" TPID=""
status=1
stop_all() {
	for p in $PIDS $BPID $SPID $TPID; do kill "$p" 2>/dev/null; done
	for p in $PIDS $BPID $SPID $TPID; do wait "$p" 2>/dev/null; done
	if [ $status -eq 0 ]; then rm -rf "$W"; else echo "soak: files kept in $W" >&2; fi
}
trap stop_all EXIT
trap 'exit 1' INT TERM
cd "$W" || exit 1

port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
wait_port() {
	for _ in $(seq 100); do
		python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$1)))" 2>/dev/null && return 0
		sleep 0.1
	done
	die "nothing listens on 127.0.0.1:$1"
}
alive() { kill -0 "$1" 2>/dev/null; }
fds() { ls /proc/"$1"/fd | wc -l; }
rss() { awk '/^VmRSS:/ { print $2 }' /proc/"$1"/status; }
# Remember a background helper; forget the ones that have finished.
bg() { PIDS="$PIDS $1"; }
reap() {
	local keep="" p
	for p in $PIDS; do
		if alive "$p"; then keep="$keep $p"; else wait "$p" 2>/dev/null; fi
	done
	PIDS=$keep
}

"$MTLS" init --dir pki >/dev/null || die "mtls init failed"
cc -O2 -o backend "$top/bench/backend.c" || die "cannot build bench/backend.c"
BPORT=$(port) SPORT=$(port) TPORT=$(port)
start_backend() {
	./backend "$BPORT" echo 2>>backend.log &
	BPID=$!
	wait_port "$BPORT"
}
start_backend
"$MTLS" serve --listen "127.0.0.1:$SPORT" --cert pki/server.crt \
    --key pki/server.key --ca pki/ca/ca.crt --backend "127.0.0.1:$BPORT" \
    --allow-cn client --workers 2 --handshake-timeout 3 2>>serve.log &
SPID=$!
wait_port "$SPORT"
"$MTLS" tunnel --listen "127.0.0.1:$TPORT" --connect "127.0.0.1:$SPORT" \
    --servername localhost --cert pki/client.crt --key pki/client.key \
    --ca pki/ca/ca.crt --workers 2 2>>tunnel.log &
TPID=$!
wait_port "$TPORT"
NOFILE=$(prlimit --pid "$SPID" --nofile --output SOFT,HARD --noheadings | awk '{print $1":"$2}')

BENCH=("$MTLS" bench "127.0.0.1:$SPORT" --cert pki/client.crt
       --key pki/client.key --ca pki/ca/ca.crt --servername localhost --json)
bench() { # MODE SECONDS OUT
	case $1 in
	rr) set -- "$@" --request 'ping\n' --response-bytes 5 ;;
	bulk) set -- "$@" --size 64K ;;
	esac
	local m=$1 d=$2 o=$3; shift 3
	$BENCH_EXEC "${BENCH[@]}" --mode "$m" -c 4 -d "$d" "$@" >"$o" 2>>bench.err
}
BENCH_EXEC=""   # "exec" in a background subshell, so that $! is mtls bench
CHK_OK=0 CHK_BAD=0 CHK_INCOMPLETE=0 CHK_SERVE=0 CHK_TUNNEL=0
check() { # serve|tunnel
	local r
	if [ "$1" = serve ]; then
		python3 "$CLIENTS" check 127.0.0.1 "$SPORT" $CHECK_BYTES pki/ca/ca.crt \
		    pki/client.crt pki/client.key localhost >>checks.log 2>&1
	else
		python3 "$CLIENTS" check 127.0.0.1 "$TPORT" $CHECK_BYTES >>checks.log 2>&1
	fi
	r=$?
	case $r in
	0) CHK_OK=$((CHK_OK + 1))
	   if [ "$1" = serve ]; then CHK_SERVE=$((CHK_SERVE + 1)); else CHK_TUNNEL=$((CHK_TUNNEL + 1)); fi ;;
	3) CHK_INCOMPLETE=$((CHK_INCOMPLETE + 1)) ;;
	*) CHK_BAD=$((CHK_BAD + 1)) ;;
	esac
}
PEAK_SFD=0 PEAK_TFD=0 PEAK_SRSS=0 PEAK_TRSS=0
sample() {
	alive "$SPID" || die "mtls serve died (see $W/serve.log)"
	alive "$TPID" || die "mtls tunnel died (see $W/tunnel.log)"
	local v
	v=$(fds "$SPID"); [ "$v" -gt $PEAK_SFD ] && PEAK_SFD=$v
	v=$(fds "$TPID"); [ "$v" -gt $PEAK_TFD ] && PEAK_TFD=$v
	v=$(rss "$SPID"); [ "$v" -gt $PEAK_SRSS ] && PEAK_SRSS=$v
	v=$(rss "$TPID"); [ "$v" -gt $PEAK_TRSS ] && PEAK_TRSS=$v
}

# ---- warm-up, then the baseline ----------------------------------------
for m in handshake resume rr bulk; do bench $m 1 "warm-$m.json"; done
check serve; check tunnel
sleep 1
BASE_SFD=$(fds "$SPID") BASE_TFD=$(fds "$TPID")
BASE_SRSS=$(rss "$SPID") BASE_TRSS=$(rss "$TPID")
echo "soak: ${SECS}s; baseline after warm-up: serve ${BASE_SFD} fds ${BASE_SRSS} kB," \
     "tunnel ${BASE_TFD} fds ${BASE_TRSS} kB"

# ---- rounds -------------------------------------------------------------
MODES=(handshake resume rr bulk)
start=$(date +%s)
end=$((start + SECS))
round=0 emfile_done=0 killed=0 reloads=0 slow=0 garbage=0 partial=0
while [ "$(date +%s)" -lt $((end - 8)) ]; do
	round=$((round + 1))
	mode=${MODES[$((round % 4))]}
	(BENCH_EXEC=exec; bench "$mode" 6 "round-$round-$mode.json") &
	bg $!
	# faults
	python3 "$CLIENTS" slow 127.0.0.1 "$SPORT" 8 & bg $!
	python3 "$CLIENTS" slow 127.0.0.1 "$TPORT" 4 & bg $!
	slow=$((slow + 2))
	for _ in 1 2 3; do
		python3 "$CLIENTS" garbage 127.0.0.1 "$SPORT"
		python3 "$CLIENTS" partial 127.0.0.1 "$SPORT"
	done
	garbage=$((garbage + 3)) partial=$((partial + 3))
	kill -HUP "$SPID" "$TPID"
	reloads=$((reloads + 1))
	check serve
	if [ $((round % 3)) -eq 0 ]; then
		kill "$BPID"; wait "$BPID" 2>/dev/null
		killed=$((killed + 1))
		sleep 1
		start_backend
	fi
	touch pki/server.crt pki/client.crt
	check tunnel
	if [ $emfile_done -eq 0 ] && [ "$(date +%s)" -ge $((start + SECS / 2)) ]; then
		# EMFILE: a low descriptor limit, more connections than it allows.
		# Only the soft limit: raising a hard one back needs CAP_SYS_RESOURCE.
		prlimit --pid "$SPID" --nofile="64:${NOFILE#*:}" || die "prlimit failed"
		"${BENCH[@]}" --mode idle -c 80 -d 4 >emfile-idle.json 2>>bench.err &
		bg $!
		for _ in $(seq 10); do python3 "$CLIENTS" partial 127.0.0.1 "$SPORT"; done
		sleep 5
		prlimit --pid "$SPID" --nofile="$NOFILE" || die "prlimit failed"
		emfile_done=1
		echo "soak: EMFILE phase done (round $round)"
	fi
	sample
	wait_round=0
	while [ $wait_round -lt 10 ] && [ -n "$(jobs -pr)" ] && \
	    [ "$(date +%s)" -lt $((start + round * 10)) ]; do
		sleep 1; wait_round=$((wait_round + 1))
	done
	reap
	echo "soak: round $round ($mode) done, $(( $(date +%s) - start ))s"
done

# ---- settle, then the end figures ---------------------------------------
for p in $PIDS; do wait "$p" 2>/dev/null; done
PIDS=""
check serve; check tunnel
sleep 5     # handshake timeouts (3 s) of the last slow clients
sample
END_SFD=$(fds "$SPID") END_TFD=$(fds "$TPID")
END_SRSS=$(rss "$SPID") END_TRSS=$(rss "$TPID")

echo "== soak figures (${SECS}s, $round rounds)"
python3 - "$W" <<'PY'
import glob, json, os, sys
tot = {}
for f in glob.glob(os.path.join(sys.argv[1], "*.json")):
    try:
        j = json.load(open(f))
    except ValueError:
        continue
    t = tot.setdefault(j["mode"], [0, 0])
    t[0] += j["ops"]; t[1] += j["errors"]["total"]
for m in sorted(tot):
    print("  bench %-9s %8d completed, %d errors (faults injected)" % (m, tot[m][0], tot[m][1]))
PY
echo "  checked transfers: $CHK_OK correct ($CHK_SERVE via serve, $CHK_TUNNEL via tunnel->serve)," \
     "$CHK_BAD wrong, $CHK_INCOMPLETE not completed (fault-hit)"
echo "  faults: $reloads SIGHUP+touch reloads, $killed backend restarts, $slow slow," \
     "$garbage garbage, $partial vanishing clients, EMFILE phase: $emfile_done"
echo "  serve : fds base $BASE_SFD peak $PEAK_SFD end $END_SFD; RSS kB base $BASE_SRSS peak $PEAK_SRSS end $END_SRSS"
echo "  tunnel: fds base $BASE_TFD peak $PEAK_TFD end $END_TFD; RSS kB base $BASE_TRSS peak $PEAK_TRSS end $END_TRSS"
for log in serve.log tunnel.log; do
	echo "  $log outcomes:"
	grep -o 'outcome=[a-z_]*' $log | sort | uniq -c | sed 's/^/    /'
	echo "  $log reasons other than ok (numbers as N):"
	grep -v 'outcome=ok ' $log | grep -o 'outcome=[a-z_]* reason="[^"]*"' |
	    sed 's/[0-9][0-9]*/N/g' | sort | uniq -c | sort -rn | sed 's/^/    /'
	grep -v -E 'outcome=|^[^ ]+ info: ' $log | cut -d' ' -f2- |
	    sed 's/[0-9][0-9]*/N/g' | sort | uniq -c | sed 's/^/    /'
done

bad=0
no() { echo "soak: FAIL: $*" >&2; bad=1; }
[ $CHK_BAD -eq 0 ] || no "$CHK_BAD checked transfers had a wrong SHA-256 (see $W/checks.log)"
[ $CHK_SERVE -gt 0 ] && [ $CHK_TUNNEL -gt 0 ] || no "no checked transfer completed through serve or through the tunnel"
[ $emfile_done -eq 1 ] || no "the run was too short for the EMFILE phase"
[ "$END_SFD" -le $((BASE_SFD + FD_MARGIN)) ] || no "serve: $END_SFD descriptors at the end, $BASE_SFD after warm-up"
[ "$END_TFD" -le $((BASE_TFD + FD_MARGIN)) ] || no "tunnel: $END_TFD descriptors at the end, $BASE_TFD after warm-up"
rss_ok() { # BASE END
	local m=$((${1} * 3 / 10))
	[ $m -lt $RSS_MARGIN_KB ] && m=$RSS_MARGIN_KB
	[ "$2" -le $(($1 + m)) ]
}
rss_ok "$BASE_SRSS" "$END_SRSS" || no "serve: RSS $END_SRSS kB at the end, $BASE_SRSS kB after warm-up"
rss_ok "$BASE_TRSS" "$END_TRSS" || no "tunnel: RSS $END_TRSS kB at the end, $BASE_TRSS kB after warm-up"

# Every log line: a successful connection, an informational line, or one
# the ALLOWED list explains.
pat=$(IFS='|'; echo "${ALLOWED[*]}")
for log in serve.log tunnel.log; do
	grep -v -E 'outcome=ok |^[^ ]+ info: ' "$log" | grep -v -E "$pat" >"$log.unexplained"
	n=$(wc -l <"$log.unexplained")
	if [ "$n" -gt 0 ]; then
		head -n 10 "$log.unexplained" >&2
		no "$log: $n lines no injected fault explains"
	fi
done
[ $bad -eq 0 ] || exit 1
echo "soak: PASS"
status=0
