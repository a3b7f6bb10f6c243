# scan_lib.sh - sourced by the test_scan_*.sh and test_attack_*.sh scripts
# after lib.sh and serve_lib.sh: `mtls serve` started through mtls_cmd with
# any certificate, so that the scanners see an EC and an RSA server.

# serve_with CERTPREFIX ARGS...: mtls serve on a free port with
# CERTPREFIX.crt/.key, the CA of pki/ and the backend on $BPORT; stderr in
# $T/serve.log; sets PORT and SPID.
serve_with() {
	pfx=$1; shift
	PORT=$(free_port)
	mtls_cmd serve --listen "127.0.0.1:$PORT" --cert "$pfx.crt" \
	    --key "$pfx.key" --ca pki/ca/ca.crt --backend "127.0.0.1:$BPORT" \
	    "$@" 2>>"$T/serve.log" &
	SPID=$!
	track $SPID
	wait_port "$PORT"
}
