#!/bin/sh
# bench/run.sh - mtls serve side by side with nginx (stream module) and
# HAProxy (mode tcp), measured by mtls bench.  Run through `make bench`.
#
# Each server terminates mutual TLS with the same certificates, has one
# worker/thread, runs pinned to core 0 and forwards to the same plaintext
# backend (bench/backend.c); the load (mtls bench) and the backend run on
# core 1.  Every mode of mtls bench runs against every server RUNS times,
# round-robin so that drift on the machine hits every server alike; the
# report gives medians with min-max, the ratio of mtls to each peer, and the
# crypto ceiling of the machine from `openssl speed`.
#
# Environment (all optional):
#   BUILD=build        where `make` put the mtls binary
#   RUNS=3 SECS=5      runs per cell, seconds per run
#   KEYS="ec-p256 rsa-2048"   key types (RSA: handshake and resume only)
#   SERVERS="mtls nginx haproxy"
#   MODES="handshake resume rr bulk http"   (http: each server as an HTTP
#                      reverse proxy adding the client's certificate in a
#                      header, to bench/backend.c's http mode; reported in
#                      the rr table as mtls+http, nginx+http, haproxy+http)
#   HTTP_LOG=1         the http cell: nginx and HAProxy write an access
#                      line per request (client, request, status, bytes,
#                      the client's subject, upstream time), as mtls serve
#                      --http always does; 0: they log nothing while mtls
#                      still does (the comparison before 2026-12-07)
#   CONNS_HS=32 CONNS_RR=64 CONNS_BULK=4   connections per mode
#   IDLE_CONNS=2000    idle connections held to measure memory (0: skip)
#   SCALING=1          also mtls serve --workers 1 and 2, unpinned (0: skip)
#   PROFILE=1          perf profile of mtls serve's full handshakes (0: skip)
#   OUT=FILE           also write the report there (default
#                      $BUILD/bench-results.md)
# nginx and HAProxy run by hand on loopback ports with their own config and
# pid files in a temporary directory, and are stopped by PID at the end.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
# BUILD and MTLS, free_port, wait_port: bench/lib.sh.
. "$top/bench/lib.sh"
RUNS=${RUNS:-3}
SECS=${SECS:-5}
KEYS=${KEYS:-"ec-p256 rsa-2048"}
SERVERS=${SERVERS:-"mtls nginx haproxy"}
MODES=${MODES:-"handshake resume rr bulk http"}
CONNS_HS=${CONNS_HS:-32}
CONNS_RR=${CONNS_RR:-64}
CONNS_BULK=${CONNS_BULK:-4}
IDLE_CONNS=${IDLE_CONNS:-2000}
HTTP_LOG=${HTTP_LOG:-1}
SCALING=${SCALING:-1}
PROFILE=${PROFILE:-1}
OUT=${OUT:-"$BUILD/bench-results.md"}
NGINX_STREAM_MODULE=${NGINX_STREAM_MODULE:-/usr/lib/nginx/modules/ngx_stream_module.so}
# rr: a small HTTP-like request (escapes decoded by mtls bench), a 1 KiB
# answer.  The backend answers every RR_REQLEN bytes it receives.
# The rr exchange (RR_REQUEST, RR_REQLEN, RR_RESPONSE) is bench/lib.sh's;
# this script's make_pki and to_backend, below, are its own.

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }
# request_lines FILE...: the request lines of the http cell's logs (each
# server's line has request=, its other lines do not).
request_lines() { cat "$@" 2>/dev/null | grep -c ' request='; }

# The on/off settings: anything but 0 or 1 would be read as off while
# the report said otherwise.
for knob in HTTP_LOG SCALING PROFILE; do
	eval "val=\$$knob"
	case $val in 0|1) ;; *) echo "bench: $knob must be 0 or 1, not '$val'" >&2; exit 2 ;; esac
done
[ -x "$MTLS" ] || die "$MTLS is missing: run 'make build' first"
command -v python3 >/dev/null || die "python3 is needed for the report"
command -v cc >/dev/null || die "a C compiler is needed for the backend"

