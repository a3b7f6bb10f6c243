#!/bin/sh
# The PostgreSQL inventory under faults (a real server, pg_lib.sh).
# "Consistent" means, as in test_ca_faults.sh:
#   - every certificate file present has a row with its serial and its PEM
#     (the row is committed before the files are written; a row whose files
#     never got written is allowed: issued but not delivered);
#   - every serial is distinct; no temp file is left;
#   - no transaction is left open in the server;
#   - the next `mtls cert issue` works.
# Faults: the server stopped in the middle of a run of issuances (the
# failures are one clear line each, without the password, nothing
# half-written, service back when the server is), and issuers killed with
# SIGKILL at random moments.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/pg_lib.sh"

pg_require
pg_start
run 0 "$MTLS" ca init --dir ca
rm ca/ca.db*
run 0 "$MTLS" ca db init --db "$PGURL"
export MTLS_CA_DB="$PGURL"

# consistent OUTDIR...: the checks listed above, over the files in OUTDIRs.
consistent() {
	for d in "$@"; do assert_no_tmp "$d"; done
	run 0 "$MTLS" cert list --ca ca --json
	cp "$T/out" list.json
	pg_sql "SELECT serial FROM certificates WHERE pem NOT LIKE '-----BEGIN CERTIFICATE-----%'" >nopem ||
	    fail "cannot query the inventory"
	[ -s nopem ] && fail "rows without a whole PEM: $(head -n 3 nopem)"
	python3 - list.json "$@" <<'PY' || fail "the inventory and the files disagree"
import glob, json, sys
from cryptography import x509
rows = json.load(open(sys.argv[1]))
db = [r["serial"].upper().lstrip("0") for r in rows]
assert len(db) == len(set(db)), "duplicate serials in the inventory"
files = []
for d in sys.argv[2:]:
    for f in glob.glob(d + "/*.crt"):
        files.append("%X" % x509.load_pem_x509_certificate(open(f, "rb").read()).serial_number)
missing = [s for s in files if s not in set(db)]
assert not missing, "certificate files without a row: %r" % missing[:5]
print(len(rows), "rows,", len(files), "certificate files, all with a row")
PY
	# The server notices a dead client's socket at once; give it a moment.
	i=0
	while [ "$(pg_sql "SELECT count(*) FROM pg_stat_activity WHERE datname = 'mtls' AND state LIKE 'idle in transaction%'")" != 0 ]; do
		[ $i -lt 50 ] || fail "a transaction was left open in the server"
		sleep 0.1; i=$((i + 1))
	done
}

# ---- the server stopped in the middle of a run ------------------------
issuer() { # N COUNT
	mkdir "o$1"
	i=0
	while [ $i -lt "$2" ]; do
		if ! "$MTLS" cert issue --ca ca --client --name "p$1-$i" \
		    --out "o$1/c$i" >/dev/null 2>"o$1/err$i"; then
			echo "p$1-$i" >>"o$1.fail"
			[ -e "o$1/c$i.crt" ] && echo "o$1/c$i.crt" >>halfmade
			[ -e "o$1/c$i.key" ] && echo "o$1/c$i.key" >>halfmade
			cat "o$1/err$i" >>errors
		fi
		rm -f "o$1/err$i"
		i=$((i + 1))
	done
}
issuer 1 40 &
p1=$!
issuer 2 40 &
p2=$!
# Stop the server once some issues went through.
i=0
while [ "$(ls o1 o2 2>/dev/null | grep -c '\.crt$')" -lt 10 ]; do
	[ $i -lt 300 ] || fail "no issue went through in 30 s"
	sleep 0.1; i=$((i + 1))
done
pg_stop
# While it is down, a command fails at once with one line and writes nothing.
run 1 "$MTLS" cert issue --ca ca --client --name down --out down
assert_one_line_error "postgres://postgres:***@/mtls"
assert_contains "$T/err" "cannot connect"
assert_not_contains "$T/err" "$PGPW"
assert_no_file down.crt
assert_no_file down.key
run 1 "$MTLS" cert list --ca ca
assert_one_line_error "cannot connect"
sleep 1
pg_restart
wait $p1
wait $p2
[ -s errors ] || fail "no issue failed while the server was down (the test proves nothing)"
echo "# $(wc -l <errors) issues failed while the server was down"
[ -e halfmade ] && fail "a failed issue left files: $(cat halfmade)"
# Each failure is one line that names the database and says what happened.
python3 - errors "$PGPW" <<'PY' 
import sys
pw = sys.argv[2]
for line in open(sys.argv[1]):
    assert pw not in line, line
    assert line.startswith("mtls: postgres://postgres:***@/mtls"), line
    assert ("cannot connect" in line or "lost the connection" in line or
            "cannot reconnect" in line), line
PY
[ $? -eq 0 ] || { cat errors; fail "a failure message is unclear or shows the password"; }
ok "server stopped mid-run: every failure one line without the password, no file left by a failure"
consistent o1 o2
run 0 "$MTLS" cert issue --ca ca --client --name after-restart --out after
assert_file after.crt
ok "after the restart the inventory is consistent and issuing works"

# ---- SIGKILL in the middle of issuance -------------------------------
mkdir ko
killed=0
k=0
while [ $k -lt 30 ]; do
	"$MTLS" cert issue --ca ca --client --name "k$k" --out "ko/c$k" \
	    >/dev/null 2>&1 &
	p=$!
	# A random delay of 0-30 ms: before, during or after the work.
	sleep "0.0$(awk -v s="$k$$" 'BEGIN { srand(s); printf "%02d", int(rand() * 30) }')"
	kill -9 "$p" 2>/dev/null && killed=$((killed + 1))
	wait "$p" 2>/dev/null
	k=$((k + 1))
done
echo "# $killed of 30 issues killed with SIGKILL while running"
[ "$killed" -gt 0 ] || fail "no issue was killed mid-way (the test proves nothing)"
for f in ko/*.key; do
	[ -e "$f" ] || continue
	openssl pkey -in "$f" -noout 2>/dev/null || fail "$f is not a whole key"
done
consistent o1 o2 ko
run 0 "$MTLS" cert issue --ca ca --client --name after-kill --out ko/after
consistent o1 o2 ko
ok "after $killed SIGKILLs the inventory is consistent and the next issue works"
