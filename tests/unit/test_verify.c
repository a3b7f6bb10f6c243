/*
 * test_verify.c - mtls_verify_cert on chains made in the test: a good chain,
 * each common failure with its message in words, revocation, strict name
 * matching (CN never used, no partial wildcards), and input errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "certgen.h"

static EVP_PKEY *root_key, *inter_key, *leaf_key, *other_key;
static X509 *root, *inter, *leaf, *client, *other_root, *cn_only, *wild,
    *partial, *expired_leaf;
static char *root_pem, *inter_pem, *other_pem, *key_pem;

static int
setup(void **state)
{
	tg_tmpdir();
	root_key = tg_key("EC");
	inter_key = tg_key("EC");
	leaf_key = tg_key("EC");
	other_key = tg_key("EC");
	root = tg_cert(&(struct tg_spec){ .subject = "/CN=Test Root",
	    .key = root_key, .ca = 1, .pathlen = -1, .not_before = -DAY,
	    .not_after = 3650 * DAY, .no_aki = 1 });
	inter = tg_cert(&(struct tg_spec){ .subject = "/CN=Test Intermediate",
	    .issuer = root, .issuer_key = root_key, .key = inter_key, .ca = 1,
	    .pathlen = 0, .not_before = -DAY, .not_after = 1825 * DAY });
	leaf = tg_cert(&(struct tg_spec){ .subject = "/CN=localhost",
	    .issuer = inter, .issuer_key = inter_key, .key = leaf_key,
	    .pathlen = -1, .not_before = -DAY, .not_after = 90 * DAY,
	    .san = "DNS:localhost,IP:127.0.0.1", .eku = "serverAuth" });
	client = tg_cert(&(struct tg_spec){ .subject = "/CN=client",
	    .issuer = inter, .issuer_key = inter_key, .key = leaf_key,
	    .pathlen = -1, .not_before = -DAY, .not_after = 90 * DAY,
	    .san = "DNS:client", .eku = "clientAuth" });
	other_root = tg_cert(&(struct tg_spec){ .subject = "/CN=Other Root",
	    .key = other_key, .ca = 1, .pathlen = -1, .not_before = -DAY,
	    .not_after = 3650 * DAY, .no_aki = 1 });
	cn_only = tg_cert(&(struct tg_spec){ .subject = "/CN=cnonly.example",
	    .issuer = inter, .issuer_key = inter_key, .key = leaf_key,
	    .pathlen = -1, .not_before = -DAY, .not_after = 90 * DAY,
	    .eku = "serverAuth" });
	wild = tg_cert(&(struct tg_spec){ .subject = "/CN=wild",
	    .issuer = inter, .issuer_key = inter_key, .key = leaf_key,
	    .pathlen = -1, .not_before = -DAY, .not_after = 90 * DAY,
	    .san = "DNS:*.example.com", .eku = "serverAuth" });
	partial = tg_cert(&(struct tg_spec){ .subject = "/CN=partial",
	    .issuer = inter, .issuer_key = inter_key, .key = leaf_key,
	    .pathlen = -1, .not_before = -DAY, .not_after = 90 * DAY,
	    .san = "DNS:f*.example.com", .eku = "serverAuth" });
	expired_leaf = tg_cert(&(struct tg_spec){ .subject = "/CN=old",
	    .issuer = inter, .issuer_key = inter_key, .key = leaf_key,
	    .pathlen = -1, .not_before = -100 * DAY, .not_after = -12 * DAY,
	    .san = "DNS:old", .eku = "clientAuth" });
	root_pem = tg_write_certs("root.pem", root, NULL);
	inter_pem = tg_write_certs("inter.pem", inter, NULL);
	other_pem = tg_write_certs("other.pem", other_root, NULL);
	key_pem = tg_path("key.pem");
	FILE *f = fopen(key_pem, "w");
	PEM_write_PrivateKey(f, leaf_key, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	(void)state;
	return 0;
}

static int
teardown(void **state)
{
	X509 *all[] = { root, inter, leaf, client, other_root, cn_only, wild,
	    partial, expired_leaf };
	for (size_t i = 0; i < nitems(all); i++)
		X509_free(all[i]);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(inter_key);
	EVP_PKEY_free(leaf_key);
	EVP_PKEY_free(other_key);
	free(root_pem);
	free(inter_pem);
	free(other_pem);
	free(key_pem);
	tg_rmdir();
	(void)state;
	return 0;
}

/* Verifies wrapped certificates; returns the result, err filled. */
static int
check(struct mtls_cert *c, struct mtls_verify_options *o,
    struct mtls_error *err)
{
	memset(err, 0, sizeof(*err));
	int r = mtls_verify_cert(c, o, err);
	if (r != 0)
		print_message("  -> %s\n", err->msg);
	tg_unwrap(c);
	return r;
}

