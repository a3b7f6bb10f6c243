#!/bin/sh
# Existing outputs are never replaced without --force (exit 1, one line
# naming the file, the file unchanged, nothing else written); an existing CA
# is never replaced; a wrong CA passphrase fails cleanly.
. "$MTLS_TOP/tests/integration/lib.sh"

sum() { cksum <"$1"; }

run 0 "$MTLS" ca init --dir ca
run 0 "$MTLS" cert issue --ca ca --server --name srv.example --out srv
s_crt=$(sum srv.crt) s_key=$(sum srv.key)

run 1 "$MTLS" cert issue --ca ca --server --name srv.example --out srv
assert_one_line_error "srv.crt: file already exists"
[ "$(sum srv.crt)" = "$s_crt" ] || fail "srv.crt changed"
[ "$(sum srv.key)" = "$s_key" ] || fail "srv.key changed"
ok "cert issue refuses existing outputs, files unchanged"

# Only the key exists: still refused, and no certificate appears.
: >lonely.key
run 1 "$MTLS" cert issue --ca ca --client --name lonely --out lonely
assert_one_line_error "lonely.key: file already exists"
assert_no_file lonely.crt
[ ! -s lonely.key ] || fail "lonely.key was written"
run 0 "$MTLS" cert list --ca ca --json
n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/out")
[ "$n" -eq 1 ] || fail "a refused issue was recorded ($n certificates)"
ok "one existing output is enough to refuse, before anything is issued"

run 0 "$MTLS" csr new --name c --out c
s_csr=$(sum c.csr)
run 1 "$MTLS" csr new --name c --out c
assert_one_line_error "c.csr: file already exists"
[ "$(sum c.csr)" = "$s_csr" ] || fail "c.csr changed"
run 0 "$MTLS" cert sign --ca ca --client --csr c.csr --out c.crt
s_c=$(sum c.crt)
run 1 "$MTLS" cert sign --ca ca --client --csr c.csr --out c.crt
assert_one_line_error "c.crt: file already exists"
[ "$(sum c.crt)" = "$s_c" ] || fail "c.crt changed"
run 0 "$MTLS" ca crl --ca ca --out crl.pem
s_crl=$(sum crl.pem)
run 1 "$MTLS" ca crl --ca ca --out crl.pem
assert_one_line_error "crl.pem: file already exists"
[ "$(sum crl.pem)" = "$s_crl" ] || fail "crl.pem changed"
run 0 env MTLS_P12_PASSPHRASE=pw "$MTLS" cert export --cert srv.crt --key srv.key --out srv.p12
s_p12=$(sum srv.p12)
run 1 env MTLS_P12_PASSPHRASE=pw "$MTLS" cert export --cert srv.crt --key srv.key --out srv.p12
assert_one_line_error "srv.p12: file already exists"
[ "$(sum srv.p12)" = "$s_p12" ] || fail "srv.p12 changed"
ok "csr new, cert sign, ca crl, cert export refuse existing outputs"

run 0 "$MTLS" cert issue --ca ca --server --name srv.example --out srv --force
[ "$(sum srv.crt)" != "$s_crt" ] || fail "--force did not replace srv.crt"
[ "$(sum srv.key)" != "$s_key" ] || fail "--force did not replace srv.key"
assert_mode srv.key 600
[ "$(openssl x509 -in srv.crt -noout -pubkey)" = "$(openssl pkey -in srv.key -pubout)" ] ||
    fail "after --force the key and certificate do not match"
run 0 "$MTLS" csr new --name c --out c --force
run 0 "$MTLS" cert sign --ca ca --client --csr c.csr --out c.crt --force
run 0 "$MTLS" ca crl --ca ca --out crl.pem --force
ok "--force replaces"

# An output directory that does not exist is found before any work.
run 1 "$MTLS" cert issue --ca ca --client --name nowhere --out nodir/x
assert_one_line_error "nodir/x.crt: cannot write into nodir: No such file or directory"
run 1 "$MTLS" ca crl --ca ca --out srv.crt/crl.pem
assert_one_line_error "not a directory"
run 0 "$MTLS" cert list --ca ca --json
assert_not_contains "$T/out" "nowhere"
ok "a missing output directory is refused before anything is issued"

# ca init on an existing CA.
s_cakey=$(sum ca/ca.key) s_cacrt=$(sum ca/ca.crt) s_db=$(sum ca/ca.db)
run 1 "$MTLS" ca init --dir ca
assert_one_line_error "ca/ca.key: a CA already exists"
run 1 "$MTLS" ca init --dir ca --parent ca
assert_one_line_error "a CA already exists"
[ "$(sum ca/ca.key)" = "$s_cakey" ] && [ "$(sum ca/ca.crt)" = "$s_cacrt" ] &&
    [ "$(sum ca/ca.db)" = "$s_db" ] || fail "the existing CA changed"
ok "ca init refuses an existing CA, which stays unchanged"

# Wrong passphrase for an encrypted CA.
run 0 env MTLS_CA_PASSPHRASE=right-one "$MTLS" ca init --dir eca --encrypt-key
run 1 env MTLS_CA_PASSPHRASE=wrong-one "$MTLS" cert issue --ca eca --client --name z --out z
assert_one_line_error "eca/ca.key"
assert_no_file z.crt
assert_no_file z.key
run 1 env MTLS_CA_PASSPHRASE=wrong-one "$MTLS" ca crl --ca eca --out ecrl.pem
assert_one_line_error "eca/ca.key"
assert_no_file ecrl.pem
run 1 env MTLS_CA_PASSPHRASE=wrong-one "$MTLS" ca init --dir esub --parent eca
assert_one_line_error "eca/ca.key"
assert_no_file esub/ca.key
ok "wrong CA passphrase: refused, nothing written: $(cat "$T/err")"

assert_no_tmp .
assert_no_tmp ca
assert_no_tmp eca
ok "no temp files left"
