#!/bin/sh
# mtls doctor names the real cause, and a fix that works, where it used to
# point the wrong way:
#  - a self-signed leaf made with openssl req -x509 (keyUsage without
#    keyCertSign): leaf-self-signed, not chain-missing-intermediate;
#  - a CA certificate given as the client certificate: leaf-is-ca, not a
#    digitalSignature usage finding.
. "$MTLS_TOP/tests/integration/lib.sh"

run 0 "$MTLS" init --dir pki
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ss.key -out ss.crt -subj /CN=localhost -days 30 \
    -addext keyUsage=digitalSignature -addext basicConstraints=CA:FALSE \
    -addext extendedKeyUsage=clientAuth >/dev/null 2>&1 || fail "openssl req -x509"
run 1 "$MTLS" doctor --role client --cert ss.crt --key ss.key --ca pki/ca/ca.crt
assert_contains "$T/out" "leaf-self-signed"
assert_not_contains "$T/out" "chain-missing-intermediate"
ok "a self-signed leaf (openssl req -x509): leaf-self-signed"

run 1 "$MTLS" doctor --role client --cert pki/ca/ca.crt --key pki/ca/ca.key --ca pki/ca/ca.crt
assert_contains "$T/out" "ERROR leaf-is-ca"
assert_contains "$T/out" "Use a certificate this CA issued"
assert_not_contains "$T/out" "usage-no-digitalsignature"
assert_not_contains "$T/out" "leaf-self-signed"
ok "a CA certificate as the client certificate: leaf-is-ca"
