/*
 * test_tls_pki.h - certificates for the TLS and policy unit tests, made
 * with OpenSSL directly: a CA, and leaves with chosen usages, SANs and
 * validity.  Strict-X.509 clean (SKI, AKI, critical basicConstraints).
 */
#ifndef TEST_TLS_PKI_H
#define TEST_TLS_PKI_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct tpki {
	X509 *cert;
	EVP_PKEY *key;
};

static long tpki_serial = 1000;

static inline EVP_PKEY *
tpki_key(void)
{
	return EVP_EC_gen("P-256");
}

static inline int
tpki_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (e == NULL)
		return -1;
	int ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok ? 0 : -1;
}

/*
 * Makes a certificate for cn.  issuer NULL: a self-signed CA.  eku:
 * "clientAuth", "serverAuth", NULL for a CA.  san: "DNS:a,URI:b" or NULL.
 * Validity from now+from_s to now+to_s.
 */
static inline struct tpki
tpki_make(const struct tpki *issuer, const char *cn, const char *ou,
    const char *eku, const char *san, long from_s, long to_s)
{
	struct tpki out = { NULL, NULL };
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	out.key = tpki_key();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), tpki_serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), from_s);
	X509_gmtime_adj(X509_getm_notAfter(x), to_s);
	if (ou != NULL)
		X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8,
		    (const unsigned char *)ou, -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert) :
	    name);
	X509_set_pubkey(x, out.key);
	X509 *iss = issuer ? issuer->cert : x;
	tpki_ext(x, iss, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		tpki_ext(x, iss, NID_authority_key_identifier, "keyid:always");
	if (eku == NULL) {
		tpki_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE");
		tpki_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		tpki_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE");
		tpki_ext(x, iss, NID_key_usage, "critical,digitalSignature");
		tpki_ext(x, iss, NID_ext_key_usage, eku);
	}
	if (san != NULL)
		tpki_ext(x, iss, NID_subject_alt_name, san);
	X509_sign(x, issuer ? issuer->key : out.key, EVP_sha256());
	X509_NAME_free(name);
	out.cert = x;
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
