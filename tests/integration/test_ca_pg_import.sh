#!/bin/sh
# Moving a CA's SQLite inventory into PostgreSQL (a real server,
# pg_lib.sh), and the schema's life:
#   - `ca db import --from DIR` copies every certificate with its status,
#     reason and PEM, and the CRL number; run twice, it adds nothing;
#   - a revocation made in the old inventory after the import is carried
#     over by the next import, and nothing else changes;
#   - the first CRL from PostgreSQL is numbered above every CRL made from
#     SQLite;
#   - `ca db init` refuses a database that holds an inventory; an older
#     schema is refused by the commands until `ca db migrate`, which is
#     idempotent; a newer one is refused; an old SQLite file (schema 1) is
#     migrated in place by the first command that opens it;
#   - an inventory belongs to the first CA that opens it: another CA is
#     refused.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/pg_lib.sh"

pg_require
pg_start

# ---- a CA with history on SQLite --------------------------------------
run 0 "$MTLS" ca init --dir ca
i=0
while [ $i -lt 12 ]; do
	run 0 "$MTLS" cert issue --ca ca --client --name "c$i" --out "c$i"
	i=$((i + 1))
done
run 0 "$MTLS" cert issue --ca ca --server --name srv.example --out srv
for n in 2 5; do
	run 0 "$MTLS" cert revoke --ca ca --cert "c$n.crt" --reason key-compromise
done
run 0 "$MTLS" ca crl --ca ca --out sqlite1.crl
run 0 "$MTLS" ca crl --ca ca --out sqlite2.crl --force
run 0 "$MTLS" cert list --ca ca --json
cp "$T/out" sqlite.json

run 0 "$MTLS" ca db init --db "$PGURL"
run 0 "$MTLS" ca db import --from ca --db "$PGURL"
assert_contains "$T/out" "13 certificates added, 0 revocations carried over"
assert_not_contains "$T/out" "$PGPW"
run 0 "$MTLS" cert list --ca ca --db "$PGURL" --json
cp "$T/out" pg.json
python3 - sqlite.json pg.json <<'PY' || fail "the imported inventory differs"
import json, sys
# days_left is computed when listing: it may tick between the two.
a = [dict(r, days_left=None) for r in json.load(open(sys.argv[1]))]
b = [dict(r, days_left=None) for r in json.load(open(sys.argv[2]))]
assert a == b, "cert list differs after import"
assert sum(r["status"] == "revoked" for r in b) == 2
PY
ok "import: 13 certificates with their status, reason, order and names"

pg_sql "SELECT count(*), count(DISTINCT serial) FROM certificates" >counts
[ "$(cat counts)" = "13|13" ] || fail "after the first import: $(cat counts)"
run 0 "$MTLS" ca db import --from ca --db "$PGURL"
assert_contains "$T/out" "0 certificates added, 0 revocations carried over"
pg_sql "SELECT count(*), count(DISTINCT serial) FROM certificates" >counts
[ "$(cat counts)" = "13|13" ] || fail "after the second import: $(cat counts)"
ok "import run twice: no duplicate, nothing changed"

# A revocation and an issue on the old side meanwhile: both carried over.
run 0 "$MTLS" cert revoke --ca ca --cert c7.crt --reason superseded
run 0 "$MTLS" cert issue --ca ca --client --name late --out late
run 0 "$MTLS" ca db import --from ca --db "$PGURL"
assert_contains "$T/out" "1 certificate added, 1 revocation carried over"
run 0 "$MTLS" cert list --ca ca --db "$PGURL" --json
cp "$T/out" pg2.json
run 0 "$MTLS" cert list --ca ca --json
python3 - "$T/out" pg2.json <<'PY' || fail "after the third import the inventories differ"
import json, sys
a = [dict(r, days_left=None) for r in json.load(open(sys.argv[1]))]
b = [dict(r, days_left=None) for r in json.load(open(sys.argv[2]))]
assert a == b
PY
ok "a later revocation and issue are carried over by the next import"

# The CRL numbers carry on above SQLite's.
run 0 "$MTLS" ca crl --ca ca --db "$PGURL" --out pg.crl
n1=$(openssl crl -in sqlite2.crl -noout -crlnumber | cut -d= -f2)
n2=$(openssl crl -in pg.crl -noout -crlnumber | cut -d= -f2)
[ $((n2)) -gt $((n1)) ] || fail "PostgreSQL's CRL number $n2 is not above SQLite's $n1"
openssl crl -in pg.crl -noout -text | grep -c "Serial Number:" >nrev
[ "$(cat nrev)" -eq 3 ] || fail "the CRL from PostgreSQL lists $(cat nrev) revocations, expected 3"
ok "the first CRL from PostgreSQL is numbered $((n2)), above SQLite's $((n1)), with the 3 revocations"

