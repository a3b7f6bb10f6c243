/*
 * test_pki_ca.c - the certificate profiles: root, intermediate, server and
 * client, each extension with its critical flag; validity and serials;
 * creating a CA (files, modes, refusals, nothing left behind on failure);
 * encrypted CA keys.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>

#include "pki_test.h"
#include "tools/mtls_tools.h"

/* Checks the common CA profile; returns the certificate. */
static X509 *
check_ca_profile(struct mtls_ca *ca, int pathlen, int days)
{
	X509 *x = cert_x509(mtls_ca_cert(ca), 0);
	int crit = -1;
	time_t now = time(NULL);

	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints,
	    &crit, NULL);
	assert_non_null(bc);
	assert_int_equal(crit, 1);
	assert_true(bc->ca);
	if (pathlen < 0)
		assert_null(bc->pathlen);
	else
		assert_int_equal(ASN1_INTEGER_get(bc->pathlen), pathlen);
	BASIC_CONSTRAINTS_free(bc);

	ASN1_BIT_STRING *ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
	assert_non_null(ku);
	assert_int_equal(crit, 1);
	ASN1_BIT_STRING_free(ku);
	assert_int_equal(X509_get_key_usage(x), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_null(ext_get(x, NID_ext_key_usage, NULL));

	assert_non_null(X509_get0_subject_key_id(x));
	assert_non_null(X509_get0_authority_key_id(x));
	assert_true(serial_bits(x) >= 64);
	assert_true(serial_bits(x) <= 127);

	time_t nb = asn1_time_t(X509_get0_notBefore(x));
	time_t na = asn1_time_t(X509_get0_notAfter(x));
	assert_true(nb <= now && nb >= now - 600);
	assert_true(na >= now + (time_t)days * 86400 - 600);
	assert_true(na <= now + (time_t)days * 86400 + 60);
	return x;
}

static void
test_root_profile(void **state)
{
	struct mtls_ca *ca;
	X509 *x;
	char *d = path_join(dir, "root"), *f;

	(void)state;
	ca = ca_make("root", NULL, MTLS_KEY_EC_P256, 0, NULL);
	x = check_ca_profile(ca, -1, 3650);
	X509_up_ref(x); /* kept past mtls_ca_free below */
	/* Self-signed, AKI = SKI, SHA-256. */
	assert_true(X509_get_extension_flags(x) & EXFLAG_SS);
	assert_true(octets_eq(X509_get0_subject_key_id(x),
	    X509_get0_authority_key_id(x)));
	assert_int_equal(X509_verify(x, X509_get0_pubkey(x)), 1);
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	assert_int_equal(mtls_cert_count(mtls_ca_cert(ca)), 1);
	char *subj = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);
	assert_string_equal(subj, "/CN=mtls Root CA");
	OPENSSL_free(subj);
	assert_int_equal(mtls_ca_is_key_encrypted(ca), 0);

	/* The directory and files, with their modes. */
	assert_int_equal(file_mode(d), 0700);
	f = path_join(d, "ca.key");
	assert_int_equal(file_mode(f), 0600);
	free(f);
	f = path_join(d, "ca.crt");
	assert_int_equal(file_mode(f), 0644);
	free(f);
	f = path_join(d, "ca.db");
	assert_true(file_mode(f) != (mode_t)-1);
	free(f);
	f = path_join(d, "chain.crt");
	assert_int_equal(file_mode(f), (mode_t)-1);
	free(f);
	mtls_ca_free(ca);

	/* Reopened, same certificate. */
	struct mtls_error err;
	ca = mtls_ca_open(d, NULL, &err);
	assert_non_null(ca);
	assert_int_equal(X509_cmp(cert_x509(mtls_ca_cert(ca), 0), x), 0);
	mtls_ca_free(ca);
	X509_free(x);
	free(d);
}

static void
test_root_rsa_ed25519(void **state)
{
	struct mtls_ca *ca;
	X509 *x;

	(void)state;
	ca = ca_make("root-ed", NULL, MTLS_KEY_ED25519, 30, NULL);
	x = check_ca_profile(ca, -1, 30);
	assert_int_equal(X509_get_signature_nid(x), NID_ED25519);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(x)), 1);
	mtls_ca_free(ca);

	ca = ca_make("root-rsa", NULL, MTLS_KEY_RSA_2048, 30, NULL);
	x = check_ca_profile(ca, -1, 30);
	assert_int_equal(X509_get_signature_nid(x), NID_sha256WithRSAEncryption);
	mtls_ca_free(ca);
}