W=$(mktemp -d "${TMPDIR:-/tmp}/mtls-bench.XXXXXX") || exit 1
PIDS=""   # the backends
SPIDS=""  # the servers of the key type being measured
cleanup() {
	for p in $SPIDS $PIDS; do kill "$p" 2>/dev/null; done
	for p in $SPIDS $PIDS; do wait "$p" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
track() { PIDS="$PIDS $1"; }
strack() { SPIDS="$SPIDS $1"; }

# Room for every connection in every process (root may raise the hard
# limit; otherwise the current one stays).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
# A proxied connection holds two descriptors (client and backend).
MAXCONN=$(( ($(ulimit -n) - 100) / 2 ))
[ "$MAXCONN" -gt 30000 ] && MAXCONN=30000
[ "$IDLE_CONNS" -gt $((MAXCONN - 100)) ] && IDLE_CONNS=$((MAXCONN - 100))

# Pinning: servers on core 0, load and backend on core 1.
NCPU=$(nproc)
if [ "$NCPU" -ge 2 ] && command -v taskset >/dev/null; then
	PIN_SERVER="taskset -c 0"
	PIN_LOAD="taskset -c 1"
	PINNED="servers pinned to core 0, load generator and backend to core 1"
else
	PIN_SERVER=""
	PIN_LOAD=""
	PINNED="not pinned (fewer than 2 cores or no taskset)"
fi

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
have_mtls=0
if "$MTLS" serve --help >/dev/null 2>&1; then
	have_mtls=1
fi
have_nginx=0
if command -v nginx >/dev/null && [ -f "$NGINX_STREAM_MODULE" ]; then
	have_nginx=1
fi
have_haproxy=0
command -v haproxy >/dev/null && have_haproxy=1

# ---- the backend --------------------------------------------------------
cc -O2 -o "$W/backend" "$top/bench/backend.c" || die "cannot build bench/backend.c"
BE_ECHO=$(free_port)
$PIN_LOAD "$W/backend" "$BE_ECHO" echo & track $!
BE_RR=$(free_port)
$PIN_LOAD "$W/backend" "$BE_RR" rr "$RR_REQLEN" "$RR_RESPONSE" & track $!
wait_port "$BE_ECHO" || die "the echo backend did not start"
wait_port "$BE_RR" || die "the rr backend did not start"
BE_HTTP=$(free_port)
$PIN_LOAD "$W/backend" "$BE_HTTP" http "$RR_RESPONSE" & track $!
wait_port "$BE_HTTP" || die "the http backend did not start"

# ---- PKI: the same CA, server and client certificates for every server ----
make_pki() { # key type
	d="$W/pki-$1"
	mkdir -p "$d"
	"$MTLS" ca init --dir "$d/ca" --name "bench CA $1" --key-type "$1" \
	    >/dev/null || die "mtls ca init ($1) failed"
	"$MTLS" cert issue --ca "$d/ca" --server --name localhost \
	    --ip 127.0.0.1 --key-type "$1" --out "$d/server" >/dev/null ||
	    die "mtls cert issue --server ($1) failed"
	"$MTLS" cert issue --ca "$d/ca" --client --name bench-client \
	    --key-type "$1" --out "$d/client" >/dev/null ||
	    die "mtls cert issue --client ($1) failed"
	# HAProxy wants the key in the same PEM as the certificate.
	(umask 077; cat "$d/server.crt" "$d/server.key" > "$d/server-haproxy.pem")
}

# ---- servers --------------------------------------------------------------
# start_SERVER KEY: sets PORT_ECHO_<server> and PORT_RR_<server> through
# eval, and tracks the processes.
start_mtls() {
	d="$W/pki-$1"
	pe=$(free_port); pr=$(free_port)
	for pair in "$pe:$BE_ECHO" "$pr:$BE_RR"; do
		$PIN_SERVER "$MTLS" serve --listen "127.0.0.1:${pair%%:*}" \
		    --cert "$d/server.crt" --key "$d/server.key" \
		    --ca "$d/ca/ca.crt" --backend "127.0.0.1:${pair#*:}" \
		    --allow-any --workers 1 --max-conns "$MAXCONN" \
		    >>"$W/mtls-serve.log" 2>&1 &
		strack $!
		if [ "${pair%%:*}" = "$pe" ]; then SERVER_PID=$!; else SERVER_PID_RR=$!; fi
	done
	wait_port "$pe" && wait_port "$pr" || die "mtls serve did not start (see $W/mtls-serve.log)"
	ph=$(free_port)
	$PIN_SERVER "$MTLS" serve --listen "127.0.0.1:$ph" \
	    --cert "$d/server.crt" --key "$d/server.key" \
	    --ca "$d/ca/ca.crt" --backend "127.0.0.1:$BE_HTTP" \
	    --allow-any --workers 1 --max-conns "$MAXCONN" --http \
	    --http-identity client-cert >>"$W/mtls-serve.log" 2>&1 &
	strack $!
	SERVER_PID_HTTP=$!
	wait_port "$ph" || die "mtls serve --http did not start"
	PORT_ECHO=$pe PORT_RR=$pr PORT_HTTP=$ph
}

start_nginx() {
	d="$W/pki-$1"
	pe=$(free_port); pr=$(free_port); ph=$(free_port)
	n="$W/nginx-$1"
	mkdir -p "$n"
	tls="ssl_certificate $d/server.crt; ssl_certificate_key $d/server.key;
	    ssl_client_certificate $d/ca/ca.crt; ssl_verify_client on;
	    ssl_protocols TLSv1.2 TLSv1.3;
	    ssl_session_cache shared:BENCH:20m; ssl_session_tickets on;"
	# The same facts as mtls's request line; nginx buffers its writes.
	nginx_log="access_log off;"
	[ "$HTTP_LOG" = 1 ] && nginx_log="log_format req '\$time_iso8601 client=\$remote_addr:\$remote_port request=\$request_method path=\"\$request_uri\" status=\$status bytes_in=\$request_length bytes_out=\$bytes_sent identity=\"\$ssl_client_s_dn\" upstream_time=\$upstream_response_time'; access_log $n/access.log req buffer=64k flush=1s;"
	cat > "$n/nginx.conf" <<EOF
load_module $NGINX_STREAM_MODULE;
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile $(ulimit -n);
pid $n/nginx.pid;
error_log $n/error.log warn;
events { worker_connections $((MAXCONN * 2)); multi_accept on; }
stream {
	server { listen 127.0.0.1:$pe ssl; $tls proxy_pass 127.0.0.1:$BE_ECHO; }
	server { listen 127.0.0.1:$pr ssl; $tls proxy_pass 127.0.0.1:$BE_RR; }
}
http {
	$nginx_log
	upstream be_http { server 127.0.0.1:$BE_HTTP; keepalive 64; }
	server {
		listen 127.0.0.1:$ph ssl;
		ssl_certificate $d/server.crt; ssl_certificate_key $d/server.key;
		ssl_client_certificate $d/ca/ca.crt; ssl_verify_client on;
		ssl_protocols TLSv1.2 TLSv1.3;
		ssl_session_cache shared:BENCHH:20m; ssl_session_tickets on;
		keepalive_requests 1000000;
		location / {
			proxy_pass http://be_http;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header X-SSL-Client-Cert \$ssl_client_escaped_cert;
		}
	}
}
EOF
	$PIN_SERVER nginx -p "$n" -e "$n/error.log" -c "$n/nginx.conf" \
	    >>"$n/stdout.log" 2>&1 &
	strack $!
	SERVER_PID=$! SERVER_PID_RR=$!
	wait_port "$pe" && wait_port "$pr" && wait_port "$ph" || die "nginx did not start (see $n/error.log)"
	SERVER_PID_HTTP=$SERVER_PID
	PORT_ECHO=$pe PORT_RR=$pr PORT_HTTP=$ph
}

start_haproxy() {
	d="$W/pki-$1"
	pe=$(free_port); pr=$(free_port); ph=$(free_port)
	h="$W/haproxy-$1"
	mkdir -p "$h"
	bind="ssl crt $d/server-haproxy.pem ca-file $d/ca/ca.crt verify required ssl-min-ver TLSv1.2"
	# The same facts as mtls's request line, to its standard output (the
	# log file here): HAProxy writes a line at a time.
	haproxy_log_global="" haproxy_log=""
	if [ "$HTTP_LOG" = 1 ]; then
		haproxy_log_global="log stdout format raw local0 info"
		haproxy_log="log global
	log-format \"%t client=%ci:%cp request=%HM path=%{+Q}HU status=%ST bytes_in=%U bytes_out=%B identity=%{+Q}[ssl_c_s_dn] upstream_time=%Tr\""
	fi
	cat > "$h/haproxy.cfg" <<EOF
global
	nbthread 1
	$haproxy_log_global
	maxconn $MAXCONN
	pidfile $h/haproxy.pid
defaults
	mode tcp
	timeout connect 5s
	timeout client 60s
	timeout server 60s
frontend fe_echo
	bind 127.0.0.1:$pe $bind
	default_backend be_echo
frontend fe_rr
	bind 127.0.0.1:$pr $bind
	default_backend be_rr
backend be_echo
	server echo 127.0.0.1:$BE_ECHO
backend be_rr
	server rr 127.0.0.1:$BE_RR
frontend fe_http
	mode http
	timeout http-keep-alive 60s
	bind 127.0.0.1:$ph $bind
	http-request set-header X-SSL-Client-Cert %[ssl_c_der,base64]
	$haproxy_log
	default_backend be_http
backend be_http
	mode http
	http-reuse always
	server http 127.0.0.1:$BE_HTTP
EOF
	$PIN_SERVER haproxy -db -f "$h/haproxy.cfg" >>"$h/haproxy.log" 2>&1 &
	strack $!
	SERVER_PID=$! SERVER_PID_RR=$!
	wait_port "$pe" && wait_port "$pr" && wait_port "$ph" || die "haproxy did not start (see $h/haproxy.log)"
	SERVER_PID_HTTP=$SERVER_PID
	PORT_ECHO=$pe PORT_RR=$pr PORT_HTTP=$ph
}

# ---- the crypto ceiling ------------------------------------------------------
# One full TLS 1.3 mTLS handshake costs the server one signature (its
# CertificateVerify), two verifications (the CA's signature on the client
# certificate, the client's CertificateVerify) and one X25519 key generation
# and derivation (counted as two derivations).
speed() { # openssl speed arguments...
	$PIN_SERVER openssl speed -seconds 1 "$@" 2>/dev/null
}
say "measuring the crypto ceiling (openssl speed)"
speed ecdsap256 ecdhx25519 > "$W/speed-ec.txt"
case " $KEYS " in *" rsa-2048 "*) speed rsa2048 > "$W/speed-rsa.txt" ;; esac

