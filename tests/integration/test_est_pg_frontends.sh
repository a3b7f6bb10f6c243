#!/bin/sh
# Two `mtls ca serve` front ends, each with its own copy of the CA
# directory, over one PostgreSQL inventory (a real server, pg_lib.sh):
#   - 4 python requests processes x 100 EST enrollments, spread over both:
#     400 distinct serials, each recorded once, every token used once and
#     bound to its serial, both front ends served some, and `cert list`
#     from either copy agrees;
#   - the database stopped while a front end runs: an enrollment is
#     answered 503 with a log line naming the database (never its
#     password); when the database is back the same front end issues
#     again, without a restart;
#   - a front end SIGKILLed in the middle of enrollments: every certificate
#     a client received is recorded, no transaction is left open, and the
#     other front end goes on issuing.
# The enrollment rate is printed, not asserted (the machine is shared).
# EST_FE_DB=sqlite and EST_FE_N=1 run the first part over an SQLite file
# or with one front end, to compare the rates (the other parts need
# PostgreSQL and two front ends, and run only with them).
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/pg_lib.sh"

DB=${EST_FE_DB:-postgres}
NFE=${EST_FE_N:-2}
PER=${EST_FE_PER:-100}
TOTAL=$((4 * PER))
python3 -c 'import requests, cryptography' 2>/dev/null ||
    skip "python3-requests or python3-cryptography is not installed"

run 0 "$MTLS" ca init --dir ca
if [ "$DB" = postgres ]; then
	pg_require
	pg_start
	export MTLS_CA_DB="$PGURL"
	rm ca/ca.db*
	run 0 "$MTLS" ca db init
else
	export MTLS_CA_DB="$T/ca/ca.db"
fi
run 0 "$MTLS" cert issue --ca ca --server --name localhost --ip 127.0.0.1 --out srv
cp -a ca ca2

# fe_start N DIR: front end N on a free port, its log in feN.log.
fe_start() {
	port=$(free_port)
	mtls_cmd ca serve --ca "$2" --listen "127.0.0.1:$port" --cert srv.crt \
	    --key srv.key --rate-limit 100000 2>>"fe$1.log" &
	eval "FE$1_PID=$! FE$1_URL=https://127.0.0.1:$port"
	track $!
	wait_port "$port"
}
fe_start 1 ca
[ "$NFE" -ge 2 ] && fe_start 2 ca2

# One token per enrollment, made through either copy by 4 processes at once
# (worker W of est_client.py takes the W-th block of lines).
maker() { # W
	c=ca
	[ $(($1 % 2)) -eq 1 ] && c=ca2
	i=0
	while [ $i -lt "$PER" ]; do
		t=$("$MTLS" ca token --ca $c --name "node-$1-$i" 2>>"tok$1.err") ||
		    { echo "node-$1-$i" >>"tok$1.fail"; return; }
		echo "node-$1-$i $t" >>"tokens$1"
		i=$((i + 1))
	done
}
pids=""
for w in 0 1 2 3; do
	maker $w &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done
ls tok*.fail >/dev/null 2>&1 && { cat tok*.err; fail "ca token failed"; }
cat tokens0 tokens1 tokens2 tokens3 >tokens
[ "$(wc -l <tokens)" -eq "$TOTAL" ] || fail "$(wc -l <tokens) tokens, expected $TOTAL"

mkdir serials
t0=$(date +%s.%N)
pids=""
for w in 0 1 2 3; do
	url=$FE1_URL
	[ "$NFE" -ge 2 ] && [ $((w % 2)) -eq 1 ] && url=$FE2_URL
	python3 "$MTLS_TOP/tests/integration/est_client.py" "$url" ca/ca.crt \
	    tokens $w "$PER" serials 2>"w$w.err" &
	pids="$pids $!"
	track $!
done
for p in $pids; do
	wait "$p" || { cat w*.err; tail -n 5 fe*.log; fail "an enrollment process failed"; }
done
t1=$(date +%s.%N)
rate=$(python3 -c "print('%.1f' % ($TOTAL / ($t1 - $t0)))")
echo "# $TOTAL enrollments, $DB, $NFE front end(s): $rate enrollments/s (shared machine; measured, not asserted)"