static int
count_ca_rows(const struct mtls_ca_record *rec, void *arg)
{
	if (rec->kind == MTLS_CERT_CA)
		(*(int *)arg)++;
	return 0;
}

static void
test_intermediate_profile(void **state)
{
	struct mtls_ca *root, *inter;
	struct mtls_error err;
	X509 *rx, *ix;
	int n = 0;

	(void)state;
	root = ca_make("iroot", NULL, MTLS_KEY_EC_P384, 0, NULL);
	inter = ca_make("iroot-int", "iroot", MTLS_KEY_EC_P256, 0, NULL);
	rx = cert_x509(mtls_ca_cert(root), 0);
	ix = check_ca_profile(inter, 0, 1825);
	assert_false(X509_get_extension_flags(ix) & EXFLAG_SS);
	assert_true(octets_eq(X509_get0_authority_key_id(ix),
	    X509_get0_subject_key_id(rx)));
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(ix),
	    X509_get_subject_name(rx)), 0);
	assert_int_equal(X509_verify(ix, X509_get0_pubkey(rx)), 1);
	char *subj = X509_NAME_oneline(X509_get_subject_name(ix), NULL, 0);
	assert_string_equal(subj, "/CN=mtls Intermediate CA");
	OPENSSL_free(subj);

	/* The CA's chain: itself then the root; chain.crt holds the same. */
	assert_int_equal(mtls_cert_count(mtls_ca_cert(inter)), 2);
	assert_int_equal(X509_cmp(cert_x509(mtls_ca_cert(inter), 1), rx), 0);
	char *chain = path_join(dir, "iroot-int/chain.crt");
	struct mtls_cert *c = mtls_cert_load_file(chain, &err);
	assert_non_null(c);
	assert_int_equal(mtls_cert_count(c), 2);
	assert_int_equal(X509_cmp(cert_x509(c, 0), ix), 0);
	mtls_cert_free(c);
	free(chain);

	/* Recorded in the parent's inventory. */
	assert_int_equal(mtls_ca_list(root, count_ca_rows, &n), 0);
	assert_int_equal(n, 1);

	/* pathLen:0 - no CA under the intermediate. */
	struct mtls_ca_options o = { 0 };
	char *d = path_join(dir, "iroot-int-int");
	char *p = path_join(dir, "iroot-int");
	o.dir = d;
	o.parent_dir = p;
	assert_null(mtls_ca_create(&o, &err));
	assert_int_equal(err.code, MTLS_ERR_POLICY);
	assert_non_null(strstr(err.msg, "pathLen:0"));
	assert_int_equal(file_mode(d), (mode_t)-1);
	free(d);
	free(p);

	/* Intermediate validity is capped at the root's. */
	mtls_ca_free(inter);
	mtls_ca_free(root);
	root = ca_make("short-root", NULL, MTLS_KEY_EC_P256, 10, NULL);
	inter = ca_make("short-int", "short-root", MTLS_KEY_EC_P256, 0, NULL);
	assert_int_equal(ASN1_TIME_compare(
	    X509_get0_notAfter(cert_x509(mtls_ca_cert(inter), 0)),
	    X509_get0_notAfter(cert_x509(mtls_ca_cert(root), 0))), 0);
	mtls_ca_free(inter);
	mtls_ca_free(root);
}

