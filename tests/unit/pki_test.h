/*
 * pki_test.h - helpers for the PKI unit tests (test_pki_*.c): the test's
 * temporary directory and CAs in it, and reading certificates and
 * extensions with OpenSSL.
 */
#ifndef PKI_TEST_H
#define PKI_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include "ca/pki.h"

/* A fresh directory under $TMPDIR; removed with tmpdir_remove. */
static inline char *
tmpdir_new(void)
{
	const char *base = getenv("TMPDIR");
	char *p;

	if (asprintf(&p, "%s/mtls-pki.XXXXXX", base ? base : "/tmp") == -1)
		return NULL;
	if (mkdtemp(p) == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

static inline void
tmpdir_remove(char *dir)
{
	char *cmd;

	if (dir == NULL)
		return;
	if (strncmp(dir, "/tmp/", 5) == 0 || getenv("TMPDIR") != NULL) {
		if (asprintf(&cmd, "rm -rf '%s'", dir) != -1) {
			if (system(cmd) != 0)
				fprintf(stderr, "cannot remove %s\n", dir);
			free(cmd);
		}
	}
	free(dir);
}

static inline char *
path_join(const char *dir, const char *file)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, file) == -1)
		return NULL;
	return p;
}

/* The group's temporary directory, made by pki_setup and removed with
 * everything in it by pki_teardown (cmocka group setup and teardown). */
static char *dir;

static inline int
pki_setup(void **state)
{
	(void)state;
	dir = tmpdir_new();
	return dir == NULL ? -1 : 0;
}

static inline int
pki_teardown(void **state)
{
	(void)state;
	tmpdir_remove(dir);
	dir = NULL;
	return 0;
}

/* A new CA in dir/sub (an intermediate under dir/parent_sub when that is
 * non-NULL); fails the test when it cannot be made. */
static inline struct mtls_ca *
ca_make(const char *sub, const char *parent_sub, enum mtls_key_type type,
    int days, const char *pass)
{
	struct mtls_ca_options o = { 0 };
	struct mtls_error err;
	struct mtls_ca *ca;
	char *d = path_join(dir, sub);
	char *p = parent_sub != NULL ? path_join(dir, parent_sub) : NULL;

	o.dir = d;
	o.parent_dir = p;
	o.key_type = type;
	o.days = days;
	o.passphrase = pass;
	ca = mtls_ca_create(&o, &err);
	if (ca == NULL)
		fail_msg("mtls_ca_create %s: %s", d, err.msg);
	free(d);
	free(p);
	return ca;
}

/* A root CA with the defaults in dir/sub. */
static inline struct mtls_ca *
new_ca(const char *sub)
{
	return ca_make(sub, NULL, MTLS_KEY_EC_P256, 0, NULL);
}

static inline mode_t
file_mode(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return (mode_t)-1;
	return st.st_mode & 07777;
}

/* The i-th certificate of a chain. */
static inline X509 *
cert_x509(const struct mtls_cert *c, int i)
{
	return sk_X509_value(c->certs, i);
}

/* The extension nid of x, or NULL; *crit gets its critical flag. */
static inline X509_EXTENSION *
ext_get(X509 *x, int nid, int *crit)
{
	int i = X509_get_ext_by_NID(x, nid, -1);
	X509_EXTENSION *e;

	if (i < 0)
		return NULL;
	e = X509_get_ext(x, i);
	if (crit != NULL)
		*crit = X509_EXTENSION_get_critical(e);
	return e;
}

static inline int
serial_bits(X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	int bits = BN_is_negative(bn) || BN_is_zero(bn) ? -1 :
	    BN_num_bits(bn);

	BN_free(bn);
	return bits;
}

static inline time_t
asn1_time_t(const ASN1_TIME *t)
{
	struct tm tm;

	if (!ASN1_TIME_to_tm(t, &tm))
		return (time_t)-1;
	return timegm(&tm);
}

/* The SAN extension as text, e.g. "DNS:a, IP:1.2.3.4". Caller frees. */
static inline char *
san_text(X509 *x)
{
	X509_EXTENSION *e = ext_get(x, NID_subject_alt_name, NULL);
	BIO *bio;
	char *data, *s = NULL;
	long n;

	if (e == NULL)
		return NULL;
	bio = BIO_new(BIO_s_mem());
	if (X509V3_EXT_print(bio, e, 0, 0) == 1) {
		n = BIO_get_mem_data(bio, &data);
		s = strndup(data, (size_t)n);
	}
	BIO_free(bio);
	return s;
}

static inline int
octets_eq(const ASN1_OCTET_STRING *a, const ASN1_OCTET_STRING *b)
{
	return a != NULL && b != NULL && ASN1_OCTET_STRING_cmp(a, b) == 0;
}

#endif
