#!/bin/sh
# mtls doctor --connect against nginx with ssl_verify_client on: nginx
# completes the TLS handshake whatever the client certificate and refuses it
# in HTTP (400 "The SSL certificate error", its internal 495, or "No
# required SSL certificate was sent", 496).  The doctor must recognise both,
# and say that a good setup is good.
. "$MTLS_TOP/tests/integration/lib.sh"
DOCTOR_OPTS="--timeout 3"
. "$MTLS_TOP/tests/integration/doctor_cases.sh"
. "$MTLS_TOP/tests/integration/nginx_lib.sh"
nginx_require

two_cas

CERT="--cert pki/client.crt --key pki/client.key --ca pki/ca/ca.crt"

nginx_start good pki/ca/ca.crt
# shellcheck disable=SC2086
check nginx-healthy 0 ok-client-cert-accepted $CERT \
    --connect "127.0.0.1:$port"
assert_not_contains "$T/out" '"severity": "error"'
check nginx-no-cert 1 client-cert-missing --ca pki/ca/ca.crt \
    --connect "127.0.0.1:$port"
assert_contains "$T/out" "No required SSL certificate"

nginx_start wrongca other/ca.crt
# shellcheck disable=SC2086
check nginx-other-ca 1 http-client-cert-refused $CERT \
    --connect "127.0.0.1:$port"
assert_contains "$T/out" "The SSL certificate error"
assert_contains "$T/out" "client-ca-not-accepted"

check_codes
echo "all $NPASS passed"
