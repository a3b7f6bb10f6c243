/*
 * inv_backend.h - what an inventory back end implements (inv_sqlite.c,
 * inv_pg.c): a connection, transactions, statements with $N parameters and
 * rows as text, and the schema version.  Everything the inventory means is
 * in inventory.c, written once over this.
 */
#ifndef MTLS_INV_BACKEND_H
#define MTLS_INV_BACKEND_H

#include "ca/inventory.h"

struct inv_backend {
	const char *name;   /* "SQLite", "PostgreSQL" */
	/* Connects to inv->target; with create, the database may be new. */
	int (*connect)(struct inv *inv, int create);
	void (*close)(struct inv *inv);
	/* A write transaction: the write lock (SQLite) or SERIALIZABLE
	 * (PostgreSQL).  Reconnects first when the connection was lost. */
	int (*begin)(struct inv *inv);
	int (*commit)(struct inv *inv);
	void (*rollback)(struct inv *inv);
	int (*exec)(struct inv *inv, const char *sql, const struct inv_param *p,
	    int np, inv_row_fn fn, void *arg);
	/* Several statements without parameters (a migration). */
	int (*script)(struct inv *inv, const char *sql);
	/* The schema version (0: no schema), and setting it inside the
	 * migration's transaction. */
	int (*version)(struct inv *inv, int *version);
	int (*set_version)(struct inv *inv, int version);
	/* Around a migration's transaction (lock 1, then 0): keeps two
	 * migrating processes apart.  NULL when the write transaction already
	 * does (SQLite's write lock). */
	int (*lock_schema)(struct inv *inv, int lock);
};

struct inv {
	const struct inv_backend *be;
	void *conn;          /* sqlite3 * or PGconn * */
	char *target;        /* as given: may hold a password, never shown */
	char *label;         /* for messages */
	char *secret;        /* the password, scrubbed from any message */
	int in_tx;
	int connect_timeout; /* seconds, 0: none (PostgreSQL) */
	enum inv_fail fail;
	struct mtls_error err;
};

extern const struct inv_backend inv_sqlite_backend;
extern const struct inv_backend inv_pg_backend;

/* The migrations, oldest first (inv_schema.c). */
struct inv_migration {
	int version;         /* the version it brings the schema to */
	const char *sqlite;  /* NULL: nothing to run */
	const char *pg;
};
extern const struct inv_migration inv_migrations[];
extern const size_t inv_nmigrations;

#endif
