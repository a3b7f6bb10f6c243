/*
 * est.h - private pieces of the online CA (RFC 7030 EST): the token and
 * supersession store kept beside the inventory in ca.db, and the shared
 * helpers of the EST server (est.c) and client (est_client.c).
 *
 * The store has its own tables and its own SQLite connection, created on
 * first use (CREATE TABLE IF NOT EXISTS), so that it stands apart from the
 * inventory's schema and its migrations: est_tokens (one-time enrollment
 * tokens, stored as the SHA-256 of the secret) and est_superseded (a
 * certificate replaced by re-enrollment, and by which serial).
 */
#ifndef MTLS_EST_H
#define MTLS_EST_H

#include <sqlite3.h>

#include "ca/pki.h"

/* What a token says, as stored. */
struct est_token {
	char name[256];             /* the CN it may request */
	char sans[2048];            /* "DNS:a\nURI:b\nIP:c": the SANs it may */
	enum mtls_cert_kind kind;
	time_t expires_at;
	time_t used_at;             /* 0: not used */
};

/* Opens db_path's EST tables (creating them): the handle, or NULL. */
sqlite3 *est_store_open(const char *db_path, struct mtls_error *err);
void est_store_close(sqlite3 *db);

int est_token_add(sqlite3 *db, const char *hash, const struct est_token *t,
    struct mtls_error *err) MTLS_MUST_CHECK;
/* 1 found (t filled), 0 no such token, -1 error. */
int est_token_get(sqlite3 *db, const char *hash, struct est_token *t,
    struct mtls_error *err) MTLS_MUST_CHECK;
/* Marks the token used now if it was not: 1 done, 0 used meanwhile (by a
 * concurrent request), -1 error. */
int est_token_consume(sqlite3 *db, const char *hash, time_t now,
    struct mtls_error *err) MTLS_MUST_CHECK;
/* Gives a consumed token back (the issuance after it failed) or records
 * the serial it was used for. */
void est_token_release(sqlite3 *db, const char *hash);
void est_token_bind(sqlite3 *db, const char *hash, const char *serial);

/* The inventory's facts about serial: 1 found, 0 absent, -1 error.
 * revoked: 1 when revoked; superseded: 1 when re-enrolled already. */
int est_cert_lookup(sqlite3 *db, const char *serial, int *revoked,
    int *superseded, enum mtls_cert_kind *kind, struct mtls_error *err)
    MTLS_MUST_CHECK;
int est_supersede(sqlite3 *db, const char *old_serial,
    const char *new_serial, time_t now, struct mtls_error *err)
    MTLS_MUST_CHECK;

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
