#!/bin/sh
# "mtls cert inspect" on the certificates "mtls init" makes, as a chain
# (server certificate, then the CA certificate): SANs by type,
# "expires in", numbered certificates, the SHA-256 fingerprint as openssl
# computes it, DER input, standard input, and --json that parses.
. "$MTLS_TOP/tests/integration/lib.sh"

run 0 "$MTLS" init --dir pki
# The leaf first; whatever server.crt holds after it, the root last.
openssl x509 -in pki/server.crt -out chain.pem
cat pki/ca/ca.crt >> chain.pem
run 0 "$MTLS" cert inspect chain.pem
cp "$T/out" server.txt
assert_contains server.txt "chain.pem: 2 certificates (PEM)"
assert_contains server.txt "Certificate 1 of 2 (leaf)"
assert_contains server.txt "Certificate 2 of 2 (CA, self-signed)"
assert_contains server.txt "Subject:      CN=localhost"
assert_contains server.txt "SANs:         DNS:localhost, IP:127.0.0.1, IP:::1"
assert_contains server.txt "Ext. key usage: serverAuth"
assert_contains server.txt "CA:           no"
assert_contains server.txt "CA:           yes"
assert_contains server.txt "Key:          EC P-256"
assert_contains server.txt "Signature:    ecdsa-with-SHA256"
grep -qE '^  Validity: .* \(expires in (89|90) days\)$' server.txt ||
    fail "the leaf's validity does not say 'expires in 89/90 days'"
ok "server chain: names, SANs, usages, key, expiry"

# The fingerprint is the one openssl computes.
fp=$(openssl x509 -in pki/server.crt -noout -fingerprint -sha256 | sed 's/.*=//')
[ -n "$fp" ] || fail "openssl gave no fingerprint"
assert_contains server.txt "SHA-256:      $fp"
# The serial too (openssl prints it in upper-case hex).
serial=$(openssl x509 -in pki/server.crt -noout -serial | sed 's/.*=//')
assert_contains server.txt "Serial:       $serial"
ok "fingerprint and serial equal openssl's"

run 0 "$MTLS" cert inspect pki/client.crt
assert_contains "$T/out" "Subject:      CN=client"
assert_contains "$T/out" "Ext. key usage: clientAuth"
ok "client certificate"

# DER, and standard input.
openssl x509 -in pki/server.crt -outform DER -out server.der
run 0 "$MTLS" cert inspect server.der
assert_contains "$T/out" "server.der: 1 certificate (DER)"
assert_contains "$T/out" "SHA-256:      $fp"
run 0 sh -c "\"$MTLS\" cert inspect - < server.der"
assert_contains "$T/out" "(stdin): 1 certificate (DER)"
assert_contains "$T/out" "DNS:localhost"
ok "DER file and standard input"

# JSON: parses, and holds the same facts.
run 0 "$MTLS" cert inspect --json chain.pem
python3 -m json.tool "$T/out" >/dev/null || fail "--json output does not parse"
cp "$T/out" server.json
python3 - server.json "$fp" <<'PY' || fail "JSON facts are wrong"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["kind"] == "certificates" and d["count"] == 2, d
c = d["certificates"][0]
assert c["subject"] == "CN=localhost", c["subject"]
assert {"type": "DNS", "value": "localhost"} in c["sans"], c["sans"]
assert {"type": "IP", "value": "127.0.0.1"} in c["sans"], c["sans"]
assert {"type": "IP", "value": "::1"} in c["sans"], c["sans"]
assert c["ext_key_usage"] == ["serverAuth"], c["ext_key_usage"]
assert c["fingerprint_sha256"] == sys.argv[2], c["fingerprint_sha256"]
assert isinstance(c["days_left"], int) and 88 <= c["days_left"] <= 90, c
assert c["not_after"].endswith("Z") and "T" in c["not_after"], c
assert c["status"] == "valid" and c["is_ca"] is False
assert c["key"] == "EC P-256" and c["key_bits"] == 256
ca = d["certificates"][1]
assert ca["is_ca"] is True and ca["self_signed"] is True
assert ca["ski"] == c["aki"], (ca["ski"], c["aki"])
PY
ok "--json parses and has the fields"
