#!/bin/sh
# nginx with ssl_verify_client on, given a client certificate from a CA it
# does not trust or an expired one: nginx completes the TLS handshake and
# refuses in HTTP (400 "The SSL certificate error"), with no alert.  curl
# shows that refusal; "mtls connect" must not call such a certificate
# accepted nor exit 0.
# nginx agrees on http/1.1 in ALPN, so connect asks (GET /) even without
# --http, and with --http too it reads nginx's answer and reports the
# refusal, exit 1.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/nginx_lib.sh"

nginx_require
command -v curl >/dev/null 2>&1 || skip "curl is not installed"
command -v faketime >/dev/null 2>&1 || skip "faketime is not installed"
run 0 "$MTLS" init --dir pki
run 0 "$MTLS" init --dir other
faketime -f '-10d' "$MTLS" cert issue --ca pki/ca --client --name old \
    --days 1 --out old >/dev/null 2>&1 || skip "mtls does not run under faketime (ASan build?)"
nginx_start ngx pki/ca/ca.crt

curl -s --cacert pki/ca/ca.crt --cert pki/client.crt --key pki/client.key \
    "https://localhost:$port/" >good.txt
assert_contains good.txt "hello CN=client"
for c in other/client old; do
	curl -s --cacert pki/ca/ca.crt --cert "$c.crt" --key "$c.key" \
	    "https://localhost:$port/" >bad.txt
	assert_contains bad.txt "400 The SSL certificate error"
done
ok "nginx refuses a certificate from another CA and an expired one (HTTP 400)"

for c in other/client old; do
	for v in "--tls-max 1.2" "--tls-min 1.3"; do
		# shellcheck disable=SC2086
		run 1 "$MTLS" connect "localhost:$port" $v --ca pki/ca/ca.crt \
		    --cert "$c.crt" --key "$c.key"
		assert_contains "$T/out" "refused it over HTTP"
		assert_not_contains "$T/out" "accepted it"
		# shellcheck disable=SC2086
		run 1 "$MTLS" connect "localhost:$port" $v --ca pki/ca/ca.crt \
		    --cert "$c.crt" --key "$c.key" --http
		assert_contains "$T/out" "refused it over HTTP"
		assert_contains "$T/out" "The SSL certificate error"
		assert_contains "$T/out" "Result: mutual TLS FAILED"
		assert_not_contains "$T/out" "accepted it"
		# Each init names its CA uniquely, so the other PKI's
		# certificate is seen to lead to none of the CAs nginx names.
		if [ "$c" = old ]; then
			assert_one_line_error "the server refused our certificate"
		else
			assert_one_line_error "our chain (other/client.crt) does not lead to"
		fi
		ok "$c.crt $v: TLS alone is not called acceptance; nginx's refusal is found with or without --http"
	done
done
run 0 "$MTLS" connect "localhost:$port" --ca pki/ca/ca.crt \
    --cert pki/client.crt --key pki/client.key --http --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); c=d["client_certificate"]; assert d["ok"] and c["accepted"] and c["http_status"] == 200 and c["http_status_line"].startswith("HTTP/1.1 200") and c["rejected_over_http"] is None, d' "$T/out" ||
    fail "--http --json with a good certificate: $(cat "$T/out")"
ok "a good certificate with --http: accepted, HTTP 200, in the JSON report"
