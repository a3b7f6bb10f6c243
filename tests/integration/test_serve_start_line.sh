#!/bin/sh
# serve's start line says what it is doing: the listen address, the backend,
# the server certificate's subject, names and expiry, the CA file and its
# subject, the client rules and the metrics address; tunnel's names its
# client certificate and the CA it verifies the server with.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

make_pki
start_backend echo
MPORT=$(free_port)
start_serve --allow-cn client --allow-dns '*.example.com' --metrics "127.0.0.1:$MPORT"
wait_log "listening on"
line=$(grep "listening on" "$T/serve.log")
ca=$(ca_cn pki/ca/ca.crt)
until=$("$MTLS" cert inspect --json pki/server.crt | python3 -c 'import json,sys; print(json.load(sys.stdin)["certificates"][0]["not_after"])')
for want in "listening on 127.0.0.1:$PORT " "forwarding to 127.0.0.1:$BPORT" \
    "certificate CN=localhost (DNS:localhost, IP:127.0.0.1, IP:::1) until $until" \
    "clients verified against pki/ca/ca.crt (CN=$ca until " \
    "allowing cn client, dns *.example.com" "metrics on 127.0.0.1:$MPORT"; do
	case $line in
	*"$want"*) ;;
	*) fail "start line lacks '$want': $line" ;;
	esac
done
ok "serve's start line: listen, backend, certificate and expiry, CA, rules, metrics"

start_tunnel "$PORT"
wait_file_log "$T/tunnel.log" "listening on"
assert_contains "$T/tunnel.log" "client certificate CN=client"
assert_contains "$T/tunnel.log" "server verified against pki/ca/ca.crt (CN=$ca until "
ok "tunnel's start line: its client certificate and the CA"