# ---- memory per idle connection ---------------------------------------------
# CPU time (user + system, clock ticks) of a server process and its
# children: with other work on the machine, CPU per operation is steadier
# than operations per second.
CLK_TCK=$(getconf CLK_TCK)
cpu_tree() { # pid
	t=0
	for p in "$1" $(pgrep -P "$1"); do
		v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

# The resident memory of a server process and its children, in KiB.
rss_tree() { # pid
	t=0
	for p in "$1" $(pgrep -P "$1"); do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}
# Connections from the server to the backend: made once the server has
# verified the client, so they count finished handshakes.
# (Read from /proc/net/tcp: field 3 is the remote address, 4 the state,
# 01 established.)
to_backend() { # [backend port]
	awk -v port="$(printf '%04X' "${1:-$BE_ECHO}")" \
	    '$4 == "01" && substr($3, index($3, ":") + 1) == port { n++ }
	    END { print n + 0 }' /proc/net/tcp
}
# IDLE_CONNS mTLS connections held open and idle; the growth of the
# server's resident memory divided by their number.  "handshake": idle
# right after the handshake (echo service); "request": after one
# request/response each (rr service), as a keep-alive connection between
# two requests.
measure_idle() { # key server port pid after backend-port
	before=$(rss_tree "$4")
	base=$(to_backend "$6")
	if [ "$5" = request ]; then
		set -- "$@" --request "$RR_REQUEST" --response-bytes "$RR_RESPONSE"
	fi
	idle_key=$1 idle_server=$2 idle_port=$3 idle_pid=$4 idle_after=$5
	idle_be=$6
	shift 6
	$PIN_LOAD "$MTLS" bench "127.0.0.1:$idle_port" --cert "$d/client.crt" \
	    --key "$d/client.key" --ca "$d/ca/ca.crt" --servername localhost \
	    --mode idle -c "$IDLE_CONNS" -d 120 --json "$@" >/dev/null 2>&1 &
	bpid=$!
	i=0
	while [ $(( $(to_backend "$idle_be") - base )) -lt "$IDLE_CONNS" ] && [ $i -lt 600 ]; do
		sleep 0.1; i=$((i + 1))
	done
	# The exchanges are done when the server's memory stops growing.
	sleep 2
	held=$(( $(to_backend "$idle_be") - base ))
	# A connection being replaced (the server still holding the old
	# one's backend side) may count twice: never more than were asked.
	[ "$held" -gt "$IDLE_CONNS" ] && held=$IDLE_CONNS
	during=$(rss_tree "$idle_pid")
	kill "$bpid" 2>/dev/null
	wait "$bpid" 2>/dev/null
	python3 -c 'import json, sys
k, s, after, n, held, before, during = sys.argv[1:]
n, held, before, during = int(n), int(held), int(before), int(during)
print(json.dumps(dict(key=k, server=s, mode="idle", after=after, conns=n,
    held=held, rss_before_kib=before, rss_during_kib=during,
    kib_per_conn=(during - before) / held if held else None)))
sys.stderr.write("bench: %-8s idle      %-7s %d held after a %s: %.1f KiB per connection\n"
    % (k, s, held, after, (during - before) / held if held else 0))' \
	    "$idle_key" "$idle_server" "$idle_after" "$IDLE_CONNS" "$held" "$before" "$during" >> "$RESULTS"
	sleep 1 # let the server release them before the next one
}

# ---- the runs ------------------------------------------------------------------
RESULTS="$W/results.jsonl"
: > "$RESULTS"
conns_for() {
	case $1 in
	handshake|resume) echo "$CONNS_HS" ;;
	rr|http) echo "$CONNS_RR" ;;
	bulk) echo "$CONNS_BULK" ;;
	esac
}

