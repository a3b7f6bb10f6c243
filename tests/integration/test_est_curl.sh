#!/bin/sh
# mtls ca serve with curl and openssl as the EST client, as an operator
# scripts it: cacerts, enrollment with a one-time token, re-enrollment with
# the certificate over mTLS, csrattrs, the CRL and the metrics.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/est_lib.sh"

est_ca
est_start --hours 2

# cacerts: base64 DER PKCS#7, certs-only (RFC 7030 4.1.3).
curl -sS --cacert ca/ca.crt -D hdr "$EST_URL/.well-known/est/cacerts" |
    base64 -d | openssl pkcs7 -inform DER -print_certs >cacerts.pem ||
    fail "cacerts did not decode"
assert_contains hdr "application/pkcs7-mime; smime-type=certs-only"
[ "$(openssl x509 -in cacerts.pem -noout -fingerprint -sha256)" = \
  "$(openssl x509 -in ca/ca.crt -noout -fingerprint -sha256)" ] ||
    fail "cacerts is not the CA certificate"
ok "cacerts: the CA certificate, as base64 PKCS#7"

# A token, bound to its names; the CA stores only its hash.
run 0 "$MTLS" ca token --ca ca --name dev1 --dns dev1.example.com --ttl 10m
tok=$(cat "$T/out")
[ ${#tok} -ge 32 ] || fail "token '$tok' is too short"
n=$(sqlite3 ca/ca.db "SELECT count(*) FROM est_tokens WHERE hash = '$(printf %s "$tok" | sha256sum | cut -d' ' -f1)'")
[ "$n" = 1 ] || fail "the token's SHA-256 is not what ca.db holds"
assert_not_contains ca/ca.db "$tok"
ok "ca token: printed once, stored as its SHA-256"

est_csr dev1 dev1.b64 "DNS:dev1.example.com"
est_post simpleenroll dev1.b64 --user "dev1:$tok"
est_code 200
est_p7_cert dev1.crt
run 0 openssl verify -CAfile ca/ca.crt -purpose sslclient dev1.crt
openssl x509 -in dev1.crt -noout -subject -ext subjectAltName >names
assert_contains names "CN = dev1"
assert_contains names "DNS:dev1.example.com"
# --hours 2: notAfter - notBefore is two hours and a backdating of at most
# five minutes.
nb=$(date -d "$(openssl x509 -in dev1.crt -noout -startdate | cut -d= -f2)" +%s)
na=$(date -d "$(openssl x509 -in dev1.crt -noout -enddate | cut -d= -f2)" +%s)
life=$((na - nb))
[ $life -ge 7200 ] && [ $life -le 7500 ] || fail "lifetime $life s, expected 2 h"
serial1=$(openssl x509 -in dev1.crt -noout -serial | cut -d= -f2)
run 0 "$MTLS" cert list --ca ca
assert_contains "$T/out" "$serial1"
ok "simpleenroll with the token: a 2-hour client certificate that openssl verifies, in the inventory"

# Re-enrollment: the same key, over mTLS with the certificate.
openssl req -new -key dev1.key -subj /CN=dev1 \
    -addext "subjectAltName=DNS:dev1.example.com" -outform DER 2>/dev/null |
    base64 >re.b64
est_post simplereenroll re.b64 --cert dev1.crt --key dev1.key
est_code 200
est_p7_cert dev1b.crt
run 0 openssl verify -CAfile ca/ca.crt dev1b.crt
serial2=$(openssl x509 -in dev1b.crt -noout -serial | cut -d= -f2)
[ "$serial1" != "$serial2" ] || fail "re-enrollment returned the same serial"
[ "$(openssl x509 -in dev1.crt -noout -pubkey)" = "$(openssl x509 -in dev1b.crt -noout -pubkey)" ] ||
    fail "renewal with the same key changed the key"
by=$(sqlite3 ca/ca.db "SELECT by_serial FROM est_superseded WHERE serial = '$serial1'")
[ "$by" = "$serial2" ] || fail "the old certificate is not recorded as superseded by the new one ($by)"
run 0 "$MTLS" cert list --ca ca
grep "^$serial1 " "$T/out" | grep -q "superseded by $serial2" ||
    { cat "$T/out"; fail "cert list does not show $serial1 superseded by $serial2"; }
grep "^$serial2 " "$T/out" | grep -q "superseded" && fail "cert list shows the new certificate as superseded"
run 0 "$MTLS" cert list --ca ca --json
python3 - "$T/out" "$serial1" "$serial2" <<'PY' || fail "cert list --json: superseded_by is wrong"
import json, sys
rows = {r["serial"]: r for r in json.load(open(sys.argv[1]))}
assert rows[sys.argv[2]]["superseded_by"] == sys.argv[3], rows[sys.argv[2]]
assert rows[sys.argv[3]]["superseded_by"] is None
PY
ok "simplereenroll over mTLS: a new serial for the same names, the old one superseded (cert list says so)"

# Re-enrollment with a new key (rekey), authenticated by the renewed one.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout dev1c.key -subj /CN=dev1 -addext "subjectAltName=DNS:dev1.example.com" \
    -outform DER 2>/dev/null | base64 >rekey.b64
est_post simplereenroll rekey.b64 --cert dev1b.crt --key dev1.key
est_code 200
est_p7_cert dev1c.crt
[ "$(openssl x509 -in dev1c.crt -noout -pubkey)" = "$(openssl pkey -in dev1c.key -pubout)" ] ||
    fail "the rekeyed certificate is not for the new key"
ok "simplereenroll with a new key (rekey)"

curl -sS --cacert ca/ca.crt "$EST_URL/.well-known/est/csrattrs" | base64 -d |
    openssl asn1parse -inform DER >attrs || fail "csrattrs is not base64 DER"
assert_contains attrs "prime256v1"
assert_contains attrs "ecdsa-with-SHA256"
ok "csrattrs: the CA asks for P-256 with ECDSA-SHA256"

curl -sS --cacert ca/ca.crt "$EST_URL/crl" -o crl.der
run 0 openssl crl -inform DER -in crl.der -CAfile ca/ca.crt -noout -nextupdate
ok "/crl: a DER CRL signed by the CA"

curl -sS --cacert ca/ca.crt "$EST_URL/metrics" >metrics
assert_contains metrics "mtls_ca_issued_total 1"
assert_contains metrics "mtls_ca_renewed_total 2"
ok "metrics count the issuance and the renewals"

est_stop
assert_contains "$T/ca.log" "identity=\"token:dev1\" outcome=issued serial=$serial1"
assert_contains "$T/ca.log" "identity=\"CN=dev1\" outcome=renewed serial=$serial2"
ok "one log line per request, with the identity and the outcome"