static void
assert_msg(const struct mtls_error *err, const char *want)
{
	if (strstr(err->msg, want) == NULL)
		fail_msg("message '%s' lacks '%s'", err->msg, want);
}

static void
test_ok_chain(void **state)
{
	struct mtls_verify_options o = { .ca_file = root_pem,
	    .purpose = MTLS_PURPOSE_SERVER, .name = "localhost" };
	struct mtls_error err = { 0 };
	struct mtls_cert *c = tg_wrap(leaf, inter, NULL), *chain = NULL;

	assert_int_equal(mtls_verify_cert_chain(c, &o, &chain, &err), 0);
	assert_non_null(chain);
	assert_int_equal(sk_X509_num(chain->certs), 3);
	assert_int_equal(X509_cmp(sk_X509_value(chain->certs, 2), root), 0);
	tg_unwrap(chain);
	tg_unwrap(c);
	/* The IP SAN, and the intermediate given with untrusted_file. */
	o.name = "127.0.0.1";
	o.untrusted_file = inter_pem;
	assert_int_equal(check(tg_wrap(leaf, NULL), &o, &err), 0);
	(void)state;
}

/*
 * Path validation as a declarative table (after BearSSL's
 * test/x509/alltests.txt): the chain (leaf first, then what the peer
 * sends), the anchors, the purpose, the name and the time, and the result:
 * NULL when the path verifies, else words the failure must hold.
 */
static const struct path_case {
	const char *what;
	X509 **chain[3];            /* NULL-terminated */
	char **anchors;
	enum mtls_purpose purpose;
	const char *name;
	long at;                    /* seconds from now; 0: now */
	const char *want;
} path_cases[] = {
	{ "server chain for its name", { &leaf, &inter }, &root_pem,
	    MTLS_PURPOSE_SERVER, "localhost", 0, NULL },
	{ "expired at a later time", { &leaf, &inter }, &root_pem, 0, NULL,
	    100 * DAY, "10 days ago) at depth 0" },
	{ "expired: the words", { &leaf, &inter }, &root_pem, 0, NULL,
	    100 * DAY, "certificate expired (CN=localhost, notAfter " },
	{ "expired now", { &expired_leaf, &inter }, &root_pem, 0, NULL, 0,
	    "expired (CN=old, notAfter " },
	{ "not yet valid", { &leaf, &inter }, &root_pem, 0, NULL, -3 * DAY,
	    "not yet valid" },
	{ "anchors of another CA", { &leaf, &inter }, &other_pem, 0, NULL, 0,
	    "unknown CA: issuer CN=Test Root is not trusted (CA certificate "
	    "CN=Test Intermediate) at depth 1" },
	{ "server certificate as a client", { &leaf, &inter }, &root_pem,
	    MTLS_PURPOSE_CLIENT, NULL, 0, "certificate CN=localhost is not "
	    "valid for client authentication (EKU has serverAuth only) at "
	    "depth 0" },
	{ "client certificate as a server", { &client, &inter }, &root_pem,
	    MTLS_PURPOSE_SERVER, NULL, 0, "not valid for server "
	    "authentication (EKU has clientAuth only)" },
	{ "client certificate as a client", { &client, &inter }, &root_pem,
	    MTLS_PURPOSE_CLIENT, NULL, 0, NULL },
	{ "another DNS name", { &leaf, &inter }, &root_pem, 0, "foo.example",
	    0, "does not match the name foo.example (it holds CN=localhost, "
	    "DNS:localhost, IP:127.0.0.1; the CN is not used)" },
	{ "another IP address", { &leaf, &inter }, &root_pem, 0, "127.0.0.2",
	    0, "does not match the name 127.0.0.2" },
	{ "the CN is never a name", { &cn_only, &inter }, &root_pem, 0,
	    "cnonly.example", 0, "does not match the name cnonly.example (it "
	    "holds CN=cnonly.example; the CN is not used)" },
	{ "wildcard, one label", { &wild, &inter }, &root_pem, 0,
	    "foo.example.com", 0, NULL },
	{ "wildcard, two labels", { &wild, &inter }, &root_pem, 0,
	    "a.b.example.com", 0, "does not match" },
	{ "partial wildcard", { &partial, &inter }, &root_pem, 0,
	    "foo.example.com", 0, "does not match the name foo.example.com "
	    "(it holds CN=partial, DNS:f*.example.com; the CN is not used)" },
};