SERVERS_RUN=""
for s in $SERVERS; do
	eval "ok=\$have_$s"
	if [ "$ok" = 1 ]; then
		SERVERS_RUN="$SERVERS_RUN $s"
	else
		say "skipping $s: not available"
	fi
done
[ -n "$SERVERS_RUN" ] || die "no server to measure"

# Where mtls serve spends a full handshake: perf samples (with DWARF call
# graphs, so that time is charged to the exported OpenSSL entry points
# that called it) during one more handshake run; the report keeps the
# named functions, by share of the samples spent in them or below.
profile_mtls() {
	say "profiling mtls serve during full handshakes (perf)"
	$PIN_LOAD "$MTLS" bench "127.0.0.1:$PE_mtls" --cert "$d/client.crt" \
	    --key "$d/client.key" --ca "$d/ca/ca.crt" --servername localhost \
	    --mode handshake -c "$CONNS_HS" -d "$SECS" >/dev/null 2>&1 &
	bpid=$!
	sleep 1
	perf record -q -F 999 --call-graph dwarf,16384 -p "$PID_mtls" \
	    -o "$W/perf.data" -- sleep $((SECS > 3 ? SECS - 2 : 1)) \
	    >/dev/null 2>&1
	wait "$bpid" 2>/dev/null
	perf report -i "$W/perf.data" --children --sort sym --stdio -g none \
	    2>/dev/null | grep -E '^ +[0-9]' | grep -v ' 0x0000' \
	    > "$W/profile.txt"
}

# bench_once KEY LABEL MODE RUN PORT SERVER-PID CONNS PIN [ARGS...]: one run
# of mtls bench, its JSON and the server's CPU time appended to $RESULTS.
bench_once() {
	# Its own names: the caller loops over $mode and $run (an http run
	# measured as mode rr must not turn the next server's run into rr).
	b_key=$1 b_label=$2 b_mode=$3 b_run=$4 b_port=$5 b_spid=$6 b_conns=$7 b_pin=$8
	shift 8
	d="$W/pki-$b_key"
	cpu0=$(cpu_tree "$b_spid")
	$b_pin "$MTLS" bench "127.0.0.1:$b_port" \
	    --cert "$d/client.crt" --key "$d/client.key" \
	    --ca "$d/ca/ca.crt" --servername localhost \
	    --mode "$b_mode" -c "$b_conns" -d "$SECS" --json "$@" \
	    > "$W/one.json" 2> "$W/one.err"
	rc=$?
	cpu1=$(cpu_tree "$b_spid")
	python3 - "$W/one.json" "$b_key" "$b_label" "$b_mode" "$b_run" "$rc" "$W/one.err" \
	    "$(( cpu1 - cpu0 ))" "$CLK_TCK" >> "$RESULTS" <<'PY' || exit 1
import json, sys
path, key, server, mode, run, rc, errpath, ticks, hz = sys.argv[1:]
try:
    r = json.load(open(path))
except Exception:
    r = {"ops": 0, "ops_per_sec": 0.0, "error": open(errpath).read().strip()}
r.update(key=key, server=server, mode=mode, run=int(run), rc=int(rc),
         server_cpu_seconds=int(ticks) / float(hz))
print(json.dumps(r))
v = r.get("mbytes_per_sec") if mode == "bulk" else r.get("ops_per_sec")
unit = "MB/s" if mode == "bulk" else "ops/s"
errs = r.get("errors", {}).get("total", "?")
extra = ""
if mode == "resume":
    extra = ", resumed %d of %d" % (r.get("resumed", 0), r.get("ops", 0))
el = r.get("elapsed") or 1.0
sys.stderr.write("bench: %-8s %-9s %-7s run %s: %.1f %s, %s errors%s; "
                 "CPU: server %.0f%%, mtls bench %.0f%%\n"
                 % (key, mode, server, run, v or 0.0, unit, errs, extra,
                    100 * r["server_cpu_seconds"] / el,
                    100 * r.get("client_cpu_share", 0)))
if r.get("error"):
    sys.stderr.write("bench:   " + r["error"] + "\n")
PY
}

