/*
 * pki.h - private pieces shared by the PKI files of libmtls (key.c, cert.c,
 * csr.c, ca.c, revocation.c): the CA object, serials, names, signing.
 * Names, serials, SANs and times are read back with inspect.h's helpers.
 */
#ifndef MTLS_PKI_H
#define MTLS_PKI_H

#include <openssl/x509v3.h>

#include "ca/inventory.h"
#include "x509/inspect.h"

struct mtls_ca {
	char *dir;
	char *key_path;             /* dir/ca.key */
	char *db_target;            /* dir/ca.db, or another file or a URL */
	struct mtls_cert *cert;     /* ca.crt, then chain.crt up to the root */
	X509 *x509;                 /* the CA certificate (cert's first) */
	EVP_PKEY *key;              /* NULL until loaded */
	char *passphrase;           /* copy, cleansed on free */
	int key_encrypted;
	struct inv *inv;            /* the inventory (inventory.h) */
	struct mtls_error err;      /* the last failure, for mtls_ca_error() */
	long clock_offset;          /* seconds added to validity: a testing
	                               hook (mtls_ca_set_clock_offset()) */
};

/* Sets ca->err (and returns -1), like err_set / err_set_ssl. */
int ca_err(struct mtls_ca *ca, enum mtls_errcode code, const char *fmt, ...)
    MTLS_PRINTF(3, 4);
int ca_err_ssl(struct mtls_ca *ca, enum mtls_errcode code, const char *fmt,
    ...) MTLS_PRINTF(3, 4);
/* Takes the inventory's last error as ca's (returns -1). */
int ca_err_inv(struct mtls_ca *ca);
/* Ties inv to this CA (inv_bind_ca with its certificate's SHA-256): -1
 * with ca->err when inv belongs to another CA. */
int ca_bind_inventory(struct mtls_ca *ca, struct inv *inv) MTLS_MUST_CHECK;

/* Loads ca.key if not done yet (MTLS_ERR_PASSPHRASE when it is encrypted
 * and no passphrase was given at open). */
int ca_load_key(struct mtls_ca *ca) MTLS_MUST_CHECK;

/*
 * Gives x a fresh random serial, signs it with ca's key and records it in
 * the inventory as kind, in one transaction; on the (astronomically unlikely) serial
 * collision it draws another serial and signs again.
 */
int ca_sign_record(struct mtls_ca *ca, X509 *x, enum mtls_cert_kind kind)
    MTLS_MUST_CHECK;

/* A serial of 16 random bytes, top bit clear (positive, RFC 5280 4.1.2.2)
 * and next bit set (always 16 bytes long): 126 bits of entropy. */
int pki_serial_random(X509 *x) MTLS_MUST_CHECK;
/* Normalizes user input ("4a:0f", "004A0F") to the form of serials in
 * the inventory, x509_serial_hex()'s upper-case hex without separators ("4A0F...");
 * NULL if invalid. */
char *pki_serial_normalize(const char *in);

/* Signs with SHA-256, or with no digest for Ed25519/Ed448. */
int pki_sign_x509(X509 *x, EVP_PKEY *key) MTLS_MUST_CHECK;
int pki_sign_crl(X509_CRL *crl, EVP_PKEY *key) MTLS_MUST_CHECK;
int pki_sign_req(X509_REQ *req, EVP_PKEY *key) MTLS_MUST_CHECK;

/* Adds the extension nid (value in openssl's config syntax) to x. */
int pki_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
    MTLS_MUST_CHECK;

/*
 * The SANs for names: every dns/ip/uri/email, validated, plus the common
 * name when it is an IP literal (as IP) or a hostname with a dot or
 * "localhost" (as DNS) and not already listed.
 */
GENERAL_NAMES *pki_names_san(const struct mtls_names *names,
    struct mtls_error *err);
/* A common name a person meant (a leaf's or a CA's): valid UTF-8, no
 * control character, not only spaces, at most 64 characters (RFC 5280);
 * -1 with MTLS_ERR_USAGE and why, never echoing a long name whole. */
int pki_cn_check(const char *cn, struct mtls_error *err) MTLS_MUST_CHECK;
/* Adds to gens the CN of subject under the rule above, if not present. */
int pki_san_add_cn(GENERAL_NAMES *gens, const char *cn) MTLS_MUST_CHECK;

/* NULL when g is a well-formed DNS, IP, URI or e-mail SAN; else why not
 * (in buf). */
const char *pki_san_check(const GENERAL_NAME *g, char *buf, size_t len);

/* NULL when key is acceptable for a certificate; otherwise why not. */
const char *pki_key_weakness(EVP_PKEY *key, char *buf, size_t len);

/* Allocating path join: dir "/" file. */
char *pki_path(const char *dir, const char *file);

#endif
