/*
 * test_pki_keys.c - keys (every type: generate, write 0600, reload; the
 * passphrase cases), certificates as files (PEM, DER, wrong content, key
 * mismatch) and PKCS#12 bundles that openssl opens without -legacy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/pkcs12.h>

#include "pki_test.h"

static void
test_key_type_names(void **state)
{
	static const char *const names[] = { "ec-p256", "ec-p384", "rsa-2048",
	    "rsa-3072", "rsa-4096", "ed25519" };
	enum mtls_key_type t;

	(void)state;
	for (size_t i = 0; i < nitems(names); i++) {
		assert_int_equal(mtls_key_type_parse(names[i], &t), 0);
		assert_string_equal(mtls_key_type_name(t), names[i]);
	}
	assert_int_equal(mtls_key_type_parse("EC-P256", &t), 0);
	assert_int_equal(t, MTLS_KEY_EC_P256);
	assert_int_equal(mtls_key_type_parse("rsa-1024", &t), -1);
	assert_int_equal(mtls_key_type_parse("", &t), -1);
	assert_int_equal(mtls_key_type_parse(NULL, &t), -1);
	assert_int_equal(MTLS_KEY_EC_P256, 0); /* the default is zero */
}

/* Generates a key of type, writes it, reads it back and checks both the
 * file mode and that the reloaded key is the same key. */
static void
roundtrip(enum mtls_key_type type, const char *base_type, int bits)
{
	struct mtls_error err;
	struct mtls_key *k, *k2;
	char *path = path_join(dir, mtls_key_type_name(type));

	k = mtls_key_generate(type, &err);
	assert_non_null(k);
	assert_true(EVP_PKEY_is_a(k->pkey, base_type));
	assert_int_equal(EVP_PKEY_get_bits(k->pkey), bits);
	assert_int_equal(mtls_key_write_file(k, path, NULL, 0, &err), 0);
	assert_int_equal(file_mode(path), 0600);
	k2 = mtls_key_load_file(path, NULL, &err);
	assert_non_null(k2);
	assert_int_equal(EVP_PKEY_eq(k->pkey, k2->pkey), 1);

	/* PKCS#8 PEM, unencrypted. */
	char *buf;
	size_t len;
	assert_int_equal(file_read(path, 1 << 20, &buf, &len, &err), 0);
	assert_non_null(strstr(buf, "-----BEGIN PRIVATE KEY-----"));
	file_free(buf, len);

	/* Refused without FORCE, replaced with it. */
	assert_int_equal(mtls_key_write_file(k2, path, NULL, 0, &err), -1);
	assert_int_equal(err.code, MTLS_ERR_EXISTS);
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(mtls_key_write_file(k2, path, NULL, MTLS_WRITE_FORCE,
	    &err), 0);
	assert_int_equal(file_mode(path), 0600);
	mtls_key_free(k);
	mtls_key_free(k2);
	free(path);
}

static void
test_key_ec_p256(void **state)
{
	(void)state;
	roundtrip(MTLS_KEY_EC_P256, "EC", 256);
}

static void
test_key_ec_p384(void **state)
{
	(void)state;
	roundtrip(MTLS_KEY_EC_P384, "EC", 384);
}

static void
test_key_rsa_2048(void **state)
{
	(void)state;
	roundtrip(MTLS_KEY_RSA_2048, "RSA", 2048);
}

static void
test_key_rsa_3072(void **state)
{
	(void)state;
	roundtrip(MTLS_KEY_RSA_3072, "RSA", 3072);
}

static void
test_key_rsa_4096(void **state)
{
	(void)state;
	roundtrip(MTLS_KEY_RSA_4096, "RSA", 4096);
}

static void
test_key_ed25519(void **state)
{
	(void)state;
	roundtrip(MTLS_KEY_ED25519, "ED25519", 256);
}

static void
test_key_unknown_type(void **state)
{
	struct mtls_error err;

	(void)state;
	assert_null(mtls_key_generate((enum mtls_key_type)42, &err));
	assert_int_equal(err.code, MTLS_ERR_USAGE);
}

