/*
 * inv_schema.c - the inventory's schema as a list of migrations, oldest
 * first.  A new database runs all of them; an older one runs those above its
 * version, in one transaction with the version update (inventory.c,
 * inv_migrate).  Append, never edit a migration that has shipped: a
 * database made by it exists somewhere.
 *
 * The two texts differ only where the dialects do (rowid and identity
 * columns, INTEGER and BIGINT).  The words stored in kind and status are
 * inventory.c's column constants.
 */
#include <stddef.h>

#include "ca/inv_backend.h"

const struct inv_migration inv_migrations[] = {
	/* 1: the first SQLite inventory. */
	{ 1,
	  "CREATE TABLE certificates ("
	  "  serial     TEXT PRIMARY KEY,"   /* hex, upper case */
	  "  subject    TEXT NOT NULL,"      /* RFC 2253 one line */
	  "  sans       TEXT NOT NULL,"
	  "  kind       TEXT NOT NULL CHECK (kind IN ('server','client','ca')),"
	  "  not_before INTEGER NOT NULL,"   /* seconds since the epoch */
	  "  not_after  INTEGER NOT NULL,"
	  "  status     TEXT NOT NULL DEFAULT 'valid'"
	  "             CHECK (status IN ('valid','revoked')),"
	  "  revoked_at INTEGER,"
	  "  reason     INTEGER,"            /* RFC 5280 5.3.1 CRLReason */
	  "  issued_at  INTEGER NOT NULL,"
	  "  pem        TEXT NOT NULL"
	  ");"
	  "CREATE TABLE ca_state ("
	  "  name  TEXT PRIMARY KEY,"
	  "  value INTEGER NOT NULL"
	  ");"
	  "INSERT INTO ca_state (name, value) VALUES ('crl_number', 0);",
	  /* PostgreSQL inventories begin in the shape that migration 2 gives
	   * SQLite's. */
	  "CREATE TABLE certificates ("
	  "  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	  "  serial     TEXT NOT NULL UNIQUE,"
	  "  subject    TEXT NOT NULL,"
	  "  sans       TEXT NOT NULL,"
	  "  kind       TEXT NOT NULL CHECK (kind IN ('server','client','ca')),"
	  "  not_before BIGINT NOT NULL,"
	  "  not_after  BIGINT NOT NULL,"
	  "  status     TEXT NOT NULL DEFAULT 'valid',"
	  "  revoked_at BIGINT,"
	  "  reason     INTEGER,"
	  "  issued_at  BIGINT NOT NULL,"
	  "  pem        TEXT NOT NULL"
	  ");"
	  "CREATE INDEX certificates_status ON certificates (status);"
	  "CREATE TABLE ca_state ("
	  "  name  TEXT PRIMARY KEY,"
	  "  value BIGINT NOT NULL"
	  ");"
	  "INSERT INTO ca_state (name, value) VALUES ('crl_number', 0);"
	  "CREATE TABLE schema_version (version INTEGER NOT NULL);"
	  "INSERT INTO schema_version (version) VALUES (0);" },
	/*
	 * 2: an explicit order column (id) instead of SQLite's rowid, which
	 * PostgreSQL has not; the status words checked by the code's table,
	 * not by a CHECK that SQLite can change only by copying the table;
	 * the schema version in a table, as PostgreSQL keeps it.
	 */
	{ 2,
	  "CREATE TABLE certificates_v2 ("
	  "  id         INTEGER PRIMARY KEY,"
	  "  serial     TEXT NOT NULL UNIQUE,"
	  "  subject    TEXT NOT NULL,"
	  "  sans       TEXT NOT NULL,"
	  "  kind       TEXT NOT NULL CHECK (kind IN ('server','client','ca')),"
	  "  not_before INTEGER NOT NULL,"
	  "  not_after  INTEGER NOT NULL,"
	  "  status     TEXT NOT NULL DEFAULT 'valid',"
	  "  revoked_at INTEGER,"
	  "  reason     INTEGER,"
	  "  issued_at  INTEGER NOT NULL,"
	  "  pem        TEXT NOT NULL"
	  ");"
	  "INSERT INTO certificates_v2 (id, serial, subject, sans, kind,"
	  "  not_before, not_after, status, revoked_at, reason, issued_at, pem)"
	  "  SELECT rowid, serial, subject, sans, kind, not_before, not_after,"
	  "  status, revoked_at, reason, issued_at, pem FROM certificates"
	  "  ORDER BY rowid;"
	  "DROP TABLE certificates;"
	  "ALTER TABLE certificates_v2 RENAME TO certificates;"
	  "CREATE INDEX certificates_status ON certificates (status);"
	  "CREATE TABLE schema_version (version INTEGER NOT NULL);"
	  "INSERT INTO schema_version (version) VALUES (1);",
	  NULL },
	/*
	 * 3: the online CA's records (est_store.c): one-time enrollment
	 * tokens, kept as the SHA-256 of the secret with the names they
	 * allow, and the certificates that re-enrollment superseded.
	 */
	{ 3,
	  "CREATE TABLE IF NOT EXISTS est_tokens ("
	  "  hash       TEXT PRIMARY KEY,"   /* SHA-256 of the secret, hex */
	  "  name       TEXT NOT NULL,"
	  "  sans       TEXT NOT NULL,"      /* the SANs it allows */
	  "  kind       TEXT NOT NULL CHECK (kind IN ('server','client')),"
	  "  created_at INTEGER NOT NULL,"
	  "  expires_at INTEGER NOT NULL,"
	  "  used_at    INTEGER,"
	  "  serial     TEXT"                /* what it was used for */
	  ");"
	  "CREATE TABLE IF NOT EXISTS est_superseded ("
	  "  serial     TEXT PRIMARY KEY,"   /* the certificate replaced */
	  "  by_serial  TEXT NOT NULL,"
	  "  at         INTEGER NOT NULL"
	  ");",
	  "CREATE TABLE IF NOT EXISTS est_tokens ("
	  "  hash       TEXT PRIMARY KEY,"
	  "  name       TEXT NOT NULL,"
	  "  sans       TEXT NOT NULL,"
	  "  kind       TEXT NOT NULL CHECK (kind IN ('server','client')),"
	  "  created_at BIGINT NOT NULL,"
	  "  expires_at BIGINT NOT NULL,"
	  "  used_at    BIGINT,"
	  "  serial     TEXT"
	  ");"
	  "CREATE TABLE IF NOT EXISTS est_superseded ("
	  "  serial     TEXT PRIMARY KEY,"
	  "  by_serial  TEXT NOT NULL,"
	  "  at         BIGINT NOT NULL"
	  ");" },
	/*
	 * 4: the CA the inventory belongs to (inv_bind_ca): the SHA-256 of
	 * its certificate, written by the first CA that opens it, so that a
	 * second CA pointed at the same database is refused instead of mixing
	 * its serials and revocations with the first's.
	 */
	{ 4,
	  "CREATE TABLE IF NOT EXISTS ca_identity ("
	  "  id     INTEGER PRIMARY KEY CHECK (id = 1),"
	  "  sha256 TEXT NOT NULL"               /* hex, lower case */
	  ");",
	  "CREATE TABLE IF NOT EXISTS ca_identity ("
	  "  id     INTEGER PRIMARY KEY CHECK (id = 1),"
	  "  sha256 TEXT NOT NULL"
	  ");" },
};

const size_t inv_nmigrations = nitems(inv_migrations);
