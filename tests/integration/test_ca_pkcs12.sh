#!/bin/sh
# "mtls cert export" writes a PKCS#12 that openssl 3 opens without -legacy
# (and python's cryptography, when installed), only with the passphrase.
. "$MTLS_TOP/tests/integration/lib.sh"

run 0 "$MTLS" ca init --dir root
run 0 "$MTLS" ca init --dir int --parent root
run 0 "$MTLS" cert issue --ca int --client --name alice --out alice

run 0 env MTLS_P12_PASSPHRASE='correct horse' "$MTLS" cert export \
    --cert alice.crt --key alice.key --out alice.p12
assert_contains "$T/out" "alice.p12"
assert_mode alice.p12 600
ok "exported with the default passphrase variable"

run 0 env P12PASS='correct horse' openssl pkcs12 -in alice.p12 -info -noout \
    -passin env:P12PASS
assert_contains "$T/err" "PKCS7 Encrypted data: PBES2"
assert_contains "$T/err" "AES-256-CBC"
assert_contains "$T/err" "MAC: sha256"
ok "openssl pkcs12 -info opens it (no -legacy): PBES2, AES-256-CBC, SHA-256 MAC"

run 0 env P12PASS='correct horse' openssl pkcs12 -in alice.p12 -nodes \
    -passin env:P12PASS -out dump.pem
n=$(grep -c 'BEGIN CERTIFICATE' dump.pem)
[ "$n" -eq 2 ] || fail "bundle holds $n certificates, expected leaf + intermediate"
openssl pkey -in dump.pem -pubout -out k1.pub 2>/dev/null || fail "no key in bundle"
openssl x509 -in alice.crt -noout -pubkey >k2.pub
cmp -s k1.pub k2.pub || fail "the bundle's key is not alice's"
assert_contains dump.pem "friendlyName: alice"
ok "bundle holds the chain, the matching key and the friendly name"

run 1 env P12PASS='wrong' openssl pkcs12 -in alice.p12 -info -noout -passin env:P12PASS
assert_contains "$T/err" "invalid password"
ok "a wrong passphrase does not open it"

# --passphrase-env names another variable; without any variable and
# without a terminal, export refuses and writes nothing.
run 0 env MYPASS=s3cret "$MTLS" cert export --cert alice.crt --key alice.key \
    --out other.p12 --passphrase-env MYPASS
run 0 env MYPASS=s3cret openssl pkcs12 -in other.p12 -info -noout -passin env:MYPASS
unset MTLS_P12_PASSPHRASE 2>/dev/null || true
run 1 "$MTLS" cert export --cert alice.crt --key alice.key --out none.p12 </dev/null
assert_one_line_error "MTLS_P12_PASSPHRASE"
assert_no_file none.p12
assert_no_tmp .
ok "--passphrase-env works; no passphrase and no tty is refused"

if python3 -c 'from cryptography.hazmat.primitives.serialization import pkcs12' 2>/dev/null; then
	python3 - <<'PY' || fail "python cryptography cannot load the bundle"
from cryptography.hazmat.primitives.serialization import pkcs12
data = open("alice.p12", "rb").read()
key, cert, extra = pkcs12.load_key_and_certificates(data, b"correct horse")
assert key is not None and cert is not None
assert "alice" in cert.subject.rfc4514_string()
assert len(extra) == 1
try:
    pkcs12.load_key_and_certificates(data, b"nope")
except ValueError:
    pass
else:
    raise SystemExit("a wrong passphrase was accepted")
PY
	ok "python cryptography loads it, and refuses a wrong passphrase"
else
	echo "python3 cryptography not installed: openssl checks only"
fi