static void
test_ca_refusals(void **state)
{
	struct mtls_ca_options o = { 0 };
	struct mtls_error err;
	struct mtls_ca *ca;
	char *d = path_join(dir, "dup"), *want;

	(void)state;
	ca = ca_make("dup", NULL, MTLS_KEY_EC_P256, 0, NULL);
	mtls_ca_free(ca);
	o.dir = d;
	assert_null(mtls_ca_create(&o, &err));
	assert_int_equal(err.code, MTLS_ERR_EXISTS);
	assert_true(asprintf(&want, "%s: a CA already exists here", d) > 0);
	assert_string_equal(err.msg, want);
	free(want);
	free(d);

	/* A failure after the directory was made leaves nothing behind. */
	d = path_join(dir, "half");
	o.dir = d;
	o.key_type = (enum mtls_key_type)77;
	assert_null(mtls_ca_create(&o, &err));
	assert_int_equal(err.code, MTLS_ERR_USAGE);
	assert_int_equal(file_mode(d), (mode_t)-1);

	/* A missing parent: nothing made either. */
	o.key_type = MTLS_KEY_EC_P256;
	o.parent_dir = "/nonexistent/mtls-parent";
	assert_null(mtls_ca_create(&o, &err));
	assert_non_null(strstr(err.msg, "/nonexistent/mtls-parent/ca.crt"));
	assert_int_equal(file_mode(d), (mode_t)-1);

	/* A failure at the very end (ca.db cannot get its write-ahead log)
	 * removes the files made and the parent's record of the new CA. */
	struct mtls_ca *parent = ca_make("half-parent", NULL, MTLS_KEY_EC_P256,
	    0, NULL);
	char *wal = path_join(d, "ca.db-wal");
	char *pd = path_join(dir, "half-parent");
	int rows = 0;
	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(mkdir(wal, 0700), 0);
	o.parent_dir = pd;
	assert_null(mtls_ca_create(&o, &err));
	assert_int_equal(err.code, MTLS_ERR_DB);
	static const char *const left[] = { "ca.key", "ca.crt", "chain.crt",
	    "ca.db", "ca.db-shm" };
	for (size_t i = 0; i < nitems(left); i++) {
		char *f = path_join(d, left[i]);
		assert_int_equal(file_mode(f), (mode_t)-1);
		free(f);
	}
	assert_int_equal(mtls_ca_list(parent, count_ca_rows, &rows), 0);
	assert_int_equal(rows, 0);
	assert_int_equal(rmdir(wal), 0);
	assert_int_equal(rmdir(d), 0);
	free(wal);
	free(pd);
	mtls_ca_free(parent);

	/* Bad days. */
	o.parent_dir = NULL;
	o.days = -1;
	assert_null(mtls_ca_create(&o, &err));
	assert_int_equal(err.code, MTLS_ERR_USAGE);
	free(d);

	/* Opening what is not a CA. */
	assert_null(mtls_ca_open(dir, NULL, &err));
	assert_non_null(strstr(err.msg, "ca.crt"));
}

static struct mtls_cert *
issue(struct mtls_ca *ca, struct mtls_key *key, enum mtls_cert_kind kind,
    const struct mtls_names *names, int days, long offset)
{
	struct mtls_issue_options io = { 0 };
	struct mtls_cert *c;

	io.kind = kind;
	io.days = days;
	assert_int_equal(mtls_ca_set_clock_offset(ca, offset), 0);
	c = mtls_ca_issue(ca, key, names, &io);
	assert_int_equal(mtls_ca_set_clock_offset(ca, 0), 0);
	if (c == NULL)
		fail_msg("issue: %s", mtls_ca_error(ca));
	return c;
}

/* The CA refuses to issue for names, and its error holds needle. */
static void
issue_refused(struct mtls_ca *ca, struct mtls_key *key,
    const struct mtls_names *names, const struct mtls_issue_options *io,
    const char *needle)
{
	assert_null(mtls_ca_issue(ca, key, names, io));
	assert_non_null(strstr(mtls_ca_error(ca), needle));
}

/* Checks the leaf profile shared by servers and clients. */
static void
check_leaf(X509 *x, X509 *cax, int kind, int rsa)
{
	int crit = -1;

	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints,
	    &crit, NULL);
	assert_non_null(bc);
	assert_int_equal(crit, 1);
	assert_false(bc->ca);
	assert_null(bc->pathlen);
	BASIC_CONSTRAINTS_free(bc);

	assert_non_null(ext_get(x, NID_key_usage, &crit));
	assert_int_equal(crit, 1);
	assert_int_equal(X509_get_key_usage(x), rsa ?
	    (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT) :
	    KU_DIGITAL_SIGNATURE);

	assert_non_null(ext_get(x, NID_ext_key_usage, &crit));
	assert_int_equal(crit, 0);
	assert_int_equal(X509_get_extended_key_usage(x),
	    kind == MTLS_CERT_SERVER ? XKU_SSL_SERVER : XKU_SSL_CLIENT);

	assert_non_null(X509_get0_subject_key_id(x));
	assert_true(octets_eq(X509_get0_authority_key_id(x),
	    X509_get0_subject_key_id(cax)));
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(cax)), 0);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(cax)), 1);
	assert_true(serial_bits(x) >= 64);
}

