# config_lib.sh - sourced by the test_serve_config*.sh scripts after
# serve_lib.sh: backends of their own and "mtls serve --config".

# backend_on MODE LOG: the test backend on a free port logging to LOG;
# prints the port, and the PID is tracked.
backend_on() {
	p=$(free_port)
	: >"$2"
	python3 "$BACKEND_PY" "$1" "$p" "$2" >/dev/null 2>&1 &
	track $!
	wait_port "$p"
	sleep 0.1
	: >"$2"
	echo "$p"
}

# start_config FILE [ARGS...]: mtls serve --config FILE, stderr appended to
# $T/serve.log; sets SPID.  The caller waits for its ports.
start_config() {
	f=$1; shift
	mtls_cmd serve --config "$f" "$@" 2>>"$T/serve.log" &
	SPID=$!
	track $SPID
}

# client_to PORT PFX: one s_client exchange ("ping") with PFX.crt/.key on
# PORT; 0 when the backend's echo came back.
client_to() {
	(printf 'ping\n'; sleep "$PAUSE") | timeout 10 openssl s_client \
	    -connect "127.0.0.1:$1" -CAfile pki/ca/ca.crt -servername localhost \
	    -cert "$2.crt" -key "$2.key" >"$T/sc.out" 2>&1
	grep -q '^ping$' "$T/sc.out"
}
