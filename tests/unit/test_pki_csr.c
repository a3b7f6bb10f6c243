/*
 * test_pki_csr.c - CSRs: made, written and read back (PEM and DER); and the
 * signing policy: the self-signature must verify, weak keys and requests
 * for a CA certificate are refused, and no requested extension other than
 * the SANs reaches the certificate.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/pem.h>

#include "pki_test.h"

static struct mtls_ca *ca;

static int
setup(void **state)
{
	struct mtls_ca_options o = { 0 };
	struct mtls_error err;

	if (pki_setup(state) == -1)
		return -1;
	o.dir = path_join(dir, "ca");
	ca = mtls_ca_create(&o, &err);
	free((char *)o.dir);
	if (ca == NULL)
		fprintf(stderr, "%s\n", err.msg);
	return ca == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	mtls_ca_free(ca);
	return pki_teardown(state);
}

static struct mtls_cert *
sign(const struct mtls_csr *csr, enum mtls_cert_kind kind)
{
	struct mtls_issue_options io = { 0 };

	io.kind = kind;
	return mtls_ca_sign_csr(ca, csr, &io);
}

static void
test_csr_roundtrip(void **state)
{
	static const char *const dns[] = { "api.example.com" };
	static const char *const ip[] = { "192.0.2.7" };
	static const char *const uri[] = { "spiffe://example.org/api" };
	struct mtls_names n = { 0 };
	struct mtls_error err;
	struct mtls_key *key;
	struct mtls_csr *csr, *csr2;
	struct mtls_cert *c;
	char *path = path_join(dir, "api.csr"), *san;

	(void)state;
	key = mtls_key_generate(MTLS_KEY_EC_P256, &err);
	n.common_name = "api";
	n.dns = dns;
	n.ndns = 1;
	n.ip = ip;
	n.nip = 1;
	n.uri = uri;
	n.nuri = 1;
	csr = mtls_csr_new(key, &n, &err);
	assert_non_null(csr);
	assert_int_equal(X509_REQ_verify(csr->req, key->pkey), 1);
	assert_int_equal(mtls_csr_write_file(csr, path, 0, &err), 0);
	assert_int_equal(file_mode(path), 0644);
	assert_int_equal(mtls_csr_write_file(csr, path, 0, &err), -1);
	assert_int_equal(err.code, MTLS_ERR_EXISTS);
	csr2 = mtls_csr_load_file(path, &err);
	assert_non_null(csr2);
	assert_int_equal(X509_REQ_verify(csr2->req, key->pkey), 1);

	/* DER too. */
	unsigned char *der = NULL;
	int len = i2d_X509_REQ(csr->req, &der);
	struct mtls_csr *csr3 = mtls_csr_load_mem(der, (size_t)len, "x.der",
	    &err);
	assert_non_null(csr3);
	mtls_csr_free(csr3);
	OPENSSL_free(der);

	c = sign(csr2, MTLS_CERT_SERVER);
	assert_non_null(c);
	assert_int_equal(mtls_cert_check_key(c, key, &err), 0);
	san = san_text(cert_x509(c, 0));
	assert_string_equal(san, "DNS:api.example.com, IP Address:192.0.2.7, "
	    "URI:spiffe://example.org/api");
	free(san);
	assert_int_equal(X509_get_extended_key_usage(cert_x509(c, 0)),
	    XKU_SSL_SERVER);
	mtls_cert_free(c);

	/* Not a CSR. */
	char *keyf = path_join(dir, "api.key");
	assert_int_equal(mtls_key_write_file(key, keyf, NULL, 0, &err), 0);
	assert_null(mtls_csr_load_file(keyf, &err));
	assert_int_equal(err.code, MTLS_ERR_PARSE);
	assert_non_null(strstr(err.msg, keyf));
	assert_non_null(strstr(err.msg, "not a certificate request"));
	free(keyf);

	mtls_csr_free(csr);
	mtls_csr_free(csr2);
	mtls_key_free(key);
	free(path);
}

/* A CSR for CN=cn made by hand with OpenSSL, with extra requested
 * extensions (in openssl's config syntax, NULL-terminated pairs). */
static struct mtls_csr *
raw_csr(EVP_PKEY *pkey, const char *cn, const char *const *exts)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *sk = sk_X509_EXTENSION_new_null();
	struct mtls_csr *csr = calloc(1, sizeof(*csr));

	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN",
	    MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_REQ_set_pubkey(req, pkey);
	for (size_t i = 0; exts != NULL && exts[i] != NULL; i += 2) {
		X509_EXTENSION *e = X509V3_EXT_conf(NULL, NULL, exts[i],
		    exts[i + 1]);
		assert_non_null(e);
		sk_X509_EXTENSION_push(sk, e);
	}
	if (sk_X509_EXTENSION_num(sk) > 0)
		X509_REQ_add_extensions(req, sk);
	sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free);
	assert_true(X509_REQ_sign(req, pkey, EVP_sha256()) > 0);
	csr->req = req;
	return csr;
}

