/*
 * ca_db.c - the CA inventory in SQLite.  Write-ahead logging lets readers
 * (cert list) run beside a writer; every write transaction starts with BEGIN
 * IMMEDIATE so that two issuing processes queue on the write lock (with a
 * busy timeout) instead of failing half-way; serial is the primary key, so a
 * reused serial can never be recorded twice.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca/ca_db.h"

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"BEGIN IMMEDIATE;"
	"CREATE TABLE certificates ("
	"  serial     TEXT PRIMARY KEY,"     /* hex, upper case */
	"  subject    TEXT NOT NULL,"        /* RFC 2253 one line */
	"  sans       TEXT NOT NULL,"
	"  kind       TEXT NOT NULL CHECK (kind IN ('server','client','ca')),"
	"  not_before INTEGER NOT NULL,"     /* seconds since the epoch */
	"  not_after  INTEGER NOT NULL,"
	"  status     TEXT NOT NULL DEFAULT 'valid'"
	"             CHECK (status IN ('valid','revoked')),"
	"  revoked_at INTEGER,"
	"  reason     INTEGER,"              /* RFC 5280 5.3.1 CRLReason */
	"  issued_at  INTEGER NOT NULL,"
	"  pem        TEXT NOT NULL"
	");"
	"CREATE TABLE ca_state ("
	"  name  TEXT PRIMARY KEY,"
	"  value INTEGER NOT NULL"
	");"
	"INSERT INTO ca_state (name, value) VALUES ('crl_number', 0);"
	"PRAGMA user_version=1;"
	"COMMIT;";

static int
db_fail(struct mtls_ca *ca, const char *what)
{
	/* SQLite says "disk I/O error" for a full disk; the system's errno
	 * behind it says which ("No space left on device"). */
	int sys = ca->db != NULL ? sqlite3_system_errno(ca->db) : 0;

	return ca_err(ca, MTLS_ERR_DB, "%s: %s: %s%s%s%s", ca->db_path, what,
	    ca->db != NULL ? sqlite3_errmsg(ca->db) : "cannot open",
	    sys != 0 ? " (" : "", sys != 0 ? strerror(sys) : "",
	    sys != 0 ? ")" : "");
}

static int
db_connect(struct mtls_ca *ca, int flags)
{
	int rc = sqlite3_open_v2(ca->db_path, &ca->db, flags, NULL);

	if (rc != SQLITE_OK) {
		ca_err(ca, MTLS_ERR_DB, "%s: %s", ca->db_path,
		    ca->db != NULL ? sqlite3_errmsg(ca->db) :
		    sqlite3_errstr(rc));
		sqlite3_close(ca->db);
		ca->db = NULL;
		return -1;
	}
	sqlite3_busy_timeout(ca->db, CA_DB_BUSY_MS);
	/* The inventory is the record of what the CA signed: a commit must
	 * survive a power cut, even in WAL mode. */
	if (sqlite3_exec(ca->db, "PRAGMA synchronous=FULL;", NULL, NULL,
	    NULL) != SQLITE_OK)
		return db_fail(ca, "cannot configure");
	return 0;
}