static void
test_key_encrypted(void **state)
{
	struct mtls_error err;
	struct mtls_key *k, *k2;
	char *path = path_join(dir, "enc.key");
	char *buf;
	size_t len;

	(void)state;
	k = mtls_key_generate(MTLS_KEY_EC_P256, &err);
	assert_non_null(k);
	assert_int_equal(mtls_key_write_file(k, path, "s3cret", 0, &err), 0);
	assert_int_equal(file_mode(path), 0600);
	assert_int_equal(file_read(path, 1 << 20, &buf, &len, &err), 0);
	assert_non_null(strstr(buf, "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
	file_free(buf, len);

	k2 = mtls_key_load_file(path, "s3cret", &err);
	assert_non_null(k2);
	assert_int_equal(EVP_PKEY_eq(k->pkey, k2->pkey), 1);
	mtls_key_free(k2);

	assert_null(mtls_key_load_file(path, "wrong", &err));
	assert_int_equal(err.code, MTLS_ERR_PASSPHRASE);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "wrong passphrase"));

	assert_null(mtls_key_load_file(path, NULL, &err));
	assert_int_equal(err.code, MTLS_ERR_PASSPHRASE);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg,
	    "key is encrypted and no passphrase was given"));

	/* The cipher is AES-256-CBC under PBES2 (openssl can say). */
	char *cmd;
	assert_true(asprintf(&cmd, "openssl asn1parse -in '%s' 2>/dev/null |"
	    " grep -q aes-256-cbc", path) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	mtls_key_free(k);
	free(path);
}

/* DER input, plain and encrypted PKCS#8. */
static void
test_key_der(void **state)
{
	struct mtls_error err;
	struct mtls_key *k, *k2;
	unsigned char *der = NULL;
	int n;
	BIO *bio;
	char *data;
	long dlen;

	(void)state;
	k = mtls_key_generate(MTLS_KEY_EC_P384, &err);
	assert_non_null(k);
	n = i2d_PrivateKey(k->pkey, &der);
	assert_true(n > 0);
	k2 = mtls_key_load_mem(der, (size_t)n, NULL, "der.key", &err);
	assert_non_null(k2);
	assert_int_equal(EVP_PKEY_eq(k->pkey, k2->pkey), 1);
	mtls_key_free(k2);
	OPENSSL_free(der);

	bio = BIO_new(BIO_s_mem());
	assert_int_equal(i2d_PKCS8PrivateKey_bio(bio, k->pkey,
	    EVP_aes_256_cbc(), NULL, 0, NULL, (void *)"pw"), 1);
	dlen = BIO_get_mem_data(bio, &data);
	k2 = mtls_key_load_mem(data, (size_t)dlen, "pw", "enc.der", &err);
	assert_non_null(k2);
	assert_int_equal(EVP_PKEY_eq(k->pkey, k2->pkey), 1);
	mtls_key_free(k2);
	assert_null(mtls_key_load_mem(data, (size_t)dlen, "nope", "enc.der",
	    &err));
	assert_int_equal(err.code, MTLS_ERR_PASSPHRASE);
	assert_string_equal(err.msg, "enc.der: wrong passphrase");
	assert_null(mtls_key_load_mem(data, (size_t)dlen, NULL, "enc.der",
	    &err));
	assert_int_equal(err.code, MTLS_ERR_PASSPHRASE);
	assert_string_equal(err.msg,
	    "enc.der: the key is encrypted and no passphrase was given");
	BIO_free(bio);
	mtls_key_free(k);
}

static void
test_key_not_a_key(void **state)
{
	struct mtls_error err;
	static const char junk[] = "hello, world\n";
	char *path = path_join(dir, "missing.key");

	(void)state;
	assert_null(mtls_key_load_mem(junk, sizeof(junk) - 1, NULL, "junk.key",
	    &err));
	assert_int_equal(err.code, MTLS_ERR_PARSE);
	assert_non_null(strstr(err.msg, "junk.key: no private key found"));
	assert_null(mtls_key_load_file(path, NULL, &err));
	assert_int_equal(err.code, MTLS_ERR_IO);
	assert_non_null(strstr(err.msg, path));
	free(path);
}