first_key=${KEYS%% *}
for key in $KEYS; do
	make_pki "$key"
	d="$W/pki-$key"
	for s in $SERVERS_RUN; do
		"start_$s" "$key"
		eval "PE_$s=\$PORT_ECHO PR_$s=\$PORT_RR PID_$s=\$SERVER_PID PIDRR_$s=\$SERVER_PID_RR"
		eval "PH_$s=\$PORT_HTTP PIDH_$s=\$SERVER_PID_HTTP"
	done
	modes=$MODES
	case $key in rsa*)
		# The key type changes the handshake, not the data path.
		modes=""
		for m in $MODES; do
			case $m in handshake|resume) modes="$modes $m" ;; esac
		done ;;
	esac
	for mode in $modes; do
		c=$(conns_for "$mode")
		run=1
		while [ "$run" -le "$RUNS" ]; do
			for s in $SERVERS_RUN; do
				if [ "$mode" = http ]; then
					# An HTTP request, answers of any length:
					# mtls bench's rr mode in HTTP.
					eval "port=\$PH_$s spid=\$PIDH_$s"
					bench_once "$key" "$s+http" rr "$run" \
					    "$port" "$spid" "$c" "$PIN_LOAD" \
					    --request "$RR_REQUEST"
					continue
				fi
				if [ "$mode" = rr ]; then
					eval "port=\$PR_$s spid=\$PIDRR_$s"
					set -- --request "$RR_REQUEST" \
					    --response-bytes "$RR_RESPONSE"
				else
					eval "port=\$PE_$s spid=\$PID_$s"
					set --
				fi
				bench_once "$key" "$s" "$mode" "$run" "$port" \
				    "$spid" "$c" "$PIN_LOAD" "$@"
			done
			run=$((run + 1))
		done
	done
	if [ "$key" = "$first_key" ] && [ "$IDLE_CONNS" -gt 0 ]; then
		for s in $SERVERS_RUN; do
			eval "port=\$PE_$s pid=\$PID_$s"
			measure_idle "$key" "$s" "$port" "$pid" handshake "$BE_ECHO"
			eval "port=\$PR_$s pid=\$PIDRR_$s"
			measure_idle "$key" "$s" "$port" "$pid" request "$BE_RR"
		done
	fi
	if [ "$key" = "$first_key" ] && [ "$PROFILE" = 1 ] &&
	    [ "$have_mtls" = 1 ] && command -v perf >/dev/null; then
		profile_mtls
	fi
	# Stop this key type's servers before the next one starts.
	for p in $SPIDS; do kill "$p" 2>/dev/null; done
	for p in $SPIDS; do wait "$p" 2>/dev/null; done
	SPIDS=""
done

# ---- scaling: mtls serve with 1 and 2 workers, nothing pinned ---------------
# The load generator shares the two cores with the workers, as it would
# on a small machine; what matters is that handshakes/s grows with workers.
if [ "$SCALING" = 1 ] && [ "$have_mtls" = 1 ]; then
	key=$first_key
	d="$W/pki-$key"
	for nw in 1 2; do
		p=$(free_port)
		"$MTLS" serve --listen "127.0.0.1:$p" --cert "$d/server.crt" \
		    --key "$d/server.key" --ca "$d/ca/ca.crt" \
		    --backend "127.0.0.1:$BE_ECHO" --allow-any --workers "$nw" \
		    --max-conns "$MAXCONN" >>"$W/mtls-serve.log" 2>&1 &
		spid=$!
		strack "$spid"
		wait_port "$p" || die "mtls serve --workers $nw did not start"
		run=1
		while [ "$run" -le "$RUNS" ]; do
			bench_once "$key" "workers-$nw" handshake "$run" "$p" \
			    "$spid" "$CONNS_HS" ""
			run=$((run + 1))
		done
		kill "$spid"
		wait "$spid" 2>/dev/null
	done
fi

# ---- the report ----------------------------------------------------------------
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
python3 - "$RESULTS" "$W/speed-ec.txt" "$W/speed-rsa.txt" \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$NCPU" "$cpu" "$PINNED" \
    "$RUNS" "$SECS" "$CONNS_HS" "$CONNS_RR" "$CONNS_BULK" \
    "$(openssl version)" "$("$MTLS" --version)" \
    "$(nginx -v 2>&1 | sed 's/.*: //')" "$(haproxy -v 2>/dev/null | head -n 1)" \
    "$LOAD_START" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    "$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)" \
    "$HTTP_LOG" > "$W/report.md" <<'PY'
import json, re, statistics, sys
(res, speed_ec, speed_rsa, date, ncpu, cpu, pinned, runs, secs, c_hs, c_rr,
 c_bulk, ossl, mtlsv, nginxv, haproxyv, load0, load1, rev,
 http_log) = sys.argv[1:]
rows = [json.loads(l) for l in open(res) if l.strip()]

def speed_table(path):
    try:
        text = open(path).read()
    except OSError:
        return {}
    out = {}
    m = re.search(r"256 bits ecdsa \(nistp256\)\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)", text)
    if m:
        out["sign"], out["verify"] = float(m.group(1)), float(m.group(2))
    m = re.search(r"253 bits ecdh \(X25519\)\s+\S+\s+([\d.]+)", text)
    if m:
        out["x25519"] = float(m.group(1))
    m = re.search(r"rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)", text)
    if m:
        out["sign"], out["verify"] = float(m.group(1)), float(m.group(2))
    return out

# The server's CPU seconds per operation (bulk: per MB moved).
def cpu_per_unit(r, mode):
    n = r["ops"] * (r.get("block_size", 0) / 1e6 if mode == "bulk" else 1)
    return r["server_cpu_seconds"] / n

ec = speed_table(speed_ec)
rsa = speed_table(speed_rsa)
x25519 = ec.get("x25519")

def ceiling(t):
    if not t or "sign" not in t or not x25519:
        return None
    us = 1e6 / t["sign"] + 2 * 1e6 / t["verify"] + 2 * 1e6 / x25519
    return us, 1e6 / us

ceil = {"ec-p256": ceiling(ec), "rsa-2048": ceiling(rsa)}

