#!/bin/sh
# Two issuers at once on one CA: every issue succeeds, no serial is reused,
# and the inventory stays intact.
. "$MTLS_TOP/tests/integration/lib.sh"

command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
run 0 "$MTLS" ca init --dir ca
mkdir a b

loop() { # DIR
	i=0
	while [ $i -lt 20 ]; do
		"$MTLS" cert issue --ca ca --client --name "$1-$i" --out "$1/c$i" \
		    >/dev/null 2>>"$1.err" || echo "$1-$i failed" >>"$1.fail"
		i=$((i + 1))
	done
}
loop a & pa=$!
track $pa
loop b & pb=$!
track $pb
wait $pa
wait $pb
[ ! -e a.fail ] && [ ! -e b.fail ] || { cat ./*.fail ./*.err; fail "some issues failed"; }
ok "40 parallel issues succeeded"

run 0 "$MTLS" cert list --ca ca --json
python3 - "$T/out" <<'PY' || fail "cert list --json does not show 40 distinct serials"
import json, sys
rows = json.load(open(sys.argv[1]))
serials = {r["serial"] for r in rows}
names = {r["subject"] for r in rows}
print(len(rows), "rows,", len(serials), "serials")
assert len(rows) == 40 and len(serials) == 40 and len(names) == 40
PY
files=$(for f in a/*.crt b/*.crt; do openssl x509 -in "$f" -noout -serial; done | sort -u | wc -l)
[ "$files" -eq 40 ] || fail "the certificate files hold $files distinct serials"
ok "40 distinct serials, in the inventory and in the files"

run 0 sqlite3 ca/ca.db 'PRAGMA integrity_check'
assert_contains "$T/out" "ok"
ok "sqlite integrity_check: ok"