/* A root CA and a server leaf under it, for the certificate-file tests. */
static struct mtls_cert *
make_chain(const char *sub, struct mtls_key **keyp)
{
	struct mtls_ca_options co = { 0 };
	struct mtls_issue_options io = { 0 };
	struct mtls_names names = { 0 };
	struct mtls_error err;
	struct mtls_cert *c;
	struct mtls_ca *ca, *inter;
	char *root = path_join(dir, sub), *mid;

	co.dir = root;
	ca = mtls_ca_create(&co, &err);
	assert_non_null(ca);
	mid = path_join(root, "inter");
	co.dir = mid;
	co.parent_dir = root;
	inter = mtls_ca_create(&co, &err);
	assert_non_null(inter);
	*keyp = mtls_key_generate(MTLS_KEY_EC_P256, &err);
	names.common_name = "www.example.com";
	io.kind = MTLS_CERT_SERVER;
	c = mtls_ca_issue(inter, *keyp, &names, &io);
	assert_non_null(c);
	assert_int_equal(mtls_cert_count(c), 2);
	mtls_ca_free(ca);
	mtls_ca_free(inter);
	free(root);
	free(mid);
	return c;
}

static void
test_cert_files(void **state)
{
	struct mtls_error err;
	struct mtls_key *key, *other;
	struct mtls_cert *c, *c2;
	char *pem = path_join(dir, "chain.pem"), *keyf = path_join(dir, "k");
	unsigned char *der = NULL;
	int n;

	(void)state;
	c = make_chain("ca-files", &key);
	assert_int_equal(mtls_cert_write_file(c, pem, 0, &err), 0);
	assert_int_equal(file_mode(pem), 0644);
	c2 = mtls_cert_load_file(pem, &err);
	assert_non_null(c2);
	assert_int_equal(mtls_cert_count(c2), 2);
	assert_int_equal(X509_cmp(cert_x509(c, 0), cert_x509(c2, 0)), 0);
	assert_int_equal(X509_cmp(cert_x509(c, 1), cert_x509(c2, 1)), 0);
	assert_int_equal(mtls_cert_check_key(c2, key, &err), 0);
	mtls_cert_free(c2);

	/* DER, one certificate. */
	n = i2d_X509(cert_x509(c, 0), &der);
	assert_true(n > 0);
	c2 = mtls_cert_load_mem(der, (size_t)n, "leaf.der", &err);
	assert_non_null(c2);
	assert_int_equal(mtls_cert_count(c2), 1);
	assert_int_equal(X509_cmp(cert_x509(c, 0), cert_x509(c2, 0)), 0);
	mtls_cert_free(c2);
	OPENSSL_free(der);

	/* A key file is not a certificate, and says so with its name. */
	assert_int_equal(mtls_key_write_file(key, keyf, NULL, 0, &err), 0);
	assert_null(mtls_cert_load_file(keyf, &err));
	assert_int_equal(err.code, MTLS_ERR_PARSE);
	char *want;
	assert_true(asprintf(&want, "%s: not a certificate (no CERTIFICATE "
	    "block in this PEM file)", keyf) > 0);
	assert_string_equal(err.msg, want);
	free(want);

	/* A certificate file holds no key... */
	struct mtls_key *k2 = mtls_key_load_file(pem, NULL, &err);
	assert_null(k2);
	assert_int_equal(err.code, MTLS_ERR_PARSE);
	assert_non_null(strstr(err.msg, "no private key found"));

	/* ...but a combined cert+key file gives both. */
	char *kb, *cb, *both;
	size_t kl, cl;
	assert_int_equal(file_read(keyf, 1 << 20, &kb, &kl, &err), 0);
	assert_int_equal(file_read(pem, 1 << 20, &cb, &cl, &err), 0);
	assert_true(asprintf(&both, "%s%s", cb, kb) > 0);
	k2 = mtls_key_load_mem(both, strlen(both), NULL, "both.pem", &err);
	assert_non_null(k2);
	assert_int_equal(EVP_PKEY_eq(k2->pkey, key->pkey), 1);
	c2 = mtls_cert_load_mem(both, strlen(both), "both.pem", &err);
	assert_non_null(c2);
	assert_int_equal(mtls_cert_count(c2), 2);
	mtls_cert_free(c2);
	mtls_key_free(k2);
	file_free(kb, kl);
	file_free(cb, cl);
	free(both);

	/* The wrong key. */
	other = mtls_key_generate(MTLS_KEY_EC_P256, &err);
	assert_int_equal(mtls_cert_check_key(c, other, &err), -1);
	assert_int_equal(err.code, MTLS_ERR_KEY_MISMATCH);
	assert_non_null(strstr(err.msg, "key does not match certificate"));
	assert_non_null(strstr(err.msg, "www.example.com"));

	/* A malformed PEM block is a parse error, not "no certificate". */
	static const char bad[] = "-----BEGIN CERTIFICATE-----\nAAAA\n"
	    "-----END CERTIFICATE-----\n";
	assert_null(mtls_cert_load_mem(bad, sizeof(bad) - 1, "bad.pem", &err));
	assert_int_equal(err.code, MTLS_ERR_PARSE);
	assert_non_null(strstr(err.msg, "bad.pem: "));

	mtls_key_free(other);
	mtls_key_free(key);
	mtls_cert_free(c);
	free(pem);
	free(keyf);
}