int
ca_db_create(struct mtls_ca *ca)
{
	if (db_connect(ca, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) == -1)
		return -1;
	if (sqlite3_exec(ca->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(ca, "cannot create the inventory");
		sqlite3_exec(ca->db, "ROLLBACK;", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int
ca_db_open(struct mtls_ca *ca)
{
	sqlite3_stmt *st = NULL;
	int version = -1;

	if (db_connect(ca, SQLITE_OPEN_READWRITE) == -1)
		return -1;
	if (sqlite3_prepare_v2(ca->db, "PRAGMA user_version;", -1, &st,
	    NULL) != SQLITE_OK)
		return db_fail(ca, "not a readable database");
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version != 1)
		return ca_err(ca, MTLS_ERR_DB, "%s: not an mtls CA inventory "
		    "(schema version %d, expected 1)", ca->db_path, version);
	return 0;
}

void
ca_db_close(struct mtls_ca *ca)
{
	if (ca->db != NULL)
		sqlite3_close(ca->db);
	ca->db = NULL;
}

int
ca_db_begin(struct mtls_ca *ca)
{
	if (sqlite3_exec(ca->db, "BEGIN IMMEDIATE;", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return db_fail(ca, "cannot start a transaction");
	return 0;
}

int
ca_db_commit(struct mtls_ca *ca)
{
	if (sqlite3_exec(ca->db, "COMMIT;", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(ca, "cannot commit");
		ca_db_rollback(ca);
		return -1;
	}
	return 0;
}

void
ca_db_rollback(struct mtls_ca *ca)
{
	if (!sqlite3_get_autocommit(ca->db))
		sqlite3_exec(ca->db, "ROLLBACK;", NULL, NULL, NULL);
}

int
ca_db_insert(struct mtls_ca *ca, const struct ca_db_cert *row)
{
	static const char sql[] = "INSERT INTO certificates (serial, subject,"
	    " sans, kind, not_before, not_after, issued_at, pem)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?);";
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	if (ca_db_begin(ca) == -1)
		return -1;
	if (sqlite3_prepare_v2(ca->db, sql, -1, &st, NULL) != SQLITE_OK) {
		db_fail(ca, "cannot prepare insert");
		goto out;
	}
	sqlite3_bind_text(st, 1, row->serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, row->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, row->sans, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, mtls_cert_kind_name(row->kind), -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)row->not_before);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)row->not_after);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)time(NULL));
	sqlite3_bind_text(st, 8, row->pem, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT &&
	    sqlite3_extended_errcode(ca->db) == SQLITE_CONSTRAINT_PRIMARYKEY) {
		ret = 1;
		goto out;
	}
	if (rc != SQLITE_DONE) {
		db_fail(ca, "cannot record the certificate");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (ca_db_commit(ca) == -1)
		return -1;
	return 0;
out:
	sqlite3_finalize(st);
	ca_db_rollback(ca);
	return ret;
}

int
ca_db_delete(struct mtls_ca *ca, const char *serial)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(ca->db, "DELETE FROM certificates WHERE "
	    "serial = ?;", -1, &st, NULL) != SQLITE_OK)
		return db_fail(ca, "cannot prepare delete");
	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(ca, "cannot delete");
}

