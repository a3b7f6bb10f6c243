/*
 * inv_pg.c - the inventory in PostgreSQL, through libpq: several CA front
 * ends over one database.  Every write transaction is SERIALIZABLE, so that
 * the database itself orders concurrent front ends; a serialization failure
 * or a deadlock (SQLSTATE 40001, 40P01) is reported as INV_FAIL_RETRY and
 * inventory.c tries the transaction again.  A lost connection is
 * INV_FAIL_LOST: the server rolls back what was not committed, and the next
 * transaction reconnects (a long-running front end survives a database
 * restart).  Messages name the database by its URL without the password,
 * and any copy of the password is scrubbed from them (inv_fail).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "ca/inv_backend.h"

/* Seconds to wait for a server that does not answer, unless the URL says
 * (connect_timeout). */
#define PG_CONNECT_TIMEOUT 10

/* The pg_advisory_lock key that keeps two migrations apart ("mtls"). */
#define PG_SCHEMA_LOCK 0x6d746c73

/* The first line of libpq's message, without its "ERROR:  " prefix. */
static void
pg_message(const char *msg, char *buf, size_t len)
{
	if (msg == NULL || *msg == '\0')
		msg = "no reason given";
	if (strncmp(msg, "ERROR:  ", 8) == 0)
		msg += 8;
	snprintf(buf, len, "%.*s", (int)strcspn(msg, "\n"), msg);
}

/* Classifies a failed result (res may be NULL) and sets inv's error. */
static int
pg_fail(struct inv *inv, PGresult *res, const char *what)
{
	PGconn *conn = inv->conn;
	const char *state = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	enum inv_fail kind = INV_FAIL_ERROR;
	char why[512];

	pg_message(res != NULL && *PQresultErrorMessage(res) != '\0' ?
	    PQresultErrorMessage(res) : PQerrorMessage(conn), why, sizeof(why));
	if (state != NULL && strcmp(state, "23505") == 0)
		kind = INV_FAIL_UNIQUE;
	else if (state != NULL && (strcmp(state, "40001") == 0 ||
	    strcmp(state, "40P01") == 0))
		kind = INV_FAIL_RETRY;
	else if (PQstatus(conn) == CONNECTION_BAD || (state != NULL &&
	    (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)))
		kind = INV_FAIL_LOST;
	if (kind == INV_FAIL_LOST)
		return inv_fail(inv, kind, "%s: %s: lost the connection to the "
		    "database (%s)", inv->label, what, why);
	return inv_fail(inv, kind, "%s: %s: %s", inv->label, what, why);
}

/* libpq prints NOTICEs, and a server's last words on an idle connection
 * ("terminating connection due to administrator command"), on stderr by
 * default; they are not ours to show: what fails is reported by the call
 * that fails. */
static void
pg_notice(void *arg, const PGresult *res)
{
	(void)arg;
	(void)res;
}

/* Keeps the password, to scrub it from every message, and reads the
 * connect timeout (connect_timeout, else PG_CONNECT_TIMEOUT seconds). */
static int
pg_read_options(struct inv *inv)
{
	PQconninfoOption *opts = PQconninfoParse(inv->target, NULL);
	int timeout = PG_CONNECT_TIMEOUT;

	for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++) {
		if (o->val == NULL || *o->val == '\0')
			continue;
		if (strcmp(o->keyword, "password") == 0)
			inv->secret = strdup(o->val);
		else if (strcmp(o->keyword, "connect_timeout") == 0)
			timeout = atoi(o->val) > 0 ? atoi(o->val) : 0;
	}
	PQconninfoFree(opts);
	return timeout;
}

/*
 * Finishes a connection (or a reconnection) without blocking, so that the
 * notice receiver is in place before the server says anything (a server
 * shutting down talks during the handshake), and so that an unreachable
 * server fails after the timeout rather than never.
 */
static int
pg_finish_connect(struct inv *inv,
    PostgresPollingStatusType (*step)(PGconn *conn), const char *what)
{
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	time_t deadline = time(NULL) + inv->connect_timeout;
	PGconn *conn = inv->conn;
	char why[512];

	while (PQstatus(conn) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
	    st != PGRES_POLLING_FAILED) {
		struct pollfd pfd = { PQsocket(conn), st ==
		    PGRES_POLLING_READING ? POLLIN : POLLOUT, 0 };

		if (inv->connect_timeout > 0 && time(NULL) >= deadline)
			return inv_fail(inv, INV_FAIL_LOST, "%s: %s: no answer "
			    "in %d s", inv->label, what, inv->connect_timeout);
		if (pfd.fd >= 0 && poll(&pfd, 1, 1000) == -1 && errno != EINTR)
			return inv_fail(inv, INV_FAIL_LOST, "%s: %s: %s",
			    inv->label, what, strerror(errno));
		st = step(conn);
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		pg_message(PQerrorMessage(conn), why, sizeof(why));
		return inv_fail(inv, INV_FAIL_LOST, "%s: %s: %s", inv->label,
		    what, why);
	}
	return 0;
}

static int
pg_connect(struct inv *inv, int create)
{
	(void)create; /* the database itself is made by its administrator */
	inv->connect_timeout = pg_read_options(inv);
	if ((inv->conn = PQconnectStart(inv->target)) == NULL)
		return inv_fail(inv, INV_FAIL_ERROR, "%s: out of memory",
		    inv->label);
	PQsetNoticeReceiver(inv->conn, pg_notice, NULL);
	return pg_finish_connect(inv, PQconnectPoll, "cannot connect");
}

static void
pg_close(struct inv *inv)
{
	PQfinish(inv->conn);
	inv->conn = NULL;
}

