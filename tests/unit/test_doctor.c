/*
 * test_doctor.c - the diagnosis through its public API: the table (codes
 * unique and documented, texts and slots consistent), option errors, the
 * finding accessors, and mtls_doctor_run() on setups made in the test with
 * the library's own CA: healthy, wrong key, wrong name, and certificates
 * seen at other times (opt.now), plus a refused connection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mtls.h"

static char dir[] = "/tmp/mtls-test-doctor.XXXXXX";
static char ca_crt[256], srv_crt[256], srv_key[256], cli_crt[256],
    cli_key[256], other_key[256];

static void
path(char *buf, const char *name)
{
	snprintf(buf, 256, "%s/%s", dir, name);
}

/* Issues a certificate of kind for names from ca into prefix.crt/.key. */
static void
issue(struct mtls_ca *ca, enum mtls_cert_kind kind, const char *cn,
    const char *crt, const char *keyfile)
{
	struct mtls_error err;
	struct mtls_key *key = mtls_key_generate(MTLS_KEY_EC_P256, &err);
	struct mtls_names names = { .common_name = cn };
	struct mtls_issue_options io = { .kind = kind, .days = 90 };
	struct mtls_cert *cert;

	assert_non_null(key);
	cert = mtls_ca_issue(ca, key, &names, &io);
	assert_non_null(cert);
	assert_int_equal(mtls_cert_write_file(cert, crt, 0, &err), 0);
	assert_int_equal(mtls_key_write_file(key, keyfile, NULL, 0, &err), 0);
	mtls_cert_free(cert);
	mtls_key_free(key);
}

static int
setup(void **state)
{
	struct mtls_ca_options co = { 0 };
	struct mtls_error err;
	struct mtls_ca *ca;
	char cadir[256];
	struct mtls_key *k;

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	path(cadir, "ca");
	co.dir = cadir;
	co.name = "Doctor Unit CA";
	if ((ca = mtls_ca_create(&co, &err)) == NULL) {
		fprintf(stderr, "mtls_ca_create: %s\n", err.msg);
		return -1;
	}
	path(ca_crt, "ca/ca.crt");
	path(srv_crt, "server.crt");
	path(srv_key, "server.key");
	path(cli_crt, "client.crt");
	path(cli_key, "client.key");
	path(other_key, "other.key");
	issue(ca, MTLS_CERT_SERVER, "localhost", srv_crt, srv_key);
	issue(ca, MTLS_CERT_CLIENT, "client", cli_crt, cli_key);
	mtls_ca_free(ca);
	k = mtls_key_generate(MTLS_KEY_EC_P256, &err);
	if (k == NULL || mtls_key_write_file(k, other_key, NULL, 0, &err) != 0)
		return -1;
	mtls_key_free(k);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* 1 when d holds a finding with code. */
static int
has(const struct mtls_doctor *d, const char *code)
{
	for (size_t i = 0; i < mtls_doctor_count(d); i++)
		if (strcmp(mtls_doctor_code(d, i), code) == 0)
			return 1;
	return 0;
}

static void
dump(const struct mtls_doctor *d)
{
	for (size_t i = 0; i < mtls_doctor_count(d); i++)
		fprintf(stderr, "  %s [%s] %s\n", mtls_doctor_code(d, i),
		    mtls_doctor_subject(d, i), mtls_doctor_explanation(d, i));
}

static struct mtls_doctor *
run(const struct mtls_doctor_options *opt)
{
	struct mtls_error err;
	struct mtls_doctor *d = mtls_doctor_run(opt, &err);

	if (d == NULL)
		fprintf(stderr, "mtls_doctor_run: %s\n", err.msg);
	assert_non_null(d);
	return d;
}

/* ---- the table ------------------------------------------------------ */

static int
max_slot(const char *t)
{
	int m = 0;

	for (; *t; t++)
		if (t[0] == '%' && t[1] >= '1' && t[1] <= '9' && t[1] - '0' > m)
			m = t[1] - '0';
	return m;
}

static void
test_table(void **state)
{
	size_t n = mtls_doctor_table_size();
	const char *code, *slots, *expl, *fix, *code2;
	enum mtls_severity sev;

	(void)state;
	assert_true(n >= 60);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(mtls_doctor_table_entry(i, &code, &sev,
		    &slots, &expl, &fix), 0);
		/* Stable codes: lower-case words joined by '-'. */
		assert_true(strlen(code) > 2);
		assert_int_equal(strspn(code, "abcdefghijklmnopqrstuvwxyz0123"
		    "456789-"), strlen(code));
		/* "ok-" codes, and only they, are checks that passed. */
		assert_int_equal(strncmp(code, "ok-", 3) == 0,
		    sev == MTLS_SEVERITY_OK);
		assert_true(strlen(expl) > 10);
		assert_true(strlen(fix) >= 2);
		/* As many slot names as the texts use. */
		int words = 0;
		for (const char *p = slots; *p; p++)
			if (p == slots || p[-1] == ' ')
				words++;
		int m = max_slot(expl) > max_slot(fix) ? max_slot(expl) :
		    max_slot(fix);
		if (m != words)
			fail_msg("%s: slots \"%s\" but the texts use %%%d",
			    code, slots, m);
		for (size_t j = 0; j < i; j++) {
			mtls_doctor_table_entry(j, &code2, NULL, NULL, NULL,
			    NULL);
			if (strcmp(code, code2) == 0)
				fail_msg("code %s declared twice", code);
		}
	}
	assert_int_equal(mtls_doctor_table_entry(n, &code, &sev, &slots,
	    &expl, &fix), -1);
	assert_string_equal(mtls_severity_name(MTLS_SEVERITY_ERROR), "error");
	assert_string_equal(mtls_severity_name(MTLS_SEVERITY_WARNING),
	    "warning");
	assert_string_equal(mtls_severity_name(MTLS_SEVERITY_OK), "ok");
}

