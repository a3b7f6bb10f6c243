#!/bin/sh
# Four python requests processes enroll 50 certificates each at once
# through mtls ca serve: 200 distinct serials, each in the inventory once,
# every token used exactly once and bound to its serial, ca.db intact.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/est_lib.sh"

est_ca
est_start --rate-limit 1000
i=0
while [ $i -lt 200 ]; do
	t=$("$MTLS" ca token --ca ca --name "node-$i" 2>/dev/null) ||
	    fail "ca token node-$i failed"
	echo "node-$i $t" >>tokens
	i=$((i + 1))
done
mkdir serials
pids=""
for w in 0 1 2 3; do
	python3 "$MTLS_TOP/tests/integration/est_client.py" "$EST_URL" \
	    ca/ca.crt tokens $w 50 serials 2>"w$w.err" &
	pids="$pids $!"
	track $!
done
for p in $pids; do
	wait "$p" || { cat w*.err; tail -n 5 "$T/ca.log"; fail "an enrollment process failed"; }
done
n=$(cat serials/*.serial | sort -u | wc -l)
[ "$n" -eq 200 ] || fail "$n distinct serials, expected 200"
ok "4 x 50 concurrent enrollments with python requests: 200 distinct serials"

est_stop
run 0 "$MTLS" cert list --ca ca --json
python3 - "$T/out" serials <<'PY' || fail "the inventory does not match the 200 certificates"
import json, os, sys
rows = json.load(open(sys.argv[1]))
got = {open(os.path.join(sys.argv[2], f)).read().strip() for f in os.listdir(sys.argv[2])}
serials = [r["serial"] for r in rows]
assert len(serials) == len(set(serials)) == 201, len(serials)
assert got <= set(serials), "a returned serial is not in the inventory"
PY
n=$(sqlite3 ca/ca.db "SELECT count(*) FROM est_tokens WHERE used_at IS NOT NULL AND serial IN (SELECT serial FROM certificates)")
[ "$n" -eq 200 ] || fail "$n tokens are used and bound to an issued serial, expected 200"
run 0 sqlite3 ca/ca.db 'PRAGMA integrity_check'
assert_contains "$T/out" "ok"
[ "$(grep -c 'outcome=issued' "$T/ca.log")" -eq 200 ] || fail "the log does not have 200 issued lines"
ok "inventory consistent: 201 rows, every token used once and bound, integrity ok"
