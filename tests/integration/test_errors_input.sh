#!/bin/sh
# Bad inputs: each refused with exit 1 and one line on stderr naming the
# file and the problem, and no output file (or temp file) left behind.
. "$MTLS_TOP/tests/integration/lib.sh"

run 0 "$MTLS" ca init --dir ca
run 0 "$MTLS" cert issue --ca ca --client --name alice --out alice
run 0 "$MTLS" cert issue --ca ca --client --name bob --out bob
mkdir outdir

# Missing input files.
run 1 "$MTLS" cert sign --ca ca --client --csr nosuch.csr --out outdir/x.crt
assert_one_line_error "nosuch.csr"
assert_contains "$T/err" "No such file"
run 1 "$MTLS" cert export --cert nosuch.crt --key alice.key --out outdir/x.p12
assert_one_line_error "nosuch.crt"
run 1 "$MTLS" cert export --cert alice.crt --key nosuch.key --out outdir/x.p12
assert_one_line_error "nosuch.key"
run 1 "$MTLS" cert revoke --ca ca --cert nosuch.crt
assert_one_line_error "nosuch.crt"
run 1 "$MTLS" cert issue --ca nosuch-ca --server --name x --out outdir/x
assert_one_line_error "nosuch-ca"
run 1 "$MTLS" cert list --ca nosuch-ca
assert_one_line_error "nosuch-ca"
assert_no_file nosuch-ca
assert_no_file outdir/x.crt
assert_no_file outdir/x.key
assert_no_file outdir/x.p12
ok "missing files and CA directories: one line naming them"

# Unreadable input: a directory where a file is expected (root reads any
# file regardless of its mode); for other users also a mode-000 file.
mkdir adir.csr
run 1 "$MTLS" cert sign --ca ca --client --csr adir.csr --out outdir/x.crt
assert_one_line_error "adir.csr"
if [ "$(id -u)" -ne 0 ]; then
	cp alice.key locked.key && chmod 000 locked.key
	run 1 "$MTLS" cert export --cert alice.crt --key locked.key --out outdir/x.p12
	assert_one_line_error "Permission denied"
fi
assert_no_file outdir/x.crt
assert_no_file outdir/x.p12
ok "unreadable input refused"

# Malformed PEM: garbage, and a truncated certificate / CSR / key.
printf 'this is not a certificate\n' >garbage.pem
head -c 300 alice.crt >trunc.crt
run 0 "$MTLS" csr new --name carol --out carol
head -n 3 carol.csr >trunc.csr
head -n 2 alice.key >trunc.key
run 1 "$MTLS" cert export --cert garbage.pem --key alice.key --out outdir/x.p12
assert_one_line_error "garbage.pem"
run 1 "$MTLS" cert export --cert trunc.crt --key alice.key --out outdir/x.p12
assert_one_line_error "trunc.crt"
run 1 "$MTLS" cert export --cert alice.crt --key trunc.key --out outdir/x.p12
assert_one_line_error "trunc.key"
run 1 "$MTLS" cert sign --ca ca --client --csr garbage.pem --out outdir/x.crt
assert_one_line_error "garbage.pem"
run 1 "$MTLS" cert sign --ca ca --client --csr trunc.csr --out outdir/x.crt
assert_one_line_error "trunc.csr"
run 1 "$MTLS" cert revoke --ca ca --cert garbage.pem
assert_one_line_error "garbage.pem"
: >empty.crt
run 1 "$MTLS" cert revoke --ca ca --cert empty.crt
assert_one_line_error "empty.crt"
assert_no_file outdir/x.crt
assert_no_file outdir/x.p12
ok "garbage, truncated and empty PEM refused"

# A key that does not belong to the certificate.
run 1 "$MTLS" cert export --cert alice.crt --key bob.key --out outdir/x.p12
assert_one_line_error "bob.key: not the key of alice.crt"
assert_no_file outdir/x.p12
ok "export with a mismatched key refused: $(cat "$T/err")"

