#!/bin/sh
# "mtls cert verify" on a chain made with openssl (root -> intermediate ->
# leaves): OK with the chain, and each common failure as one line in words:
# expired (--at), wrong purpose, wrong name, CN never used as a name,
# partial wildcard, missing intermediate, revoked (--crl); usage errors.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/openssl_ca_lib.sh"

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
# issue NAME SUBJECT ISSUER-PREFIX DAYS EXTENSIONS
issue() {
	newkey "$1.key"
	openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
	printf '%s\n' "$5" > "$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial \
	    -days "$4" -sha256 -extfile "$1.ext" -out "$1.pem" 2>/dev/null ||
	    fail "openssl could not issue $1"
}
leafext() {
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n'
	printf 'subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n'
	printf 'extendedKeyUsage=%s\n' "$1"
	[ -n "${2:-}" ] && printf 'subjectAltName=%s\n' "$2"
}

newkey root.key
openssl req -x509 -new -key root.key -subj "/CN=Test Root" -days 3650 -out root.pem \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || fail "root"
issue inter "/CN=Test Intermediate" root 365 "$(printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always')"
issue server "/CN=localhost" inter 30 "$(leafext serverAuth DNS:localhost,IP:127.0.0.1)"
issue client "/CN=client" inter 30 "$(leafext clientAuth DNS:client.example)"
issue cnonly "/CN=cnonly.example" inter 30 "$(leafext serverAuth)"
issue partial "/CN=partial" inter 30 "$(leafext serverAuth 'DNS:f*.example.com')"
issue wild "/CN=wild" inter 30 "$(leafext serverAuth 'DNS:*.example.com')"
cat server.pem inter.pem > server-chain.pem
cat client.pem inter.pem > client-chain.pem
# openssl agrees that the chain is good.
openssl verify -x509_strict -CAfile root.pem -untrusted inter.pem -purpose sslserver \
    server.pem >/dev/null || fail "openssl itself rejects the test chain"

run 0 "$MTLS" cert verify --ca root.pem --purpose server --name localhost server-chain.pem
assert_contains "$T/out" "server-chain.pem: OK (chain: localhost -> Test Intermediate -> Test Root)"
run 0 "$MTLS" cert verify --ca root.pem --purpose server --name 127.0.0.1 server-chain.pem
run 0 "$MTLS" cert verify --ca root.pem --purpose client client-chain.pem
assert_contains "$T/out" "client-chain.pem: OK (chain: client -> Test Intermediate -> Test Root)"
ok "good chains verify, with the chain named"

at=$(date -u -d '+60 days' +%Y-%m-%dT%H:%M:%SZ)
run 1 "$MTLS" cert verify --ca root.pem --at "$at" client-chain.pem
assert_one_line_error "client-chain.pem: certificate expired (CN=client, notAfter "
assert_contains "$T/err" " days ago) at depth 0"
before=$(date -u -d '-2 days' +%Y-%m-%dT%H:%M:%S+00:00)
run 1 "$MTLS" cert verify --ca root.pem --at "$before" client-chain.pem
assert_one_line_error "certificate not yet valid ("
ok "expired and not yet valid at --at"

run 1 "$MTLS" cert verify --ca root.pem --purpose client server-chain.pem
assert_one_line_error "server-chain.pem: certificate CN=localhost is not valid for client authentication (EKU has serverAuth only) at depth 0"
ok "wrong purpose"

run 1 "$MTLS" cert verify --ca root.pem --name foo.example server-chain.pem
assert_one_line_error "does not match the name foo.example (it holds CN=localhost, DNS:localhost, IP:127.0.0.1; the CN is not used)"
run 1 "$MTLS" cert verify --ca root.pem --name cnonly.example --untrusted inter.pem cnonly.pem
assert_one_line_error "does not match the name cnonly.example (it holds CN=cnonly.example; the CN is not used)"
run 1 "$MTLS" cert verify --ca root.pem --name foo.example.com --untrusted inter.pem partial.pem
assert_one_line_error "does not match the name foo.example.com (it holds "
assert_contains "$T/err" ", DNS:f*.example.com; the CN is not used)"
run 0 "$MTLS" cert verify --ca root.pem --name foo.example.com --untrusted inter.pem wild.pem
ok "wrong name; the CN never matches; no partial wildcards"