/* Every code has its section in docs/doctor.md. */
static void
test_documented(void **state)
{
	const char *top = getenv("MTLS_TOP");
	char file[512], *doc;
	const char *code;
	FILE *f;
	long len;

	(void)state;
	if (top == NULL)
		skip();
	snprintf(file, sizeof(file), "%s/docs/doctor.md", top);
	assert_non_null(f = fopen(file, "r"));
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	assert_non_null(doc = calloc(1, (size_t)len + 1));
	assert_int_equal(fread(doc, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	for (size_t i = 0; i < mtls_doctor_table_size(); i++) {
		char head[128];
		mtls_doctor_table_entry(i, &code, NULL, NULL, NULL, NULL);
		snprintf(head, sizeof(head), "### `%s`\n", code);
		if (strstr(doc, head) == NULL)
			fail_msg("%s is not documented in %s", code, file);
	}
	free(doc);
}

/* ---- options and accessors ------------------------------------------ */

static void
test_usage(void **state)
{
	struct mtls_doctor_options opt = { 0 };
	struct mtls_error err;

	(void)state;
	assert_null(mtls_doctor_run(NULL, &err));
	assert_int_equal(err.code, MTLS_ERR_USAGE);
	assert_null(mtls_doctor_run(&opt, &err));
	assert_int_equal(err.code, MTLS_ERR_USAGE);
	opt.connect = "no-port";
	assert_null(mtls_doctor_run(&opt, &err));
	assert_int_equal(err.code, MTLS_ERR_USAGE);
	opt.connect = "[::1:443";
	assert_null(mtls_doctor_run(&opt, &err));
	opt.connect = "host:99999";
	assert_null(mtls_doctor_run(&opt, &err));
	opt.connect = "127.0.0.1:1";
	opt.role = MTLS_PURPOSE_SERVER;
	assert_null(mtls_doctor_run(&opt, &err));
	assert_int_equal(err.code, MTLS_ERR_USAGE);
	opt.role = MTLS_PURPOSE_ANY;
	opt.connect = NULL;
	opt.cert_file = srv_crt;
	opt.role = (enum mtls_purpose)42;
	assert_null(mtls_doctor_run(&opt, &err));
	assert_int_equal(err.code, MTLS_ERR_USAGE);
	/* Harmless on NULL and past the end. */
	mtls_doctor_free(NULL);
	assert_int_equal(mtls_doctor_count(NULL), 0);
	assert_null(mtls_doctor_code(NULL, 0));
}

static void
test_file_missing(void **state)
{
	struct mtls_doctor_options opt = { 0 };
	char missing[256];
	struct mtls_doctor *d;

	(void)state;
	path(missing, "no/such.crt");
	opt.cert_file = missing;
	d = run(&opt);
	assert_int_equal(mtls_doctor_count(d), 1);
	assert_string_equal(mtls_doctor_code(d, 0), "file-missing");
	assert_int_equal(mtls_doctor_severity(d, 0), MTLS_SEVERITY_ERROR);
	assert_string_equal(mtls_doctor_subject(d, 0), missing);
	assert_non_null(strstr(mtls_doctor_explanation(d, 0), missing));
	assert_non_null(mtls_doctor_fix(d, 0));
	assert_int_equal(mtls_doctor_count_severity(d, MTLS_SEVERITY_ERROR),
	    1);
	assert_null(mtls_doctor_code(d, 1));
	assert_null(mtls_doctor_explanation(d, 1));
	mtls_doctor_free(d);
}

/* ---- setups ----------------------------------------------------------- */

static void
test_healthy(void **state)
{
	struct mtls_doctor_options opt = { .cert_file = srv_crt,
	    .key_file = srv_key, .ca_file = ca_crt,
	    .role = MTLS_PURPOSE_SERVER, .name = "localhost" };
	struct mtls_doctor *d;

	(void)state;
	d = run(&opt);
	if (mtls_doctor_count_severity(d, MTLS_SEVERITY_ERROR) != 0 ||
	    mtls_doctor_count_severity(d, MTLS_SEVERITY_WARNING) != 0)
		dump(d);
	assert_int_equal(mtls_doctor_count_severity(d, MTLS_SEVERITY_ERROR),
	    0);
	assert_int_equal(mtls_doctor_count_severity(d,
	    MTLS_SEVERITY_WARNING), 0);
	assert_true(has(d, "ok-key-match"));
	assert_true(has(d, "ok-chain"));
	assert_true(has(d, "ok-name"));
	assert_true(has(d, "ok-usage"));
	mtls_doctor_free(d);

	opt.cert_file = cli_crt;
	opt.key_file = cli_key;
	opt.role = MTLS_PURPOSE_CLIENT;
	opt.name = NULL;
	d = run(&opt);
	assert_int_equal(mtls_doctor_count_severity(d, MTLS_SEVERITY_ERROR),
	    0);
	mtls_doctor_free(d);
}

static void
test_wrong_key_name_role(void **state)
{
	struct mtls_doctor_options opt = { .cert_file = srv_crt,
	    .key_file = other_key, .ca_file = ca_crt,
	    .role = MTLS_PURPOSE_SERVER, .name = "api.example.com" };
	struct mtls_doctor *d;

	(void)state;
	d = run(&opt);
	assert_true(has(d, "key-mismatch"));
	assert_true(has(d, "name-not-in-san"));
	assert_false(has(d, "ok-key-match"));
	mtls_doctor_free(d);

	/* A client certificate used by a server, and the reverse. */
	opt.cert_file = cli_crt;
	opt.key_file = cli_key;
	opt.name = NULL;
	d = run(&opt);
	assert_true(has(d, "usage-no-serverauth"));
	mtls_doctor_free(d);
	opt.cert_file = srv_crt;
	opt.key_file = srv_key;
	opt.role = MTLS_PURPOSE_CLIENT;
	d = run(&opt);
	assert_true(has(d, "usage-no-clientauth"));
	mtls_doctor_free(d);
}

/* The same certificate, seen from other times. */
static void
test_times(void **state)
{
	struct mtls_doctor_options opt = { .cert_file = srv_crt,
	    .ca_file = ca_crt, .name = "localhost" };
	struct mtls_doctor *d;
	time_t now = time(NULL);

	(void)state;
	opt.now = now + 200 * 86400L;
	d = run(&opt);
	assert_true(has(d, "cert-expired"));
	mtls_doctor_free(d);

	opt.now = now + 80 * 86400L;
	d = run(&opt);
	assert_true(has(d, "cert-expires-soon"));
	assert_int_equal(mtls_doctor_count_severity(d, MTLS_SEVERITY_ERROR),
	    0);
	mtls_doctor_free(d);

	opt.expiry_warn_days = 5;
	d = run(&opt);
	assert_false(has(d, "cert-expires-soon"));
	mtls_doctor_free(d);

	/* An hour before it was issued: a clock behind the CA's. */
	opt.now = now - 3600;
	d = run(&opt);
	assert_true(has(d, "cert-not-yet-valid"));
	assert_true(has(d, "clock-skew"));
	mtls_doctor_free(d);
}

/* A port nobody listens on: refused, named, within the deadline. */
static void
test_refused(void **state)
{
	struct mtls_doctor_options opt = { .timeout_ms = 2000 };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	char target[64];
	struct mtls_doctor *d;
	int fd;

	(void)state;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd); /* bound, never listening, now closed: refused */
	snprintf(target, sizeof(target), "127.0.0.1:%u",
	    (unsigned)ntohs(sin.sin_port));
	opt.connect = target;
	d = run(&opt);
	assert_true(has(d, "tcp-refused"));
	assert_int_equal(mtls_doctor_count_severity(d, MTLS_SEVERITY_ERROR),
	    1);
	mtls_doctor_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_documented),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_file_missing),
		cmocka_unit_test(test_healthy),
		cmocka_unit_test(test_wrong_key_name_role),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
