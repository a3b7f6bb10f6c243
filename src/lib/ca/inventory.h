/*
 * inventory.h - the CA's inventory: every certificate the CA issued with its
 * status, and the CA's counters (the CRL number), behind one interface with
 * two back ends:
 *
 *   SQLite      a file (DIR/ca.db by default): one machine, the default
 *   PostgreSQL  a postgres:// or postgresql:// URL, through libpq: several
 *               CA front ends over one database
 *
 * Both give the same semantics, which the operations below are written for
 * once (inventory.c), over a small statement interface that each back end
 * implements (inv_backend.h):
 *
 *   - a serial is unique (the database refuses a second row);
 *   - an issuance is committed before its certificate is written or
 *     returned; a revocation is committed before the call returns;
 *   - CRL numbers increase strictly, across every process sharing the
 *     database (one row, updated inside the transaction that reads the
 *     revocations the CRL lists);
 *   - every write is one transaction: SQLite takes the write lock up front
 *     (BEGIN IMMEDIATE, waiting up to INV_BUSY_MS), PostgreSQL runs it
 *     SERIALIZABLE and retries a serialization failure up to INV_RETRIES
 *     times; a lost connection fails the call (INV_FAIL_LOST) and the
 *     transaction is rolled back by the server, so nothing is half-recorded.
 *
 * The inventory has its own error (inv_error()): messages name the database
 * by its label (the file, or the URL without its password; a password never
 * appears in a message).  It knows nothing of the CA object, the CLI or the
 * display names of kinds and reasons: what it stores are its own column
 * constants (inventory.c's tables), so that changing a word shown to people
 * never changes the database format.
 *
 * Extending it (the EST server's enrollment tokens, a new status):
 *   - a table or a column: append a migration to inv_schema.c (its SQLite
 *     and PostgreSQL text), raise INV_SCHEMA_VERSION, and write the
 *     operation here as a function over inv_exec() run by inv_tx();
 *   - a status: add it to enum inv_status and to the status table in
 *     inventory.c (its column word), and append a migration (it may hold no
 *     SQL) so that an older mtls refuses a database that may hold it.
 */
#ifndef MTLS_INVENTORY_H
#define MTLS_INVENTORY_H

#include <time.h>

#include "core/internal.h"

#define INV_BUSY_MS 10000   /* SQLite: how long a writer waits for the lock */
#define INV_RETRIES 8       /* PostgreSQL: tries of a serializable write */

struct inv;

/* What the last failure was, for the callers that act on it. */
enum inv_fail {
	INV_FAIL_NONE = 0,
	INV_FAIL_ERROR,     /* any other failure */
	INV_FAIL_UNIQUE,    /* a unique key is taken (a serial) */
	INV_FAIL_RETRY,     /* serialization failure or deadlock: try again */
	INV_FAIL_LOST,      /* the connection is gone (the outcome of a commit
	                     * in flight is unknown) */
	INV_FAIL_NOT_FOUND, /* no such row */
	INV_FAIL_CONFLICT,  /* the row is not in the state asked (revoked) */
};

/* A certificate's status as stored (EXPIRED is derived, never stored). */
enum inv_status {
	INV_STATUS_VALID = 0,
	INV_STATUS_REVOKED,
};

/* The kinds of certificate, as stored. */
enum inv_kind {
	INV_KIND_SERVER = 1,
	INV_KIND_CLIENT,
	INV_KIND_CA,
};

/* One certificate. Strings belong to the inventory during a callback. */
struct inv_cert {
	const char *serial;   /* upper-case hex, no separators */
	const char *subject;  /* RFC 2253 one line */
	const char *sans;     /* "" when none */
	enum inv_kind kind;
	time_t not_before;
	time_t not_after;
	time_t issued_at;
	enum inv_status status;
	time_t revoked_at;    /* 0 unless revoked */
	int reason;           /* RFC 5280 5.3.1 CRLReason code, when revoked */
	const char *pem;      /* may be NULL when a listing does not read it */
	const char *superseded_by; /* the serial that re-enrollment (EST)
	                            * issued in its place; NULL: none, or not
	                            * read */
};

/* One revocation, for a CRL. */
struct inv_revoked {
	char *serial;
	time_t revoked_at;
	int reason;
};

/* 1 when target names a PostgreSQL database (a postgres:// or
 * postgresql:// URL), else 0 (an SQLite file). */
int inv_is_postgres(const char *target);
/* The target as it may be shown: the URL without its password (or the
 * path); a heap string, NULL on out of memory. */
char *inv_label(const char *target);

/*
 * Opens the inventory at target (a file path or a postgres:// URL).  With
 * create, the schema is made (refused when one exists); without, the schema
 * must be there: an older SQLite file is migrated in place (one machine
 * owns it); an older PostgreSQL schema is refused until migrated
 * (inv_migrate), so that N front ends never race to change it.  With
 * create -1, any schema is opened as it is (to migrate it).  NULL with *err
 * set on failure.
 */