static void
test_server_profile(void **state)
{
	static const char *const dns[] = { "api.example.com", "*.svc.local" };
	static const char *const ip[] = { "127.0.0.1", "::1" };
	static const char *const uri[] = { "spiffe://example.org/web" };
	static const char *const email[] = { "ops@example.com" };
	struct mtls_names n = { 0 };
	struct mtls_error err;
	struct mtls_ca *ca;
	struct mtls_key *key;
	struct mtls_cert *c;
	time_t now = time(NULL);
	X509 *x, *cax;
	char *san;

	(void)state;
	ca = ca_make("srv", NULL, MTLS_KEY_EC_P256, 0, NULL);
	cax = cert_x509(mtls_ca_cert(ca), 0);
	key = mtls_key_generate(MTLS_KEY_EC_P256, &err);
	n.common_name = "www.example.com";
	n.dns = dns;
	n.ndns = 2;
	n.ip = ip;
	n.nip = 2;
	n.uri = uri;
	n.nuri = 1;
	n.email = email;
	n.nemail = 1;
	c = issue(ca, key, MTLS_CERT_SERVER, &n, 0, 0);
	assert_int_equal(mtls_cert_count(c), 1); /* root CA: leaf only */
	x = cert_x509(c, 0);
	check_leaf(x, cax, MTLS_CERT_SERVER, 0);
	assert_int_equal(mtls_cert_check_key(c, key, &err), 0);
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);

	san = san_text(x);
	assert_non_null(san);
	assert_string_equal(san, "DNS:api.example.com, DNS:*.svc.local, "
	    "IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, "
	    "URI:spiffe://example.org/web, email:ops@example.com, "
	    "DNS:www.example.com");
	free(san);
	int crit = -1;
	assert_non_null(ext_get(x, NID_subject_alt_name, &crit));
	assert_int_equal(crit, 0);

	/* notBefore five minutes back, notAfter 90 days on. */
	time_t nb = asn1_time_t(X509_get0_notBefore(x));
	time_t na = asn1_time_t(X509_get0_notAfter(x));
	assert_true(nb >= now - 310 && nb <= now - 290);
	assert_true(na >= now + 90 * 86400 - 10 && na <= now + 90 * 86400 + 60);
	mtls_cert_free(c);

	/* A CN that is an IP goes in as an IP SAN, not twice. */
	struct mtls_names n2 = { 0 };
	n2.common_name = "10.1.2.3";
	c = issue(ca, key, MTLS_CERT_SERVER, &n2, 0, 0);
	san = san_text(cert_x509(c, 0));
	assert_string_equal(san, "IP Address:10.1.2.3");
	free(san);
	mtls_cert_free(c);
	n2.common_name = "localhost";
	n2.dns = dns;
	n2.ndns = 1;
	c = issue(ca, key, MTLS_CERT_SERVER, &n2, 0, 0);
	san = san_text(cert_x509(c, 0));
	assert_string_equal(san, "DNS:api.example.com, DNS:localhost");
	free(san);
	mtls_cert_free(c);
	n2.common_name = "API.example.com";
	c = issue(ca, key, MTLS_CERT_SERVER, &n2, 0, 0);
	san = san_text(cert_x509(c, 0));
	assert_string_equal(san, "DNS:api.example.com");
	free(san);
	mtls_cert_free(c);

	/* A server without any host name is refused. */
	struct mtls_names n3 = { 0 };
	struct mtls_issue_options io = { 0 };
	n3.common_name = "backend";
	io.kind = MTLS_CERT_SERVER;
	issue_refused(ca, key, &n3, &io, "at least one DNS name");

	/* Malformed names are refused, each named. */
	static const char *const badip[] = { "300.1.1.1" };
	n3.ip = badip;
	n3.nip = 1;
	issue_refused(ca, key, &n3, &io, "300.1.1.1");
	static const char *const baddns[] = { "bad_name.example" };
	n3.nip = 0;
	n3.dns = baddns;
	n3.ndns = 1;
	issue_refused(ca, key, &n3, &io, "bad_name.example");
	static const char *const ipdns[] = { "10.0.0.1" };
	n3.dns = ipdns;
	issue_refused(ca, key, &n3, &io, "10.0.0.1: an IP address");
	static const char *const baduri[] = { "no scheme" };
	n3.ndns = 0;
	n3.uri = baduri;
	n3.nuri = 1;
	issue_refused(ca, key, &n3, &io, "no scheme");

	/* Neither a server nor a client. */
	io.kind = MTLS_CERT_CA;
	assert_null(mtls_ca_issue(ca, key, &n2, &io));
	assert_null(mtls_ca_issue(ca, key, &n2, NULL));

	mtls_key_free(key);
	mtls_ca_free(ca);
}

