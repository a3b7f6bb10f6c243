/*
 * test_inspect.c - mtls_cert_info, mtls_csr_info, mtls_crl_info and
 * mtls_file_identify on objects made in the test with OpenSSL: every field,
 * SANs by type, the fingerprint against X509_digest, key types, and what a
 * file holds (PEM, DER, keys, PKCS#12, garbage).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/pkcs12.h>

#include "tools/mtls_tools.h"
#include "x509/text.h"
#include "certgen.h"

static EVP_PKEY *root_key, *ec_key, *rsa_key, *ed_key;
static X509 *root, *leaf, *rsa_leaf, *ed_leaf;

static int
setup(void **state)
{
	tg_tmpdir();
	root_key = tg_key("P-384");
	ec_key = tg_key("EC");
	rsa_key = tg_key("RSA");
	ed_key = tg_key("ED25519");
	root = tg_cert(&(struct tg_spec){ .subject = "/O=Test Org/CN=Root",
	    .key = root_key, .ca = 1, .pathlen = 1, .not_before = -DAY,
	    .not_after = 3650 * DAY, .no_aki = 1 });
	leaf = tg_cert(&(struct tg_spec){ .subject =
	    "/O=Test Org/CN=leaf.example", .issuer = root,
	    .issuer_key = root_key, .key = ec_key, .pathlen = -1,
	    .not_before = -DAY, .not_after = 30 * DAY,
	    .san = "DNS:leaf.example,IP:127.0.0.1,IP:::1,"
	    "URI:spiffe://example.org/svc,email:ops@example.org",
	    .eku = "serverAuth,clientAuth" });
	rsa_leaf = tg_cert(&(struct tg_spec){ .subject = "/CN=rsa",
	    .issuer = root, .issuer_key = root_key, .key = rsa_key,
	    .pathlen = -1, .not_before = -DAY, .not_after = 30 * DAY });
	ed_leaf = tg_cert(&(struct tg_spec){ .subject = "/CN=ed",
	    .issuer = root, .issuer_key = root_key, .key = ed_key,
	    .pathlen = -1, .not_before = -DAY, .not_after = 30 * DAY });
	(void)state;
	return 0;
}

static int
teardown(void **state)
{
	X509_free(root);
	X509_free(leaf);
	X509_free(rsa_leaf);
	X509_free(ed_leaf);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(ed_key);
	tg_rmdir();
	(void)state;
	return 0;
}

/* Expected values computed here, independently of the library. */
static char *
serial_hex(const ASN1_INTEGER *a)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(a, NULL);
	char *h = BN_bn2hex(bn), *s = strdup(h);

	OPENSSL_free(h);
	BN_free(bn);
	return s;
}

static char *
hex_colon(const unsigned char *p, size_t n)
{
	char *s = calloc(1, n * 3 + 1);

	for (size_t i = 0; i < n; i++)
		snprintf(s + i * 3, 4, i + 1 < n ? "%02X:" : "%02X", p[i]);
	return s;
}

static time_t
asn1_to_time(const ASN1_TIME *t)
{
	struct tm tm;

	assert_true(ASN1_TIME_to_tm(t, &tm));
	return timegm(&tm);
}