static void
test_pkcs12(void **state)
{
	struct mtls_error err;
	struct mtls_key *key, *other;
	struct mtls_cert *c;
	char *p12 = path_join(dir, "bundle.p12"), *cmd;
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	STACK_OF(X509) *ca = NULL;
	PKCS12 *p;
	BIO *bio;

	(void)state;
	c = make_chain("ca-p12", &key);
	assert_int_equal(mtls_pkcs12_write_file(c, key, NULL, "pass word",
	    p12, 0, &err), 0);
	assert_int_equal(file_mode(p12), 0600);

	/* Opens with the default provider only (no -legacy). */
	assert_true(asprintf(&cmd, "openssl pkcs12 -info -noout -in '%s' "
	    "-passin 'pass:pass word' >/dev/null 2>&1", p12) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_true(asprintf(&cmd, "openssl pkcs12 -info -noout -in '%s' "
	    "-passin pass:bad >/dev/null 2>&1", p12) > 0);
	assert_int_not_equal(system(cmd), 0);
	free(cmd);
	/* The MAC is HMAC-SHA256 and the bags use AES-256-CBC. */
	assert_true(asprintf(&cmd, "openssl pkcs12 -info -noout -in '%s' "
	    "-passin 'pass:pass word' 2>&1 | grep -q 'MAC: sha256' && "
	    "openssl pkcs12 -info -noout -in '%s' -passin 'pass:pass word' "
	    "2>&1 | grep -q 'AES-256-CBC'", p12, p12) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);

	bio = BIO_new_file(p12, "rb");
	p = d2i_PKCS12_bio(bio, NULL);
	assert_non_null(p);
	assert_int_equal(PKCS12_parse(p, "pass word", &pk, &x, &ca), 1);
	assert_int_equal(EVP_PKEY_eq(pk, key->pkey), 1);
	assert_int_equal(X509_cmp(x, cert_x509(c, 0)), 0);
	assert_int_equal(sk_X509_num(ca), 1);
	/* The friendly name defaults to the CN. */
	int alen = 0;
	unsigned char *alias = X509_alias_get0(x, &alen);
	assert_non_null(alias);
	assert_memory_equal(alias, "www.example.com", 15);
	EVP_PKEY_free(pk);
	X509_free(x);
	sk_X509_pop_free(ca, X509_free);
	PKCS12_free(p);
	BIO_free(bio);

	/* Refusals: no passphrase, the wrong key, an existing file. */
	assert_int_equal(mtls_pkcs12_write_file(c, key, "n", NULL, p12,
	    MTLS_WRITE_FORCE, &err), -1);
	assert_int_equal(err.code, MTLS_ERR_USAGE);
	other = mtls_key_generate(MTLS_KEY_EC_P256, &err);
	assert_int_equal(mtls_pkcs12_write_file(c, other, "n", "pw", p12,
	    MTLS_WRITE_FORCE, &err), -1);
	assert_int_equal(err.code, MTLS_ERR_KEY_MISMATCH);
	assert_int_equal(mtls_pkcs12_write_file(c, key, "n", "pw", p12, 0,
	    &err), -1);
	assert_int_equal(err.code, MTLS_ERR_EXISTS);
	mtls_key_free(other);
	mtls_key_free(key);
	mtls_cert_free(c);
	free(p12);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_type_names),
		cmocka_unit_test(test_key_ec_p256),
		cmocka_unit_test(test_key_ec_p384),
		cmocka_unit_test(test_key_rsa_2048),
		cmocka_unit_test(test_key_rsa_3072),
		cmocka_unit_test(test_key_rsa_4096),
		cmocka_unit_test(test_key_ed25519),
		cmocka_unit_test(test_key_unknown_type),
		cmocka_unit_test(test_key_encrypted),
		cmocka_unit_test(test_key_der),
		cmocka_unit_test(test_key_not_a_key),
		cmocka_unit_test(test_cert_files),
		cmocka_unit_test(test_pkcs12),
	};

	return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
