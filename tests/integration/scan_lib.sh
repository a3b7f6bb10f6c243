# scan_lib.sh - sourced by the test_scan_*.sh and test_attack_*.sh scripts
# after lib.sh and serve_lib.sh: `mtls serve` started through mtls_cmd with
# any certificate, so that the scanners see an EC and an RSA server.

# serve_with CERTPREFIX ARGS...: mtls serve on a free port with
# CERTPREFIX.crt/.key, the client CAs in $CA_FILE (default: pki/'s CA) and
# the backend on $BPORT; stderr in $T/serve.log; sets PORT and SPID.
# Returns once the log has the line of wait_port's probe connection.
serve_with() {
	pfx=$1; shift
	PORT=$(free_port)
	mtls_cmd serve --listen "127.0.0.1:$PORT" --cert "$pfx.crt" \
	    --key "$pfx.key" --ca "${CA_FILE:-pki/ca/ca.crt}" --backend "127.0.0.1:$BPORT" \
	    "$@" 2>>"$T/serve.log" &
	SPID=$!
	track $SPID
	wait_port "$PORT"
	wait_first_line
}

# How long a scripted client waits for the server's answers: longer when
# mtls runs under valgrind ($MTLS_WRAP), which slows it tenfold or more.
if [ -n "${MTLS_WRAP:-}" ]; then PAUSE=2; else PAUSE=0.4; fi

# wait_first_line: the log line of wait_port's probe connection, so that
# later counts of "outcome=" lines see only the test's own connections.
wait_first_line() {
	i=0
	while [ $i -lt 50 ] && ! grep -q "outcome=" "$T/serve.log"; do
		sleep 0.1; i=$((i + 1))
	done
}
