/*
 * est_store.c - the online CA's own records in ca.db: enrollment tokens and
 * superseded certificates (see est.h).  Its own connection with the same
 * busy timeout as the inventory, so that several `ca serve` and `ca token`
 * processes queue on the write lock instead of failing.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "ca/ca_db.h"
#include "ca/est.h"

static const char est_schema[] =
	"CREATE TABLE IF NOT EXISTS est_tokens ("
	"  hash       TEXT PRIMARY KEY,"     /* SHA-256 of the secret, hex */
	"  name       TEXT NOT NULL,"
	"  sans       TEXT NOT NULL,"
	"  kind       TEXT NOT NULL CHECK (kind IN ('server','client')),"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  used_at    INTEGER,"
	"  serial     TEXT"                  /* what it was used for */
	");"
	"CREATE TABLE IF NOT EXISTS est_superseded ("
	"  serial     TEXT PRIMARY KEY,"     /* the certificate replaced */
	"  by_serial  TEXT NOT NULL,"
	"  at         INTEGER NOT NULL"
	");";

static int
store_fail(sqlite3 *db, struct mtls_error *err, const char *what)
{
	return err_set(err, MTLS_ERR_DB, "%s: %s: %s",
	    db != NULL ? sqlite3_db_filename(db, "main") : "ca.db", what,
	    db != NULL ? sqlite3_errmsg(db) : "cannot open");
}

sqlite3 *
est_store_open(const char *db_path, struct mtls_error *err)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		err_set(err, MTLS_ERR_DB, "%s: %s", db_path, db != NULL ?
		    sqlite3_errmsg(db) : "cannot open");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, CA_DB_BUSY_MS);
	if (sqlite3_exec(db, "PRAGMA synchronous=FULL;", NULL, NULL, NULL) !=
	    SQLITE_OK || sqlite3_exec(db, est_schema, NULL, NULL, NULL) !=
	    SQLITE_OK) {
		store_fail(db, err, "cannot create the token tables");
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

void
est_store_close(sqlite3 *db)
{
	sqlite3_close(db);
}

int
est_token_add(sqlite3 *db, const char *hash, const struct est_token *t,
    struct mtls_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, "INSERT INTO est_tokens (hash, name, sans,"
	    " kind, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?);", -1,
	    &st, NULL) != SQLITE_OK)
		return store_fail(db, err, "cannot prepare the token insert");
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, t->sans, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, mtls_cert_kind_name(t->kind), -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
	sqlite3_bind_int64(st, 6, (sqlite3_int64)t->expires_at);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_fail(db, err, "cannot record "
	    "the token");
}

int
est_token_get(sqlite3 *db, const char *hash, struct est_token *t,
    struct mtls_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	memset(t, 0, sizeof(*t));
	if (sqlite3_prepare_v2(db, "SELECT name, sans, kind, expires_at, "
	    "used_at FROM est_tokens WHERE hash = ?;", -1, &st, NULL) !=
	    SQLITE_OK)
		return store_fail(db, err, "cannot prepare the token lookup");
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *s;

		if ((s = sqlite3_column_text(st, 0)) != NULL)
			snprintf(t->name, sizeof(t->name), "%s", s);
		if ((s = sqlite3_column_text(st, 1)) != NULL)
			snprintf(t->sans, sizeof(t->sans), "%s", s);
		s = sqlite3_column_text(st, 2);
		t->kind = s != NULL && strcmp((const char *)s, "server") == 0 ?
		    MTLS_CERT_SERVER : MTLS_CERT_CLIENT;
		t->expires_at = (time_t)sqlite3_column_int64(st, 3);
		t->used_at = (time_t)sqlite3_column_int64(st, 4);
		ret = 1;
	} else if (rc == SQLITE_DONE) {
		ret = 0;
	} else {
		store_fail(db, err, "cannot look up the token");
	}
	sqlite3_finalize(st);
	return ret;
}

int
est_token_consume(sqlite3 *db, const char *hash, time_t now,
    struct mtls_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	/* One statement: of two requests racing with one token, exactly one
	 * changes the row. */
	if (sqlite3_prepare_v2(db, "UPDATE est_tokens SET used_at = ? WHERE "
	    "hash = ? AND used_at IS NULL;", -1, &st, NULL) != SQLITE_OK)
		return store_fail(db, err, "cannot prepare the token update");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store_fail(db, err, "cannot use the token");
	return sqlite3_changes(db) == 1 ? 1 : 0;
}

static void
token_set(sqlite3 *db, const char *sql, const char *a, const char *b)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b != NULL)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	(void)sqlite3_step(st);
	sqlite3_finalize(st);
}

void
est_token_release(sqlite3 *db, const char *hash)
{
	token_set(db, "UPDATE est_tokens SET used_at = NULL WHERE hash = ?;",
	    hash, NULL);
}

void
est_token_bind(sqlite3 *db, const char *hash, const char *serial)
{
	token_set(db, "UPDATE est_tokens SET serial = ?2 WHERE hash = ?1;",
	    hash, serial);
}

int
est_cert_lookup(sqlite3 *db, const char *serial, int *revoked,
    int *superseded, enum mtls_cert_kind *kind, struct mtls_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	if (sqlite3_prepare_v2(db, "SELECT c.status, c.kind, s.by_serial "
	    "FROM certificates c LEFT JOIN est_superseded s ON s.serial = "
	    "c.serial WHERE c.serial = ?;", -1, &st, NULL) != SQLITE_OK)
		return store_fail(db, err, "cannot prepare the serial lookup");
	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *s = sqlite3_column_text(st, 0);
		const unsigned char *k = sqlite3_column_text(st, 1);

		*revoked = s != NULL && strcmp((const char *)s, "revoked") == 0;
		*superseded = sqlite3_column_type(st, 2) != SQLITE_NULL;
		*kind = k != NULL && strcmp((const char *)k, "server") == 0 ?
		    MTLS_CERT_SERVER : k != NULL && strcmp((const char *)k,
		    "client") == 0 ? MTLS_CERT_CLIENT : MTLS_CERT_CA;
		ret = 1;
	} else if (rc == SQLITE_DONE) {
		ret = 0;
	} else {
		store_fail(db, err, "cannot look up the serial");
	}
	sqlite3_finalize(st);
	return ret;
}

int
est_supersede(sqlite3 *db, const char *old_serial, const char *new_serial,
    time_t now, struct mtls_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO est_superseded "
	    "(serial, by_serial, at) VALUES (?, ?, ?);", -1, &st, NULL) !=
	    SQLITE_OK)
		return store_fail(db, err, "cannot prepare the supersession");
	sqlite3_bind_text(st, 1, old_serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, new_serial, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_fail(db, err, "cannot record "
	    "the supersession");
}

int
est_sha256_hex(const char *s, char out[65])
{
	unsigned char md[32];
	unsigned int len = 0;

	if (!EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL) ||
	    len != 32)
		return -1;
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}