# ---- one inventory, one CA ---------------------------------------------
# A second CA pointed at the first's inventory (a copied command line, a
# wrong URL) is refused before it reads or writes anything.
run 0 "$MTLS" ca init --dir other
pg_sql "SELECT count(*) FROM certificates" >before
run 1 "$MTLS" cert issue --ca other --db "$PGURL" --client --name stray --out stray
assert_one_line_error "belongs to another CA (certificate SHA-256 "
assert_contains "$T/err" "not to other ("
assert_no_file stray.crt
run 1 "$MTLS" ca db import --from other --db "$PGURL"
assert_one_line_error "belongs to another CA"
pg_sql "SELECT count(*) FROM certificates" >after
cmp -s before after || fail "the refused CA changed the inventory: $(cat before) -> $(cat after)"
run 1 "$MTLS" cert list --ca other --db ca/ca.db
assert_one_line_error "ca/ca.db: belongs to another CA"
run 0 "$MTLS" cert list --ca ca --db "$PGURL"
ok "another CA is refused by the inventory, PostgreSQL's and SQLite's, and nothing changes"

# ---- the schema's life -------------------------------------------------
# The current version, whatever migrations were added since this test.
run 0 "$MTLS" ca db migrate --db "$PGURL"
V=$(sed -n 's/.*: schema version \([0-9]*\), nothing to do$/\1/p' "$T/out")
[ -n "$V" ] && [ "$V" -ge 2 ] || fail "migrate on a fresh schema: $(cat "$T/out")"
run 1 "$MTLS" ca db init --db "$PGURL"
assert_one_line_error "already holds an mtls CA inventory (schema version $V)"
ok "init refuses an inventory; migrate at the current version ($V) does nothing"

pg_sql "UPDATE schema_version SET version = 1" >/dev/null
run 1 "$MTLS" cert list --ca ca --db "$PGURL"
assert_one_line_error "schema version 1 is older than this mtls needs ($V); migrate it first"
run 0 "$MTLS" ca db migrate --db "$PGURL"
assert_contains "$T/out" "schema version 1 -> $V"
run 0 "$MTLS" cert list --ca ca --db "$PGURL"
pg_sql "UPDATE schema_version SET version = 99" >/dev/null
run 1 "$MTLS" cert issue --ca ca --db "$PGURL" --client --name new --out new
assert_one_line_error "schema version 99, expected $V"
assert_no_file new.crt
run 1 "$MTLS" ca db migrate --db "$PGURL"
assert_one_line_error "schema version 99 is newer than this mtls knows ($V)"
pg_sql "UPDATE schema_version SET version = $V" >/dev/null
ok "an older schema is refused until migrated; a newer one is refused, by migrate too"

# An empty database: the commands say so.
PGPASSWORD=$PGPW psql -X -q -h "$PGSOCK" -U postgres -d postgres -c 'CREATE DATABASE empty' >/dev/null ||
    fail "cannot create a database"
run 1 "$MTLS" cert list --ca ca --db "postgres://postgres:$PGPW@/empty?host=$PGSOCK"
assert_one_line_error "not an mtls CA inventory (no schema; initialize it first)"
ok "an empty database is refused by name"

# ---- an SQLite file of schema version 1 ---------------------------------
command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
run 0 "$MTLS" ca init --dir old
rm old/ca.db*
sqlite3 old/ca.db >/dev/null <<'SQL' || fail "cannot make a version 1 file"
PRAGMA journal_mode=WAL;
CREATE TABLE certificates (serial TEXT PRIMARY KEY, subject TEXT NOT NULL,
  sans TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('server','client','ca')),
  not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'valid' CHECK (status IN ('valid','revoked')),
  revoked_at INTEGER, reason INTEGER, issued_at INTEGER NOT NULL, pem TEXT NOT NULL);
CREATE TABLE ca_state (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO ca_state VALUES ('crl_number', 3);
PRAGMA user_version=1;
SQL
run 0 "$MTLS" cert issue --ca old --client --name one --out one
run 0 sqlite3 old/ca.db "SELECT version FROM schema_version; PRAGMA user_version"
[ "$(tr '\n' ' ' <"$T/out")" = "$V $V " ] || fail "the file was not migrated to $V: $(cat "$T/out")"
run 0 "$MTLS" ca crl --ca old --out old.crl
assert_contains "$T/out" "CRL number 4 "
ok "a version 1 SQLite file is migrated in place; its CRL number carries on"
