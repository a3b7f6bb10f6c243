/*
 * test_pki_db.c - the CA inventory: 1000 issues give 1000 distinct serials
 * of 126 bits; two processes issuing into the same CA at once both succeed
 * and the database stays whole; a taken serial is detected; a database that
 * is not ours is refused; a version 1 file is migrated in place, its rows
 * and their order kept; what is stored are the inventory's own words and
 * RFC 5280 codes; a URL's password never reaches a label or a message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/wait.h>

#include <sqlite3.h>

#include "ca/inventory.h"
#include "pki_test.h"

static int
issue_n(struct mtls_ca *ca, struct mtls_key *key, int n, const char *cn)
{
	struct mtls_issue_options io = { 0 };
	struct mtls_names names = { 0 };

	io.kind = MTLS_CERT_CLIENT;
	names.common_name = cn;
	for (int i = 0; i < n; i++) {
		struct mtls_cert *c = mtls_ca_issue(ca, key, &names, &io);
		if (c == NULL) {
			fprintf(stderr, "issue %d: %s\n", i, mtls_ca_error(ca));
			return -1;
		}
		mtls_cert_free(c);
	}
	return 0;
}

struct rows {
	int n;
	int by_cn[2];
	int short_serials;
};

static int
count_row(const struct mtls_ca_record *rec, void *arg)
{
	struct rows *r = arg;

	r->n++;
	if (strlen(rec->serial) != 32 || rec->serial[0] < '4' ||
	    rec->serial[0] > '7')
		r->short_serials++;
	if (strcmp(rec->subject, "CN=one") == 0)
		r->by_cn[0]++;
	else if (strcmp(rec->subject, "CN=two") == 0)
		r->by_cn[1]++;
	return 0;
}

static int
first_col(void *arg, int ncol, const char *const *col)
{
	char *out = arg;

	snprintf(out, 256, "%s", ncol > 0 && col[0] != NULL ? col[0] : "NULL");
	return 1;
}

/* Runs a query through the inventory; its first column as text. */
static char *
query_text(struct mtls_ca *ca, const char *sql)
{
	static char out[256];

	strcpy(out, "(no row)");
	assert_int_equal(inv_exec(ca->inv, sql, NULL, 0, first_col, out), 0);
	return out;
}

static long long
query_int(struct mtls_ca *ca, const char *sql)
{
	const char *s = query_text(ca, sql);

	return strcmp(s, "ok") == 0 ? 1 : strtoll(s, NULL, 10);
}

static void
test_serials_unique(void **state)
{
	struct mtls_error err;
	struct mtls_ca *ca = new_ca("many");
	struct mtls_key *key = mtls_key_generate(MTLS_KEY_EC_P256, &err);
	struct rows r = { 0 };

	(void)state;
	assert_int_equal(issue_n(ca, key, 1000, "one"), 0);
	assert_int_equal(mtls_ca_list(ca, count_row, &r), 0);
	assert_int_equal(r.n, 1000);
	assert_int_equal(r.short_serials, 0);
	assert_int_equal(query_int(ca, "SELECT COUNT(DISTINCT serial) FROM "
	    "certificates;"), 1000);
	mtls_key_free(key);
	mtls_ca_free(ca);
}

static void
test_concurrent_issuers(void **state)
{
	struct mtls_error err;
	struct mtls_ca *ca = new_ca("shared");
	char *cadir = path_join(dir, "shared");
	struct rows r = { 0 };
	pid_t pids[2];

	(void)state;
	mtls_ca_free(ca);
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		assert_true(pids[i] != -1);
		if (pids[i] == 0) {
			/* Each child opens the CA itself, as two commands
			 * would. */
			struct mtls_error e;
			struct mtls_ca *c = mtls_ca_open(cadir, NULL, &e);
			struct mtls_key *k = mtls_key_generate(
			    MTLS_KEY_EC_P256, &e);
			if (c == NULL || k == NULL)
				_exit(2);
			int rc = issue_n(c, k, 100, i == 0 ? "one" : "two");
			mtls_key_free(k);
			mtls_ca_free(c);
			_exit(rc == 0 ? 0 : 1);
		}
	}
	for (int i = 0; i < 2; i++) {
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	ca = mtls_ca_open(cadir, NULL, &err);
	assert_non_null(ca);
	assert_int_equal(mtls_ca_list(ca, count_row, &r), 0);
	assert_int_equal(r.n, 200);
	assert_int_equal(r.by_cn[0], 100);
	assert_int_equal(r.by_cn[1], 100);
	assert_int_equal(query_int(ca, "SELECT COUNT(DISTINCT serial) FROM "
	    "certificates;"), 200);
	assert_int_equal(query_int(ca, "PRAGMA integrity_check;"), 1);
	mtls_ca_free(ca);
	free(cadir);
}

