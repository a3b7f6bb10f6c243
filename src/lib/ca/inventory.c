/*
 * inventory.c - what the CA's inventory means, written once over the back
 * ends' statement interface (inv_backend.h): opening and migrating, the
 * column constants, transactions with bounded retries, and the operations
 * (record, revoke, status, list, the CRL number, import).  The SQL here is
 * the common dialect of SQLite and PostgreSQL ($N parameters, RETURNING,
 * ON CONFLICT).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ca/inv_backend.h"

/* The words stored in the kind and status columns.  They are the database
 * format: never derived from a display name, never changed. */
static const struct {
	enum inv_kind kind;
	const char *col;
} kind_cols[] = {
	{ INV_KIND_SERVER, "server" },
	{ INV_KIND_CLIENT, "client" },
	{ INV_KIND_CA, "ca" },
};

static const struct {
	enum inv_status status;
	const char *col;
} status_cols[] = {
	{ INV_STATUS_VALID, "valid" },
	{ INV_STATUS_REVOKED, "revoked" },
};

static const char *
kind_col(enum inv_kind k)
{
	for (size_t i = 0; i < nitems(kind_cols); i++)
		if (kind_cols[i].kind == k)
			return kind_cols[i].col;
	return NULL;
}

static int
kind_parse(const char *s, enum inv_kind *k)
{
	for (size_t i = 0; s != NULL && i < nitems(kind_cols); i++)
		if (strcmp(kind_cols[i].col, s) == 0) {
			*k = kind_cols[i].kind;
			return 0;
		}
	return -1;
}

static const char *
status_col(enum inv_status st)
{
	for (size_t i = 0; i < nitems(status_cols); i++)
		if (status_cols[i].status == st)
			return status_cols[i].col;
	return NULL;
}

static int
status_parse(const char *s, enum inv_status *st)
{
	for (size_t i = 0; s != NULL && i < nitems(status_cols); i++)
		if (strcmp(status_cols[i].col, s) == 0) {
			*st = status_cols[i].status;
			return 0;
		}
	return -1;
}

long long
inv_col_int(const char *s)
{
	return s != NULL ? strtoll(s, NULL, 10) : 0;
}

/* ------------------------------------------------------------------ */
/* Errors and names                                                   */
/* ------------------------------------------------------------------ */

/* Replaces every copy of secret in s by "***", in place (it only shrinks
 * when secret is longer than three characters; otherwise it is left). */
static void
scrub(char *s, const char *secret)
{
	size_t n = secret != NULL ? strlen(secret) : 0;
	char *p;

	if (n < 4)
		return;
	while ((p = strstr(s, secret)) != NULL) {
		memcpy(p, "***", 3);
		memmove(p + 3, p + n, strlen(p + n) + 1);
	}
}

