#!/bin/sh
# A peer's bytes cannot forge a log line or break the JSON log: a client
# certificate whose CN holds a newline, a quote, a backslash and UTF-8, and
# an SNI with a quote, a control character and bytes that are not UTF-8.
# The JSON lines parse with python3's json (strictly: UTF-8 in, no raw
# control characters), keep the UTF-8 as it is and show U+FFFD for the bad
# bytes; the text log has exactly one line per connection with the same
# characters escaped.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

make_pki
# The CN the CLI refuses (control characters), made with python3
# cryptography and signed by the mtls CA.
cat >"$T/odd.py" <<'PY'
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
ca = x509.load_pem_x509_certificate(open("pki/ca/ca.crt", "rb").read())
cakey = serialization.load_pem_private_key(open("pki/ca/ca.key", "rb").read(), None)
key = ec.generate_private_key(ec.SECP256R1())
now = datetime.datetime.now(datetime.timezone.utc)
cn = 'ev"il\n outcome=ok \\ caf\u00e9'
cert = (x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.SubjectAlternativeName(
            [x509.UniformResourceIdentifier('spiffe://example.com/a"b')]), False)
        .sign(cakey, hashes.SHA256()))
open("odd.crt", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
open("odd.key", "wb").write(key.private_bytes(serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
PY
run 0 python3 "$T/odd.py"
SNI=$(printf 'x"y\001\377z')

start_backend echo
start_serve --allow-any --log-format json
s_client odd -servername "$SNI"
assert_contains "$T/sc.out" "ping"
wait_log '"outcome":"ok"' 1
cat >"$T/check.py" <<'PY'
import json, sys
raw = open(sys.argv[1], "rb").read()
# wait_port's probe is a line of its own; the client's is the one with SNI.
lines = [l for l in raw.split(b"\n") if b'"outcome":"ok"' in l]
assert len(lines) == 1, lines
rec = json.loads(lines[0].decode("utf-8"))  # strict: fails on bad UTF-8
# The subject as RFC 2253 writes it (its own escapes), carried exactly.
assert rec["subject"] == 'CN=ev\\"il\\0A outcome=ok \\\\ caf\u00e9', rec["subject"]
assert rec["sni"] == 'x"y\x01\ufffdz', repr(rec["sni"])
assert 'spiffe://example.com/a"b' in rec["sans"], rec["sans"]
assert rec["outcome"] == "ok", rec["outcome"]
for l in raw.split(b"\n"):
    if l:
        json.loads(l.decode("utf-8"))
print("json ok:", rec["subject"], repr(rec["sni"]))
PY
run 0 python3 "$T/check.py" "$T/serve.log"
ok "JSON log: odd CN and SNI parse as JSON, UTF-8 kept, a bad byte is U+FFFD"

kill "$SPID"; wait "$SPID" 2>/dev/null
: >"$T/serve.log"
start_serve --allow-any
s_client odd -servername "$SNI"
assert_contains "$T/sc.out" "ping"
wait_log "outcome=ok" 1
n=$(grep -c "outcome=ok" "$T/serve.log")
lines=$(grep -c "" "$T/serve.log")
[ "$n" -eq 1 ] || { cat "$T/serve.log"; fail "expected one line for the connection, got $n"; }
line=$(grep "outcome=ok" "$T/serve.log")
case $line in
*'sni="x\"y\x01\xffz"'*) ;;
*) fail "text log: SNI not escaped as expected: $line" ;;
esac
# The CN's forged "outcome=ok" stays inside the quoted subject.
assert_contains "$T/serve.log" ' subject="CN=ev\\\"il\\0A outcome=ok \\\\ café" '
# Nothing of the CN starts a line of its own.
if grep -v "^20[0-9-]*T" "$T/serve.log" | grep -q .; then
	cat "$T/serve.log"; fail "a log line does not start with a time ($lines lines)"
fi
ok "text log: one line for the connection, quote, control and bad bytes escaped"
