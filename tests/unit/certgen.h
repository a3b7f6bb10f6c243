/*
 * certgen.h - the one certificate-maker of the unit tests: certificates,
 * CRLs and key files made directly with OpenSSL, so that the tests depend
 * on nothing but the code under test.  tg_cert() takes a spec; tpki_make()
 * is its short form for a CA and leaves with chosen usages, SANs and
 * validity (strict-X.509 clean: SKI, AKI, critical basicConstraints).
 * (pki_test.h is different: CA directories made through the library.)
 * Every function is static inline, so a test uses what it needs.
 */
#ifndef TEST_CERTGEN_H
#define TEST_CERTGEN_H

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
static inline EVP_PKEY *
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

static inline X509_NAME *
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

static inline void
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

static inline X509 *
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

static inline X509_CRL *
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

static inline void
tg_tmpdir(void)
{
	snprintf(tg_dir, sizeof(tg_dir), "/tmp/mtls-unit.XXXXXX");
	if (mkdtemp(tg_dir) == NULL)
		abort();
}

static inline void
tg_rmdir(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tg_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tg_dir);
}

static inline char *
tg_path(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", tg_dir, name) < 0)
		abort();
	return p;
}

/* Writes the NULL-terminated list of certificates as PEM to dir/name. */
static inline char *
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

static inline char *
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
static inline struct mtls_cert *
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

static inline void
tg_unwrap(struct mtls_cert *c)
{
	if (c == NULL)
		return;
	sk_X509_pop_free(c->certs, X509_free);
	free(c);
}

/* ---- the short form ---------------------------------------------- */

struct tpki {
	X509 *cert;
	EVP_PKEY *key;
};

static long tpki_serial = 1000; /* CRL numbers */

/*
 * A certificate for cn (with an OU first when ou is not NULL).  issuer
 * NULL: a self-signed CA.  eku: "clientAuth", "serverAuth", NULL for a CA.
 * san: "DNS:a,URI:b" or NULL.  Validity from now+from_s to now+to_s.
 */
static inline struct tpki
tpki_make(const struct tpki *issuer, const char *cn, const char *ou,
    const char *eku, const char *san, long from_s, long to_s)
{
	struct tpki out = { NULL, tg_key("EC") };
	char subject[256];
	struct tg_spec s = { .subject = subject, .key = out.key,
	    .issuer = issuer ? issuer->cert : NULL,
	    .issuer_key = issuer ? issuer->key : NULL,
	    .not_before = from_s, .not_after = to_s, .ca = eku == NULL,
	    .pathlen = -1, .san = san, .eku = eku, .no_aki = issuer == NULL };

	snprintf(subject, sizeof(subject), "%s%s/CN=%s", ou ? "/OU=" : "",
	    ou ? ou : "", cn);
	out.cert = tg_cert(&s);
	return out;
}

static inline void
tpki_free(struct tpki *p)
{
	X509_free(p->cert);
	EVP_PKEY_free(p->key);
	p->cert = NULL;
	p->key = NULL;
}

/* Writes the certificate (and the chain certs after it) to dir/name.crt
 * and the key to dir/name.key; returns the .crt path in crt. */
static inline void
tpki_write(const char *dir, const char *name, const struct tpki *p,
    const struct tpki *chain, char *crt, char *key, size_t len)
{
	snprintf(crt, len, "%s/%s.crt", dir, name);
	snprintf(key, len, "%s/%s.key", dir, name);
	FILE *f = fopen(crt, "w");
	PEM_write_X509(f, p->cert);
	if (chain != NULL)
		PEM_write_X509(f, chain->cert);
	fclose(f);
	f = fopen(key, "w");
	PEM_write_PrivateKey(f, p->key, NULL, NULL, 0, NULL, NULL);
	fclose(f);
}

/* Writes a CRL of issuer valid from now+from_s to now+to_s that revokes
 * the given certificates (NULL-terminated), appending to path. */
static inline void
tpki_crl_append(const char *path, const struct tpki *issuer, long from_s,
    long to_s, X509 *const *revoked)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();

	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer->cert));
	X509_gmtime_adj(t, from_s);
	X509_CRL_set1_lastUpdate(crl, t);
	X509_gmtime_adj(t, to_s);
	X509_CRL_set1_nextUpdate(crl, t);
	for (; revoked != NULL && *revoked != NULL; revoked++) {
		X509_REVOKED *r = X509_REVOKED_new();
		X509_REVOKED_set_serialNumber(r,
		    X509_get_serialNumber(*revoked));
		X509_gmtime_adj(t, from_s);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(crl, r);
	}
	X509V3_CTX v3;
	X509V3_set_ctx(&v3, issuer->cert, NULL, NULL, crl, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3,
	    NID_authority_key_identifier, "keyid:always");
	X509_CRL_add_ext(crl, e, -1);
	X509_EXTENSION_free(e);
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	ASN1_INTEGER_set(num, tpki_serial++);
	X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0);
	ASN1_INTEGER_free(num);
	X509_CRL_sort(crl);
	X509_CRL_sign(crl, issuer->key, EVP_sha256());
	FILE *f = fopen(path, "a");
	PEM_write_X509_CRL(f, crl);
	fclose(f);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
}

#endif
