#!/bin/sh
# Several CA front ends over one PostgreSQL inventory (a real server,
# pg_lib.sh).  Two copies of the CA directory stand for two machines that
# each hold the CA key; all of them use --db (or $MTLS_CA_DB) to reach the
# same database.
#   - 4 processes x 100 `cert issue`, spread over both copies, at once:
#     400 distinct serials, every one recorded, and `cert list` from either
#     copy agrees with the certificate files;
#   - a revocation made through one copy is in the CRL the other makes;
#   - 2 processes x 10 `ca crl` at once, one per copy: 20 distinct CRL
#     numbers, increasing within each process, no gap;
#   - the URL's password is in no output and no message.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/pg_lib.sh"

pg_require
pg_start
NPROC=4
PER=${CA_PG_PER:-100}
TOTAL=$((NPROC * PER))

run 0 "$MTLS" ca init --dir ca1
cp -a ca1 ca2
rm ca2/ca.db*
run 0 "$MTLS" ca db init --db "$PGURL"
assert_contains "$T/out" "postgres://postgres:***@/mtls"
assert_not_contains "$T/out" "$PGPW"
ok "ca db init: schema created, URL shown without its password"

# ---- 400 issuances from 4 processes over two front ends --------------
issuer() { # N: front end ca1 for odd N, ca2 for even; half of them by env
	mkdir "o$1"
	ca=ca$(($1 % 2 + 1))
	i=0
	while [ $i -lt "$PER" ]; do
		if [ $((i % 2)) -eq 0 ]; then
			"$MTLS" cert issue --ca "$ca" --db "$PGURL" --client \
			    --name "p$1-$i" --out "o$1/c$i"
		else
			MTLS_CA_DB=$PGURL "$MTLS" cert issue --ca "$ca" --client \
			    --name "p$1-$i" --out "o$1/c$i"
		fi >/dev/null 2>>"o$1.err" || echo "p$1-$i" >>"o$1.fail"
		i=$((i + 1))
	done
}
t0=$(date +%s)
pids=""
for n in 1 2 3 4; do
	issuer $n &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done
t1=$(date +%s)
for n in 1 2 3 4; do
	[ -e "o$n.fail" ] && { cat "o$n.err"; fail "issuer $n: $(wc -l <"o$n.fail") issues failed"; }
done
echo "# $TOTAL issues by $NPROC processes over PostgreSQL: $((t1 - t0)) s (shared machine; not asserted)"

# One process reads every file (an openssl per file would take longer than
# the issuing).
python3 - o*/*.crt >fileserials <<'PY'
import sys
from cryptography import x509
for f in sys.argv[1:]:
    print("serial=%X" % x509.load_pem_x509_certificate(open(f, "rb").read()).serial_number)
PY
for c in ca1 ca2; do
	run 0 "$MTLS" cert list --ca $c --db "$PGURL" --json
	cp "$T/out" "list-$c.json"
done
python3 - list-ca1.json list-ca2.json fileserials "$TOTAL" <<'PY' || fail "the inventory and the files disagree"
import json, sys
# days_left is computed when listing: it may tick between the two.
a = [dict(r, days_left=None) for r in json.load(open(sys.argv[1]))]
b = [dict(r, days_left=None) for r in json.load(open(sys.argv[2]))]
total = int(sys.argv[4])
serials = [r["serial"].upper().lstrip("0") for r in a]
assert len(serials) == total, "%d rows, expected %d" % (len(serials), total)
assert len(set(serials)) == total, "duplicate serials"
assert a == b, "cert list differs between the two front ends"
files = {l.split("=", 1)[1].strip().upper().lstrip("0")
         for l in open(sys.argv[3]) if "=" in l}
assert files == set(serials), "files and rows differ: %d files" % len(files)
assert {r["subject"] for r in a} == {"CN=p%d-%d" % (n, i)
    for n in range(1, 5) for i in range(total // 4)}, "subjects differ"
PY
ok "$TOTAL concurrent issuances over two front ends: $TOTAL distinct serials, every one listed by both"

# ---- a revocation through one front end, the CRL from the other ------
serial=$(openssl x509 -in o1/c7.crt -noout -serial | cut -d= -f2)
run 0 "$MTLS" cert revoke --ca ca1 --db "$PGURL" --serial "$serial" --reason key-compromise
run 0 "$MTLS" ca crl --ca ca2 --db "$PGURL" --out crl2.pem
openssl crl -in crl2.pem -noout -text >crl2.txt
assert_contains crl2.txt "Serial Number: $serial"
assert_contains crl2.txt "Key Compromise"
openssl verify -crl_check -CAfile ca1/ca.crt -CRLfile crl2.pem o1/c7.crt >verify.out 2>&1 &&
    fail "a revoked certificate verified against the other front end's CRL"
assert_contains verify.out "certificate revoked"
run 1 "$MTLS" cert revoke --ca ca2 --db "$PGURL" --serial "$serial"
assert_one_line_error "already revoked"
ok "revoked through ca1, in the CRL made by ca2; revoking again through ca2 is refused"

# ---- CRL numbers under concurrent `ca crl` ---------------------------
crls() { # N
	i=0
	while [ $i -lt 10 ]; do
		"$MTLS" ca crl --ca "ca$1" --db "$PGURL" --out "crl-$1-$i.pem" \
		    >/dev/null 2>>"crl$1.err" || echo "$i" >>"crl$1.fail"
		i=$((i + 1))
	done
}
crls 1 &
p1=$!
crls 2 &
p2=$!
wait $p1
wait $p2
for n in 1 2; do
	[ -e "crl$n.fail" ] && { cat "crl$n.err"; fail "ca crl $n failed"; }
done
for n in 1 2; do
	i=0
	while [ $i -lt 10 ]; do
		openssl crl -in "crl-$n-$i.pem" -noout -crlnumber | cut -d= -f2
		i=$((i + 1))
	done >"numbers$n"
done
python3 - numbers1 numbers2 <<'PY' || fail "CRL numbers are not strictly increasing and distinct"
import sys
seqs = [[int(l, 16) for l in open(f) if l.strip()] for f in sys.argv[1:]]
for s in seqs:
    assert len(s) == 10, s
    assert all(x < y for x, y in zip(s, s[1:])), "not increasing: %r" % s
every = sorted(seqs[0] + seqs[1])
assert len(set(every)) == 20, "a number was given twice: %r" % every
# crl2.pem took number 1; the 20 concurrent ones are 2..21.
assert every == list(range(2, 22)), every
PY
ok "20 concurrent CRLs from two front ends: distinct numbers, strictly increasing in each"

# ---- the password shows nowhere --------------------------------------
run 1 "$MTLS" cert list --ca ca1 --db "postgres://postgres:not-$PGPW@/mtls?host=$PGSOCK"
assert_one_line_error "password authentication failed"
assert_contains "$T/err" "postgres://postgres:***@/mtls"
assert_not_contains "$T/err" "$PGPW"
cat o*.err crl*.err >all.err 2>/dev/null
assert_not_contains all.err "$PGPW"
ok "a wrong password: one line naming the database without the password"