static void
test_client_profile(void **state)
{
	struct mtls_names n = { 0 };
	struct mtls_error err;
	struct mtls_ca *root, *ca;
	struct mtls_key *key;
	struct mtls_cert *c;
	X509 *x;

	(void)state;
	root = ca_make("croot", NULL, MTLS_KEY_EC_P256, 0, NULL);
	ca = ca_make("croot-int", "croot", MTLS_KEY_EC_P256, 0, NULL);
	key = mtls_key_generate(MTLS_KEY_RSA_2048, &err);
	n.common_name = "client";
	c = issue(ca, key, MTLS_CERT_CLIENT, &n, 30, 0);
	/* Leaf then the intermediate; not the root. */
	assert_int_equal(mtls_cert_count(c), 2);
	assert_int_equal(X509_cmp(cert_x509(c, 1),
	    cert_x509(mtls_ca_cert(ca), 0)), 0);
	x = cert_x509(c, 0);
	check_leaf(x, cert_x509(mtls_ca_cert(ca), 0), MTLS_CERT_CLIENT, 1);
	/* "client" is not a host name: no SAN at all. */
	assert_null(ext_get(x, NID_subject_alt_name, NULL));
	char *subj = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);
	assert_string_equal(subj, "/CN=client");
	OPENSSL_free(subj);
	time_t na = asn1_time_t(X509_get0_notAfter(x));
	assert_true(na <= time(NULL) + 30 * 86400 + 60);
	assert_true(na >= time(NULL) + 30 * 86400 - 60);

	/* The chain verifies against the root with OpenSSL. */
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	sk_X509_push(untrusted, cert_x509(c, 1));
	X509_STORE_add_cert(st, cert_x509(mtls_ca_cert(root), 0));
	X509_STORE_CTX_init(ctx, st, x, untrusted);
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	assert_int_equal(X509_verify_cert(ctx), 1);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	sk_X509_free(untrusted);
	mtls_cert_free(c);

	/* Ed25519 CA: the leaf is signed without a digest. */
	struct mtls_ca *ed = ca_make("ed", NULL, MTLS_KEY_ED25519, 0, NULL);
	c = issue(ed, key, MTLS_CERT_CLIENT, &n, 0, 0);
	assert_int_equal(X509_get_signature_nid(cert_x509(c, 0)), NID_ED25519);
	check_leaf(cert_x509(c, 0), cert_x509(mtls_ca_cert(ed), 0),
	    MTLS_CERT_CLIENT, 1);
	mtls_cert_free(c);
	mtls_ca_free(ed);

	mtls_key_free(key);
	mtls_ca_free(ca);
	mtls_ca_free(root);
}

static void
test_validity(void **state)
{
	struct mtls_names n = { 0 };
	struct mtls_error err;
	struct mtls_ca *ca;
	struct mtls_key *key;
	struct mtls_cert *c;
	time_t now = time(NULL);

	(void)state;
	ca = ca_make("valid", NULL, MTLS_KEY_EC_P256, 20, NULL);
	key = mtls_key_generate(MTLS_KEY_EC_P256, &err);
	n.common_name = "client";

	/* Expired: a one-day certificate from two days ago. */
	c = issue(ca, key, MTLS_CERT_CLIENT, &n, 1, -2 * 86400);
	assert_true(asn1_time_t(X509_get0_notAfter(cert_x509(c, 0))) <
	    now - 86400 + 60);
	mtls_cert_free(c);
	/* Not yet valid: starts in a day. */
	c = issue(ca, key, MTLS_CERT_CLIENT, &n, 5, 86400);
	assert_true(asn1_time_t(X509_get0_notBefore(cert_x509(c, 0))) >
	    now + 86000);
	mtls_cert_free(c);
	/* Capped at the CA's notAfter. */
	c = issue(ca, key, MTLS_CERT_CLIENT, &n, 365, 0);
	assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(cert_x509(c, 0)),
	    X509_get0_notAfter(cert_x509(mtls_ca_cert(ca), 0))), 0);
	mtls_cert_free(c);
	/* Nothing left of the window after the cap: refused. */
	struct mtls_issue_options io = { 0 };
	io.kind = MTLS_CERT_CLIENT;
	assert_int_equal(mtls_ca_set_clock_offset(ca, 30L * 86400), 0);
	assert_null(mtls_ca_issue(ca, key, &n, &io));
	assert_int_equal(ca->err.code, MTLS_ERR_POLICY);
	assert_int_equal(mtls_ca_set_clock_offset(ca, 0), 0);
	assert_int_equal(mtls_ca_set_clock_offset(ca, 200L * 366 * 86400), -1);
	io.days = 100000;
	assert_null(mtls_ca_issue(ca, key, &n, &io));
	assert_int_equal(ca->err.code, MTLS_ERR_USAGE);

	mtls_key_free(key);
	mtls_ca_free(ca);
}

