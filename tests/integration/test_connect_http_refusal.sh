#!/bin/sh
# nginx with ssl_verify_client on completes the handshake with a client
# certificate from another CA and refuses it in HTTP (400).  "mtls connect"
# without --http must not call that a success:
#  - when the server named its CAs and our chain reaches none, it says so
#    and exits 1 (a CA of another name);
#  - when the server agrees on http/1.1 in ALPN, it asks with GET / and
#    reports the refusal (a CA with the same name as the trusted one,
#    which names alone cannot tell apart);
#  - a good certificate is still accepted, exit 0.
# mtls serve in TCP mode agrees on no ALPN: nothing is sent there.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/nginx_lib.sh"

nginx_require
run 0 "$MTLS" init --dir pki
run 0 "$MTLS" ca init --dir other --name "Acc Other CA"
run 0 "$MTLS" cert issue --ca other --client --name client --out other-client
# A twin of pki's root CA: the same name (mtls init makes each name
# unique, so it is given here), another key.
mkdir twin
run 0 "$MTLS" ca init --dir twin/ca --name "$(ca_cn pki/ca/ca.crt)"
run 0 "$MTLS" cert issue --ca twin/ca --client --name client --out twin/client
nginx_start ngx pki/ca/ca.crt

for v in "--tls-max 1.2" "--tls-min 1.3"; do
	# shellcheck disable=SC2086
	run 1 "$MTLS" connect "localhost:$port" $v --ca pki/ca/ca.crt \
	    --cert other-client.crt --key other-client.key
	assert_contains "$T/out" "our chain leads to none of the CAs it named"
	assert_contains "$T/out" "Result: mutual TLS FAILED"
	assert_one_line_error "from CAs that our chain (other-client.crt) does not lead to"
	ok "$v: a certificate from a CA the server did not name: exit 1"

	# shellcheck disable=SC2086
	run 1 "$MTLS" connect "localhost:$port" $v --ca pki/ca/ca.crt \
	    --cert twin/client.crt --key twin/client.key
	assert_contains "$T/out" "refused it over HTTP"
	assert_contains "$T/out" "Result: mutual TLS FAILED"
	assert_one_line_error "the server refused our certificate"
	ok "$v: same CA name, other key: found by the HTTP probe ALPN asked for"

	# shellcheck disable=SC2086
	run 0 "$MTLS" connect "localhost:$port" $v --ca pki/ca/ca.crt \
	    --cert pki/client.crt --key pki/client.key
	assert_contains "$T/out" "HTTP answered \"HTTP/1.1 200 OK\" to GET /"
	assert_contains "$T/out" "Result: mutual TLS OK"
	ok "$v: a good certificate: accepted, HTTP 200, exit 0"
done

run 1 "$MTLS" connect "localhost:$port" --ca pki/ca/ca.crt \
    --cert other-client.crt --key other-client.key --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); c=d["client_certificate"]; assert not d["ok"] and not c["accepted"] and c["ca_named"] is False and c["alpn"] == "http/1.1", d' "$T/out" ||
    fail "--json: $(cat "$T/out")"
ok "--json: ca_named false, alpn http/1.1"
