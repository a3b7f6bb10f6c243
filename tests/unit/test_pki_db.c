/*
 * test_pki_db.c - the CA inventory: 1000 issues give 1000 distinct serials
 * of 126 bits; two processes issuing into the same CA at once both succeed
 * and the database stays whole; a taken serial is detected; a database that
 * is not ours is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/wait.h>

#include "ca/ca_db.h"
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

/* Runs a query returning one integer (or text compared to "ok"). */
static long long
query_int(struct mtls_ca *ca, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;

	assert_int_equal(sqlite3_prepare_v2(ca->db, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) == SQLITE_TEXT)
			v = strcmp((const char *)sqlite3_column_text(st, 0),
			    "ok") == 0 ? 1 : 0;
		else
			v = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return v;
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
	struct ca_db_cert row = { 0 };
	struct mtls_ca *ca = new_ca("coll");

	(void)state;
	row.serial = "4ABC";
	row.subject = "CN=x";
	row.sans = "";
	row.kind = MTLS_CERT_CLIENT;
	row.pem = "-";
	assert_int_equal(ca_db_insert(ca, &row), 0);
	/* The same serial again: reported as taken, nothing left locked. */
	assert_int_equal(ca_db_insert(ca, &row), 1);
	assert_int_equal(sqlite3_get_autocommit(ca->db), 1);
	row.serial = "4ABD";
	assert_int_equal(ca_db_insert(ca, &row), 0);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serials_unique),
		cmocka_unit_test(test_concurrent_issuers),
		cmocka_unit_test(test_serial_collision),
		cmocka_unit_test(test_foreign_db),
	};

	return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
