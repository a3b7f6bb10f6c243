#!/bin/sh
# --encrypt-key: ca.key is encrypted with MTLS_CA_PASSPHRASE; issuing needs
# the right passphrase, and a wrong one fails cleanly.
. "$MTLS_TOP/tests/integration/lib.sh"

unset MTLS_CA_PASSPHRASE 2>/dev/null || true
run 0 env MTLS_CA_PASSPHRASE='open sesame' "$MTLS" ca init --dir ca --encrypt-key
assert_contains "$T/out" "(encrypted)"
assert_mode ca/ca.key 600
assert_contains ca/ca.key "BEGIN ENCRYPTED PRIVATE KEY"
run 1 openssl pkey -in ca/ca.key -noout -passin pass:
run 0 openssl pkey -in ca/ca.key -noout -passin 'pass:open sesame'
ok "ca.key is encrypted and opens only with the passphrase"

run 0 env MTLS_CA_PASSPHRASE='open sesame' "$MTLS" cert issue --ca ca \
    --server --name srv.example.com --out srv
run 0 openssl verify -CAfile ca/ca.crt -purpose sslserver srv.crt
assert_contains srv.key "BEGIN PRIVATE KEY"
ok "issuing with the right passphrase works (the leaf key is not encrypted)"

run 1 env MTLS_CA_PASSPHRASE='open says me' "$MTLS" cert issue --ca ca \
    --client --name c --out c
assert_one_line_error "ca/ca.key"
assert_no_file c.crt
assert_no_file c.key
assert_no_tmp .
ok "a wrong passphrase fails cleanly: $(cat "$T/err")"

# No passphrase and no terminal: refused with the variable named.
run 1 "$MTLS" cert issue --ca ca --client --name c --out c </dev/null
assert_one_line_error "MTLS_CA_PASSPHRASE"
assert_no_file c.key
ok "no passphrase and no terminal: refused"

# Listing and revoking need no passphrase; the CRL needs it.
run 0 "$MTLS" cert list --ca ca
assert_contains "$T/out" "srv.example.com"
run 0 "$MTLS" cert revoke --ca ca --cert srv.crt </dev/null
run 1 "$MTLS" ca crl --ca ca --out crl.pem </dev/null
assert_no_file crl.pem
run 0 env MTLS_CA_PASSPHRASE='open sesame' "$MTLS" ca crl --ca ca --out crl.pem
run 2 openssl verify -crl_check -CRLfile crl.pem -CAfile ca/ca.crt srv.crt
cat "$T/out" "$T/err" >v.txt
assert_contains v.txt "certificate revoked"
ok "list and revoke without the passphrase; the CRL with it"

# An intermediate under the encrypted root: the parent's passphrase
# unlocks the root; the intermediate's own key is not encrypted.
run 0 env MTLS_CA_PASSPHRASE='open sesame' "$MTLS" ca init --dir int --parent ca
assert_contains int/ca.key "BEGIN PRIVATE KEY"
run 0 "$MTLS" cert issue --ca int --client --name leaf --out leaf </dev/null
ok "an intermediate signed by the encrypted root"
