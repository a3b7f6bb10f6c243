/*
 * inspect.h - private helpers of the inspection and verification code
 * (cert_info.c, inspect.c, verify.c): reading every object of a PEM or DER
 * buffer, and turning X.509 fields into the plain strings of mtls.h.
 */
#ifndef MTLS_INSPECT_H
#define MTLS_INSPECT_H

#include <time.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/internal.h"

struct mtls_crl {
	STACK_OF(X509_CRL) *crls;
};

/* Everything found in one input.  Certificates and CRLs are kept (in file
 * order); of the other kinds only the count is kept. */
struct x509_objects {
	STACK_OF(X509) *certs;
	STACK_OF(X509_CRL) *crls;
	X509_REQ *csr;              /* the first CSR, or NULL */
	struct mtls_file_contents c;
};

/* At most this many objects in one input: a bound on work and memory. */
#define X509_OBJECTS_MAX 4096

/* Reads every object of buf (PEM blocks, or one DER object).  name is used
 * in messages.  Fails on a recognised PEM block that does not decode. */
int x509_objects_read(const void *buf, size_t len, const char *name,
    struct x509_objects *o, struct mtls_error *err) MTLS_MUST_CHECK;
int x509_objects_read_file(const char *path, struct x509_objects *o,
    struct mtls_error *err) MTLS_MUST_CHECK;
void x509_objects_clear(struct x509_objects *o);

/* Strings for the info structs; each returns a heap string or NULL. */
char *x509_name_line(const X509_NAME *name);
char *x509_name_cn(const X509_NAME *name);
char *x509_hex_colon(const unsigned char *p, size_t len);
char *x509_serial_hex(const ASN1_INTEGER *serial);
/* x509_hex_colon() of a key identifier into *out, NULL when id is NULL;
 * -1 when out of memory. */
int x509_keyid_hex(const ASN1_OCTET_STRING *id, char **out);
char *x509_key_usage_text(const ASN1_BIT_STRING *ku);
char *x509_eku_text(const EXTENDED_KEY_USAGE *eku);
char *x509_sig_alg_name(const X509_ALGOR *alg);
/* "EC P-256"/256, "RSA"/2048, "Ed25519"/256 ... */
int x509_key_describe(const EVP_PKEY *pkey, char **type, int *bits);
/* GENERAL_NAMES -> mtls_san array (DNS, IP, URI, email, other). */
int x509_sans_collect(const GENERAL_NAMES *gens, struct mtls_san **sans,
    size_t *nsans);
void x509_sans_free(struct mtls_san *sans, size_t nsans);
/* "DNS:a, IP:1.2.3.4" of the certificate's SANs in *out (heap; NULL when
 * it has none); -1 when out of memory. */
int x509_sans_text(const X509 *cert, char **out) MTLS_MUST_CHECK;
/* The same as a result: NULL when there are none (or no memory). */
char *x509_sans_line(const X509 *cert);
/* ASN1_TIME -> time_t (UTC); -1 on a malformed time. */
int x509_time(const ASN1_TIME *t, time_t *out);
/* "2025-01-01T00:00:00Z" */
void x509_time_rfc3339(time_t t, char *buf, size_t len);
/* The length of a span of seconds (either sign) in words: "12 days",
 * "3 hours", "less than an hour". */
void x509_span_words(long long secs, char *buf, size_t len);

#endif