n=$(cat serials/*.serial | sort -u | wc -l)
[ "$n" -eq "$TOTAL" ] || fail "$n distinct serials, expected $TOTAL"
for c in ca ca2; do
	run 0 "$MTLS" cert list --ca $c --json
	cp "$T/out" "list-$c.json"
done
python3 - list-ca.json list-ca2.json serials "$TOTAL" <<'PY' || fail "the inventory does not match the certificates"
import json, os, sys
# days_left is computed when listing: it may tick between the two.
a = [dict(r, days_left=None) for r in json.load(open(sys.argv[1]))]
b = [dict(r, days_left=None) for r in json.load(open(sys.argv[2]))]
assert a == b, "cert list differs between the two copies"
got = {open(os.path.join(sys.argv[3], f)).read().strip() for f in os.listdir(sys.argv[3])}
serials = [r["serial"] for r in a]
want = int(sys.argv[4]) + 1   # and the server's certificate
assert len(serials) == len(set(serials)) == want, len(serials)
assert got <= set(serials), "a returned serial is not in the inventory"
PY
issued1=$(grep -c 'outcome=issued' fe1.log)
issued2=0
[ "$NFE" -ge 2 ] && issued2=$(grep -c 'outcome=issued' fe2.log)
[ $((issued1 + issued2)) -eq "$TOTAL" ] || fail "the logs have $issued1 + $issued2 issued lines, expected $TOTAL"
if [ "$NFE" -ge 2 ]; then
	[ "$issued1" -gt 0 ] && [ "$issued2" -gt 0 ] || fail "one front end issued nothing ($issued1, $issued2)"
fi
ok "$TOTAL enrollments over $NFE front end(s) ($issued1 + $issued2): $TOTAL distinct serials, all recorded, cert list agrees"

[ "$DB" = postgres ] && [ "$NFE" -ge 2 ] || exit 0

n=$(pg_sql "SELECT count(*) FROM est_tokens WHERE used_at IS NOT NULL AND serial IN (SELECT serial FROM certificates)")
[ "$n" -eq "$TOTAL" ] || fail "$n tokens are used and bound to an issued serial, expected $TOTAL"
ok "every token used once and bound to its serial"

# ---- the database stopped under a running front end -------------------
# enroll_tok TOKFILE URL: one enrollment with the "name token" in TOKFILE;
# the HTTP status in ./code.
enroll_tok() {
	python3 - "$2" ca/ca.crt "$1" <<'PY' >code
import base64, sys, requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
url, ca, tok = sys.argv[1:4]
name, token = open(tok).read().split()
key = ec.generate_private_key(ec.SECP256R1())
csr = (x509.CertificateSigningRequestBuilder()
       .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
       .sign(key, hashes.SHA256()))
r = requests.post(url + "/.well-known/est/simpleenroll", timeout=60, verify=ca,
                  data=base64.b64encode(csr.public_bytes(serialization.Encoding.DER)),
                  auth=(name, token), headers={"Content-Type": "application/pkcs10"})
print(r.status_code)
PY
}
# enroll NAME URL: the same with a fresh token.
enroll() {
	t=$("$MTLS" ca token --ca ca --name "$1" 2>/dev/null) || fail "ca token $1 failed"
	printf '%s %s\n' "$1" "$t" >one.tok
	enroll_tok one.tok "$2"
}
enroll before-stop "$FE1_URL"
[ "$(cat code)" = 200 ] || fail "an enrollment before the stop got $(cat code)"
t=$("$MTLS" ca token --ca ca --name during-stop 2>/dev/null) || fail "ca token failed"
printf 'during-stop %s\n' "$t" >stop.tok
pg_stop
enroll_tok stop.tok "$FE1_URL"
[ "$(cat code)" = 503 ] || { tail -n 3 fe1.log; fail "with the database down an enrollment got $(cat code), expected 503"; }
tail -n 1 fe1.log >down.log
assert_contains down.log "postgres://postgres:***@/mtls"
assert_not_contains fe1.log "$PGPW"
ok "database down: 503, and a log line naming the database without its password"
pg_restart
enroll after-restart "$FE1_URL"
[ "$(cat code)" = 200 ] || { tail -n 3 fe1.log; fail "after the restart the same front end answered $(cat code)"; }
ok "database back: the same front end issues again, without a restart"

# The second front end's connection died with the restart, unseen until it
# is used: its first request fails (503, the lost connection) and the next
# one reconnects.  Bring it back before the client below, which stops at the
# first answer that is not 200.
i=0
while :; do
	enroll "warm-$i" "$FE2_URL"
	[ "$(cat code)" = 200 ] && break
	[ "$(cat code)" = 503 ] || fail "the second front end answered $(cat code) after the restart"
	i=$((i + 1))
	[ $i -lt 5 ] || { tail -n 3 fe2.log; fail "the second front end did not reconnect after the restart"; }
done

# ---- a front end SIGKILLed in the middle of enrollments ---------------
i=0
while [ $i -lt 20 ]; do
	t=$("$MTLS" ca token --ca ca --name "kill-$i" 2>/dev/null) || fail "ca token failed"
	echo "kill-$i $t" >>ktokens
	i=$((i + 1))
done
mkdir kserials
# A fifth of a second between enrollments: the 20 take 4 s at least, so the
# kill after the fifth always comes before the last, on a fast machine too
# (without the pause the 20 could all be done before the kill).
python3 "$MTLS_TOP/tests/integration/est_client.py" "$FE2_URL" ca/ca.crt \
    ktokens 0 20 kserials 0.2 2>kill.err &
client=$!
track $client
i=0
while [ "$(ls kserials | wc -l)" -lt 5 ]; do
	[ $i -lt 300 ] || fail "no enrollment went through the second front end in 30 s"
	sleep 0.1; i=$((i + 1))
done
kill -9 "$FE2_PID"
wait "$client" 2>/dev/null
got=$(ls kserials | wc -l)
[ "$got" -lt 20 ] || fail "the front end was killed after all enrollments (the test proves nothing)"
echo "# $got of 20 enrollments done before the SIGKILL"
run 0 "$MTLS" cert list --ca ca --json
python3 - "$T/out" kserials <<'PY' || fail "a certificate a client received is not recorded"
import json, os, sys
rows = json.load(open(sys.argv[1]))
serials = [r["serial"] for r in rows]
assert len(serials) == len(set(serials)), "duplicate serials"
got = {open(os.path.join(sys.argv[2], f)).read().strip() for f in os.listdir(sys.argv[2])}
assert got <= set(serials), "received but not recorded: %r" % (got - set(serials))
PY
i=0
while [ "$(pg_sql "SELECT count(*) FROM pg_stat_activity WHERE datname = 'mtls' AND state LIKE 'idle in transaction%'")" != 0 ]; do
	[ $i -lt 50 ] || fail "a transaction was left open by the killed front end"
	sleep 0.1; i=$((i + 1))
done
enroll after-kill "$FE1_URL"
[ "$(cat code)" = 200 ] || fail "the other front end answered $(cat code) after the kill"
ok "a front end SIGKILLed mid-run: every received certificate recorded, nothing left open, the other goes on"
