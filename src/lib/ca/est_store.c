/*
 * est_store.c - the online CA's records in the inventory (see est.h):
 * enrollment tokens and superseded certificates, written over the
 * inventory's statement interface (inventory.h), so on SQLite and
 * PostgreSQL alike.  Each write is its own transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ca/est.h"

/* The words stored in est_tokens.kind. */
static const char *
kind_word(enum mtls_cert_kind k)
{
	return k == MTLS_CERT_SERVER ? "server" : "client";
}

struct stmt_arg {
	const char *sql;
	const struct inv_param *p;
	int np;
	int rows;
};

static int
count_row(void *arg, int ncol, const char *const *col)
{
	(void)ncol;
	(void)col;
	((struct stmt_arg *)arg)->rows++;
	return 0;
}

static int
stmt_body(struct inv *inv, void *arg)
{
	struct stmt_arg *a = arg;

	a->rows = 0;
	return inv_exec(inv, a->sql, a->p, a->np, count_row, a);
}

/* One write statement in its own transaction; the rows it returned
 * (RETURNING), or -1. */
static int
stmt_tx(struct inv *inv, const char *sql, const struct inv_param *p, int np)
{
	struct stmt_arg a = { sql, p, np, 0 };

	if (inv_tx(inv, stmt_body, &a) == -1)
		return -1;
	return a.rows;
}

int
est_token_add(struct inv *inv, const char *hash, const struct est_token *t)
{
	const struct inv_param p[] = { INV_TEXT(hash), INV_TEXT(t->name),
	    INV_TEXT(t->sans), INV_TEXT(kind_word(t->kind)),
	    INV_INT(time(NULL)), INV_INT(t->expires_at) };

	return stmt_tx(inv, "INSERT INTO est_tokens (hash, name, sans, kind, "
	    "created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)", p, 6) ==
	    -1 ? -1 : 0;
}

static int
token_row(void *arg, int ncol, const char *const *col)
{
	struct est_token *t = arg;

	if (ncol != 5)
		return 1;
	snprintf(t->name, sizeof(t->name), "%s", col[0] != NULL ? col[0] : "");
	snprintf(t->sans, sizeof(t->sans), "%s", col[1] != NULL ? col[1] : "");
	t->kind = col[2] != NULL && strcmp(col[2], "server") == 0 ?
	    MTLS_CERT_SERVER : MTLS_CERT_CLIENT;
	t->expires_at = (time_t)inv_col_int(col[3]);
	t->used_at = (time_t)inv_col_int(col[4]);
	/* A token used at time 0 is still used. */
	if (col[4] != NULL && t->used_at == 0)
		t->used_at = 1;
	return 1;
}

int
est_token_get(struct inv *inv, const char *hash, struct est_token *t)
{
	const struct inv_param p[] = { INV_TEXT(hash) };

	memset(t, 0, sizeof(*t));
	t->expires_at = -1;
	if (inv_exec(inv, "SELECT name, sans, kind, expires_at, used_at FROM "
	    "est_tokens WHERE hash = $1", p, 1, token_row, t) == -1)
		return -1;
	return t->expires_at != -1 ? 1 : 0;
}

int
est_token_consume(struct inv *inv, const char *hash, time_t now)
{
	const struct inv_param p[] = { INV_INT(now), INV_TEXT(hash) };

	/* One statement: of two requests racing with one token, exactly one
	 * changes the row (and gets it back). */
	return stmt_tx(inv, "UPDATE est_tokens SET used_at = $1 WHERE hash = "
	    "$2 AND used_at IS NULL RETURNING hash", p, 2);
}

void
est_token_release(struct inv *inv, const char *hash)
{
	const struct inv_param p[] = { INV_TEXT(hash) };

	(void)stmt_tx(inv, "UPDATE est_tokens SET used_at = NULL WHERE hash = "
	    "$1", p, 1);
}

void
est_token_bind(struct inv *inv, const char *hash, const char *serial)
{
	const struct inv_param p[] = { INV_TEXT(serial), INV_TEXT(hash) };

	(void)stmt_tx(inv, "UPDATE est_tokens SET serial = $1 WHERE hash = $2",
	    p, 2);
}

struct lookup_arg {
	int found, revoked;
	enum mtls_cert_kind kind;
};

static int
lookup_row(void *arg, int ncol, const char *const *col)
{
	struct lookup_arg *a = arg;

	if (ncol != 2)
		return 1;
	a->found = 1;
	a->revoked = col[0] != NULL && strcmp(col[0], "revoked") == 0;
	a->kind = col[1] != NULL && strcmp(col[1], "server") == 0 ?
	    MTLS_CERT_SERVER : col[1] != NULL && strcmp(col[1], "client") ==
	    0 ? MTLS_CERT_CLIENT : MTLS_CERT_CA;
	return 1;
}

int
est_cert_lookup(struct inv *inv, const char *serial, int *revoked,
    enum mtls_cert_kind *kind)
{
	const struct inv_param p[] = { INV_TEXT(serial) };
	struct lookup_arg a = { 0, 0, MTLS_CERT_CA };

	if (inv_exec(inv, "SELECT status, kind FROM certificates WHERE serial "
	    "= $1", p, 1, lookup_row, &a) == -1)
		return -1;
	*revoked = a.revoked;
	*kind = a.kind;
	return a.found;
}

int
est_supersede(struct inv *inv, const char *old_serial, const char *new_serial,
    time_t now)
{
	const struct inv_param p[] = { INV_TEXT(old_serial),
	    INV_TEXT(new_serial), INV_INT(now) };

	/* A certificate renewed twice (the first answer lost) names the
	 * newest. */
	return stmt_tx(inv, "INSERT INTO est_superseded (serial, by_serial, at)"
	    " VALUES ($1, $2, $3) ON CONFLICT (serial) DO UPDATE SET "
	    "by_serial = excluded.by_serial, at = excluded.at", p, 3) == -1 ?
	    -1 : 0;
}

static int
int_row(void *arg, int ncol, const char *const *col)
{
	if (ncol == 1)
		*(int *)arg = (int)inv_col_int(col[0]);
	return 1;
}

int
est_count_revoked(struct inv *inv, int *n)
{
	*n = -1;
	if (inv_exec(inv, "SELECT count(*) FROM certificates WHERE status = "
	    "'revoked'", NULL, 0, int_row, n) == -1 || *n < 0)
		return -1;
	return 0;
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
