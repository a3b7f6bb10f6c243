#!/bin/sh
# CSRs made by mtls and by openssl, signed by "mtls cert sign": the CA takes
# only the names from a request, refuses CA requests, weak keys and bad
# self-signatures.
. "$MTLS_TOP/tests/integration/lib.sh"

run 0 "$MTLS" ca init --dir ca

run 0 "$MTLS" csr new --name srv.example.com --dns www.example.com \
    --ip 10.1.2.3 --out srv
assert_file srv.csr
assert_mode srv.key 600
run 0 openssl req -in srv.csr -noout -verify
grep -q "verify OK" "$T/out" "$T/err" || fail "openssl req -verify did not say OK"
openssl req -in srv.csr -noout -text >req.txt
assert_contains req.txt "DNS:www.example.com"
assert_contains req.txt "IP Address:10.1.2.3"
ok "csr new: a self-signed request with the SANs, key 0600"

run 0 "$MTLS" cert sign --ca ca --server --csr srv.csr --out srv.crt
assert_contains "$T/out" "signed server certificate serial"
run 0 openssl verify -CAfile ca/ca.crt -purpose sslserver srv.crt
openssl x509 -in srv.crt -noout -text >srv.txt
assert_contains srv.txt "DNS:www.example.com"
assert_contains srv.txt "IP Address:10.1.2.3"
assert_contains srv.txt "TLS Web Server Authentication"
[ "$(openssl x509 -in srv.crt -noout -pubkey)" = "$(openssl pkey -in srv.key -pubout)" ] ||
    fail "the signed certificate is not for the CSR's key"
ok "server CSR signed; verifies for sslserver; the key matches"

run 0 "$MTLS" csr new --name bob --uri spiffe://example.org/bob --key-type rsa-2048 --out bob
run 0 "$MTLS" cert sign --ca ca --client --csr bob.csr --days 30 --out bob.crt
run 0 openssl verify -CAfile ca/ca.crt -purpose sslclient bob.crt
run 2 openssl verify -CAfile ca/ca.crt -purpose sslserver bob.crt
openssl x509 -in bob.crt -noout -text >bob.txt
assert_contains bob.txt "URI:spiffe://example.org/bob"
assert_contains bob.txt "TLS Web Client Authentication"
end=$(openssl x509 -in bob.crt -noout -enddate | sed 's/^notAfter=//')
days=$(( ($(date -d "$end" +%s) - $(date +%s) + 3600) / 86400 ))
[ "$days" -eq 30 ] || fail "--days 30 gave a certificate valid for $days days"
ok "client CSR (RSA) signed for 30 days; sslclient only"

# A request to be a CA is refused, and nothing is written.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout evil.key -subj /CN=evil -addext basicConstraints=critical,CA:TRUE \
    -out evil.csr 2>/dev/null || fail "openssl could not make the CA CSR"
run 1 "$MTLS" cert sign --ca ca --server --csr evil.csr --out evil.crt
assert_one_line_error "cannot sign evil.csr"
assert_contains "$T/err" "CA certificate"
assert_no_file evil.crt
ok "a CSR asking for CA:TRUE is refused: $(cat "$T/err")"

# Requested key usages are not copied: keyCertSign never reaches a leaf.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ku.key -subj /CN=ku.example.com \
    -addext keyUsage=critical,digitalSignature,keyCertSign \
    -addext extendedKeyUsage=codeSigning -out ku.csr 2>/dev/null ||
    fail "openssl could not make the keyUsage CSR"
run 0 "$MTLS" cert sign --ca ca --server --csr ku.csr --out ku.crt
openssl x509 -in ku.crt -noout -text >ku.txt
assert_not_contains ku.txt "Certificate Sign"
assert_not_contains ku.txt "Code Signing"
assert_contains ku.txt "CA:FALSE"
assert_contains ku.txt "DNS:ku.example.com"
ok "keyCertSign and other requested extensions are not copied"

openssl req -new -newkey rsa:1024 -nodes -keyout weak.key -subj /CN=weak \
    -out weak.csr 2>/dev/null || fail "openssl could not make an RSA-1024 CSR"
run 1 "$MTLS" cert sign --ca ca --client --csr weak.csr --out weak.crt
assert_one_line_error "1024"
assert_no_file weak.crt
ok "an RSA-1024 CSR is refused: $(cat "$T/err")"

# Flip the last byte of the DER (inside the signature).
openssl req -in srv.csr -outform DER -out good.der
python3 -c '
import sys
b = bytearray(open("good.der", "rb").read())
b[-1] ^= 0x01
open("bad.der", "wb").write(bytes(b))'
run 1 "$MTLS" cert sign --ca ca --server --csr bad.der --out bad.crt
assert_one_line_error "bad.der"
grep -qi "signature" "$T/err" || fail "the refusal does not mention the signature"
assert_no_file bad.crt
ok "a CSR with a corrupted signature is refused: $(cat "$T/err")"

run 0 "$MTLS" cert list --ca ca --json
n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/out")
[ "$n" -eq 3 ] || fail "the inventory holds $n certificates, expected 3 (refusals are not recorded)"
ok "refused requests are not recorded in the inventory"
