/*
 * text.h - the one x509 text module (text.c): X.509 fields as plain
 * strings.  Private to src/lib.
 */
#ifndef MTLS_X509_TEXT_H
#define MTLS_X509_TEXT_H

#include <time.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/internal.h"

/* Strings for the info structs; each returns a heap string or NULL. */
char *x509_name_line(const X509_NAME *name);

/*
 * The common name of a name, chosen one way everywhere (inspection, the CA,
 * the TLS peer facts, messages and PKCS#12 friendly names): the LAST CN
 * attribute, the most specific one in the order of the RDN sequence
 * (RFC 5280 section 4.1.2.4), as `cert inspect` has always shown it.  A
 * subject with several CNs is ambiguous: the access rules refuse it for CN
 * rules (policy.c counts them with x509_name_cn_count()).
 */
int x509_name_cn_count(const X509_NAME *name);
/* That CN as UTF-8, unescaped; NULL when there is none, when it holds a
 * NUL (not a name we report) or out of memory. */
char *x509_name_cn_utf8(const X509_NAME *name);
/* That CN for display: UTF-8 kept, control characters as \xNN. */
char *x509_name_cn(const X509_NAME *name);
/* "CN=x" when the name has a CN, else its one-line RFC 2253 form, else
 * "(empty subject)", cut to len: how messages name a certificate. */
void x509_name_short(const X509_NAME *name, char *buf, size_t len);
char *x509_hex_colon(const unsigned char *p, size_t len);
char *x509_serial_hex(const ASN1_INTEGER *serial);
/* x509_hex_colon() of a key identifier into *out, NULL when id is NULL;
 * -1 when out of memory. */
int x509_keyid_hex(const ASN1_OCTET_STRING *id, char **out);
char *x509_key_usage_text(const ASN1_BIT_STRING *ku);
char *x509_eku_text(const EXTENDED_KEY_USAGE *eku);
/* The short name of an OID ("serverAuth"), else its dotted form. */
void x509_obj_text(const ASN1_OBJECT *obj, char *buf, size_t len);
char *x509_sig_alg_name(const X509_ALGOR *alg);
/* "EC P-256"/256, "RSA"/2048, "Ed25519"/256 ... */
int x509_key_describe(const EVP_PKEY *pkey, char **type, int *bits);
/* GENERAL_NAMES -> mtls_san array (DNS, IP, URI, email, other), for
 * display: every name kept, unprintable bytes escaped. */
int x509_sans_collect(const GENERAL_NAMES *gens, struct mtls_san **sans,
    size_t *nsans);
/* The same for identity (the peer facts): the bytes as sent, and names
 * that cannot be names (a NUL inside, a bad IP length) left out. */
int x509_sans_collect_raw(const GENERAL_NAMES *gens, struct mtls_san **sans,
    size_t *nsans);
void x509_sans_free(struct mtls_san *sans, size_t nsans);
/* "DNS:a, IP:1.2.3.4" of the certificate's SANs in *out (heap; NULL when
 * it has none); -1 when out of memory. */
int x509_sans_text(const X509 *cert, char **out) MTLS_MUST_CHECK;
/* The same as a result: NULL when there are none (or no memory). */
char *x509_sans_line(const X509 *cert);
/* "CN=x, DNS:a, IP:1.2.3.4": the short subject and the SANs, how a refusal
 * names the identity a certificate holds. */
void x509_identity_text(X509 *x, char *buf, size_t len);
/* ASN1_TIME -> time_t (UTC); -1 on a malformed time. */
int x509_time(const ASN1_TIME *t, time_t *out);
/* "2025-01-01T00:00:00Z" */
void x509_time_rfc3339(time_t t, char *buf, size_t len);
/* The length of a span of seconds (either sign) in words: "12 days",
 * "3 hours", "less than an hour". */
void x509_span_words(long long secs, char *buf, size_t len);

#endif