print("# mtls serve vs nginx vs HAProxy\n")
print("- date: %s" % date)
print("- machine: %s cores (`nproc`), %s" % (ncpu, cpu))
print("- %s" % pinned)
print("- load average (1, 5, 15 min) at the start: %s; at the end: %s "
      "(above 0.5, other work competed for the cores)" % (load0, load1))
print("- %s; %s (source %s); nginx %s; %s" % (ossl, mtlsv, rev, nginxv,
                                              haproxyv))
print("- %s runs of %s s per cell, round-robin across servers; medians with "
      "min-max" % (runs, secs))
print("- connections: handshake/resume %s, rr %s (40-byte request, 1 KiB "
      "response), bulk %s (1 MiB blocks echoed)" % (c_hs, c_rr, c_bulk))
print("- every server: one worker/thread, TLS 1.2-1.3 (1.3 negotiated), client "
      "certificate required and verified, the same plaintext backend "
      "(bench/backend.c)")
print("- http cell: %s\n" % ("every server writes a log line per request "
      "(mtls serve --http always does; nginx `access_log` with "
      "`buffer=64k`, HAProxy `log stdout` with a `log-format`), with the "
      "client, request, status, bytes, the client's subject and the "
      "upstream time" if http_log == "1" else "mtls serve writes a log "
      "line per request, nginx and HAProxy none (HTTP_LOG=0)"))

print("## Crypto ceiling (openssl speed, one core)\n")
print("| key | sign/s | verify/s | X25519 derive/s | server crypto per full "
      "handshake | ceiling (full handshakes/s) |")
print("|---|---|---|---|---|---|")
for key, t in (("ec-p256", ec), ("rsa-2048", rsa)):
    c = ceil.get(key)
    if c:
        print("| %s | %.0f | %.0f | %.0f | %.0f us | %.0f |"
              % (key, t["sign"], t["verify"], x25519, c[0], c[1]))
print("\n(one signature + two verifications + X25519 key generation and "
      "derivation, counted as two derivations)\n")

servers = []
for r in rows:
    if r["server"] not in servers and not r["server"].startswith("workers-"):
        servers.append(r["server"])
scaling = [r for r in rows if r["server"].startswith("workers-")]
peers = [s for s in servers if not s.startswith("mtls")]

def twin(p):
    """The mtls cell a peer's cell is compared with: nginx+http with
    mtls+http, nginx with mtls."""
    return "mtls" + p[p.index("+"):] if "+" in p else "mtls"

pairs = [(twin(p), p) for p in peers if twin(p) in servers]

def value(r):
    if r["mode"] == "bulk":
        return r.get("mbytes_per_sec") or 0.0
    return r.get("ops_per_sec") or 0.0

def cell(vals):
    if not vals:
        return "-"
    med = statistics.median(vals)
    return "%.0f (%.0f-%.0f)" % (med, min(vals), max(vals)) if med >= 100 \
        else "%.1f (%.1f-%.1f)" % (med, min(vals), max(vals))

for key in sorted({r["key"] for r in rows if not r["server"].startswith("workers-")},
                  key=lambda k: k != "ec-p256"):
    print("## %s\n" % key)
    head = "| mode | unit | " + " | ".join(servers)
    head += "".join(" | %s / %s" % pair for pair in pairs)
    print(head + " |")
    print("|---" * (2 + len(servers) + len(pairs)) + "|")
    for mode in ("handshake", "resume", "rr", "bulk"):
        sel = [r for r in rows if r["key"] == key and r["mode"] == mode
               and r["server"] in servers]
        if not sel:
            continue
        unit = "MB/s" if mode == "bulk" else "ops/s"
        meds = {}
        line = "| %s | %s" % (mode, unit)
        for s in servers:
            vals = [value(r) for r in sel if r["server"] == s]
            meds[s] = statistics.median(vals) if vals else 0
            line += " | " + cell(vals)
        for m, p in pairs:
            line += " | %.2f" % (meds[m] / meds[p]) if meds[p] else " | -"
        print(line + " |")
    print()
    # Resumption really happened?  Errors?  Share of the ceiling.
    extra = []
    for s in servers:
        sel = [r for r in rows if r["key"] == key and r["server"] == s]
        res = [r for r in sel if r["mode"] == "resume"]
        if res:
            ops = sum(r.get("ops", 0) for r in res)
            resumed = sum(r.get("resumed", 0) for r in res)
            extra.append("- %s resume: %d of %d handshakes resumed (%.0f%%)"
                         % (s, resumed, ops, 100.0 * resumed / ops if ops else 0))
        errs = sum(r.get("errors", {}).get("total", 0) for r in sel)
        failed = [r for r in sel if r.get("rc", 0) != 0]
        if errs or failed:
            extra.append("- %s: %d failed operations over all runs%s"
                         % (s, errs, ", %d runs failed" % len(failed) if failed else ""))
        hs = [value(r) for r in sel if r["mode"] == "handshake"]
        c = ceil.get(key)
        if hs and c:
            extra.append("- %s full handshakes: %.0f%% of the crypto ceiling"
                         % (s, 100.0 * statistics.median(hs) / c[1]))
    for e in extra:
        print(e)
    print()
    print("Server CPU time per operation (us, median of runs; bulk: per MB) "
          "and what it makes of one whole core (1e6 / us): this holds even "
          "when the server did not saturate its core (other work on the "
          "machine, or mtls bench at its own limit).  Then how busy each "
          "server and mtls bench were (share of their core, median):\n")
    head = "| mode | " + " | ".join("%s us/op (per core)" % s for s in servers)
    head += "".join(" | %s / %s per core" % pair for pair in pairs)
    print(head + " | " + " | ".join("%s CPU, bench CPU" % s for s in servers) + " |")
    ncol = 1 + len(servers) + len(pairs) + len(servers)
    print("|---" * ncol + "|")
    for mode in ("handshake", "resume", "rr", "bulk"):
        sel = [r for r in rows if r["key"] == key and r["mode"] == mode
               and r["server"] in servers]
        if not sel:
            continue
        per_op = lambda r: 1e6 * cpu_per_unit(r, mode)
        el = lambda r: r.get("elapsed") or 1.0
        cost, busy = {}, {}
        for s in servers:
            mine = [r for r in sel if r["server"] == s and r.get("ops")]
            if mine:
                cost[s] = statistics.median(per_op(r) for r in mine)
                busy[s] = "%.0f%%, %.0f%%" % (
                    100 * statistics.median(r["server_cpu_seconds"] / el(r)
                                            for r in mine),
                    100 * statistics.median(r.get("client_cpu_share", 0)
                                            for r in mine))
        line = "| %s" % mode
        for s in servers:
            c = cost.get(s)
            line += " | %.0f (%.0f)" % (c, 1e6 / c) if c else " | -"
        for m, p in pairs:
            if cost.get(m) and cost.get(p):
                line += " | %.2f" % (cost[p] / cost[m])
            else:
                line += " | -"
        for s in servers:
            line += " | " + busy.get(s, "-")
        print(line + " |")
    print()
    print("p99 latency (ms, median of runs):\n")
    print("| mode | " + " | ".join(servers) + " |")
    print("|---" * (1 + len(servers)) + "|")
    for mode in ("handshake", "resume", "rr", "bulk"):
        sel = [r for r in rows if r["key"] == key and r["mode"] == mode]
        if not sel:
            continue
        line = "| %s" % mode
        for s in servers:
            v = [r["latency_us"]["p99"] / 1000.0 for r in sel
                 if r["server"] == s and "latency_us" in r]
            line += " | %.2f" % statistics.median(v) if v else " | -"
        print(line + " |")
    print()
    idle = [r for r in rows if r["key"] == key and r["mode"] == "idle"]
    if idle:
        print("Memory per idle mTLS connection (growth of the server's "
              "resident memory / connections held), idle right after the "
              "handshake, and idle after one request/response (40 B "
              "request, 1 KiB response):\n")
        print("| server | after | connections held | KiB per connection |")
        print("|---|---|---|---|")
        for r in idle:
            kib = r.get("kib_per_conn")
            print("| %s | %s | %d of %d | %s |" % (r["server"],
                  r.get("after", "handshake"), r["held"], r["conns"],
                  "%.1f" % kib if kib is not None else "-"))
        print()