static void
test_cert_fields(void **state)
{
	struct mtls_cert *c = tg_wrap(leaf, root, NULL);
	struct mtls_cert_info ci, ri;
	struct mtls_error err = { 0 };
	unsigned char md[32];
	unsigned int n;

	assert_int_equal(mtls_cert_info(c, 0, &ci, &err), 0);
	assert_string_equal(ci.subject, "CN=leaf.example,O=Test Org");
	assert_string_equal(ci.issuer, "CN=Root,O=Test Org");
	assert_string_equal(ci.common_name, "leaf.example");
	char *serial = serial_hex(X509_get0_serialNumber(leaf));
	assert_string_equal(ci.serial, serial);
	free(serial);
	assert_int_equal(ci.version, 3);
	assert_int_equal(ci.not_before, asn1_to_time(X509_get0_notBefore(
	    leaf)));
	assert_int_equal(ci.not_after, asn1_to_time(X509_get0_notAfter(leaf)));
	assert_true(ci.not_after - time(NULL) > 29 * DAY);

	assert_int_equal(ci.nsans, 5);
	assert_int_equal(ci.sans[0].type, MTLS_SAN_DNS);
	assert_string_equal(ci.sans[0].value, "leaf.example");
	assert_int_equal(ci.sans[1].type, MTLS_SAN_IP);
	assert_string_equal(ci.sans[1].value, "127.0.0.1");
	assert_int_equal(ci.sans[2].type, MTLS_SAN_IP);
	assert_string_equal(ci.sans[2].value, "::1");
	assert_int_equal(ci.sans[3].type, MTLS_SAN_URI);
	assert_string_equal(ci.sans[3].value, "spiffe://example.org/svc");
	assert_int_equal(ci.sans[4].type, MTLS_SAN_EMAIL);
	assert_string_equal(ci.sans[4].value, "ops@example.org");

	assert_string_equal(ci.key_usage, "digitalSignature");
	assert_string_equal(ci.ext_key_usage, "serverAuth, clientAuth");
	assert_false(ci.is_ca);
	assert_int_equal(ci.path_len, -1);
	assert_string_equal(ci.key_type, "EC P-256");
	assert_int_equal(ci.key_bits, 256);
	assert_string_equal(ci.signature_algorithm, "ecdsa-with-SHA256");
	assert_false(ci.self_signed);

	/* The fingerprint is X509_digest's SHA-256, as "AB:CD:...". */
	assert_true(X509_digest(leaf, EVP_sha256(), md, &n));
	char *want = hex_colon(md, n);
	assert_string_equal(ci.fingerprint_sha256, want);
	assert_int_equal(strlen(ci.fingerprint_sha256), 32 * 3 - 1);
	free(want);

	/* The root: a CA with a path length, self-signed, P-384, and the
	 * leaf's AKI is its SKI. */
	assert_int_equal(mtls_cert_info(c, 1, &ri, &err), 0);
	assert_true(ri.is_ca);
	assert_int_equal(ri.path_len, 1);
	assert_true(ri.self_signed);
	assert_string_equal(ri.key_type, "EC P-384");
	assert_string_equal(ri.key_usage, "keyCertSign, cRLSign");
	assert_null(ri.ext_key_usage);
	assert_null(ri.aki);
	assert_non_null(ri.ski);
	assert_non_null(ci.aki);
	assert_string_equal(ci.aki, ri.ski);

	mtls_cert_info_clear(&ci);
	mtls_cert_info_clear(&ri);
	assert_null(ci.subject);
	mtls_cert_info_clear(&ci); /* twice is harmless */
	/* Out of range. */
	assert_int_equal(mtls_cert_info(c, 2, &ci, &err), -1);
	assert_int_equal(err.code, MTLS_ERR_USAGE);
	tg_unwrap(c);
	(void)state;
}

static void
test_key_types(void **state)
{
	struct mtls_cert *c = tg_wrap(rsa_leaf, ed_leaf, NULL);
	struct mtls_cert_info ci;
	struct mtls_error err = { 0 };

	assert_int_equal(mtls_cert_info(c, 0, &ci, &err), 0);
	assert_string_equal(ci.key_type, "RSA");
	assert_int_equal(ci.key_bits, 2048);
	assert_int_equal(ci.nsans, 0);
	mtls_cert_info_clear(&ci);
	assert_int_equal(mtls_cert_info(c, 1, &ci, &err), 0);
	assert_string_equal(ci.key_type, "Ed25519");
	mtls_cert_info_clear(&ci);
	tg_unwrap(c);
	(void)state;
}

static X509_REQ *
make_csr(EVP_PKEY *key)
{
	X509_REQ *req = X509_REQ_new();
	X509V3_CTX ctx;
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_NAME *n = tg_name("/CN=req.example");

	X509_REQ_set_subject_name(req, n);
	X509_NAME_free(n);
	X509_REQ_set_pubkey(req, key);
	X509V3_set_ctx(&ctx, NULL, NULL, req, NULL, 0);
	sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, &ctx,
	    NID_subject_alt_name, "DNS:req.example,IP:10.0.0.1"));
	sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, &ctx,
	    NID_basic_constraints, "critical,CA:TRUE,pathlen:3"));
	sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, &ctx,
	    NID_key_usage, "keyCertSign"));
	sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, &ctx,
	    NID_netscape_comment, "hello"));
	X509_REQ_add_extensions(req, exts);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_sign(req, key, EVP_sha256());
	return req;
}

