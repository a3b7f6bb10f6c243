#!/bin/sh
# "mtls connect" against nginx with ssl_verify_client on: a good client is
# accepted; a client without a certificate is reported as such.  (nginx
# completes the TLS handshake either way and refuses at the HTTP level, so
# the TLS report says that no certificate was sent.)
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/nginx_lib.sh"

nginx_require
run 0 "$MTLS" init --dir pki
nginx_start ngx pki/ca/ca.crt

run 0 "$MTLS" connect "localhost:$port" --cert pki/client.crt \
    --key pki/client.key --ca pki/ca/ca.crt
assert_contains "$T/out" "TLS: handshake complete: TLSv1.3"
assert_contains "$T/out" "0 subject  CN=localhost"
assert_contains "$T/out" "the server asked for one, from this CA:"
assert_contains "$T/out" "the server accepted it"
assert_contains "$T/out" "Result: mutual TLS OK"
ok "nginx: good client accepted"

run 0 "$MTLS" connect "localhost:$port" --cert pki/client.crt \
    --key pki/client.key --ca pki/ca/ca.crt --tls-max 1.2 --trace
assert_contains "$T/out" "<- CertificateRequest: the server asks for a client certificate; CA names: CN=mtls Root CA"
assert_contains "$T/out" "TLSv1.2"
ok "nginx: TLS 1.2 with its CertificateRequest traced"

run 1 "$MTLS" connect "localhost:$port" --ca pki/ca/ca.crt
assert_contains "$T/out" "the server asked for one"
assert_contains "$T/out" "we sent none"
assert_contains "$T/out" "Result: mutual TLS FAILED"
ok "nginx: a client without a certificate is not mutual TLS (exit 1)"