run 1 "$MTLS" cert verify --ca root.pem server.pem
assert_one_line_error "unknown CA: issuer CN=Test Intermediate is not trusted (certificate CN=localhost) at depth 0: pass the intermediate with --untrusted or append it to the file"
run 0 "$MTLS" cert verify --ca root.pem --untrusted inter.pem server.pem
run 1 "$MTLS" cert verify --ca inter.pem server.pem
assert_one_line_error "unknown CA: issuer CN=Test Root is not trusted (CA certificate CN=Test Intermediate) at depth 1"
ok "missing intermediate, then given with --untrusted; an intermediate is no trust anchor"

# Revocation with a CRL made by "openssl ca" for the intermediate.
openssl_ca db inter.pem inter.key
openssl ca -config ca.cnf -gencrl -out empty.crl >/dev/null 2>&1 || fail "gencrl"
run 0 "$MTLS" cert verify --ca root.pem --crl empty.crl server-chain.pem
openssl ca -config ca.cnf -revoke server.pem -crl_reason keyCompromise >/dev/null 2>&1 || fail "revoke"
openssl ca -config ca.cnf -gencrl -out revoked.crl >/dev/null 2>&1 || fail "gencrl"
run 1 "$MTLS" cert verify --ca root.pem --crl revoked.crl server-chain.pem
assert_one_line_error "server-chain.pem: certificate revoked (keyCompromise, on "
assert_contains "$T/err" ", CN=localhost, serial "
run 0 "$MTLS" cert verify --ca root.pem --crl revoked.crl client-chain.pem
# Only a CRL from another CA than the leaf's issuer: fails closed.
openssl ca -config ca.cnf -gencrl -cert root.pem -keyfile root.key \
    -out rootonly.crl >/dev/null 2>&1 || fail "root CRL"
run 1 "$MTLS" cert verify --ca root.pem --crl rootonly.crl client-chain.pem
assert_one_line_error "CRL for CN=Test Intermediate is missing from rootonly.crl (needed to check CN=client)"
# CRLs from both CAs in one file: the whole chain is checked.
cat revoked.crl rootonly.crl > both.crl
run 0 "$MTLS" cert verify --ca root.pem --crl both.crl client-chain.pem
run 1 "$MTLS" cert verify --ca root.pem --crl both.crl server-chain.pem
assert_one_line_error "certificate revoked (keyCompromise"
run 1 "$MTLS" cert verify --ca root.pem --crl root.pem server-chain.pem
assert_one_line_error "root.pem (CRL): this is a certificate, not a CRL"
ok "revoked with --crl (openssl ca); no CRL for the issuer fails closed"

run 2 "$MTLS" cert verify --ca root.pem --at yesterday server-chain.pem
assert_contains "$T/err" "--at: 'yesterday' is not an RFC 3339 time"
run 2 "$MTLS" cert verify --ca root.pem --at 2025-02-30T00:00:00Z server-chain.pem
run 2 "$MTLS" cert verify server-chain.pem
assert_contains "$T/err" "--ca is required (the system store is never used)"
run 2 "$MTLS" cert verify --ca root.pem --purpose both server-chain.pem
run 1 "$MTLS" cert verify --ca root.pem missing.pem
assert_one_line_error "missing.pem"
run 1 "$MTLS" cert verify --ca nothere.pem server-chain.pem
assert_one_line_error "nothere.pem: No such file or directory"
run 1 "$MTLS" cert verify --ca server.key server-chain.pem
assert_one_line_error "server.key (CA): this is a private key, not a certificate"
run 1 "$MTLS" cert verify --ca root.pem server.key
assert_one_line_error "server.key: this is a private key, not a certificate"
run 1 "$MTLS" cert verify --ca root.pem server.csr
assert_one_line_error "server.csr: this is a certificate signing request, not a certificate"
ok "usage errors exit 2; unreadable or wrong files exit 1 naming the file"
