#!/bin/sh
# The CA under faults: many issuers at once, issuers killed with SIGKILL at
# random moments, and a full disk.  "Consistent" here means, precisely:
#   - sqlite3 PRAGMA integrity_check says ok;
#   - no temp file (*.tmp.*) is left in the CA directory nor in the output
#     directory, even after SIGKILL (mtls_file_write_atomic writes an
#     unnamed O_TMPFILE file and links it in only when complete), and never
#     a partial file under a final name;
#   - every certificate file present has a row in the inventory with its
#     serial (the row is committed before the files are written, so a row
#     whose files never got written is allowed: a certificate issued but not
#     delivered, which `cert list` shows and `cert revoke` can revoke);
#   - every serial in the inventory is distinct;
#   - the next `mtls cert issue` works.
# Counts: 4 issuers x 500 certificates.  Measured on the 2-core build box
# (P-256 keys, shared with other jobs): about 15 ms per issue alone; the
# 2000 at once took 19 s alone and 25 s beside a soak run, the whole script
# 24 s, so 2000 keeps it well under ~60 s.
. "$MTLS_TOP/tests/integration/lib.sh"

command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
NPROC=4
PER=${CA_FAULTS_PER:-500}
TOTAL=$((NPROC * PER))

# consistent CADIR OUTDIR: the checks listed above.
consistent() {
	run 0 sqlite3 "$1/ca.db" 'PRAGMA integrity_check'
	[ "$(cat "$T/out")" = ok ] || { cat "$T/out"; fail "$1/ca.db: integrity_check failed"; }
	assert_no_tmp "$1"
	assert_no_tmp "$2"
	run 0 "$MTLS" cert list --ca "$1" --json
	cp "$T/out" "$T/list.json"
	for f in "$2"/*.crt; do
		[ -e "$f" ] || continue
		openssl x509 -in "$f" -noout -serial || fail "$f is not a whole certificate"
	done >"$T/fileserials" 2>"$T/err"
	python3 - "$T/list.json" "$T/fileserials" <<'PY' || fail "$1: inventory and files disagree"
import json, sys
rows = json.load(open(sys.argv[1]))
db = [r["serial"].replace(":", "").upper().lstrip("0") for r in rows]
assert len(db) == len(set(db)), "duplicate serials in the inventory"
files = [l.strip().split("=", 1)[1].upper().lstrip("0")
         for l in open(sys.argv[2]) if l.strip()]
missing = [s for s in files if s not in set(db)]
assert not missing, "certificate files without a row: %r" % missing[:5]
print(len(rows), "rows,", len(files), "certificate files, all with a row")
PY
}

# ---- many issuers at once --------------------------------------------
run 0 "$MTLS" ca init --dir ca
t0=$(date +%s)
issuer() { # N
	mkdir "o$1"
	i=0
	while [ $i -lt "$PER" ]; do
		"$MTLS" cert issue --ca ca --client --name "p$1-$i" --out "o$1/c$i" \
		    >/dev/null 2>>"o$1.err" || echo "p$1-$i failed" >>"o$1.fail"
		i=$((i + 1))
	done
}
pids=""
n=1
while [ $n -le $NPROC ]; do
	issuer $n &
	track $!
	pids="$pids $!"
	n=$((n + 1))
done
for p in $pids; do wait "$p"; done
if ls ./*.fail >/dev/null 2>&1; then
	head -n 5 ./*.fail ./*.err; fail "some concurrent issues failed"
fi
ok "$NPROC issuers x $PER certificates at once: all succeeded ($(($(date +%s) - t0)) s)"

run 0 "$MTLS" cert list --ca ca --json
python3 - "$T/out" "$TOTAL" <<'PY' || fail "the inventory does not hold $TOTAL distinct serials"
import json, sys
rows = json.load(open(sys.argv[1]))
want = int(sys.argv[2])
serials = {r["serial"] for r in rows}
names = {r["subject"] for r in rows}
print(len(rows), "rows,", len(serials), "serials,", len(names), "subjects")
assert len(rows) == want and len(serials) == want and len(names) == want
PY
# One openssl process for all the files (2000 of them one by one is slow).
cat o[0-9]*/*.crt >all.pem
files=$(openssl crl2pkcs7 -nocrl -certfile all.pem | openssl pkcs7 -print_certs -text -noout |
    awk '/Serial Number:/ { getline; print $1 }' | sort -u | wc -l)
[ "$files" -eq "$TOTAL" ] || fail "the certificate files hold $files distinct serials, expected $TOTAL"
ok "$TOTAL distinct serials, in the inventory and in the files"
mkdir -p oall && consistent ca oall
ok "after the concurrent run the CA is consistent"

# ---- SIGKILL in the middle of issuance ----------------------------------
run 0 "$MTLS" ca init --dir kca
mkdir ko
killed=0
k=0
while [ $k -lt 40 ]; do
	"$MTLS" cert issue --ca kca --client --name "k$k" --out "ko/c$k" \
	    >/dev/null 2>&1 &
	p=$!
	# A random delay of 0-20 ms: before, during or after the work.
	sleep "0.0$(awk -v s="$k$$" 'BEGIN { srand(s); printf "%02d", int(rand() * 20) }')"
	kill -9 "$p" 2>/dev/null && killed=$((killed + 1))
	wait "$p" 2>/dev/null
	k=$((k + 1))
done
echo "$killed of 40 issues killed with SIGKILL while running"
[ "$killed" -gt 0 ] || fail "no issue was killed mid-way (the test proves nothing)"
for f in ko/*.key; do
	[ -e "$f" ] || continue
	openssl pkey -in "$f" -noout 2>/dev/null || fail "$f is not a whole key"
done
consistent kca ko
ok "after $killed SIGKILLs the CA is consistent"
run 0 "$MTLS" cert issue --ca kca --client --name after-kill --out ko/after
assert_file ko/after.crt
consistent kca ko
ok "the next issue after the SIGKILLs works"

# ---- a full disk ----------------------------------------------------------
mkdir full
if ! mount -t tmpfs -o size=300k tmpfs full 2>"$T/err"; then
	skip "cannot mount a tmpfs here: $(cat "$T/err")"
fi
umount_full() { umount "$T/full" 2>/dev/null; }
trap 'umount_full; cleanup' EXIT INT TERM
run 0 "$MTLS" ca init --dir full/ca
mkdir full/out full/kout
run 0 "$MTLS" cert issue --ca full/ca --client --name before --out full/out/before
# Fill what is left; then issue until it fails (the db may still have room
# in its pages for a row or two).
dd if=/dev/zero of=full/filler bs=1k count=1000 2>/dev/null
i=0
failed=0
while [ $i -lt 10 ]; do
	if ! "$MTLS" cert issue --ca full/ca --client --name "f$i" \
	    --out "full/out/f$i" >"$T/out" 2>"$T/err"; then
		failed=1; break
	fi
	i=$((i + 1))
done
[ $failed -eq 1 ] || fail "issuing on a full disk did not fail"
cat "$T/err"
assert_one_line_error "full/"
# The message says the disk is full: SQLite's own words ("disk I/O error"
# when it cannot grow its WAL index) carry the system's reason with them.
grep -q 'No space left on device\|disk is full' "$T/err" ||
    fail "the error does not say the write failed"
[ ! -e "full/out/f$i.crt" ] || fail "full/out/f$i.crt was written on a full disk"
if [ -e "full/out/f$i.key" ]; then fail "full/out/f$i.key was left on a full disk"; fi
assert_no_tmp full/out
assert_no_tmp full/ca
ok "a full disk: issuance fails with one line naming the file, no partial file"
# The CA on a disk with room, the output on the full one: the row is
# committed, the file writes fail, naming the file, and leave nothing.
run 1 "$MTLS" cert issue --ca kca --client --name to-full --out full/kout/tofull
cat "$T/err"
assert_one_line_error "full/kout/tofull"
assert_no_file full/kout/tofull.crt
assert_no_file full/kout/tofull.key
assert_no_tmp full/kout
consistent kca full/kout
assert_contains "$T/list.json" "to-full"   # issued, not delivered: listed
ok "a full output disk: one line naming the file, no partial file, CA consistent"
rm -f full/filler
run 0 "$MTLS" cert issue --ca full/ca --client --name after-full --out full/out/after
assert_file full/out/after.crt
consistent full/ca full/out
ok "after freeing space the next issue works and the CA is consistent"
