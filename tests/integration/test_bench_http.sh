#!/bin/sh
# mtls bench against servers that refuse at the HTTP level, or answer with
# an error status: nothing is counted as a success that was not one.
#  - nginx (ssl_verify_client on) finishes the handshake with a client
#    certificate from another CA and answers 400: bench checks once at
#    start, by the CA names of the CertificateRequest and by GET / (ALPN
#    http/1.1), and refuses to run, exit 1;
#  - rr mode reads each HTTP response's length from the response itself:
#    a wrong --response-bytes is bad_data, not 177,000 requests/s;
#  - an HTTP error status (404 from a backend behind mtls serve) counts as
#    http_error.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/nginx_lib.sh"

nginx_require
run 0 "$MTLS" init --dir pki
run 0 "$MTLS" ca init --dir other --name "Bench Other CA"
run 0 "$MTLS" cert issue --ca other --client --name client --out other-client
# A CA with the trusted root's name (mtls init makes each one's unique),
# another key.
mkdir twin
run 0 "$MTLS" ca init --dir twin/ca --name "$(ca_cn pki/ca/ca.crt)"
run 0 "$MTLS" cert issue --ca twin/ca --client --name client --out twin/client
nginx_start ngx pki/ca/ca.crt
CA="--ca pki/ca/ca.crt"

check() {
	python3 - "$1" "$2" <<'PY' || { cat "$1"; fail "JSON check failed: $2"; }
import json, sys
r = json.load(open(sys.argv[1]))
if not eval(sys.argv[2], {}, {"r": r}):
    sys.exit(1)
PY
}

# shellcheck disable=SC2086
run 1 "$MTLS" bench "localhost:$port" $CA --cert other-client.crt --key other-client.key -c 2 -d 1
assert_one_line_error "the server accepts client certificates from CAs that our chain does not lead to"
# shellcheck disable=SC2086
run 1 "$MTLS" bench "localhost:$port" $CA --cert twin/client.crt --key twin/client.key -c 2 -d 1
assert_one_line_error "the server refused our certificate"
ok "a certificate nginx refuses over HTTP: bench says so at start, exit 1"

# shellcheck disable=SC2086
run 0 "$MTLS" bench "localhost:$port" $CA --cert pki/client.crt --key pki/client.key \
    --mode rr -c 2 -d 1 --json
check "$T/out" 'r["ops"] > 0 and r["errors"]["total"] == 0'
ok "rr without --response-bytes: each HTTP response framed by its length"

# shellcheck disable=SC2086
run 1 "$MTLS" bench "localhost:$port" $CA --cert pki/client.crt --key pki/client.key \
    --mode rr --response-bytes 5 -c 2 -d 1 --json
check "$T/out" 'r["ops"] == 0 and r["errors"]["bad_data"] > 0'
ok "rr with a wrong --response-bytes: bad_data, no operation counted"

# A backend that answers 404, behind mtls serve.
mkdir www
BPORT=$(free_port)
python3 -m http.server "$BPORT" --bind 127.0.0.1 --directory www >/dev/null 2>&1 &
track $!
wait_port "$BPORT"
SPORT=$(free_port)
mtls_cmd serve --listen "127.0.0.1:$SPORT" --cert pki/server.crt --key pki/server.key \
    --ca pki/ca/ca.crt --backend "127.0.0.1:$BPORT" --allow-any 2>serve.log &
track $!
wait_port "$SPORT"
# shellcheck disable=SC2086
run 1 "$MTLS" bench "localhost:$SPORT" $CA --cert pki/client.crt --key pki/client.key \
    --mode rr --request 'GET /missing HTTP/1.1\r\nHost: localhost\r\n\r\n' -c 1 -d 1 --json
check "$T/out" 'r["ops"] == 0 and r["errors"]["http_error"] > 0'
ok "rr: an HTTP 404 counts as http_error"
