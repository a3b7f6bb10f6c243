/*
 * test_verify_certgen.h - certificates, CRLs and CSRs made directly with
 * OpenSSL for the inspection and verification unit tests, so that those
 * tests depend on nothing but the code under test.  Included by one test
 * file each; every function is static.
 */
#ifndef TEST_VERIFY_CERTGEN_H
#define TEST_VERIFY_CERTGEN_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/internal.h"

#define DAY (24L * 3600)

static long tg_serial = 0x1000;

/* "EC" (P-256), "P-384", "RSA" (2048), "ED25519" */
static EVP_PKEY *
tg_key(const char *type)
{
	if (strcmp(type, "RSA") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (strcmp(type, "ED25519") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (strcmp(type, "P-384") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

struct tg_spec {
	const char *subject;        /* "/CN=x/O=y" style */
	X509 *issuer;               /* NULL: self-signed */
	EVP_PKEY *issuer_key;       /* NULL: self-signed with key */
	EVP_PKEY *key;
	long not_before;            /* seconds from now */
	long not_after;
	int ca;                     /* basicConstraints critical CA:TRUE */
	int pathlen;                /* -1: none */
	const char *san;            /* "DNS:a,IP:1.2.3.4" or NULL */
	const char *eku;            /* "serverAuth" or NULL */
	const char *ku;             /* NULL: a default by ca */
	int no_aki;
	int zero_serial;            /* serial 0 (RFC 5280 forbids it) */
};

static X509_NAME *
tg_name(const char *s)
{
	X509_NAME *n = X509_NAME_new();
	char *copy = strdup(s), *save = NULL;

	for (char *part = strtok_r(copy, "/", &save); part != NULL;
	    part = strtok_r(NULL, "/", &save)) {
		char *eq = strchr(part, '=');
		*eq = '\0';
		X509_NAME_add_entry_by_txt(n, part, MBSTRING_UTF8,
		    (unsigned char *)eq + 1, -1, -1, 0);
	}
	free(copy);
	return n;
}

static void
tg_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);

	if (e == NULL) {
		fprintf(stderr, "bad extension %d=%s\n", nid, value);
		abort();
	}
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

static X509 *
tg_cert(const struct tg_spec *s)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_NAME *name = tg_name(s->subject);
	time_t now = time(NULL);
	char buf[64];

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), s->zero_serial ? 0 :
	    tg_serial++);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, s->issuer ? X509_get_subject_name(s->issuer) :
	    name);
	X509_NAME_free(name);
	X509_time_adj(X509_getm_notBefore(x), s->not_before, &now);
	X509_time_adj(X509_getm_notAfter(x), s->not_after ? s->not_after :
	    90 * DAY, &now);
	X509_set_pubkey(x, s->key);
	X509V3_set_ctx(&ctx, s->issuer ? s->issuer : x, x, NULL, NULL, 0);
	if (s->ca) {
		if (s->pathlen >= 0)
			snprintf(buf, sizeof(buf), "critical,CA:TRUE,"
			    "pathlen:%d", s->pathlen);
		else
			snprintf(buf, sizeof(buf), "critical,CA:TRUE");
		tg_ext(x, &ctx, NID_basic_constraints, buf);
		tg_ext(x, &ctx, NID_key_usage, s->ku ? s->ku :
		    "critical,keyCertSign,cRLSign");
	} else {
		tg_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
		tg_ext(x, &ctx, NID_key_usage, s->ku ? s->ku :
		    "critical,digitalSignature");
	}
	tg_ext(x, &ctx, NID_subject_key_identifier, "hash");
	if (!s->no_aki)
		tg_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
	if (s->san)
		tg_ext(x, &ctx, NID_subject_alt_name, s->san);
	if (s->eku)
		tg_ext(x, &ctx, NID_ext_key_usage, s->eku);
	EVP_PKEY *sk = s->issuer_key ? s->issuer_key : s->key;
	int ed = EVP_PKEY_get_base_id(sk) == EVP_PKEY_ED25519;
	if (!X509_sign(x, sk, ed ? NULL : EVP_sha256()))
		abort();
	return x;
}

struct tg_revoked {
	X509 *cert;
	int reason;                 /* -1: none */
};

static X509_CRL *
tg_crl(X509 *issuer, EVP_PKEY *key, const struct tg_revoked *rev, size_t n,
    long last, long next, long number)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	time_t now = time(NULL);
	X509V3_CTX ctx;

	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
	X509_time_adj(t, last, &now);
	X509_CRL_set1_lastUpdate(crl, t);
	X509_time_adj(t, next, &now);
	X509_CRL_set1_nextUpdate(crl, t);
	for (size_t i = 0; i < n; i++) {
		X509_REVOKED *r = X509_REVOKED_new();
		X509_REVOKED_set_serialNumber(r,
		    X509_get_serialNumber(rev[i].cert));
		X509_time_adj(t, -3600, &now);
		X509_REVOKED_set_revocationDate(r, t);
		if (rev[i].reason >= 0) {
			ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();
			ASN1_ENUMERATED_set(e, rev[i].reason);
			X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, e, 0, 0);
			ASN1_ENUMERATED_free(e);
		}
		X509_CRL_add0_revoked(crl, r);
	}
	ASN1_TIME_free(t);
	X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx,
	    NID_authority_key_identifier, "keyid:always");
	X509_CRL_add_ext(crl, e, -1);
	X509_EXTENSION_free(e);
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	ASN1_INTEGER_set(num, number);
	X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0);
	ASN1_INTEGER_free(num);
	X509_CRL_sort(crl);
	if (!X509_CRL_sign(crl, key, EVP_sha256()))
		abort();
	return crl;
}

/* A temp file path under a per-test directory; the caller frees it. */
static char tg_dir[256];

static void
tg_tmpdir(void)
{
	snprintf(tg_dir, sizeof(tg_dir), "/tmp/mtls-unit.XXXXXX");
	if (mkdtemp(tg_dir) == NULL)
		abort();
}

static void
tg_rmdir(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tg_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tg_dir);
}

static char *
tg_path(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", tg_dir, name) < 0)
		abort();
	return p;
}

/* Writes the NULL-terminated list of certificates as PEM to dir/name. */
static char *
tg_write_certs(const char *name, X509 *first, ...)
{
	char *path = tg_path(name);
	FILE *f = fopen(path, "w");
	va_list ap;

	va_start(ap, first);
	for (X509 *x = first; x != NULL; x = va_arg(ap, X509 *))
		PEM_write_X509(f, x);
	va_end(ap);
	fclose(f);
	return path;
}

static char *
tg_write_crls(const char *name, X509_CRL *first, ...)
{
	char *path = tg_path(name);
	FILE *f = fopen(path, "w");
	va_list ap;

	va_start(ap, first);
	for (X509_CRL *c = first; c != NULL; c = va_arg(ap, X509_CRL *))
		PEM_write_X509_CRL(f, c);
	va_end(ap);
	fclose(f);
	return path;
}

/* A struct mtls_cert of the given certificates (references taken). */
static struct mtls_cert *
tg_wrap(X509 *first, ...)
{
	struct mtls_cert *c = calloc(1, sizeof(*c));
	va_list ap;

	c->certs = sk_X509_new_null();
	va_start(ap, first);
	for (X509 *x = first; x != NULL; x = va_arg(ap, X509 *)) {
		X509_up_ref(x);
		sk_X509_push(c->certs, x);
	}
	va_end(ap);
	return c;
}

static void
tg_unwrap(struct mtls_cert *c)
{
	if (c == NULL)
		return;
	sk_X509_pop_free(c->certs, X509_free);
	free(c);
}

#endif