# The targets of issue 6, on the first key type: mtls against the best
# peer, by throughput and by CPU time per operation (per core).
keys_main = [k for k in sorted({r["key"] for r in rows}) if k == "ec-p256"] or \
    sorted({r["key"] for r in rows})
if pairs and keys_main:
    key = keys_main[0]
    print("## Targets (issue 6), %s\n" % key)
    print("| target | wanted | mtls / best peer, throughput | mtls / best "
          "peer, CPU per operation | met |")
    print("|---|---|---|---|---|")
    want = (("handshake", "", "full handshakes/s", 1.5),
            ("resume", "", "resumed handshakes/s", 2.5),
            ("rr", "", "requests/s, %s keep-alive connections" % c_rr, 1.2),
            ("bulk", "", "bulk MB/s", 1.3),
            ("rr", "+http", "HTTP requests/s (issue 12), %s keep-alive "
             "connections" % c_rr, 1.3))
    for mode, variant, what, need in want:
        mine = "mtls" + variant
        cell_peers = [p for m, p in pairs if m == mine]
        sel = [r for r in rows if r["key"] == key and r["mode"] == mode]
        if not cell_peers or not [r for r in sel if r["server"] == mine]:
            continue
        def med(s, f):
            v = [f(r) for r in sel if r["server"] == s and r.get("ops")]
            return statistics.median(v) if v else None
        if mode == "resume":
            tput = lambda r: r["resumed"] / (r.get("elapsed") or 1)
        else:
            tput = value
        cost = lambda r: cpu_per_unit(r, mode)
        m_t, m_c = med(mine, tput), med(mine, cost)
        p_t = [med(p, tput) for p in cell_peers]
        p_c = [med(p, cost) for p in cell_peers]
        best_t = max([v for v in p_t if v] or [0])
        best_c = min([v for v in p_c if v] or [0])
        rt = m_t / best_t if m_t and best_t else 0
        rc = best_c / m_c if m_c and best_c else 0
        print("| %s | %.1fx | %.2f | %.2f | %s |" % (what, need, rt, rc,
              "yes" if rt >= need else ("per core only" if rc >= need
                                         else "no")))
    idle = [r for r in rows if r["key"] == key and r["mode"] == "idle"
            and r["server"] == "mtls" and r.get("kib_per_conn") is not None]
    for r in idle:
        kib = r["kib_per_conn"]
        print("| memory per idle connection (after a %s) | at most 10 KiB "
              "| %.1f KiB | - | %s |" % (r.get("after", "handshake"), kib,
                                      "yes" if kib <= 10 else "no"))
    print()

if scaling:
    print("## Scaling: mtls serve --workers 1 and 2 (%s, full handshakes, "
          "nothing pinned, the load generator on the same two cores)\n"
          % scaling[0]["key"])
    print("Server CPU per handshake shows whether a second worker adds "
          "cost per handshake (locks, the shared session cache); CPU "
          "shares are of one core.\n")
    print("| workers | handshakes/s | server CPU us/handshake | server CPU "
          "| bench CPU |")
    print("|---|---|---|---|---|")
    for w in ("workers-1", "workers-2"):
        sel = [r for r in scaling if r["server"] == w and r.get("ops")]
        if not sel:
            continue
        print("| %s | %s | %.0f | %.0f%% | %.0f%% |" % (w.split("-")[1],
              cell([value(r) for r in sel]),
              statistics.median(1e6 * r["server_cpu_seconds"] / r["ops"]
                                for r in sel),
              100 * statistics.median(r["server_cpu_seconds"] /
                                      (r.get("elapsed") or 1) for r in sel),
              100 * statistics.median(r.get("client_cpu_share", 0)
                                      for r in sel)))
    print()