static void
test_serial_collision(void **state)
{
	struct inv_cert row = { 0 };
	struct mtls_ca *ca = new_ca("coll");

	(void)state;
	row.serial = "4ABC";
	row.subject = "CN=x";
	row.sans = "";
	row.kind = INV_KIND_CLIENT;
	row.pem = "-";
	assert_int_equal(inv_record(ca->inv, &row), 0);
	/* The same serial again: reported as taken, nothing left locked
	 * (another transaction can start). */
	assert_int_equal(inv_record(ca->inv, &row), 1);
	row.serial = "4ABD";
	assert_int_equal(inv_record(ca->inv, &row), 0);
	assert_int_equal(query_int(ca, "SELECT COUNT(*) FROM certificates;"),
	    2);
	mtls_ca_free(ca);
}

static void
test_foreign_db(void **state)
{
	struct mtls_error err;
	struct mtls_ca *ca = new_ca("foreign");
	char *cadir = path_join(dir, "foreign");
	char *db = path_join(cadir, "ca.db");
	sqlite3 *h;

	(void)state;
	mtls_ca_free(ca);
	assert_int_equal(unlink(db), 0);
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "CREATE TABLE t (x);", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(h);
	assert_null(mtls_ca_open(cadir, NULL, &err));
	assert_int_equal(err.code, MTLS_ERR_DB);
	assert_non_null(strstr(err.msg, db));
	assert_non_null(strstr(err.msg, "not an mtls CA inventory"));

	/* And a missing one. */
	assert_int_equal(unlink(db), 0);
	assert_null(mtls_ca_open(cadir, NULL, &err));
	assert_int_equal(err.code, MTLS_ERR_DB);
	assert_non_null(strstr(err.msg, db));
	free(db);
	free(cadir);
}

/* A file as the first mtls wrote it (schema version 1, rowid order). */
static void
test_migrate_v1(void **state)
{
	struct mtls_error err;
	struct mtls_ca *ca = new_ca("old");
	char *cadir = path_join(dir, "old");
	char *db = path_join(cadir, "ca.db");
	char *wal = path_join(cadir, "ca.db-wal");
	char *shm = path_join(cadir, "ca.db-shm");
	sqlite3 *h;

	(void)state;
	mtls_ca_free(ca);
	unlink(db);
	unlink(wal);
	unlink(shm);
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "PRAGMA journal_mode=WAL;"
	    "CREATE TABLE certificates (serial TEXT PRIMARY KEY, subject TEXT "
	    "NOT NULL, sans TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN "
	    "('server','client','ca')), not_before INTEGER NOT NULL, not_after "
	    "INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'valid' CHECK "
	    "(status IN ('valid','revoked')), revoked_at INTEGER, reason "
	    "INTEGER, issued_at INTEGER NOT NULL, pem TEXT NOT NULL);"
	    "CREATE TABLE ca_state (name TEXT PRIMARY KEY, value INTEGER NOT "
	    "NULL);"
	    "INSERT INTO ca_state VALUES ('crl_number', 7);"
	    "INSERT INTO certificates VALUES ('7B', 'CN=b', '', 'client', 1, "
	    "4000000000, 'valid', NULL, NULL, 1, '-');"
	    "INSERT INTO certificates VALUES ('4A', 'CN=a', 'DNS:a', 'server', "
	    "1, 4000000000, 'revoked', 5, 1, 1, '-');"
	    "PRAGMA user_version=1;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);

	ca = mtls_ca_open(cadir, NULL, &err);
	assert_non_null(ca);
	assert_int_equal(query_int(ca, "SELECT version FROM schema_version"),
	    INV_SCHEMA_VERSION);
	assert_int_equal(query_int(ca, "PRAGMA user_version"),
	    INV_SCHEMA_VERSION);
	/* Oldest first, as before: 7B was inserted first. */
	assert_string_equal(query_text(ca, "SELECT group_concat(serial) FROM "
	    "(SELECT serial FROM certificates ORDER BY id)"), "7B,4A");
	assert_int_equal(query_int(ca, "SELECT reason FROM certificates WHERE "
	    "serial = '4A'"), 1);
	/* The CRL number carries on from 7. */
	char *crl = path_join(cadir, "crl.pem");
	assert_int_equal(mtls_ca_write_crl(ca, crl, 1, 0), 0);
	assert_int_equal(query_int(ca, "SELECT value FROM ca_state"), 8);
	mtls_ca_free(ca);
	/* Opened again: nothing more to do. */
	ca = mtls_ca_open(cadir, NULL, &err);
	assert_non_null(ca);
	mtls_ca_free(ca);
	free(crl);
	free(db);
	free(wal);
	free(shm);
	free(cadir);
}