static void
test_csr_requests_ca(void **state)
{
	static const char *const exts[] = { "basicConstraints",
	    "critical,CA:TRUE", "subjectAltName", "DNS:evil.example.com",
	    NULL };
	struct mtls_error err;
	struct mtls_key *key = mtls_key_generate(MTLS_KEY_EC_P256, &err);
	struct mtls_csr *csr = raw_csr(key->pkey, "evil.example.com", exts);

	(void)state;
	assert_null(sign(csr, MTLS_CERT_SERVER));
	assert_int_equal(ca->err.code, MTLS_ERR_POLICY);
	assert_non_null(strstr(mtls_ca_error(ca),
	    ": requests a CA certificate"));
	assert_non_null(strstr(mtls_ca_error(ca), "evil.example.com"));
	mtls_csr_free(csr);
	mtls_key_free(key);
}

static void
test_csr_extensions_not_copied(void **state)
{
	static const char *const exts[] = {
		"keyUsage", "critical,keyCertSign,cRLSign,digitalSignature",
		"extendedKeyUsage", "codeSigning,serverAuth",
		"basicConstraints", "CA:FALSE,pathlen:3",
		"nameConstraints", "permitted;DNS:example.com",
		"subjectAltName", "DNS:ok.example.com,email:a@example.com",
		NULL };
	struct mtls_error err;
	struct mtls_key *key = mtls_key_generate(MTLS_KEY_EC_P256, &err);
	struct mtls_csr *csr = raw_csr(key->pkey, "ok", exts);
	struct mtls_cert *c;
	X509 *x;
	char *san;

	(void)state;
	c = sign(csr, MTLS_CERT_CLIENT);
	assert_non_null(c);
	x = cert_x509(c, 0);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	assert_false(X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
	assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
	assert_false(X509_get_extension_flags(x) & EXFLAG_CA);
	assert_null(ext_get(x, NID_name_constraints, NULL));
	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints,
	    NULL, NULL);
	assert_non_null(bc);
	assert_null(bc->pathlen);
	BASIC_CONSTRAINTS_free(bc);
	san = san_text(x);
	assert_string_equal(san, "DNS:ok.example.com, email:a@example.com");
	free(san);
	/* Exactly the profile's extensions. */
	assert_int_equal(X509_get_ext_count(x), 6);
	mtls_cert_free(c);
	mtls_csr_free(csr);
	mtls_key_free(key);
}

static void
test_csr_bad_signature(void **state)
{
	struct mtls_names n = { 0 };
	struct mtls_error err;
	struct mtls_key *key = mtls_key_generate(MTLS_KEY_EC_P256, &err);
	struct mtls_csr *csr;

	(void)state;
	n.common_name = "honest.example.com";
	csr = mtls_csr_new(key, &n, &err);
	assert_non_null(csr);
	/* Change the subject after signing; force re-encoding. */
	X509_NAME *subj = X509_REQ_get_subject_name(csr->req);
	X509_NAME_ENTRY_free(X509_NAME_delete_entry(subj, 0));
	assert_int_equal(X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"forged.example.com", -1, -1, 0), 1);
	unsigned char *der = NULL;
	int len = i2d_re_X509_REQ_tbs(csr->req, &der);
	assert_true(len > 0);
	OPENSSL_free(der);
	assert_null(sign(csr, MTLS_CERT_SERVER));
	assert_int_equal(ca->err.code, MTLS_ERR_POLICY);
	assert_non_null(strstr(mtls_ca_error(ca),
	    ": its signature does not verify"));
	assert_non_null(strstr(mtls_ca_error(ca), "forged.example.com"));

	/* Also after a trip through a file (the bytes themselves). */
	char *path = path_join(dir, "forged.csr");
	assert_int_equal(mtls_csr_write_file(csr, path, 0, &err), 0);
	struct mtls_csr *csr2 = mtls_csr_load_file(path, &err);
	assert_non_null(csr2);
	assert_null(sign(csr2, MTLS_CERT_SERVER));
	assert_non_null(strstr(mtls_ca_error(ca),
	    ": its signature does not verify"));
	mtls_csr_free(csr2);
	free(path);
	mtls_csr_free(csr);
	mtls_key_free(key);
}

