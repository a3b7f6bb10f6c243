#!/bin/sh
# sslscan against mtls serve, with an EC and with an RSA server key (an RSA
# key is what would let RSA key transport and non-forward-secret suites in):
# SSLv2, SSLv3, TLS 1.0 and 1.1 refused; every suite accepted is TLS 1.3 or
# ECDHE with an AEAD cipher; no renegotiation; not vulnerable to
# Heartbleed; and the CertificateRequest names our CA and nothing else.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"
. "$MTLS_TOP/tests/integration/scan_lib.sh"

command -v sslscan >/dev/null || skip "sslscan is not installed (scripts/install-deps.sh test)"

make_pki
run 0 "$MTLS" cert issue --ca pki/ca --server --name localhost --ip 127.0.0.1 \
    --key-type rsa-2048 --out rsa-server
ca_subject=$(openssl x509 -in pki/ca/ca.crt -noout -subject -nameopt compat |
    sed 's/^subject=//')
start_backend http

scan() { # label certprefix
	serve_with "$2" --allow-cn client
	# With the client certificate, so that TLS 1.2 suites are enumerated
	# (without one every TLS 1.2 handshake ends before sslscan counts it).
	timeout 120 sslscan --no-colour --show-client-cas \
	    --certs=pki/client.crt --pk=pki/client.key "127.0.0.1:$PORT" \
	    >"$T/scan-$1.out" 2>&1 || { cat "$T/scan-$1.out"; fail "sslscan ($1) failed"; }
	out="$T/scan-$1.out"
	for p in SSLv2 SSLv3 TLSv1.0 TLSv1.1; do
		grep -Eq "^$p +disabled" "$out" || { cat "$out"; fail "$1: $p is not disabled"; }
	done
	grep -Eq '^TLSv1.2 +enabled' "$out" || { cat "$out"; fail "$1: TLS 1.2 is not enabled"; }
	grep -Eq '^TLSv1.3 +enabled' "$out" || { cat "$out"; fail "$1: TLS 1.3 is not enabled"; }
	ok "$1: only TLS 1.2 and 1.3"

	grep -E '^(Preferred|Accepted) ' "$out" >"$T/suites-$1"
	n12=$(grep -c ' TLSv1.2 ' "$T/suites-$1")
	[ "$n12" -gt 0 ] || { cat "$out"; fail "$1: no TLS 1.2 suite enumerated"; }
	bad=$(awk '$2 == "TLSv1.3" { next }
	    $2 == "TLSv1.2" && $5 ~ /^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/ { next }
	    { print }' "$T/suites-$1")
	[ -z "$bad" ] || { cat "$out"; fail "$1: non-AEAD or non-forward-secret suites accepted: $bad"; }
	ok "$1: $(wc -l <"$T/suites-$1") suites, all TLS 1.3 or ECDHE+AEAD"

	assert_contains "$out" "Session renegotiation not supported"
	assert_not_contains "$out" "Insecure session renegotiation supported"
	ok "$1: no renegotiation"

	! grep -Eq '^TLSv1\.[0-9] vulnerable to heartbleed' "$out" ||
	    { cat "$out"; fail "$1: vulnerable to Heartbleed"; }
	assert_contains "$out" "TLSv1.2 not vulnerable to heartbleed"
	ok "$1: not vulnerable to Heartbleed"

	sed -n '/Acceptable client certificate CA names:/,$p' "$out" |
	    sed '1d; /^$/,$d' >"$T/cas-$1"
	[ "$(wc -l <"$T/cas-$1")" -eq 1 ] && [ "$(cat "$T/cas-$1")" = "$ca_subject" ] || {
		cat "$out"; fail "$1: acceptable client CAs are not just '$ca_subject'"; }
	ok "$1: the only acceptable client CA is $ca_subject"
	kill "$SPID"; wait "$SPID" 2>/dev/null
}

scan ec pki/server
scan rsa rsa-server
