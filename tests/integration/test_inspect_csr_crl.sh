#!/bin/sh
# "mtls cert inspect" on CSRs (openssl's and mtls's, PEM and DER: subject,
# SANs, requested extensions, key, self-signature) and on CRLs made with
# "openssl ca" (issuer, dates with "expires in"/"EXPIRED", CRL number, AKI,
# revoked serials with reasons), in words and in JSON.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/openssl_ca_lib.sh"

# --- CSRs ---------------------------------------------------------------
openssl req -new -newkey rsa:2048 -nodes -keyout req.key -subj "/O=Acme/CN=api.example" \
    -addext "subjectAltName=DNS:api.example,IP:10.1.2.3,URI:spiffe://acme/api,email:ops@acme.example" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "extendedKeyUsage=serverAuth" \
    -addext "nsComment=please" -out req.csr 2>/dev/null || fail "openssl req failed"
run 0 "$MTLS" cert inspect req.csr
assert_contains "$T/out" "req.csr: certificate signing request (PEM)"
assert_contains "$T/out" "Subject:      CN=api.example,O=Acme"
assert_contains "$T/out" "SANs:         DNS:api.example, IP:10.1.2.3, URI:spiffe://acme/api, email:ops@acme.example"
assert_contains "$T/out" "Ext. key usage: serverAuth"
assert_contains "$T/out" "CA:           yes (requested"
assert_contains "$T/out" "Other requested extension: nsComment"
assert_contains "$T/out" "Key:          RSA 2048"
assert_contains "$T/out" "verifies with the request's key"
ok "openssl CSR: subject, SANs by type, requested extensions, key, signature"

openssl req -in req.csr -outform DER -out req.der
run 0 "$MTLS" cert inspect --json req.der
python3 - "$T/out" <<'PY' || fail "CSR JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["kind"] == "csr" and d["format"] == "DER", d
c = d["csr"]
assert c["common_name"] == "api.example"
assert {"type": "URI", "value": "spiffe://acme/api"} in c["sans"], c["sans"]
assert {"type": "email", "value": "ops@acme.example"} in c["sans"], c["sans"]
assert c["basic_constraints"] == {"ca": True, "path_len": None}, c
assert c["signature_valid"] is True and c["key"] == "RSA 2048", c
PY
ok "DER CSR in JSON"

run 0 "$MTLS" csr new --name svc.example --dns svc.example --ip 192.0.2.7 --out svc
run 0 "$MTLS" cert inspect svc.csr
assert_contains "$T/out" "Subject:      CN=svc.example"
assert_contains "$T/out" "DNS:svc.example"
assert_contains "$T/out" "IP:192.0.2.7"
assert_contains "$T/out" "Key:          EC P-256"
assert_contains "$T/out" "verifies with the request's key"
ok "mtls CSR"

# --- CRLs from openssl ca -----------------------------------------------
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca.key -subj "/CN=Test CA" -days 30 -out ca.pem \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || fail "CA"
openssl_ca db ca.pem ca.key
echo 07 >db/crlnumber
for n in one two; do
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key \
	    -subj /CN=$n -out $n.csr 2>/dev/null
	openssl ca -batch -config ca.cnf -in $n.csr -out $n.pem >/dev/null 2>&1 || fail "issue $n"
done
openssl ca -config ca.cnf -revoke one.pem -crl_reason keyCompromise >/dev/null 2>&1 || fail "revoke"
openssl ca -config ca.cnf -revoke two.pem -crl_reason superseded >/dev/null 2>&1 || fail "revoke"
openssl ca -config ca.cnf -gencrl -crldays 5 -out ca.crl >/dev/null 2>&1 || fail "gencrl"
s1=$(openssl x509 -in one.pem -noout -serial | sed 's/.*=//')
s2=$(openssl x509 -in two.pem -noout -serial | sed 's/.*=//')
ski=$(openssl x509 -in ca.pem -noout -ext subjectKeyIdentifier | tail -n 1 | tr -d ' ')

run 0 "$MTLS" cert inspect ca.crl
assert_contains "$T/out" "ca.crl: 1 certificate revocation list (PEM)"
assert_contains "$T/out" "Issuer:       CN=Test CA"
assert_contains "$T/out" "Version:      2"
grep -qE '^  Next update:  .* \(expires in (4|5) days\)$' "$T/out" ||
    fail "no 'expires in 4/5 days' for the CRL"
assert_contains "$T/out" "CRL number:   7"
assert_contains "$T/out" "AKI:          $ski"
assert_contains "$T/out" "Revoked:      2 certificates"
assert_contains "$T/out" "serial $s1  revoked "
assert_contains "$T/out" "keyCompromise"
assert_contains "$T/out" "serial $s2  revoked "
assert_contains "$T/out" "superseded"
ok "openssl CRL: issuer, dates, number, AKI, revoked serials and reasons"

openssl crl -in ca.crl -outform DER -out ca.crl.der
run 0 "$MTLS" cert inspect --json ca.crl.der
python3 - "$T/out" "$s1" <<'PY' || fail "CRL JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["kind"] == "crl" and d["format"] == "DER" and d["count"] == 1, d
c = d["crls"][0]
assert c["issuer"] == "CN=Test CA" and c["crl_number"] == "7", c
assert c["status"] == "valid" and c["days_left"] in (4, 5), c
r = {e["serial"]: e for e in c["revoked"]}
assert r[sys.argv[2]]["reason"] == "keyCompromise", r
assert r[sys.argv[2]]["revoked_at"].endswith("Z"), r
PY
ok "DER CRL in JSON"

# An expired CRL.
openssl ca -config ca.cnf -gencrl -crl_lastupdate 20200101000000Z \
    -crl_nextupdate 20200108000000Z -out old.crl >/dev/null 2>&1 || fail "old CRL"
run 0 "$MTLS" cert inspect old.crl
assert_contains "$T/out" "Next update:  2020-01-08T00:00:00Z (EXPIRED "
run 0 "$MTLS" cert inspect --json old.crl
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["crls"][0]; assert c["status"]=="expired" and c["days_left"] < -1000, c' "$T/out" ||
    fail "expired CRL JSON"
ok "expired CRL says EXPIRED"