/* The stored words are the inventory's, and reasons their RFC 5280 codes,
 * whatever the display names say. */
static void
test_stored_words(void **state)
{
	struct mtls_ca *ca = new_ca("words");
	struct mtls_error err;
	struct mtls_key *key = mtls_key_generate(MTLS_KEY_EC_P256, &err);
	struct mtls_issue_options io = { 0 };
	struct mtls_names names = { 0 };
	struct mtls_cert *c;
	char *serial;

	(void)state;
	io.kind = MTLS_CERT_SERVER;
	names.common_name = "w.example";
	c = mtls_ca_issue(ca, key, &names, &io);
	assert_non_null(c);
	serial = x509_serial_hex(X509_get0_serialNumber(sk_X509_value(
	    c->certs, 0)));
	assert_int_equal(mtls_ca_revoke(ca, serial,
	    MTLS_REVOKE_CESSATION_OF_OPERATION), 0);
	assert_string_equal(query_text(ca, "SELECT kind || ',' || status || "
	    "',' || reason FROM certificates"), "server,revoked,5");
	/* Revoked twice: refused, the first reason kept and named. */
	assert_int_equal(mtls_ca_revoke(ca, serial, MTLS_REVOKE_SUPERSEDED),
	    -1);
	assert_non_null(strstr(mtls_ca_error(ca), "already revoked"));
	assert_non_null(strstr(mtls_ca_error(ca), "cessationOfOperation"));
	assert_int_equal(mtls_ca_revoke(ca, "0BAD", MTLS_REVOKE_SUPERSEDED),
	    -1);
	assert_non_null(strstr(mtls_ca_error(ca), "not in"));
	free(serial);
	mtls_cert_free(c);
	mtls_key_free(key);
	mtls_ca_free(ca);
}

/* A URL's password shows nowhere: not in the label, not in a message. */
static void
test_label_redacts(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "postgres://ca:s3cret-pw@db.example:5432/mtls",
		  "postgres://ca:***@db.example:5432/mtls" },
		{ "postgresql://ca@db/mtls?sslmode=require&password=s3cret-pw",
		  "postgresql://ca@db/mtls?sslmode=require&password=***" },
		{ "postgres://ca:a%40b@h/d?password=x&user=ca",
		  "postgres://ca:***@h/d?password=***&user=ca" },
		{ "postgres:///mtls?host=/tmp/s", "postgres:///mtls?host=/tmp/s" },
		{ "/var/lib/mtls/ca.db", "/var/lib/mtls/ca.db" },
	};
	struct mtls_error err;

	(void)state;
	for (size_t i = 0; i < nitems(cases); i++) {
		char *l = mtls_ca_db_label(cases[i].in);
		assert_non_null(l);
		assert_string_equal(l, cases[i].out);
		free(l);
	}
	/* Nothing listens on port 1: the message names the database. */
	assert_int_equal(mtls_ca_db_init("postgres://ca:s3cret-pw@127.0.0.1:1/"
	    "mtls?connect_timeout=5", &err), -1);
	assert_int_equal(err.code, MTLS_ERR_DB);
	assert_non_null(strstr(err.msg, "postgres://ca:***@127.0.0.1:1/"));
	assert_null(strstr(err.msg, "s3cret"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serials_unique),
		cmocka_unit_test(test_concurrent_issuers),
		cmocka_unit_test(test_serial_collision),
		cmocka_unit_test(test_foreign_db),
		cmocka_unit_test(test_migrate_v1),
		cmocka_unit_test(test_stored_words),
		cmocka_unit_test(test_label_redacts),
	};

	return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