static void
test_csr_weak_keys(void **state)
{
	static const char *const exts[] = { "subjectAltName",
	    "DNS:weak.example.com", NULL };
	EVP_PKEY *rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
	    (size_t)1024);
	EVP_PKEY *k256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	EVP_PKEY *p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	struct mtls_csr *csr;
	struct mtls_cert *c;

	(void)state;
	assert_non_null(rsa1024);
	csr = raw_csr(rsa1024, "weak", exts);
	assert_null(sign(csr, MTLS_CERT_SERVER));
	assert_int_equal(ca->err.code, MTLS_ERR_POLICY);
	assert_non_null(strstr(mtls_ca_error(ca), "1024"));
	mtls_csr_free(csr);

	assert_non_null(k256);
	csr = raw_csr(k256, "weak", exts);
	assert_null(sign(csr, MTLS_CERT_SERVER));
	assert_int_equal(ca->err.code, MTLS_ERR_POLICY);
	assert_non_null(strstr(mtls_ca_error(ca), "secp256k1"));
	mtls_csr_free(csr);

	/* P-521 is fine. */
	csr = raw_csr(p521, "ok521", exts);
	c = sign(csr, MTLS_CERT_SERVER);
	assert_non_null(c);
	mtls_cert_free(c);
	mtls_csr_free(csr);

	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(k256);
	EVP_PKEY_free(p521);
}

static void
test_csr_san_rules(void **state)
{
	static const char *const other[] = { "subjectAltName",
	    "otherName:1.2.3.4;UTF8:x", NULL };
	struct mtls_error err;
	struct mtls_key *key = mtls_key_generate(MTLS_KEY_EC_P256, &err);
	struct mtls_csr *csr;
	struct mtls_cert *c;
	char *san;

	(void)state;
	/* Unsupported SAN types are refused, not dropped silently. */
	csr = raw_csr(key->pkey, "x", other);
	assert_null(sign(csr, MTLS_CERT_CLIENT));
	assert_int_equal(ca->err.code, MTLS_ERR_POLICY);
	assert_non_null(strstr(mtls_ca_error(ca), "not supported"));
	mtls_csr_free(csr);

	/* No SANs but a host-name CN: the CN becomes the SAN. */
	csr = raw_csr(key->pkey, "web.example.com", NULL);
	c = sign(csr, MTLS_CERT_SERVER);
	assert_non_null(c);
	san = san_text(cert_x509(c, 0));
	assert_string_equal(san, "DNS:web.example.com");
	free(san);
	mtls_cert_free(c);
	mtls_csr_free(csr);

	/* No SANs and a plain CN: fine for a client, refused for a server. */
	csr = raw_csr(key->pkey, "worker", NULL);
	c = sign(csr, MTLS_CERT_CLIENT);
	assert_non_null(c);
	assert_null(ext_get(cert_x509(c, 0), NID_subject_alt_name, NULL));
	mtls_cert_free(c);
	assert_null(sign(csr, MTLS_CERT_SERVER));
	assert_non_null(strstr(mtls_ca_error(ca), "at least one DNS name"));
	mtls_csr_free(csr);
	mtls_key_free(key);
}

/* EdDSA: the CSR and the certificate are signed without a digest. */
static void
test_csr_ed25519(void **state)
{
	struct mtls_ca_options o = { 0 };
	struct mtls_names n = { 0 };
	struct mtls_error err;
	struct mtls_key *key = mtls_key_generate(MTLS_KEY_ED25519, &err);
	struct mtls_ca *ed;
	struct mtls_csr *csr;
	struct mtls_cert *c;

	(void)state;
	o.dir = path_join(dir, "ed-ca");
	o.key_type = MTLS_KEY_ED25519;
	ed = mtls_ca_create(&o, &err);
	assert_non_null(ed);
	n.common_name = "ed.example.com";
	csr = mtls_csr_new(key, &n, &err);
	assert_non_null(csr);
	assert_int_equal(X509_REQ_get_signature_nid(csr->req), NID_ED25519);
	struct mtls_issue_options io = { 0 };
	io.kind = MTLS_CERT_SERVER;
	c = mtls_ca_sign_csr(ed, csr, &io);
	assert_non_null(c);
	assert_int_equal(X509_get_signature_nid(cert_x509(c, 0)), NID_ED25519);
	assert_int_equal(X509_verify(cert_x509(c, 0),
	    X509_get0_pubkey(cert_x509(mtls_ca_cert(ed), 0))), 1);
	assert_int_equal(mtls_cert_check_key(c, key, &err), 0);
	char *crl = path_join(dir, "ed.crl");
	assert_int_equal(mtls_ca_write_crl(ed, crl, 0, 0), 0);
	free(crl);
	mtls_cert_free(c);
	mtls_csr_free(csr);
	mtls_ca_free(ed);
	mtls_key_free(key);
	free((char *)o.dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csr_roundtrip),
		cmocka_unit_test(test_csr_requests_ca),
		cmocka_unit_test(test_csr_extensions_not_copied),
		cmocka_unit_test(test_csr_bad_signature),
		cmocka_unit_test(test_csr_weak_keys),
		cmocka_unit_test(test_csr_san_rules),
		cmocka_unit_test(test_csr_ed25519),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