static void
test_path_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < nitems(path_cases); i++) {
		const struct path_case *t = &path_cases[i];
		struct mtls_verify_options o = { .ca_file = *t->anchors,
		    .purpose = t->purpose, .name = t->name,
		    .at = t->at != 0 ? time(NULL) + t->at : 0 };
		struct mtls_error err;
		X509 *x[3] = { NULL, NULL, NULL };

		for (size_t k = 0; k < 3 && t->chain[k] != NULL; k++)
			x[k] = *t->chain[k];
		print_message("  %s\n", t->what);
		int r = check(tg_wrap(x[0], x[1], x[2], NULL), &o, &err);
		if (t->want == NULL && r != 0)
			fail_msg("%s: refused: %s", t->what, err.msg);
		if (t->want != NULL) {
			if (r != -1)
				fail_msg("%s: verified", t->what);
			assert_int_equal(err.code, MTLS_ERR_VERIFY);
			assert_msg(&err, t->want);
		}
	}
}

static void
test_missing_intermediate(void **state)
{
	struct mtls_verify_options o = { .ca_file = root_pem,
	    .ca_label = "--ca", .untrusted_label = "--untrusted" };
	struct mtls_error err;

	assert_int_equal(check(tg_wrap(leaf, NULL), &o, &err), -1);
	assert_int_equal(err.code, MTLS_ERR_VERIFY);
	assert_msg(&err, "unknown CA: issuer CN=Test Intermediate is not "
	    "trusted (certificate CN=localhost) at depth 0: pass the "
	    "intermediate with --untrusted or append it to the file");
	/* Without labels the library names no option: the CA file. */
	o.ca_label = o.untrusted_label = NULL;
	assert_int_equal(check(tg_wrap(leaf, NULL), &o, &err), -1);
	assert_null(strstr(err.msg, "--"));
	assert_non_null(strstr(err.msg, root_pem));
	(void)state;
}