int
inv_fail(struct inv *inv, enum inv_fail kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(&inv->err, kind == INV_FAIL_NOT_FOUND ? MTLS_ERR_NOT_FOUND :
	    MTLS_ERR_DB, 0, fmt, ap);
	va_end(ap);
	scrub(inv->err.msg, inv->secret);
	/* One line, whatever a server put in its text. */
	for (char *p = inv->err.msg; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	inv->fail = kind;
	return -1;
}

const struct mtls_error *
inv_error(const struct inv *inv)
{
	return &inv->err;
}

enum inv_fail
inv_last_fail(const struct inv *inv)
{
	return inv->fail;
}

const char *
inv_name(const struct inv *inv)
{
	return inv->label;
}

int
inv_is_postgres(const char *target)
{
	return target != NULL && (strncmp(target, "postgres://", 11) == 0 ||
	    strncmp(target, "postgresql://", 13) == 0);
}

/* s with [from, to) replaced by "***" (a new heap string; s is freed). */
static char *
splice_stars(char *s, size_t from, size_t to)
{
	size_t len = strlen(s);
	char *out = malloc(len - (to - from) + 4);

	if (out != NULL) {
		memcpy(out, s, from);
		memcpy(out + from, "***", 3);
		memcpy(out + from + 3, s + to, len - to + 1);
	}
	free(s);
	return out;
}

/*
 * The URL without its password, in both places libpq takes one (RFC 3986
 * userinfo "user:password@", and a "password=" query parameter), so that
 * the label can be printed and logged.
 */
char *
inv_label(const char *target)
{
	char *s = strdup(target);
	size_t auth, end, at = 0, colon = 0;

	if (s == NULL || !inv_is_postgres(target))
		return s;
	auth = (size_t)(strstr(s, "://") - s) + 3;
	end = auth + strcspn(s + auth, "/?#");
	for (size_t i = auth; i < end; i++)
		if (s[i] == '@')
			at = i;
	for (size_t i = auth; at != 0 && i < at; i++)
		if (s[i] == ':') {
			colon = i;
			break;
		}
	if (colon != 0 && (s = splice_stars(s, colon + 1, at)) == NULL)
		return NULL;
	for (char *q = strchr(s, '?'); q != NULL; q = strchr(q + 1, '&')) {
		if (strncmp(q + 1, "password=", 9) == 0) {
			size_t from = (size_t)(q + 10 - s);
			size_t to = from + strcspn(s + from, "&#");
			if ((s = splice_stars(s, from, to)) == NULL)
				return NULL;
			q = s + from;
		}
	}
	return s;
}

/* ------------------------------------------------------------------ */
/* Opening, versions, migrations                                      */
/* ------------------------------------------------------------------ */

void
inv_close(struct inv *inv)
{
	if (inv == NULL)
		return;
	if (inv->conn != NULL)
		inv->be->close(inv);
	if (inv->target != NULL) {
		mtls_cleanse(inv->target, strlen(inv->target));
		free(inv->target);
	}
	if (inv->secret != NULL) {
		mtls_cleanse(inv->secret, strlen(inv->secret));
		free(inv->secret);
	}
	free(inv->label);
	free(inv);
}

int
inv_schema_version(struct inv *inv, int *version)
{
	return inv->be->version(inv, version);
}

int
inv_exec(struct inv *inv, const char *sql, const struct inv_param *p, int np,
    inv_row_fn fn, void *arg)
{
	inv->fail = INV_FAIL_NONE;
	return inv->be->exec(inv, sql, p, np, fn, arg);
}

/* A short pause before trying a transaction again, longer each time and
 * different in each process, so that the same two do not collide again. */
static void
retry_pause(int attempt)
{
	struct timespec ts;
	long ms = (long)attempt * (2 + (long)(getpid() % 7)) +
	    (long)(time(NULL) % 3);

	ts.tv_sec = 0;
	ts.tv_nsec = ms * 1000000L;
	nanosleep(&ts, NULL);
}

int
inv_tx(struct inv *inv, int (*body)(struct inv *inv, void *arg), void *arg)
{
	for (int attempt = 1;; attempt++) {
		int rc;

		inv->fail = INV_FAIL_NONE;
		if ((rc = inv->be->begin(inv)) == 0) {
			inv->in_tx = 1;
			rc = body(inv, arg);
			if (rc == 0)
				rc = inv->be->commit(inv);
			else
				inv->be->rollback(inv);
			inv->in_tx = 0;
		}
		if (rc == 0)
			return 0;
		if (inv->fail != INV_FAIL_RETRY)
			return -1;
		if (attempt == INV_RETRIES) {
			char why[sizeof(inv->err.msg)];
			snprintf(why, sizeof(why), "%s", inv->err.msg);
			return inv_fail(inv, INV_FAIL_ERROR, "%s (gave up after "
			    "%d tries)", why, attempt);
		}
		retry_pause(attempt);
	}
}

static int
migrate_body(struct inv *inv, void *arg)
{
	int *from = arg, v;

	if (inv->be->version(inv, &v) == -1)
		return -1;
	*from = v;
	if (v > INV_SCHEMA_VERSION)
		return inv_fail(inv, INV_FAIL_ERROR, "%s: schema version %d is "
		    "newer than this mtls knows (%d)", inv->label, v,
		    INV_SCHEMA_VERSION);
	for (size_t i = 0; i < inv_nmigrations; i++) {
		const struct inv_migration *m = &inv_migrations[i];
		const char *sql = inv->be == &inv_pg_backend ? m->pg : m->sqlite;

		if (m->version <= v)
			continue;
		if (sql != NULL && inv->be->script(inv, sql) == -1)
			return -1;
		if (inv->be->set_version(inv, m->version) == -1)
			return -1;
	}
	return 0;
}

int
inv_migrate(struct inv *inv, int *from)
{
	int ignored, rc;

	if (inv_migrations[inv_nmigrations - 1].version != INV_SCHEMA_VERSION)
		return inv_fail(inv, INV_FAIL_ERROR, "the migration list ends "
		    "at %d, not at INV_SCHEMA_VERSION",
		    inv_migrations[inv_nmigrations - 1].version);
	if (inv->be->lock_schema != NULL && inv->be->lock_schema(inv, 1) == -1)
		return -1;
	rc = inv_tx(inv, migrate_body, from != NULL ? from : &ignored);
	if (inv->be->lock_schema != NULL)
		(void)inv->be->lock_schema(inv, 0);
	return rc;
}

/* Copies inv's error out and closes it; NULL. */
static struct inv *
open_fail(struct inv *inv, struct mtls_error *err)
{
	if (err != NULL)
		*err = inv->err;
	inv_close(inv);
	return NULL;
}

struct inv *
inv_open(const char *target, int create, struct mtls_error *err)
{
	struct inv *inv;
	int v;

	if (target == NULL || *target == '\0') {
		err_set(err, MTLS_ERR_USAGE, "no inventory given");
		return NULL;
	}
	if ((inv = calloc(1, sizeof(*inv))) == NULL ||
	    (inv->target = strdup(target)) == NULL ||
	    (inv->label = inv_label(target)) == NULL) {
		inv_close(inv);
		err_set(err, MTLS_ERR_NOMEM, "out of memory");
		return NULL;
	}
	inv->be = inv_is_postgres(target) ? &inv_pg_backend :
	    &inv_sqlite_backend;
	if (inv->be->connect(inv, create == 1) == -1)
		return open_fail(inv, err);
	if (inv->be->version(inv, &v) == -1)
		return open_fail(inv, err);
	if (create == -1)
		return inv;
	if (create) {
		if (v != 0) {
			inv_fail(inv, INV_FAIL_ERROR, "%s: already holds an mtls "
			    "CA inventory (schema version %d)", inv->label, v);
			return open_fail(inv, err);
		}
		if (inv_migrate(inv, NULL) == -1)
			return open_fail(inv, err);
		return inv;
	}
	if (v == 0) {
		inv_fail(inv, INV_FAIL_ERROR, "%s: not an mtls CA inventory "
		    "(no schema; initialize it first)", inv->label);
		return open_fail(inv, err);
	}
	if (v > INV_SCHEMA_VERSION) {
		inv_fail(inv, INV_FAIL_ERROR, "%s: not an mtls CA inventory this "
		    "version can use (schema version %d, expected %d)",
		    inv->label, v, INV_SCHEMA_VERSION);
		return open_fail(inv, err);
	}
	if (v < INV_SCHEMA_VERSION) {
		/* A file belongs to one machine, which may migrate it now;
		 * a shared database is migrated once, by its operator. */
		if (inv->be == &inv_pg_backend) {
			inv_fail(inv, INV_FAIL_ERROR, "%s: schema version %d is "
			    "older than this mtls needs (%d); migrate it first",
			    inv->label, v, INV_SCHEMA_VERSION);
			return open_fail(inv, err);
		}
		if (inv_migrate(inv, NULL) == -1)
			return open_fail(inv, err);
	}
	return inv;
}

/* ------------------------------------------------------------------ */
/* Rows                                                               */
/* ------------------------------------------------------------------ */

/* The columns a listing reads, in this order. */
#define CERT_COLS "serial, subject, sans, kind, not_before, not_after, " \
	"issued_at, status, revoked_at, reason"

/* Fills c from a row of CERT_COLS (and pem as column 10, if present). */
static int
cert_from_row(struct inv *inv, int ncol, const char *const *col,
    struct inv_cert *c)
{
	memset(c, 0, sizeof(*c));
	if (ncol < 10 || col[0] == NULL)
		return inv_fail(inv, INV_FAIL_ERROR, "%s: a malformed "
		    "certificate row", inv->label);
	c->serial = col[0];
	c->subject = col[1] != NULL ? col[1] : "";
	c->sans = col[2] != NULL ? col[2] : "";
	if (kind_parse(col[3], &c->kind) == -1 ||
	    status_parse(col[7], &c->status) == -1)
		return inv_fail(inv, INV_FAIL_ERROR, "%s: certificate %s has "
		    "an unknown kind or status (%s, %s)", inv->label, col[0],
		    col[3] != NULL ? col[3] : "NULL",
		    col[7] != NULL ? col[7] : "NULL");
	c->not_before = (time_t)inv_col_int(col[4]);
	c->not_after = (time_t)inv_col_int(col[5]);
	c->issued_at = (time_t)inv_col_int(col[6]);
	if (c->status == INV_STATUS_REVOKED) {
		c->revoked_at = (time_t)inv_col_int(col[8]);
		c->reason = (int)inv_col_int(col[9]);
	}
	c->pem = ncol > 10 ? col[10] : NULL;
	c->superseded_by = ncol > 11 ? col[11] : NULL;
	return 0;
}

/* Counts the rows a statement returned. */
static int
count_rows(void *arg, int ncol, const char *const *col)
{
	(void)ncol;
	(void)col;
	(*(size_t *)arg)++;
	return 0;
}

struct record_arg {
	const struct inv_cert *cert;
};

static int
record_body(struct inv *inv, void *arg)
{
	const struct inv_cert *c = ((struct record_arg *)arg)->cert;
	const struct inv_param p[] = {
		INV_TEXT(c->serial), INV_TEXT(c->subject),
		INV_TEXT(c->sans != NULL ? c->sans : ""),
		INV_TEXT(kind_col(c->kind)), INV_INT(c->not_before),
		INV_INT(c->not_after), INV_TEXT(status_col(INV_STATUS_VALID)),
		INV_INT(c->issued_at != 0 ? c->issued_at : time(NULL)),
		INV_TEXT(c->pem),
	};

	return inv_exec(inv, "INSERT INTO certificates (serial, subject, sans,"
	    " kind, not_before, not_after, status, issued_at, pem) VALUES ($1,"
	    " $2, $3, $4, $5, $6, $7, $8, $9)", p, (int)nitems(p), NULL, NULL);
}

int
inv_record(struct inv *inv, const struct inv_cert *cert)
{
	struct record_arg a = { cert };

	if (cert->serial == NULL || cert->subject == NULL ||
	    kind_col(cert->kind) == NULL || cert->pem == NULL)
		return inv_fail(inv, INV_FAIL_ERROR, "%s: an incomplete "
		    "certificate row", inv->label);
	if (inv_tx(inv, record_body, &a) == 0)
		return 0;
	return inv->fail == INV_FAIL_UNIQUE ? 1 : -1;
}

int
inv_forget(struct inv *inv, const char *serial)
{
	const struct inv_param p[] = { INV_TEXT(serial) };

	return inv_exec(inv, "DELETE FROM certificates WHERE serial = $1", p,
	    1, NULL, NULL);
}

struct revoke_arg {
	const char *serial;
	int reason;
	time_t now;
	struct inv_cert *prev;
	int found;
	enum inv_status status;
	time_t revoked_at;
	int prev_reason;
};

static int
revoke_prev_row(void *arg, int ncol, const char *const *col)
{
	struct revoke_arg *a = arg;

	a->found = ncol == 3 && status_parse(col[0], &a->status) == 0;
	a->revoked_at = (time_t)inv_col_int(col[1]);
	a->prev_reason = (int)inv_col_int(col[2]);
	return 1;
}

static int
revoke_body(struct inv *inv, void *arg)
{
	struct revoke_arg *a = arg;
	const char *revoked = status_col(INV_STATUS_REVOKED);
	const struct inv_param p[] = { INV_TEXT(a->serial), INV_TEXT(revoked),
	    INV_INT(a->now), INV_INT(a->reason) };
	size_t n = 0;

	/* One statement decides: a row that is not revoked yet becomes
	 * revoked, whatever runs beside it. */
	if (inv_exec(inv, "UPDATE certificates SET status = $2, revoked_at = "
	    "$3, reason = $4 WHERE serial = $1 AND status <> $2 RETURNING "
	    "serial", p, (int)nitems(p), count_rows, &n) == -1)
		return -1;
	if (n == 1)
		return 0;
	a->found = 0;
	if (inv_exec(inv, "SELECT status, revoked_at, reason FROM certificates"
	    " WHERE serial = $1", p, 1, revoke_prev_row, a) == -1)
		return -1;
	if (!a->found)
		return inv_fail(inv, INV_FAIL_NOT_FOUND, "serial %s is not in %s",
		    a->serial, inv->label);
	return inv_fail(inv, INV_FAIL_CONFLICT, "serial %s is already revoked",
	    a->serial);
}

int
inv_revoke(struct inv *inv, const char *serial, int reason, time_t now,
    struct inv_cert *prev)
{
	struct revoke_arg a;

	memset(&a, 0, sizeof(a));
	a.serial = serial;
	a.reason = reason;
	a.now = now;
	if (inv_tx(inv, revoke_body, &a) == 0)
		return 0;
	if (inv->fail == INV_FAIL_CONFLICT && prev != NULL) {
		memset(prev, 0, sizeof(*prev));
		prev->serial = serial;
		prev->status = a.status;
		prev->revoked_at = a.revoked_at;
		prev->reason = a.prev_reason;
	}
	return -1;
}

struct each_arg {
	struct inv *inv;
	int (*list_fn)(const struct inv_cert *cert, void *arg);
	void (*status_fn)(const struct inv_cert *cert, void *arg);
	void *arg;
	int failed;
	size_t n;
};

static int
each_row(void *arg, int ncol, const char *const *col)
{
	struct each_arg *a = arg;
	struct inv_cert c;

	if (cert_from_row(a->inv, ncol, col, &c) == -1) {
		a->failed = 1;
		return 1;
	}
	a->n++;
	if (a->status_fn != NULL) {
		a->status_fn(&c, a->arg);
		return 1;
	}
	return a->list_fn(&c, a->arg);
}

int
inv_status(struct inv *inv, const char *serial,
    void (*fn)(const struct inv_cert *cert, void *arg), void *arg)
{
	struct each_arg a = { inv, NULL, fn, arg, 0, 0 };
	const struct inv_param p[] = { INV_TEXT(serial) };

	if (inv_exec(inv, "SELECT " CERT_COLS ", pem FROM certificates WHERE "
	    "serial = $1", p, 1, each_row, &a) == -1 || a.failed)
		return -1;
	if (a.n == 0)
		return inv_fail(inv, INV_FAIL_NOT_FOUND, "serial %s is not in %s",
		    serial, inv->label);
	return 0;
}

int
inv_list(struct inv *inv, int (*fn)(const struct inv_cert *cert, void *arg),
    void *arg)
{
	struct each_arg a = { inv, fn, NULL, arg, 0, 0 };

	if (inv_exec(inv, "SELECT " CERT_COLS ", NULL, (SELECT by_serial FROM "
	    "est_superseded s WHERE s.serial = certificates.serial) FROM "
	    "certificates ORDER BY id", NULL, 0, each_row, &a) == -1 ||
	    a.failed)
		return -1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The CRL number                                                     */
/* ------------------------------------------------------------------ */

struct crl_arg {
	long long number;
	struct inv_revoked *v;
	size_t n, cap;
	int oom;
};

static int
crl_number_row(void *arg, int ncol, const char *const *col)
{
	struct crl_arg *a = arg;

	if (ncol == 1 && col[0] != NULL)
		a->number = inv_col_int(col[0]);
	return 0;
}

static int
crl_revoked_row(void *arg, int ncol, const char *const *col)
{
	struct crl_arg *a = arg;

	if (ncol != 3 || col[0] == NULL)
		return 0;
	if (a->n == a->cap) {
		size_t cap = a->cap != 0 ? a->cap * 2 : 64;
		struct inv_revoked *v = realloc(a->v, cap * sizeof(*v));
		if (v == NULL) {
			a->oom = 1;
			return 1;
		}
		a->v = v;
		a->cap = cap;
	}
	if ((a->v[a->n].serial = strdup(col[0])) == NULL) {
		a->oom = 1;
		return 1;
	}
	a->v[a->n].revoked_at = (time_t)inv_col_int(col[1]);
	a->v[a->n].reason = (int)inv_col_int(col[2]);
	a->n++;
	return 0;
}

static int
crl_body(struct inv *inv, void *arg)
{
	struct crl_arg *a = arg;
	const struct inv_param p[] = {
		INV_TEXT(status_col(INV_STATUS_REVOKED)) };

	/* A try that failed may have collected rows: start afresh. */
	inv_revoked_free(a->v, a->n);
	a->v = NULL;
	a->n = a->cap = 0;
	a->number = -1;
	if (inv_exec(inv, "UPDATE ca_state SET value = value + 1 WHERE name = "
	    "'crl_number' RETURNING value", NULL, 0, crl_number_row, a) == -1)
		return -1;
	if (a->number < 1)
		return inv_fail(inv, INV_FAIL_ERROR, "%s: the CRL number is "
		    "missing", inv->label);
	if (inv_exec(inv, "SELECT serial, revoked_at, reason FROM certificates"
	    " WHERE status = $1 ORDER BY id", p, 1, crl_revoked_row, a) == -1)
		return -1;
	if (a->oom)
		return inv_fail(inv, INV_FAIL_ERROR, "%s: out of memory reading "
		    "the revocations", inv->label);
	return 0;
}

int
inv_crl_next(struct inv *inv, long long *number, struct inv_revoked **revoked,
    size_t *n)
{
	struct crl_arg a;

	memset(&a, 0, sizeof(a));
	if (inv_tx(inv, crl_body, &a) == -1) {
		inv_revoked_free(a.v, a.n);
		return -1;
	}
	*number = a.number;
	*revoked = a.v;
	*n = a.n;
	return 0;
}

void
inv_revoked_free(struct inv_revoked *revoked, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(revoked[i].serial);
	free(revoked);
}

/* ------------------------------------------------------------------ */
/* Import                                                             */
/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */
/* The CA the inventory belongs to                                    */
/* ------------------------------------------------------------------ */

struct bind_arg {
	const char *sha256, *who;
	char had[65];
};

static int
bind_row(void *arg, int ncol, const char *const *col)
{
	struct bind_arg *b = arg;

	if (ncol >= 1 && col[0] != NULL)
		snprintf(b->had, sizeof(b->had), "%s", col[0]);
	return 1;
}

static int
bind_body(struct inv *inv, void *arg)
{
	struct bind_arg *b = arg;
	const struct inv_param p[] = { INV_TEXT(b->sha256) };

	b->had[0] = '\0';
	/* Whoever comes first writes; a front end racing it reads the
	 * winner's below. */
	if (inv_exec(inv, "INSERT INTO ca_identity (id, sha256) VALUES (1, $1)"
	    " ON CONFLICT (id) DO NOTHING", p, 1, NULL, NULL) == -1 ||
	    inv_exec(inv, "SELECT sha256 FROM ca_identity WHERE id = 1", NULL,
	    0, bind_row, b) == -1)
		return -1;
	if (strcmp(b->had, b->sha256) != 0)
		return inv_fail(inv, INV_FAIL_ERROR, "%s: belongs to another CA "
		    "(certificate SHA-256 %.16s...), not to %s (%.16s...)",
		    inv->label, b->had, b->who, b->sha256);
	return 0;
}

int
inv_bind_ca(struct inv *inv, const char *sha256, const char *who)
{
	struct bind_arg b = { .sha256 = sha256, .who = who };

	return inv_tx(inv, bind_body, &b);
}

struct import_arg {
	struct inv *dst, *src;
	size_t added, revoked;
	long long crl_number;
	int failed;
};

static int
import_row(void *arg, int ncol, const char *const *col)
{
	struct import_arg *a = arg;
	struct inv_cert c;
	size_t n = 0;

	if (cert_from_row(a->src, ncol, col, &c) == -1 || c.pem == NULL) {
		if (c.pem == NULL)
			inv_fail(a->src, INV_FAIL_ERROR, "%s: certificate %s "
			    "has no PEM", a->src->label, col[0]);
		a->dst->err = a->src->err;
		a->failed = 1;
		return 1;
	}
	const struct inv_param p[] = {
		INV_TEXT(c.serial), INV_TEXT(c.subject), INV_TEXT(c.sans),
		INV_TEXT(kind_col(c.kind)), INV_INT(c.not_before),
		INV_INT(c.not_after), INV_TEXT(status_col(c.status)),
		INV_INT(c.issued_at), INV_TEXT(c.pem),
		c.status == INV_STATUS_REVOKED ? INV_INT(c.revoked_at) :
		    INV_NULL,
		c.status == INV_STATUS_REVOKED ? INV_INT(c.reason) : INV_NULL,
	};
	/* A serial already there is left as it is... */
	if (inv_exec(a->dst, "INSERT INTO certificates (serial, subject, sans,"
	    " kind, not_before, not_after, status, issued_at, pem, revoked_at,"
	    " reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
	    "ON CONFLICT (serial) DO NOTHING RETURNING serial", p,
	    (int)nitems(p), count_rows, &n) == -1) {
		a->failed = 1;
		return 1;
	}
	a->added += n;
	if (n == 1 || c.status != INV_STATUS_REVOKED)
		return 0;
	/* ...but a revocation is never lost. */
	const struct inv_param r[] = { INV_TEXT(c.serial), INV_TEXT(
	    status_col(INV_STATUS_REVOKED)), INV_INT(c.revoked_at),
	    INV_INT(c.reason) };
	n = 0;
	if (inv_exec(a->dst, "UPDATE certificates SET status = $2, revoked_at ="
	    " $3, reason = $4 WHERE serial = $1 AND status <> $2 RETURNING "
	    "serial", r, (int)nitems(r), count_rows, &n) == -1) {
		a->failed = 1;
		return 1;
	}
	a->revoked += n;
	return 0;
}

static int
import_crl_row(void *arg, int ncol, const char *const *col)
{
	if (ncol == 1 && col[0] != NULL)
		*(long long *)arg = inv_col_int(col[0]);
	return 0;
}

/* A supersession (EST re-enrollment) of src's, kept unless dst has one. */
static int
import_superseded_row(void *arg, int ncol, const char *const *col)
{
	struct import_arg *a = arg;

	if (ncol < 3 || col[0] == NULL || col[1] == NULL)
		return 0;
	const struct inv_param p[] = { INV_TEXT(col[0]), INV_TEXT(col[1]),
	    INV_INT(inv_col_int(col[2])) };
	if (inv_exec(a->dst, "INSERT INTO est_superseded (serial, by_serial, "
	    "at) VALUES ($1, $2, $3) ON CONFLICT (serial) DO NOTHING", p, 3,
	    NULL, NULL) == -1) {
		a->failed = 1;
		return 1;
	}
	return 0;
}

static int
import_body(struct inv *inv, void *arg)
{
	struct import_arg *a = arg;

	a->added = a->revoked = 0;
	a->failed = 0;
	a->crl_number = 0;
	if (inv_exec(a->src, "SELECT " CERT_COLS ", pem FROM certificates "
	    "ORDER BY id", NULL, 0, import_row, a) == -1) {
		inv->err = a->src->err;
		inv->fail = INV_FAIL_ERROR;
		return -1;
	}
	if (a->failed)
		return -1;
	if (inv_exec(a->src, "SELECT serial, by_serial, at FROM est_superseded",
	    NULL, 0, import_superseded_row, a) == -1) {
		inv->err = a->src->err;
		inv->fail = INV_FAIL_ERROR;
		return -1;
	}
	if (a->failed)
		return -1;
	if (inv_exec(a->src, "SELECT value FROM ca_state WHERE name = "
	    "'crl_number'", NULL, 0, import_crl_row, &a->crl_number) == -1) {
		inv->err = a->src->err;
		inv->fail = INV_FAIL_ERROR;
		return -1;
	}
	/* The number only grows: every CRL made from here on is numbered
	 * above those made from the old inventory. */
	const struct inv_param p[] = { INV_INT(a->crl_number) };
	return inv_exec(inv, "UPDATE ca_state SET value = $1 WHERE name = "
	    "'crl_number' AND value < $1", p, 1, NULL, NULL);
}

int
inv_import(struct inv *inv, struct inv *src, size_t *added, size_t *revoked)
{
	struct import_arg a;

	memset(&a, 0, sizeof(a));
	a.dst = inv;
	a.src = src;
	if (inv_tx(inv, import_body, &a) == -1)
		return -1;
	*added = a.added;
	*revoked = a.revoked;
	return 0;
}
