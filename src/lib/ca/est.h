/*
 * est.h - private pieces of the online CA (RFC 7030 EST): the token and
 * supersession store kept beside the inventory in ca.db, and the shared
 * helpers of the EST server (est.c) and client (est_client.c).
 *
 * The store is two tables of the inventory (migration 3 of inv_schema.c),
 * reached through its statement interface, so that it works on SQLite and
 * PostgreSQL alike: est_tokens (one-time enrollment tokens, stored as the
 * SHA-256 of the secret) and est_superseded (a certificate replaced by
 * re-enrollment, and by which serial).  Failures are the inventory's
 * (inv_error()).
 */
#ifndef MTLS_EST_H
#define MTLS_EST_H

#include "ca/inventory.h"
#include "ca/pki.h"

/* What a token says, as stored. */
struct est_token {
	char name[256];             /* the CN it may request */
	char sans[2048];            /* "DNS:a\nURI:b\nIP:c": the SANs it may */
	enum mtls_cert_kind kind;
	time_t expires_at;
	time_t used_at;             /* 0: not used */
};

int est_token_add(struct inv *inv, const char *hash,
    const struct est_token *t) MTLS_MUST_CHECK;
/* 1 found (t filled), 0 no such token, -1 error. */
int est_token_get(struct inv *inv, const char *hash, struct est_token *t)
    MTLS_MUST_CHECK;
/* Marks the token used now if it was not: 1 done, 0 used meanwhile (by a
 * concurrent request), -1 error. */
int est_token_consume(struct inv *inv, const char *hash, time_t now)
    MTLS_MUST_CHECK;
/* Gives a consumed token back (the issuance after it failed) or records
 * the serial it was used for. */
void est_token_release(struct inv *inv, const char *hash);
void est_token_bind(struct inv *inv, const char *hash, const char *serial);

/* The inventory's facts about serial: 1 found, 0 absent, -1 error.
 * revoked: 1 when revoked. */
int est_cert_lookup(struct inv *inv, const char *serial, int *revoked,
    enum mtls_cert_kind *kind) MTLS_MUST_CHECK;
int est_supersede(struct inv *inv, const char *old_serial,
    const char *new_serial, time_t now) MTLS_MUST_CHECK;
/* How many certificates are revoked: 0, or -1. */
int est_count_revoked(struct inv *inv, int *n) MTLS_MUST_CHECK;

/* Lower-case hex SHA-256 of s (65 bytes with the NUL). */
int est_sha256_hex(const char *s, char out[65]) MTLS_MUST_CHECK;

/* The certificates of a degenerate PKCS#7 certs-only (RFC 7030 4.1.3,
 * 4.2.3) in base64 DER, and back. */
char *est_p7_encode(STACK_OF(X509) *certs, size_t *len);
STACK_OF(X509) *est_p7_decode(const char *b64, size_t len,
    struct mtls_error *err, const char *what);
/* Base64 (with or without line breaks) to DER: heap buffer, or NULL. */
unsigned char *est_b64_decode(const char *in, size_t len, size_t *outlen);

#endif