struct inv *inv_open(const char *target, int create, struct mtls_error *err);
void inv_close(struct inv *inv);
const struct mtls_error *inv_error(const struct inv *inv);
enum inv_fail inv_last_fail(const struct inv *inv);
/* The name of the database in messages. */
const char *inv_name(const struct inv *inv);

/* The schema this mtls writes, and the one the database holds. */
#define INV_SCHEMA_VERSION 4
int inv_schema_version(struct inv *inv, int *version) MTLS_MUST_CHECK;
/* Brings the schema to INV_SCHEMA_VERSION; *from says where it was. */
int inv_migrate(struct inv *inv, int *from) MTLS_MUST_CHECK;

/* Records a certificate (status valid).  0, 1 when its serial is taken,
 * -1 on error. */
int inv_record(struct inv *inv, const struct inv_cert *cert) MTLS_MUST_CHECK;
/* Removes a row (undoing a record whose certificate was never used). */
int inv_forget(struct inv *inv, const char *serial);

/* Marks serial revoked at now for reason (a CRLReason code).  -1 with
 * INV_FAIL_NOT_FOUND when it is absent, INV_FAIL_CONFLICT when it is
 * already revoked (then *prev holds when and why, if prev is non-NULL). */
int inv_revoke(struct inv *inv, const char *serial, int reason, time_t now,
    struct inv_cert *prev) MTLS_MUST_CHECK;

/* One certificate's row, to fn (pem included); -1 INV_FAIL_NOT_FOUND when
 * absent. */
int inv_status(struct inv *inv, const char *serial,
    void (*fn)(const struct inv_cert *cert, void *arg), void *arg)
    MTLS_MUST_CHECK;

/* Calls fn for every certificate, oldest first (pem not read); fn returns
 * non-zero to stop. */
int inv_list(struct inv *inv, int (*fn)(const struct inv_cert *cert,
    void *arg), void *arg) MTLS_MUST_CHECK;

/* In one transaction: takes the next CRL number and the revocations it
 * covers (*revoked, *n, freed with inv_revoked_free). */
int inv_crl_next(struct inv *inv, long long *number,
    struct inv_revoked **revoked, size_t *n) MTLS_MUST_CHECK;
void inv_revoked_free(struct inv_revoked *revoked, size_t n);

/* Ties the inventory to the CA whose certificate has this SHA-256 (hex):
 * the first CA to open it is written down; another is refused (who names
 * it in the message). */
int inv_bind_ca(struct inv *inv, const char *sha256, const char *who)
    MTLS_MUST_CHECK;

/*
 * Copies every certificate of src into inv, and the CRL number when src's
 * is higher, in one transaction.  Idempotent: a serial present in both is
 * left alone, except that a revocation in src is carried over to a row
 * still valid in inv.  *added and *revoked count the changes.
 */
int inv_import(struct inv *inv, struct inv *src, size_t *added,
    size_t *revoked) MTLS_MUST_CHECK;

/* ---- for operations written over the statement interface ---------- */

/* One statement parameter: text (NULL text is SQL NULL), an integer, or
 * NULL. */
enum inv_param_type { INV_P_NULL, INV_P_TEXT, INV_P_INT };
struct inv_param {
	enum inv_param_type type;
	const char *text;
	long long num;
};
#define INV_TEXT(s) ((struct inv_param){ INV_P_TEXT, (s), 0 })
#define INV_INT(n) ((struct inv_param){ INV_P_INT, NULL, (long long)(n) })
#define INV_NULL ((struct inv_param){ INV_P_NULL, NULL, 0 })

/* A row of results: ncol columns as text (NULL for SQL NULL).  Returns
 * non-zero to stop reading. */
typedef int (*inv_row_fn)(void *arg, int ncol, const char *const *col);

/* Runs one statement, written with $1, $2... placeholders (both back ends
 * take them), calling fn for each row (fn may be NULL). */
int inv_exec(struct inv *inv, const char *sql, const struct inv_param *p,
    int np, inv_row_fn fn, void *arg) MTLS_MUST_CHECK;

/* Runs body(inv, arg) in a write transaction, committing when it returns 0;
 * tries again, up to INV_RETRIES times, when the database reports a
 * serialization failure (body must be safe to run again). */
int inv_tx(struct inv *inv, int (*body)(struct inv *inv, void *arg),
    void *arg) MTLS_MUST_CHECK;

/* Sets the inventory's error (MTLS_ERR_DB) and its failure kind; -1. */
int inv_fail(struct inv *inv, enum inv_fail kind, const char *fmt, ...)
    MTLS_PRINTF(3, 4);

/* Parses a decimal column; 0 for NULL or junk. */
long long inv_col_int(const char *s);

#endif