static void
test_csr_info(void **state)
{
	struct mtls_csr csr = { .req = make_csr(ec_key) };
	struct mtls_csr_info ci;
	struct mtls_error err = { 0 };

	assert_int_equal(mtls_csr_info(&csr, &ci, &err), 0);
	assert_string_equal(ci.subject, "CN=req.example");
	assert_string_equal(ci.common_name, "req.example");
	assert_int_equal(ci.nsans, 2);
	assert_int_equal(ci.sans[1].type, MTLS_SAN_IP);
	assert_string_equal(ci.sans[1].value, "10.0.0.1");
	assert_true(ci.has_basic_constraints);
	assert_true(ci.is_ca);
	assert_int_equal(ci.path_len, 3);
	assert_string_equal(ci.key_usage, "keyCertSign");
	assert_int_equal(ci.nother_extensions, 1);
	assert_string_equal(ci.other_extensions[0], "nsComment");
	assert_string_equal(ci.key_type, "EC P-256");
	assert_true(ci.signature_ok);
	mtls_csr_info_clear(&ci);

	/* A CSR whose signature is not its key's. */
	X509_REQ_set_pubkey(csr.req, rsa_key);
	assert_int_equal(mtls_csr_info(&csr, &ci, &err), 0);
	assert_false(ci.signature_ok);
	assert_string_equal(ci.key_type, "RSA");
	mtls_csr_info_clear(&ci);
	X509_REQ_free(csr.req);
	(void)state;
}

static void
test_crl_info(void **state)
{
	struct tg_revoked rev[] = { { leaf, 1 }, { rsa_leaf, -1 } };
	X509_CRL *x = tg_crl(root, root_key, rev, 2, -DAY, 7 * DAY, 42);
	char *path = tg_write_crls("root.crl", x, NULL);
	struct mtls_error err = { 0 };
	struct mtls_crl_info ci;
	struct mtls_cert_info ri;
	struct mtls_cert *c = tg_wrap(root, NULL);

	struct mtls_crl *crl = mtls_crl_load_file(path, &err);
	assert_non_null(crl);
	assert_int_equal(mtls_crl_count(crl), 1);
	assert_int_equal(mtls_crl_info(crl, 0, &ci, &err), 0);
	assert_string_equal(ci.issuer, "CN=Root,O=Test Org");
	assert_int_equal(ci.version, 2);
	assert_string_equal(ci.crl_number, "42");
	assert_true(ci.next_update - ci.this_update == 8 * DAY);
	assert_int_equal(mtls_cert_info(c, 0, &ri, &err), 0);
	assert_string_equal(ci.aki, ri.ski);
	assert_int_equal(ci.nentries, 2);
	char *s0 = serial_hex(X509_get0_serialNumber(leaf));
	char *s1 = serial_hex(X509_get0_serialNumber(rsa_leaf));
	int i0 = strcmp(ci.entries[0].serial, s0) == 0 ? 0 : 1;
	assert_string_equal(ci.entries[i0].serial, s0);
	assert_int_equal(ci.entries[i0].reason, MTLS_REVOKE_KEY_COMPROMISE);
	assert_string_equal(ci.entries[1 - i0].serial, s1);
	assert_int_equal(ci.entries[1 - i0].reason, -1);
	assert_true(ci.entries[0].revoked_at > time(NULL) - 2 * 3600);
	free(s0);
	free(s1);
	mtls_crl_info_clear(&ci);
	mtls_cert_info_clear(&ri);
	mtls_crl_free(crl);

	/* A certificate file is not a CRL. */
	char *cpath = tg_write_certs("root.pem", root, NULL);
	assert_null(mtls_crl_load_file(cpath, &err));
	assert_int_equal(err.code, MTLS_ERR_PARSE);
	assert_non_null(strstr(err.msg, "this is a certificate, not a CRL"));
	mtls_crl_free(NULL);
	free(cpath);
	free(path);
	X509_CRL_free(x);
	tg_unwrap(c);
	(void)state;
}

/* identify of a memory buffer. */
static struct mtls_file_contents
ident(const void *buf, size_t len)
{
	struct mtls_file_contents c;
	struct mtls_error err = { 0 };

	assert_int_equal(mtls_mem_identify(buf, len, "buf", &c, &err), 0);
	return c;
}

static size_t
bio_data(BIO *b, char **p)
{
	return (size_t)BIO_get_mem_data(b, p);
}

