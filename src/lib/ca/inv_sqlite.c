/*
 * inv_sqlite.c - the inventory in an SQLite file (one machine, the default).
 * Write-ahead logging lets readers (cert list) run beside a writer; every
 * write transaction starts with BEGIN IMMEDIATE, so that two issuing
 * processes queue on the write lock (with a busy timeout) instead of failing
 * half-way; synchronous=FULL, so that a commit survives a power cut.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "ca/inv_backend.h"

static int
sq_fail(struct inv *inv, const char *what)
{
	sqlite3 *db = inv->conn;
	/* SQLite says "disk I/O error" for a full disk; the system's errno
	 * behind it says which ("No space left on device"). */
	int sys = db != NULL ? sqlite3_system_errno(db) : 0;
	int ext = db != NULL ? sqlite3_extended_errcode(db) : 0;
	enum inv_fail kind = INV_FAIL_ERROR;

	if (ext == SQLITE_CONSTRAINT_PRIMARYKEY ||
	    ext == SQLITE_CONSTRAINT_UNIQUE)
		kind = INV_FAIL_UNIQUE;
	return inv_fail(inv, kind, "%s: %s: %s%s%s%s", inv->label, what,
	    db != NULL ? sqlite3_errmsg(db) : "cannot open",
	    sys != 0 ? " (" : "", sys != 0 ? strerror(sys) : "",
	    sys != 0 ? ")" : "");
}

static int
sq_connect(struct inv *inv, int create)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(inv->target, &db, SQLITE_OPEN_READWRITE |
	    (create ? SQLITE_OPEN_CREATE : 0), NULL);

	inv->conn = db;
	if (rc != SQLITE_OK) {
		inv_fail(inv, INV_FAIL_ERROR, "%s: %s", inv->label,
		    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		inv->conn = NULL;
		return -1;
	}
	sqlite3_busy_timeout(db, INV_BUSY_MS);
	/* The inventory is the record of what the CA signed: a commit must
	 * survive a power cut, even in WAL mode.  WAL itself is a property of
	 * the file, set once when it is made. */
	if (sqlite3_exec(db, "PRAGMA synchronous=FULL;", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return sq_fail(inv, "cannot configure");
	if (create && sqlite3_exec(db, "PRAGMA journal_mode=WAL;", NULL, NULL,
	    NULL) != SQLITE_OK)
		return sq_fail(inv, "cannot configure");
	return 0;
}

static void
sq_close(struct inv *inv)
{
	sqlite3_close(inv->conn);
	inv->conn = NULL;
}

static int
sq_begin(struct inv *inv)
{
	if (sqlite3_exec(inv->conn, "BEGIN IMMEDIATE;", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return sq_fail(inv, "cannot start a transaction");
	return 0;
}

static void
sq_rollback(struct inv *inv)
{
	if (!sqlite3_get_autocommit(inv->conn))
		sqlite3_exec(inv->conn, "ROLLBACK;", NULL, NULL, NULL);
}

static int
sq_commit(struct inv *inv)
{
	if (sqlite3_exec(inv->conn, "COMMIT;", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		sq_fail(inv, "cannot commit");
		sq_rollback(inv);
		return -1;
	}
	return 0;
}

static int
sq_exec(struct inv *inv, const char *sql, const struct inv_param *p, int np,
    inv_row_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	const char *cols[32];
	int rc, ret = 0;

	if (sqlite3_prepare_v2(inv->conn, sql, -1, &st, NULL) != SQLITE_OK)
		return sq_fail(inv, "cannot prepare a statement");
	/* $N is an SQLite parameter name; bound by name, so that $2 used
	 * twice is one value. */
	for (int i = 0; i < np; i++) {
		char name[16];
		int idx;

		snprintf(name, sizeof(name), "$%d", i + 1);
		if ((idx = sqlite3_bind_parameter_index(st, name)) == 0)
			continue;
		if (p[i].type == INV_P_INT)
			rc = sqlite3_bind_int64(st, idx, p[i].num);
		else if (p[i].type == INV_P_TEXT && p[i].text != NULL)
			rc = sqlite3_bind_text(st, idx, p[i].text, -1,
			    SQLITE_STATIC);
		else
			rc = sqlite3_bind_null(st, idx);
		if (rc != SQLITE_OK) {
			ret = sq_fail(inv, "cannot bind a value");
			goto out;
		}
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int n = sqlite3_column_count(st);
		if (fn == NULL)
			continue;
		if (n > (int)nitems(cols))
			n = (int)nitems(cols);
		for (int i = 0; i < n; i++)
			cols[i] = (const char *)sqlite3_column_text(st, i);
		if (fn(arg, n, cols) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = sq_fail(inv, "a statement failed");
out:
	sqlite3_finalize(st);
	return ret;
}

static int
sq_script(struct inv *inv, const char *sql)
{
	if (sqlite3_exec(inv->conn, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sq_fail(inv, "cannot change the schema");
	return 0;
}

static int
int_row(void *arg, int ncol, const char *const *col)
{
	if (ncol >= 1)
		*(long long *)arg = inv_col_int(col[0]);
	return 1;
}

/* Version 1 files keep it in user_version only; later ones in the
 * schema_version table too (and user_version, which older mtls reads). */
static int
sq_version(struct inv *inv, int *version)
{
	long long has_table = 0, v = 0;

	if (sq_exec(inv, "SELECT COUNT(*) FROM sqlite_master WHERE type = "
	    "'table' AND name = 'schema_version'", NULL, 0, int_row,
	    &has_table) == -1)
		return sq_fail(inv, "not a readable database");
	if (sq_exec(inv, has_table ? "SELECT version FROM schema_version" :
	    "PRAGMA user_version", NULL, 0, int_row, &v) == -1)
		return sq_fail(inv, "not a readable database");
	*version = (int)v;
	return 0;
}

static int
sq_set_version(struct inv *inv, int version)
{
	const struct inv_param p[] = { INV_INT(version) };
	long long has_table = 0;
	char pragma[48];

	/* PRAGMA takes no parameters; version is ours, not input. */
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d;", version);
	if (sqlite3_exec(inv->conn, pragma, NULL, NULL, NULL) != SQLITE_OK)
		return sq_fail(inv, "cannot set the schema version");
	if (sq_exec(inv, "SELECT COUNT(*) FROM sqlite_master WHERE type = "
	    "'table' AND name = 'schema_version'", NULL, 0, int_row,
	    &has_table) == -1)
		return -1;
	if (has_table && sq_exec(inv, "UPDATE schema_version SET version = $1",
	    p, 1, NULL, NULL) == -1)
		return -1;
	return 0;
}

const struct inv_backend inv_sqlite_backend = {
	.name = "SQLite",
	.connect = sq_connect,
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.exec = sq_exec,
	.script = sq_script,
	.version = sq_version,
	.set_version = sq_set_version,
	.lock_schema = NULL, /* BEGIN IMMEDIATE holds the write lock */
};