static void
test_revoked(void **state)
{
	struct tg_revoked r1[] = { { leaf, 1 } };
	X509_CRL *inter_crl = tg_crl(inter, inter_key, r1, 1, -DAY, 7 * DAY,
	    2);
	X509_CRL *inter_empty = tg_crl(inter, inter_key, NULL, 0, -DAY,
	    7 * DAY, 3);
	struct tg_revoked r2[] = { { inter, 2 } };
	X509_CRL *root_crl = tg_crl(root, root_key, r2, 1, -DAY, 7 * DAY, 1);
	X509_CRL *root_empty = tg_crl(root, root_key, NULL, 0, -DAY, 7 * DAY,
	    4);
	X509_CRL *stale = tg_crl(inter, inter_key, NULL, 0, -10 * DAY,
	    -2 * DAY, 5);
	char *revoked = tg_write_crls("revoked.crl", inter_crl, NULL);
	char *clean = tg_write_crls("clean.crl", inter_empty, NULL);
	char *inter_revoked = tg_write_crls("all.crl", inter_empty, root_crl,
	    NULL);
	char *all_clean = tg_write_crls("allclean.crl", inter_empty,
	    root_empty, NULL);
	char *root_only = tg_write_crls("root.crl", root_empty, NULL);
	char *old = tg_write_crls("old.crl", stale, NULL);
	struct mtls_verify_options o = { .ca_file = root_pem };
	struct mtls_error err;

	o.crl_file = revoked;
	assert_int_equal(check(tg_wrap(leaf, inter, NULL), &o, &err), -1);
	assert_int_equal(err.code, MTLS_ERR_VERIFY);
	assert_msg(&err, "certificate revoked (keyCompromise, on ");
	assert_msg(&err, ", CN=localhost, serial ");
	assert_msg(&err, ") at depth 0");
	/* Another leaf of the same CA is fine. */
	assert_int_equal(check(tg_wrap(client, inter, NULL), &o, &err), 0);
	o.crl_file = clean;
	assert_int_equal(check(tg_wrap(leaf, inter, NULL), &o, &err), 0);
	/* CRLs from every CA of the chain: the intermediate is checked. */
	o.crl_file = inter_revoked;
	assert_int_equal(check(tg_wrap(leaf, inter, NULL), &o, &err), -1);
	assert_msg(&err, "certificate revoked (cACompromise");
	assert_msg(&err, ", CN=Test Intermediate, serial ");
	assert_msg(&err, ") at depth 1");
	o.crl_file = all_clean;
	assert_int_equal(check(tg_wrap(leaf, inter, NULL), &o, &err), 0);
	/* No CRL from the leaf's issuer: fails closed. */
	o.crl_file = root_only;
	assert_int_equal(check(tg_wrap(leaf, inter, NULL), &o, &err), -1);
	assert_msg(&err, "CRL for CN=Test Intermediate is missing from ");
	assert_msg(&err, " (needed to check CN=localhost)");
	o.crl_file = old;
	assert_int_equal(check(tg_wrap(leaf, inter, NULL), &o, &err), -1);
	assert_msg(&err, "CRL of CN=Test Intermediate has expired");
	/* The CRL file must hold a CRL. */
	o.crl_file = root_pem;
	assert_int_equal(check(tg_wrap(leaf, inter, NULL), &o, &err), -1);
	assert_int_equal(err.code, MTLS_ERR_PARSE);
	assert_msg(&err, "this is a certificate, not a CRL");

	X509_CRL_free(inter_crl);
	X509_CRL_free(inter_empty);
	X509_CRL_free(root_crl);
	X509_CRL_free(root_empty);
	X509_CRL_free(stale);
	free(revoked);
	free(clean);
	free(inter_revoked);
	free(all_clean);
	free(root_only);
	free(old);
	(void)state;
}

