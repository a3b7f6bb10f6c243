#!/bin/sh
# nginx with ssl_verify_client on, given a client certificate from a CA it
# does not trust or an expired one: nginx completes the TLS handshake and
# refuses in HTTP (400 "The SSL certificate error"), with no alert.  curl
# shows that refusal; "mtls connect" must not call such a certificate
# accepted nor exit 0.
# KNOWN BUG (src/cli/connect.c, reported by client-audit): today connect
# says "the server accepted it" / "Result: mutual TLS OK" and exits 0 here,
# because it takes "no alert after the handshake" for acceptance.  While
# that holds this test exits 77 (skipped) naming the bug; once connect is
# fixed the same script asserts the fix.
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

bug=""
for c in other/client old; do
	for v in "--tls-max 1.2" "--tls-min 1.3"; do
		# shellcheck disable=SC2086
		"$MTLS" connect "localhost:$port" $v --ca pki/ca/ca.crt \
		    --cert "$c.crt" --key "$c.key" >"$T/out" 2>"$T/err"
		rc=$?
		if [ $rc -eq 0 ] || grep -qF "the server accepted it" "$T/out"; then
			bug="$bug $c($v: exit $rc)"
			continue
		fi
		[ $rc -eq 1 ] || { cat "$T/out" "$T/err"; fail "$c $v: exit $rc, expected 1"; }
		assert_contains "$T/out" "Result: mutual TLS FAILED"
		ok "$c.crt $v: connect does not call it accepted, exit 1"
	done
done
[ -z "$bug" ] || skip "KNOWN BUG in mtls connect: nginx refuses these client certificates in HTTP, yet connect says 'the server accepted it' and exits 0:$bug"