static void
test_encrypted_ca_key(void **state)
{
	struct mtls_names n = { 0 };
	struct mtls_error err;
	struct mtls_ca *ca;
	struct mtls_key *key;
	struct mtls_cert *c;
	struct mtls_issue_options io = { 0 };
	char *d = path_join(dir, "enc"), *keyf = path_join(d, "ca.key");

	(void)state;
	ca = ca_make("enc", NULL, MTLS_KEY_EC_P256, 0, "capass");
	assert_int_equal(mtls_ca_is_key_encrypted(ca), 1);
	mtls_ca_free(ca);
	assert_int_equal(file_mode(keyf), 0600);

	key = mtls_key_generate(MTLS_KEY_EC_P256, &err);
	n.common_name = "client";
	io.kind = MTLS_CERT_CLIENT;

	/* Opens without the passphrase; signing then says what is missing. */
	ca = mtls_ca_open(d, NULL, &err);
	assert_non_null(ca);
	assert_int_equal(mtls_ca_is_key_encrypted(ca), 1);
	assert_null(mtls_ca_issue(ca, key, &n, &io));
	assert_int_equal(ca->err.code, MTLS_ERR_PASSPHRASE);
	assert_non_null(strstr(mtls_ca_error(ca), keyf));
	assert_non_null(strstr(mtls_ca_error(ca), "no passphrase was given"));
	mtls_ca_free(ca);

	assert_null(mtls_ca_open(d, "nope", &err));
	assert_int_equal(err.code, MTLS_ERR_PASSPHRASE);
	assert_non_null(strstr(err.msg, "wrong passphrase"));

	ca = mtls_ca_open(d, "capass", &err);
	assert_non_null(ca);
	c = mtls_ca_issue(ca, key, &n, &io);
	assert_non_null(c);
	mtls_cert_free(c);
	mtls_ca_free(ca);

	/* An intermediate under an encrypted root needs its passphrase. */
	struct mtls_ca_options o = { 0 };
	char *d2 = path_join(dir, "enc-int");
	o.dir = d2;
	o.parent_dir = d;
	assert_null(mtls_ca_create(&o, &err));
	assert_int_equal(err.code, MTLS_ERR_PASSPHRASE);
	assert_int_equal(file_mode(d2), (mode_t)-1);
	o.parent_passphrase = "capass";
	ca = mtls_ca_create(&o, &err);
	assert_non_null(ca);
	assert_int_equal(mtls_ca_is_key_encrypted(ca), 0);
	mtls_ca_free(ca);
	free(d2);

	/* A key that is not the CA's. */
	assert_int_equal(mtls_key_write_file(key, keyf, NULL, MTLS_WRITE_FORCE,
	    &err), 0);
	assert_null(mtls_ca_open(d, NULL, &err));
	assert_int_equal(err.code, MTLS_ERR_KEY_MISMATCH);
	assert_non_null(strstr(err.msg, keyf));

	mtls_key_free(key);
	free(keyf);
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_profile),
		cmocka_unit_test(test_root_rsa_ed25519),
		cmocka_unit_test(test_intermediate_profile),
		cmocka_unit_test(test_ca_refusals),
		cmocka_unit_test(test_server_profile),
		cmocka_unit_test(test_client_profile),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_encrypted_ca_key),
	};

	return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
