#!/bin/sh
# "mtls cert verify" on certificates made by mtls itself: the "mtls init"
# PKI, an intermediate CA with a leaf under it, and revocation through
# "mtls cert revoke" + "mtls ca crl".  Each failure message is checked.
. "$MTLS_TOP/tests/integration/lib.sh"

run 0 "$MTLS" init --dir pki
run 0 "$MTLS" cert verify --ca pki/ca/ca.crt --purpose server --name localhost pki/server.crt
assert_contains "$T/out" "pki/server.crt: OK (chain: localhost -> $(ca_cn pki/ca/ca.crt))"
run 0 "$MTLS" cert verify --ca pki/ca/ca.crt --purpose server --name ::1 pki/server.crt
run 0 "$MTLS" cert verify --ca pki/ca/ca.crt --purpose client pki/client.crt
ok "mtls init: server and client verify"

run 1 "$MTLS" cert verify --ca pki/ca/ca.crt --purpose server pki/client.crt
assert_one_line_error "pki/client.crt: certificate CN=client is not valid for server authentication (EKU has clientAuth only) at depth 0"
run 1 "$MTLS" cert verify --ca pki/ca/ca.crt --purpose server --name db.internal pki/server.crt
assert_one_line_error "does not match the name db.internal (it holds CN=localhost, DNS:localhost, IP:127.0.0.1, IP:::1; the CN is not used)"
run 1 "$MTLS" cert verify --ca pki/ca/ca.crt --at 2031-01-01T00:00:00Z pki/server.crt
assert_one_line_error "pki/server.crt: certificate expired (CN=localhost, notAfter "
assert_contains "$T/err" " ago) at depth 0"
ok "wrong purpose, wrong name, expired at --at"

# An intermediate under the root, and a leaf from it.
run 0 "$MTLS" ca init --dir inter --name "Team CA" --parent pki/ca
run 0 "$MTLS" cert issue --ca inter --client --name alice --out alice
run 0 "$MTLS" cert verify --ca pki/ca/ca.crt --purpose client alice.crt
assert_contains "$T/out" "alice.crt: OK (chain: alice -> Team CA -> $(ca_cn pki/ca/ca.crt))"
openssl x509 -in alice.crt -out alice-only.pem
run 1 "$MTLS" cert verify --ca pki/ca/ca.crt --purpose client alice-only.pem
assert_one_line_error "unknown CA: issuer CN=Team CA is not trusted (certificate CN=alice) at depth 0: pass the intermediate with --untrusted or append it to the file"
run 0 "$MTLS" cert verify --ca pki/ca/ca.crt --untrusted inter/ca.crt --purpose client alice-only.pem
run 1 "$MTLS" cert verify --ca pki/server.crt --purpose client alice.crt
assert_one_line_error "alice.crt: "
ok "intermediate CA: chain from the file, missing intermediate, --untrusted"

# Revocation by mtls.
run 0 "$MTLS" cert issue --ca inter --client --name bob --out bob
run 0 "$MTLS" ca crl --ca inter --out inter.crl
run 0 "$MTLS" cert verify --ca pki/ca/ca.crt --crl inter.crl --purpose client alice.crt
run 0 "$MTLS" cert revoke --ca inter --cert alice.crt --reason keyCompromise
run 0 "$MTLS" ca crl --ca inter --out inter2.crl
run 1 "$MTLS" cert verify --ca pki/ca/ca.crt --crl inter2.crl --purpose client alice.crt
assert_one_line_error "alice.crt: certificate revoked (keyCompromise, on "
assert_contains "$T/err" ", CN=alice, serial "
run 0 "$MTLS" cert verify --ca pki/ca/ca.crt --crl inter2.crl --purpose client bob.crt
ok "revoked by mtls cert revoke + mtls ca crl; another leaf still verifies"

# The root's CRL too: with CRLs of both CAs the intermediate is checked.
run 0 "$MTLS" ca crl --ca pki/ca --out root.crl
cat inter2.crl root.crl > both.crl
run 0 "$MTLS" cert verify --ca pki/ca/ca.crt --crl both.crl --purpose client bob.crt
run 0 "$MTLS" cert revoke --ca pki/ca --cert inter/ca.crt --reason cACompromise
run 0 "$MTLS" ca crl --ca pki/ca --out root2.crl
cat inter2.crl root2.crl > both2.crl
run 1 "$MTLS" cert verify --ca pki/ca/ca.crt --crl both2.crl --purpose client bob.crt
assert_one_line_error "certificate revoked (cACompromise"
assert_contains "$T/err" ", CN=Team CA, serial "
assert_contains "$T/err" ") at depth 1"
# With the leaf's CRL only, the intermediate's revocation is not looked at.
run 0 "$MTLS" cert verify --ca pki/ca/ca.crt --crl inter2.crl --purpose client bob.crt
ok "a revoked intermediate is caught when the CRL file covers every CA"

# The CRL made by mtls reads back in inspect.
run 0 "$MTLS" cert inspect inter2.crl
assert_contains "$T/out" "Issuer:       CN=Team CA"
assert_contains "$T/out" "keyCompromise"
ok "mtls CRL inspects"