static void
test_san_type_names(void **state)
{
	(void)state;
	assert_string_equal(mtls_san_type_name(MTLS_SAN_DNS), "DNS");
	assert_string_equal(mtls_san_type_name(MTLS_SAN_IP), "IP");
	assert_string_equal(mtls_san_type_name(MTLS_SAN_URI), "URI");
	assert_string_equal(mtls_san_type_name(MTLS_SAN_EMAIL), "email");
	assert_string_equal(mtls_san_type_name(MTLS_SAN_OTHER), "other");
	assert_string_equal(mtls_san_type_name((enum mtls_san_type)0),
	    "other");
}

static void
test_validity_words(void **state)
{
	const time_t now = 1700000000, day = 86400;
	char buf[96];

	(void)state;
	mtls_validity_words(now - day, now + 89 * day + 60, now, buf,
	    sizeof(buf));
	assert_string_equal(buf, "expires in 89 days");
	mtls_validity_words(now - 10 * day, now - 3 * day - 5, now, buf,
	    sizeof(buf));
	assert_string_equal(buf, "EXPIRED 3 days ago");
	mtls_validity_words(now + 2 * 3600 + 1, now + day * 30, now, buf,
	    sizeof(buf));
	assert_string_equal(buf, "not yet valid, starts in 2 hours");
	mtls_validity_words(now - day, now + 60, now, buf, sizeof(buf));
	assert_string_equal(buf, "expires in less than an hour");
	mtls_validity_words(now - day, 0, now, buf, sizeof(buf));
	assert_string_equal(buf, "no expiry given");
	mtls_validity_words(0, now + day, now, buf, sizeof(buf));
	assert_string_equal(buf, "expires in 1 day");
}