int
ca_db_revoke(struct mtls_ca *ca, const char *serial,
    enum mtls_revoke_reason reason, time_t now)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	if (ca_db_begin(ca) == -1)
		return -1;
	if (sqlite3_prepare_v2(ca->db, "SELECT status, revoked_at, reason "
	    "FROM certificates WHERE serial = ?;", -1, &st, NULL) !=
	    SQLITE_OK) {
		db_fail(ca, "cannot prepare lookup");
		goto out;
	}
	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ca_err(ca, MTLS_ERR_NOT_FOUND, "serial %s is not in %s",
		    serial, ca->db_path);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		db_fail(ca, "cannot look up the serial");
		goto out;
	}
	const unsigned char *status = sqlite3_column_text(st, 0);
	if (status != NULL && strcmp((const char *)status, "revoked") == 0) {
		char when[32] = "an unknown time";
		time_t at = (time_t)sqlite3_column_int64(st, 1);
		struct tm tm;
		if (gmtime_r(&at, &tm) != NULL)
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		ca_err(ca, MTLS_ERR_USAGE, "serial %s is already revoked "
		    "(since %s, reason %s)", serial, when,
		    mtls_revoke_reason_name((enum mtls_revoke_reason)
		    sqlite3_column_int(st, 2)));
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(ca->db, "UPDATE certificates SET status = "
	    "'revoked', revoked_at = ?, reason = ? WHERE serial = ?;", -1, &st,
	    NULL) != SQLITE_OK) {
		db_fail(ca, "cannot prepare update");
		goto out;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
	sqlite3_bind_int(st, 2, (int)reason);
	sqlite3_bind_text(st, 3, serial, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_fail(ca, "cannot record the revocation");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	return ca_db_commit(ca);
out:
	sqlite3_finalize(st);
	ca_db_rollback(ca);
	return ret;
}

int
ca_db_crl_number_next(struct mtls_ca *ca, long long *number)
{
	sqlite3_stmt *st = NULL;
	int ret = -1;

	if (sqlite3_exec(ca->db, "UPDATE ca_state SET value = value + 1 "
	    "WHERE name = 'crl_number';", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(ca, "cannot advance the CRL number");
	if (sqlite3_prepare_v2(ca->db, "SELECT value FROM ca_state WHERE "
	    "name = 'crl_number';", -1, &st, NULL) != SQLITE_OK)
		return db_fail(ca, "cannot read the CRL number");
	if (sqlite3_step(st) == SQLITE_ROW) {
		*number = sqlite3_column_int64(st, 0);
		ret = 0;
	} else {
		db_fail(ca, "cannot read the CRL number");
	}
	sqlite3_finalize(st);
	return ret;
}

int
ca_db_each_revoked(struct mtls_ca *ca, ca_db_revoked_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(ca->db, "SELECT serial, revoked_at, reason "
	    "FROM certificates WHERE status = 'revoked' ORDER BY rowid;", -1,
	    &st, NULL) != SQLITE_OK)
		return db_fail(ca, "cannot list revocations");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *serial = sqlite3_column_text(st, 0);
		if (serial == NULL)
			continue;
		if (fn((const char *)serial, (time_t)sqlite3_column_int64(st,
		    1), (enum mtls_revoke_reason)sqlite3_column_int(st, 2),
		    arg) != 0) {
			ret = -1;
			break;
		}
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = db_fail(ca, "cannot list revocations");
	sqlite3_finalize(st);
	return ret;
}

static enum mtls_cert_kind
kind_parse(const char *s)
{
	if (s != NULL && strcmp(s, "server") == 0)
		return MTLS_CERT_SERVER;
	if (s != NULL && strcmp(s, "client") == 0)
		return MTLS_CERT_CLIENT;
	return MTLS_CERT_CA;
}

static const char *
col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s != NULL ? (const char *)s : "";
}

int
ca_db_list(struct mtls_ca *ca,
    int (*fn)(const struct mtls_ca_record *rec, void *arg), void *arg)
{
	sqlite3_stmt *st = NULL;
	time_t now = time(NULL);
	int rc;

	if (sqlite3_prepare_v2(ca->db, "SELECT serial, subject, sans, kind, "
	    "not_before, not_after, status, revoked_at, reason "
	    "FROM certificates ORDER BY rowid;", -1, &st, NULL) != SQLITE_OK)
		return db_fail(ca, "cannot list certificates");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct mtls_ca_record rec;

		memset(&rec, 0, sizeof(rec));
		rec.serial = col_text(st, 0);
		rec.subject = col_text(st, 1);
		rec.sans = col_text(st, 2);
		rec.kind = kind_parse(col_text(st, 3));
		rec.not_before = (time_t)sqlite3_column_int64(st, 4);
		rec.not_after = (time_t)sqlite3_column_int64(st, 5);
		if (strcmp(col_text(st, 6), "revoked") == 0) {
			rec.status = MTLS_STATUS_REVOKED;
			rec.revoked_at = (time_t)sqlite3_column_int64(st, 7);
			rec.reason = (enum mtls_revoke_reason)
			    sqlite3_column_int(st, 8);
		} else {
			rec.status = rec.not_after < now ?
			    MTLS_STATUS_EXPIRED : MTLS_STATUS_VALID;
		}
		if (fn(&rec, arg) != 0) {
			sqlite3_finalize(st);
			return 0;
		}
	}
	if (rc != SQLITE_DONE) {
		db_fail(ca, "cannot list certificates");
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}
