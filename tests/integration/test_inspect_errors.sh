#!/bin/sh
# "mtls cert inspect" on what is not a certificate, CSR or CRL: a one-line
# error naming the file and what it is, exit 1; usage errors exit 2.  And
# the words for expired and not-yet-valid certificates (made with
# "openssl ca", which can set any dates).
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/openssl_ca_lib.sh"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out k.pem 2>/dev/null
run 1 "$MTLS" cert inspect k.pem
assert_one_line_error "k.pem: this is a private key, not a certificate, CSR or CRL"
openssl pkcs8 -topk8 -in k.pem -out enc.pem -passout pass:secret 2>/dev/null
run 1 "$MTLS" cert inspect enc.pem
assert_one_line_error "enc.pem: this is a private key"
openssl pkey -in k.pem -outform DER -out k.der
run 1 "$MTLS" cert inspect k.der
assert_one_line_error "k.der: this is a private key"
ok "private keys (PEM, encrypted, DER)"

openssl req -x509 -new -key k.pem -subj /CN=self -days 10 -out self.pem 2>/dev/null
openssl pkcs12 -export -in self.pem -inkey k.pem -out b.p12 -passout pass:x 2>/dev/null
run 1 "$MTLS" cert inspect b.p12
assert_one_line_error "b.p12: this is a PKCS#12 bundle, not a certificate, CSR or CRL"
ok "PKCS#12"

printf 'hello, world\n' > junk.txt
run 1 "$MTLS" cert inspect junk.txt
assert_one_line_error "junk.txt: not a certificate, CSR or CRL"
: > empty.pem
run 1 "$MTLS" cert inspect empty.pem
assert_one_line_error "empty.pem: the file is empty"
printf -- '-----BEGIN CERTIFICATE-----\nMIIBkzCCATmgAwIBAg==\n-----END CERTIFICATE-----\n' > broken.pem
run 1 "$MTLS" cert inspect broken.pem
assert_one_line_error "broken.pem: PEM block 1 (CERTIFICATE) is not a valid certificate"
run 1 "$MTLS" cert inspect missing.pem
assert_one_line_error "missing.pem: No such file or directory"
ok "garbage, empty, broken PEM, missing file"

run 2 "$MTLS" cert inspect
assert_contains "$T/err" "a FILE to inspect is required"
run 2 "$MTLS" cert inspect --bogus self.pem
run 2 "$MTLS" cert inspect a.pem b.pem
ok "usage errors exit 2"

# A CA made with openssl, issuing certificates with dates in the past and
# in the future.
openssl_ca ca self.pem k.pem "[leaf]
basicConstraints = critical,CA:FALSE
subjectAltName = DNS:old.example"
openssl req -new -key k.pem -subj /CN=old -out old.csr 2>/dev/null
openssl ca -batch -config ca.cnf -extensions leaf -in old.csr -out old.pem \
    -startdate 20200101000000Z -enddate 20200301000000Z >/dev/null 2>&1 ||
    fail "openssl ca could not issue the expired certificate"
run 0 "$MTLS" cert inspect old.pem
assert_contains "$T/out" "2020-01-01T00:00:00Z to 2020-03-01T00:00:00Z (EXPIRED "
assert_contains "$T/out" " days ago)"
openssl req -new -key k.pem -subj /CN=future -out future.csr 2>/dev/null
openssl ca -batch -config ca.cnf -extensions leaf -in future.csr -out future.pem \
    -startdate 20991231000000Z -enddate 21000101000000Z >/dev/null 2>&1 ||
    fail "openssl ca could not issue the future certificate"
run 0 "$MTLS" cert inspect --json future.pem
python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))["certificates"][0]
assert c["status"] == "not_yet_valid", c["status"]
assert c["not_before"] == "2099-12-31T00:00:00Z", c["not_before"]
' "$T/out" || fail "JSON of a future certificate"
run 0 "$MTLS" cert inspect future.pem
assert_contains "$T/out" "(not yet valid, starts in "
ok "EXPIRED and not yet valid, in words and JSON"