/* Reconnects when the connection was lost; 0 when it is usable. */
static int
pg_usable(struct inv *inv)
{
	if (PQstatus(inv->conn) == CONNECTION_OK)
		return 0;
	if (!PQresetStart(inv->conn))
		return pg_fail(inv, NULL, "cannot reconnect");
	return pg_finish_connect(inv, PQresetPoll, "cannot reconnect");
}

/* Runs a command without parameters; 0 when it succeeded. */
static int
pg_command(struct inv *inv, const char *sql, const char *what)
{
	PGresult *res = PQexec(inv->conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int ret = 0;

	if (res == NULL || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK))
		ret = pg_fail(inv, res, what);
	PQclear(res);
	return ret;
}

static int
pg_begin(struct inv *inv)
{
	static const char sql[] = "BEGIN ISOLATION LEVEL SERIALIZABLE";

	if (pg_usable(inv) == -1)
		return -1;
	if (pg_command(inv, sql, "cannot start a transaction") == 0)
		return 0;
	/* A connection that died while idle (a database restart) shows only
	 * now; nothing was done in it, so one more connection is safe. */
	if (inv->fail != INV_FAIL_LOST || pg_usable(inv) == -1)
		return -1;
	return pg_command(inv, sql, "cannot start a transaction");
}

static void
pg_rollback(struct inv *inv)
{
	if (PQstatus(inv->conn) != CONNECTION_OK)
		return;
	PQclear(PQexec(inv->conn, "ROLLBACK"));
}

static int
pg_commit(struct inv *inv)
{
	if (pg_command(inv, "COMMIT", "cannot commit") == 0)
		return 0;
	if (inv->fail == INV_FAIL_LOST) {
		/* The commit may or may not have happened; say so. */
		char why[sizeof(inv->err.msg)];
		snprintf(why, sizeof(why), "%s", inv->err.msg);
		inv_fail(inv, INV_FAIL_LOST, "%s; whether the last change was "
		    "recorded is unknown", why);
	}
	pg_rollback(inv);
	return -1;
}

static int
pg_exec(struct inv *inv, const char *sql, const struct inv_param *p, int np,
    inv_row_fn fn, void *arg)
{
	char nums[16][24];
	const char *values[16];
	const char *cols[32];
	PGresult *res;
	ExecStatusType st;
	int ret = 0;

	if (np > (int)nitems(values))
		return inv_fail(inv, INV_FAIL_ERROR, "%s: too many parameters",
		    inv->label);
	if (!inv->in_tx && pg_usable(inv) == -1)
		return -1;
	for (int i = 0; i < np; i++) {
		if (p[i].type == INV_P_INT) {
			snprintf(nums[i], sizeof(nums[i]), "%lld", p[i].num);
			values[i] = nums[i];
		} else {
			values[i] = p[i].type == INV_P_TEXT ? p[i].text : NULL;
		}
	}
	res = PQexecParams(inv->conn, sql, np, NULL, values, NULL, NULL, 0);
	st = PQresultStatus(res);
	if (res == NULL || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)) {
		ret = pg_fail(inv, res, "a statement failed");
		goto out;
	}
	if (fn == NULL || st != PGRES_TUPLES_OK)
		goto out;
	int ncol = PQnfields(res);
	if (ncol > (int)nitems(cols))
		ncol = (int)nitems(cols);
	for (int r = 0; r < PQntuples(res); r++) {
		for (int c = 0; c < ncol; c++)
			cols[c] = PQgetisnull(res, r, c) ? NULL :
			    PQgetvalue(res, r, c);
		if (fn(arg, ncol, cols) != 0)
			break;
	}
out:
	PQclear(res);
	return ret;
}

static int
pg_script(struct inv *inv, const char *sql)
{
	return pg_command(inv, sql, "cannot change the schema");
}

static int
text_row(void *arg, int ncol, const char *const *col)
{
	if (ncol >= 1 && col[0] != NULL)
		snprintf(arg, 16, "%s", col[0]);
	return 1;
}

static int
pg_version(struct inv *inv, int *version)
{
	char has[16] = "", v[16] = "0";

	if (pg_exec(inv, "SELECT to_regclass('schema_version') IS NOT NULL",
	    NULL, 0, text_row, has) == -1)
		return -1;
	if (strcmp(has, "t") == 0 && pg_exec(inv, "SELECT version FROM "
	    "schema_version", NULL, 0, text_row, v) == -1)
		return -1;
	*version = (int)inv_col_int(v);
	return 0;
}

static int
pg_set_version(struct inv *inv, int version)
{
	const struct inv_param p[] = { INV_INT(version) };

	return pg_exec(inv, "UPDATE schema_version SET version = $1", p, 1,
	    NULL, NULL);
}

/* A session lock, taken before the migration's transaction begins: its
 * snapshot then sees what a migration that ran first committed. */
static int
pg_lock_schema(struct inv *inv, int lock)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "SELECT pg_advisory_%slock(%d)",
	    lock ? "" : "un", PG_SCHEMA_LOCK);
	if (!lock) {
		/* Never hides the migration's own error. */
		if (PQstatus(inv->conn) == CONNECTION_OK)
			PQclear(PQexec(inv->conn, sql));
		return 0;
	}
	if (pg_usable(inv) == -1)
		return -1;
	return pg_command(inv, sql, "cannot lock the schema");
}

const struct inv_backend inv_pg_backend = {
	.name = "PostgreSQL",
	.connect = pg_connect,
	.close = pg_close,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.exec = pg_exec,
	.script = pg_script,
	.version = pg_version,
	.set_version = pg_set_version,
	.lock_schema = pg_lock_schema,
};