/* RFC 5280 rules that OpenSSL 3.0 leaves to us. */
static void
test_strict_extras(void **state)
{
	struct mtls_verify_options o = { .ca_file = root_pem,
	    .purpose = MTLS_PURPOSE_SERVER };
	struct mtls_error err;
	X509 *x;

	/* A CA certificate presented as a server certificate. */
	x = tg_cert(&(struct tg_spec){ .subject = "/CN=ca-leaf",
	    .issuer = inter, .issuer_key = inter_key, .key = leaf_key,
	    .ca = 1, .pathlen = -1, .not_before = -DAY,
	    .ku = "critical,digitalSignature,keyCertSign",
	    .eku = "serverAuth", .san = "DNS:ca-leaf" });
	assert_int_equal(check(tg_wrap(x, inter, NULL), &o, &err), -1);
	assert_msg(&err, "a CA certificate (basicConstraints CA:TRUE) cannot "
	    "be used as a server or client certificate");
	/* ... which is fine when verified as a CA (no purpose, no name). */
	o.purpose = MTLS_PURPOSE_ANY;
	x = (X509_free(x), tg_cert(&(struct tg_spec){ .subject = "/CN=sub-ca",
	    .issuer = root, .issuer_key = root_key, .key = leaf_key, .ca = 1,
	    .pathlen = -1, .not_before = -DAY }));
	assert_int_equal(check(tg_wrap(x, NULL), &o, &err), 0);
	X509_free(x);

	/* anyExtendedKeyUsage alone does not make a server certificate. */
	o.purpose = MTLS_PURPOSE_SERVER;
	x = tg_cert(&(struct tg_spec){ .subject = "/CN=any",
	    .issuer = inter, .issuer_key = inter_key, .key = leaf_key,
	    .pathlen = -1, .not_before = -DAY, .san = "DNS:any",
	    .eku = "anyExtendedKeyUsage" });
	assert_int_equal(check(tg_wrap(x, inter, NULL), &o, &err), -1);
	assert_msg(&err, "not valid for server authentication (EKU has "
	    "anyExtendedKeyUsage only)");
	X509_free(x);

	/* A malformed DNS SAN. */
	x = tg_cert(&(struct tg_spec){ .subject = "/CN=dot",
	    .issuer = inter, .issuer_key = inter_key, .key = leaf_key,
	    .pathlen = -1, .not_before = -DAY, .san = "DNS:.example.com",
	    .eku = "serverAuth" });
	assert_int_equal(check(tg_wrap(x, inter, NULL), &o, &err), -1);
	assert_msg(&err, "malformed DNS SAN '.example.com' at depth 0");
	X509_free(x);

	/* Serial number zero. */
	x = tg_cert(&(struct tg_spec){ .subject = "/CN=zero",
	    .issuer = inter, .issuer_key = inter_key, .key = leaf_key,
	    .pathlen = -1, .not_before = -DAY, .san = "DNS:zero",
	    .eku = "serverAuth", .zero_serial = 1 });
	assert_int_equal(check(tg_wrap(x, inter, NULL), &o, &err), -1);
	assert_msg(&err, "the serial number is not a positive number");
	X509_free(x);
	(void)state;
}

static void
test_input_errors(void **state)
{
	struct mtls_verify_options o = { .ca_file = "/nonexistent/ca.pem" };
	struct mtls_error err;

	assert_int_equal(check(tg_wrap(leaf, inter, NULL), &o, &err), -1);
	assert_int_equal(err.code, MTLS_ERR_IO);
	assert_msg(&err, "/nonexistent/ca.pem");
	o.ca_file = key_pem;
	assert_int_equal(check(tg_wrap(leaf, inter, NULL), &o, &err), -1);
	assert_int_equal(err.code, MTLS_ERR_PARSE);
	assert_msg(&err, "this is a private key, not a certificate");
	o.ca_file = NULL;
	assert_int_equal(check(tg_wrap(leaf, NULL), &o, &err), -1);
	assert_int_equal(err.code, MTLS_ERR_USAGE);
	/* An intermediate given as the trust anchor is not enough: the
	 * chain must reach a self-signed root (no partial chains). */
	o.ca_file = inter_pem;
	assert_int_equal(check(tg_wrap(leaf, NULL), &o, &err), -1);
	assert_int_equal(err.code, MTLS_ERR_VERIFY);
	(void)state;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok_chain),
		cmocka_unit_test(test_path_table),
		cmocka_unit_test(test_missing_intermediate),
		cmocka_unit_test(test_revoked),
		cmocka_unit_test(test_strict_extras),
		cmocka_unit_test(test_input_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