PY
[ $? -eq 0 ] || die "the report failed"

# The exact commands and configurations, so that the run can be repeated
# (the temporary directory is shown as $W).
if [ -s "$W/profile.txt" ]; then
	{
		echo "## Where mtls serve's full handshake goes ($first_key, perf)"
		echo
		echo "Share of the samples spent in each function or below it (one"
		echo "function's share includes its callees; OpenSSL's internal"
		echo "functions have no symbols here and are charged to the named"
		echo "callers).  Selected lines:"
		echo
		echo '```'
		grep -E ' (conn_handshake|mtls_handshake|worker_accept_cb|conn_accept|ASN1_item_d2i_ex|OSSL_DECODER_CTX_new_for_pkey|d2i_X509|X509_verify_cert|X509_verify|EVP_DigestVerifyFinal|EVP_DigestSignFinal|EVP_PKEY_generate|EVP_PKEY_derive|tls_cert_verify_cb|tls_verify_cb|policy_check_cert|ssl_session_dup|SSL_CTX_add_session|backend_connect|conn_pump|conn_close|conn_log|SSL_free|SSL_new|mtls_free|__libc_malloc|__libc_free|_int_malloc|epoll_wait|__libc_connect|__libc_write|__libc_read|accept4|__close|do_syscall_64)$' \
		    "$W/profile.txt" | sed 's/\[\.\] //; s/\[k\] //' | head -n 40
		echo '```'
		echo
	} >> "$W/report.md"
fi

{
	echo "## How this was run"
	echo
	echo "\`make bench\` (bench/run.sh) with RUNS=$RUNS SECS=$SECS KEYS=\"$KEYS\"" \
	    "SERVERS=\"$(echo $SERVERS_RUN)\" IDLE_CONNS=$IDLE_CONNS SCALING=$SCALING HTTP_LOG=$HTTP_LOG;" \
	    "\$W is its temporary directory, KEY the key type."
	echo
	# The http cell compares like with like only if every server logged
	# its requests: the lines are counted, and a server that ran the cell
	# without writing any is named.
	case " $MODES " in *" http "*)
		n_mtls=$(request_lines "$W/mtls-serve.log")
		n_nginx=$(request_lines "$W"/nginx-*/access.log)
		n_haproxy=$(request_lines "$W"/haproxy-*/haproxy.log)
		echo "Request lines written in the http cells (all runs and key" \
		    "types): mtls $n_mtls, nginx $n_nginx, HAProxy $n_haproxy" \
		    "(HTTP_LOG=$HTTP_LOG)."
		for s in $SERVERS_RUN; do
			eval "n=\$n_$s"
			if [ "$n" = 0 ] && { [ "$s" = mtls ] || [ "$HTTP_LOG" = 1 ]; }; then
				echo "**$s wrote no request line: its http cell is not" \
				    "comparable with the others.**"
				say "$s wrote no request line in the http cell"
			fi
		done
		echo ;;
	esac
	echo '```'
	echo "# PKI (per key type)"
	echo "mtls ca init --dir \$W/pki-KEY/ca --name 'bench CA KEY' --key-type KEY"
	echo "mtls cert issue --ca \$W/pki-KEY/ca --server --name localhost --ip 127.0.0.1 --key-type KEY --out \$W/pki-KEY/server"
	echo "mtls cert issue --ca \$W/pki-KEY/ca --client --name bench-client --key-type KEY --out \$W/pki-KEY/client"
	echo "# backends (core 1)"
	echo "$PIN_LOAD \$W/backend PORT echo; $PIN_LOAD \$W/backend PORT rr $RR_REQLEN $RR_RESPONSE"
	echo "# servers (core 0)"
	echo "$PIN_SERVER mtls serve --listen 127.0.0.1:PORT --cert \$W/pki-KEY/server.crt --key \$W/pki-KEY/server.key --ca \$W/pki-KEY/ca/ca.crt --backend 127.0.0.1:BACKEND --allow-any --workers 1 --max-conns $MAXCONN"
	echo "$PIN_SERVER nginx -p \$W/nginx-KEY -e \$W/nginx-KEY/error.log -c \$W/nginx-KEY/nginx.conf"
	echo "$PIN_SERVER haproxy -db -f \$W/haproxy-KEY/haproxy.cfg"
	echo "# load (core 1), one per cell and run"
	echo "$PIN_LOAD mtls bench 127.0.0.1:PORT --cert \$W/pki-KEY/client.crt --key \$W/pki-KEY/client.key --ca \$W/pki-KEY/ca/ca.crt --servername localhost --mode MODE -c N -d $SECS --json"
	printf '%s\n' "#   rr adds: --request '$RR_REQUEST' --response-bytes $RR_RESPONSE"
	echo "#   idle (memory): --mode idle -c $IDLE_CONNS (echo port), and with the rr arguments (rr port: one exchange, then idle), server RSS read from /proc while held"
	echo '```'
	for f in "$W/nginx-$first_key/nginx.conf" "$W/haproxy-$first_key/haproxy.cfg"; do
		[ -f "$f" ] || continue
		echo
		echo "\`$(basename "$f")\` ($first_key):"
		echo
		echo '```'
		sed "s|$W|\$W|g" "$f"
		echo '```'
	done
} >> "$W/report.md"
cat "$W/report.md"
if [ -n "$OUT" ]; then
	cp "$W/report.md" "$OUT" && say "report written to $OUT"
fi