# An encrypted key: without its passphrase, and with a wrong one; the right
# one exports.
openssl pkcs8 -topk8 -in alice.key -passout pass:right-one -out alice-enc.key ||
    fail "openssl could not encrypt the key"
run 1 env MTLS_P12_PASSPHRASE=pw "$MTLS" cert export --cert alice.crt \
    --key alice-enc.key --out outdir/x.p12 </dev/null
assert_one_line_error "alice-enc.key: no passphrase: set MTLS_KEY_PASSPHRASE"
assert_no_file outdir/x.p12
run 1 env MTLS_P12_PASSPHRASE=pw MTLS_KEY_PASSPHRASE=wrong-one "$MTLS" \
    cert export --cert alice.crt --key alice-enc.key --out outdir/x.p12
assert_one_line_error "alice-enc.key: wrong passphrase"
assert_no_file outdir/x.p12
run 0 env MTLS_P12_PASSPHRASE=pw MTLS_KEY_PASSPHRASE=right-one "$MTLS" \
    cert export --cert alice.crt --key alice-enc.key --out alice.p12
openssl pkcs12 -in alice.p12 -passin pass:pw -nodes -out alice.p12.pem \
    2>/dev/null || fail "openssl cannot open alice.p12"
assert_contains alice.p12.pem "PRIVATE KEY"
ok "encrypted key: no passphrase and a wrong one refused, the right one exports"

# A CSR whose self-signature is broken (last byte of the DER flipped).
openssl req -in carol.csr -outform DER -out carol.der
python3 -c '
b = bytearray(open("carol.der", "rb").read()); b[-1] ^= 0x01
open("badsig.der", "wb").write(bytes(b))'
run 1 "$MTLS" cert sign --ca ca --client --csr badsig.der --out outdir/x.crt
assert_one_line_error "badsig.der"
assert_contains "$T/err" "signature does not verify"
assert_no_file outdir/x.crt
ok "CSR with a bad signature refused: $(cat "$T/err")"

# A CSR asking to be a CA.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca-req.key -subj /CN=sub-ca \
    -addext basicConstraints=critical,CA:TRUE -out ca-req.csr 2>/dev/null ||
    fail "openssl could not make the CSR"
run 1 "$MTLS" cert sign --ca ca --server --csr ca-req.csr --out outdir/x.crt
assert_one_line_error "ca-req.csr"
assert_contains "$T/err" "requests a CA certificate"
assert_no_file outdir/x.crt
ok "CSR asking to be a CA refused: $(cat "$T/err")"

# CSRs for keys of a type or curve the CA does not accept.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:secp256k1 -nodes \
    -keyout k1.key -subj /CN=k1.example -out k1.csr 2>/dev/null ||
    fail "openssl could not make the secp256k1 CSR"
run 1 "$MTLS" cert sign --ca ca --client --csr k1.csr --out outdir/x.crt
assert_one_line_error "k1.csr"
assert_contains "$T/err" "curve secp256k1 is not allowed"
assert_no_file outdir/x.crt
openssl req -new -newkey rsa:1024 -nodes -keyout weak.key -subj /CN=weak \
    -out weak.csr 2>/dev/null || fail "openssl could not make the RSA CSR"
run 1 "$MTLS" cert sign --ca ca --client --csr weak.csr --out outdir/x.crt
assert_one_line_error "weak.csr"
assert_contains "$T/err" "1024 bits is too weak"
assert_no_file outdir/x.crt
ok "CSRs for an unknown curve and a weak RSA key refused"

# A corrupted CA: ca.crt replaced by garbage.
cp -r ca brokenca
cp garbage.pem brokenca/ca.crt
run 1 "$MTLS" cert issue --ca brokenca --server --name x --out outdir/x
assert_one_line_error "brokenca"
assert_no_file outdir/x.crt
assert_no_file outdir/x.key
ok "a CA with a malformed ca.crt refused"

assert_no_tmp .
assert_no_tmp outdir
assert_no_tmp ca
ok "no temp files left anywhere"
