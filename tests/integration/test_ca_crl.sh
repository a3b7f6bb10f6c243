#!/bin/sh
# Revocation by certificate file and by serial (with a reason), then a CRL
# that openssl uses to refuse the revoked certificates and accept the others.
. "$MTLS_TOP/tests/integration/lib.sh"

run 0 "$MTLS" ca init --dir ca
for n in a b c; do
	run 0 "$MTLS" cert issue --ca ca --client --name "$n" --out "$n"
done

run 0 "$MTLS" cert revoke --ca ca --cert a.crt
assert_contains "$T/out" "revoked certificate serial"
serial_b=$(openssl x509 -in b.crt -noout -serial | sed 's/^serial=//')
[ -n "$serial_b" ] || fail "no serial for b.crt"
# Lower case and colons are accepted.
colon=$(printf '%s' "$serial_b" | tr 'A-F' 'a-f' | sed 's/\(..\)/\1:/g; s/:$//')
run 0 "$MTLS" cert revoke --ca ca --serial "$colon" --reason keyCompromise
assert_contains "$T/out" "$serial_b"
assert_contains "$T/out" "keyCompromise"
ok "revoked by --cert and by --serial with a reason"

run 0 "$MTLS" ca crl --ca ca --out crl.pem
assert_contains "$T/out" "2 revoked certificates"
assert_file crl.pem
assert_mode crl.pem 644
ok "CRL written"

v() { openssl verify -crl_check -CRLfile crl.pem -CAfile ca/ca.crt "$@"; }
run 2 v a.crt
cat "$T/out" "$T/err" >v.txt
assert_contains v.txt "certificate revoked"
run 2 v b.crt
cat "$T/out" "$T/err" >v.txt
assert_contains v.txt "certificate revoked"
run 0 v c.crt
assert_contains "$T/out" "c.crt: OK"
ok "openssl -crl_check: revoked ones refused, the other OK"

openssl crl -in crl.pem -noout -text >crl.txt || fail "openssl crl cannot read it"
assert_contains crl.txt "X509v3 CRL Number"
assert_contains crl.txt "Key Compromise"
assert_contains crl.txt "Serial Number: $serial_b"
assert_contains crl.txt "X509v3 Authority Key Identifier"
run 0 openssl crl -in crl.pem -noout -CAfile ca/ca.crt
grep -q "verify OK" "$T/out" "$T/err" || fail "openssl crl: CRL signature not OK"
# nextUpdate about 7 days after lastUpdate.
last=$(openssl crl -in crl.pem -noout -lastupdate | sed 's/^lastUpdate=//')
next=$(openssl crl -in crl.pem -noout -nextupdate | sed 's/^nextUpdate=//')
days=$(( ($(date -d "$next" +%s) - $(date -d "$last" +%s)) / 86400 ))
[ "$days" -eq 7 ] || fail "nextUpdate is $days days after lastUpdate, expected 7"
ok "CRL has a number, the reason, AKI, a good signature and nextUpdate +7 days"

# A new CRL has a higher number; --days sets nextUpdate.
num1=$(openssl crl -in crl.pem -noout -crlnumber | sed 's/^crlNumber=//; s/^0x//')
run 1 "$MTLS" ca crl --ca ca --out crl.pem
assert_one_line_error "crl.pem: file already exists"
run 0 "$MTLS" ca crl --ca ca --out crl.pem --days 30 --force
num2=$(openssl crl -in crl.pem -noout -crlnumber | sed 's/^crlNumber=//; s/^0x//')
[ "$((0x$num2))" -gt "$((0x$num1))" ] || fail "CRL number did not grow: $num1 then $num2"
next=$(openssl crl -in crl.pem -noout -nextupdate | sed 's/^nextUpdate=//')
last=$(openssl crl -in crl.pem -noout -lastupdate | sed 's/^lastUpdate=//')
days=$(( ($(date -d "$next" +%s) - $(date -d "$last" +%s)) / 86400 ))
[ "$days" -eq 30 ] || fail "with --days 30 nextUpdate is $days days away"
ok "CRL number increases; --days and --force work"

run 0 "$MTLS" cert list --ca ca
grep "CN=a" "$T/out" | grep -q "revoked" || fail "cert list: a not revoked"
grep "CN=b" "$T/out" | grep -q "revoked (keyCompromise)" || fail "cert list: b not keyCompromise"
grep "CN=c" "$T/out" | grep -q "valid" || fail "cert list: c not valid"
python3 - "$T/out" <<'PY' || fail "cert list: the table is not aligned"
import sys
lines = open(sys.argv[1]).read().splitlines()
head, rows = lines[0], lines[1:]
assert head.split() == ["SERIAL", "SUBJECT", "TYPE", "EXPIRES", "DAYS", "STATUS"], head
assert len(rows) == 3, lines
for col in ("SUBJECT", "TYPE", "EXPIRES", "DAYS", "STATUS"):
    at = head.index(col)
    for r in rows:
        assert r[at - 2:at] == "  " and r[at] != " ", (col, r)
PY
run 0 "$MTLS" cert list --ca ca --json
python3 - "$T/out" "$serial_b" <<'PY' || fail "cert list --json is wrong"
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 3, rows
by = {r["subject"]: r for r in rows}
assert by["CN=a"]["status"] == "revoked"
assert by["CN=b"]["status"] == "revoked" and by["CN=b"]["reason"] == "keyCompromise"
assert by["CN=b"]["serial"] == sys.argv[2]
assert by["CN=c"]["status"] == "valid" and by["CN=c"]["reason"] is None
assert all(r["type"] == "client" for r in rows)
PY
ok "cert list shows the statuses (table and JSON)"

# faketime works by LD_PRELOAD, which a sanitizer build refuses.
if command -v faketime >/dev/null &&
    faketime -f +3d "$MTLS" --version >/dev/null 2>&1; then
	run 0 "$MTLS" cert issue --ca ca --client --name brief --days 1 --out brief
	run 0 faketime -f +3d "$MTLS" cert list --ca ca
	grep "CN=brief" "$T/out" | grep -q "expired" || fail "cert list: brief not expired 3 days on"
	grep "CN=c " "$T/out" | grep -q "valid" || fail "cert list: c not valid 3 days on"
	ok "cert list shows an expired certificate as expired"
fi

# Revoking an unknown serial fails with one line.
run 1 "$MTLS" cert revoke --ca ca --serial 0123456789ABCDEF
assert_one_line_error "0123456789ABCDEF"
run 2 "$MTLS" cert revoke --ca ca --serial 01 --reason bogus
assert_contains "$T/err" "unknown reason 'bogus'"
run 1 "$MTLS" cert revoke --ca ca --cert a.crt
assert_one_line_error "already revoked"
run 0 "$MTLS" ca init --dir other
run 0 "$MTLS" cert issue --ca other --client --name stranger --out stranger
run 1 "$MTLS" cert revoke --ca ca --cert stranger.crt
assert_one_line_error "not issued by the CA"
ok "unknown serial, unknown reason, revoking twice, a foreign certificate: refused"