static void
test_identify(void **state)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	size_t n;
	struct mtls_file_contents c;
	struct mtls_error err = { 0 };

	/* A PEM chain, with text around it. */
	BIO_puts(b, "Some text before\n");
	PEM_write_bio_X509(b, leaf);
	BIO_puts(b, "between\n");
	PEM_write_bio_X509(b, root);
	n = bio_data(b, &p);
	c = ident(p, n);
	assert_int_equal(c.first, MTLS_OBJECT_CERT);
	assert_int_equal(c.ncerts, 2);
	assert_false(c.der);
	/* ... with a key after it. */
	PEM_write_bio_PrivateKey(b, ec_key, NULL, NULL, 0, NULL, NULL);
	n = bio_data(b, &p);
	c = ident(p, n);
	assert_int_equal(c.first, MTLS_OBJECT_CERT);
	assert_int_equal(c.nkeys, 1);
	BIO_reset(b);

	/* Keys: PKCS#8, encrypted PKCS#8, traditional EC, and DER. */
	PEM_write_bio_PrivateKey(b, ec_key, NULL, NULL, 0, NULL, NULL);
	n = bio_data(b, &p);
	c = ident(p, n);
	assert_int_equal(c.first, MTLS_OBJECT_KEY);
	assert_int_equal(c.ncerts, 0);
	BIO_reset(b);
	PEM_write_bio_PrivateKey(b, ec_key, EVP_aes_256_cbc(), NULL, 0, NULL,
	    (void *)"secret");
	n = bio_data(b, &p);
	assert_int_equal(ident(p, n).first, MTLS_OBJECT_KEY);
	BIO_reset(b);
	PEM_write_bio_PrivateKey_traditional(b, ec_key, NULL, NULL, 0, NULL,
	    NULL);
	n = bio_data(b, &p);
	assert_int_equal(ident(p, n).first, MTLS_OBJECT_KEY);
	BIO_reset(b);
	i2d_PrivateKey_bio(b, rsa_key);
	n = bio_data(b, &p);
	c = ident(p, n);
	assert_int_equal(c.first, MTLS_OBJECT_KEY);
	assert_true(c.der);
	BIO_reset(b);
	PEM_write_bio_PUBKEY(b, ec_key);
	n = bio_data(b, &p);
	assert_int_equal(ident(p, n).first, MTLS_OBJECT_PUBLIC_KEY);
	BIO_reset(b);

	/* DER certificate, and two concatenated. */
	i2d_X509_bio(b, leaf);
	n = bio_data(b, &p);
	c = ident(p, n);
	assert_int_equal(c.first, MTLS_OBJECT_CERT);
	assert_int_equal(c.ncerts, 1);
	assert_true(c.der);
	i2d_X509_bio(b, root);
	n = bio_data(b, &p);
	assert_int_equal(ident(p, n).ncerts, 2);
	BIO_reset(b);

	/* CSR, PEM and DER. */
	X509_REQ *req = make_csr(ec_key);
	PEM_write_bio_X509_REQ(b, req);
	n = bio_data(b, &p);
	assert_int_equal(ident(p, n).first, MTLS_OBJECT_CSR);
	BIO_reset(b);
	i2d_X509_REQ_bio(b, req);
	n = bio_data(b, &p);
	assert_int_equal(ident(p, n).first, MTLS_OBJECT_CSR);
	BIO_reset(b);
	X509_REQ_free(req);

	/* CRL, DER. */
	X509_CRL *crl = tg_crl(root, root_key, NULL, 0, -DAY, DAY, 1);
	i2d_X509_CRL_bio(b, crl);
	n = bio_data(b, &p);
	c = ident(p, n);
	assert_int_equal(c.first, MTLS_OBJECT_CRL);
	assert_int_equal(c.ncrls, 1);
	BIO_reset(b);
	X509_CRL_free(crl);

	/* PKCS#12. */
	PKCS12 *p12 = PKCS12_create("pw", "x", ec_key, leaf, NULL, 0, 0, 0, 0,
	    0);
	assert_non_null(p12);
	i2d_PKCS12_bio(b, p12);
	PKCS12_free(p12);
	n = bio_data(b, &p);
	assert_int_equal(ident(p, n).first, MTLS_OBJECT_PKCS12);
	BIO_reset(b);

	/* Garbage, empty, and a broken PEM certificate. */
	assert_int_equal(ident("hello world\n", 12).first, MTLS_OBJECT_NONE);
	assert_int_equal(ident("", 0).first, MTLS_OBJECT_NONE);
	const char *bad = "-----BEGIN CERTIFICATE-----\nMIIBkzCCATmgAwIBAg==\n"
	    "-----END CERTIFICATE-----\n";
	assert_int_equal(mtls_mem_identify(bad, strlen(bad), "bad.pem", &c,
	    &err), -1);
	assert_int_equal(err.code, MTLS_ERR_PARSE);
	assert_non_null(strstr(err.msg, "bad.pem: PEM block 1 (CERTIFICATE) "
	    "is not a valid certificate"));
	/* Files. */
	assert_int_equal(mtls_file_identify("/nonexistent", &c, &err), -1);
	assert_int_equal(err.code, MTLS_ERR_IO);
	assert_string_equal(mtls_object_kind_name(MTLS_OBJECT_KEY),
	    "a private key");
	BIO_free(b);
	(void)state;
}

/* One CN, chosen one way (x509/text.h): the last of several, as inspect,
 * the peer facts and messages all name it; a CN with a NUL is none. */
static void
test_common_name_choice(void **state)
{
	X509_NAME *name = X509_NAME_new();
	char buf[64], *s;

	assert_non_null(name);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Org", -1, -1, 0), 1);
	assert_null(x509_name_cn_utf8(name));
	x509_name_short(name, buf, sizeof(buf));
	assert_string_equal(buf, "O=Org");
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"first", -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"second", -1, -1, 0), 1);
	assert_int_equal(x509_name_cn_count(name), 2);
	s = x509_name_cn(name);
	assert_string_equal(s, "second");
	free(s);
	s = x509_name_cn_utf8(name);
	assert_string_equal(s, "second");
	free(s);
	x509_name_short(name, buf, sizeof(buf));
	assert_string_equal(buf, "CN=second");
	X509_NAME_free(name);

	name = X509_NAME_new();
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", V_ASN1_UTF8STRING,
	    (const unsigned char *)"a\0b", 3, -1, 0), 1);
	assert_null(x509_name_cn_utf8(name));
	s = x509_name_cn(name);
	assert_string_equal(s, "a\\x00b");
	free(s);
	X509_NAME_free(name);
	(void)state;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cert_fields),
		cmocka_unit_test(test_key_types),
		cmocka_unit_test(test_csr_info),
		cmocka_unit_test(test_crl_info),
		cmocka_unit_test(test_san_type_names),
		cmocka_unit_test(test_validity_words),
		cmocka_unit_test(test_identify),
		cmocka_unit_test(test_common_name_choice),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
