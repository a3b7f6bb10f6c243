/*
 * ca_db.h - the CA's inventory, ca.db (SQLite): every certificate the CA
 * issued with its status, and the CA's counters (the CRL number).  Writers
 * take the write lock up front (BEGIN IMMEDIATE) and wait for it up to
 * CA_DB_BUSY_MS, so that several processes can issue at once.  Errors go to
 * ca->err and name ca.db.
 */
#ifndef MTLS_CA_DB_H
#define MTLS_CA_DB_H

#include "ca/pki.h"

#define CA_DB_BUSY_MS 10000

/* One row to insert. */
struct ca_db_cert {
	const char *serial;   /* x509_serial_hex() form */
	const char *subject;
	const char *sans;
	enum mtls_cert_kind kind;
	time_t not_before;
	time_t not_after;
	const char *pem;
};

/* Called for each revoked certificate, for the CRL. */
typedef int (*ca_db_revoked_fn)(const char *serial, time_t revoked_at,
    enum mtls_revoke_reason reason, void *arg);

/* Creates ca->db_path (must not exist) with the schema; opens ca->db. */
int ca_db_create(struct mtls_ca *ca) MTLS_MUST_CHECK;
/* Opens an existing ca->db_path into ca->db and checks its schema. */
int ca_db_open(struct mtls_ca *ca) MTLS_MUST_CHECK;
void ca_db_close(struct mtls_ca *ca);

int ca_db_begin(struct mtls_ca *ca) MTLS_MUST_CHECK;   /* BEGIN IMMEDIATE */
int ca_db_commit(struct mtls_ca *ca) MTLS_MUST_CHECK;
void ca_db_rollback(struct mtls_ca *ca);

/* In its own transaction.  0 inserted, 1 the serial exists, -1 error. */
int ca_db_insert(struct mtls_ca *ca, const struct ca_db_cert *row)
    MTLS_MUST_CHECK;
/* Removes a row (undoing an insert whose certificate was never used). */
int ca_db_delete(struct mtls_ca *ca, const char *serial);

/* Marks serial revoked now, in its own transaction; MTLS_ERR_NOT_FOUND
 * when absent, MTLS_ERR_USAGE when already revoked. */
int ca_db_revoke(struct mtls_ca *ca, const char *serial,
    enum mtls_revoke_reason reason, time_t now) MTLS_MUST_CHECK;

/* Inside a transaction: increments and returns the CRL number. */
int ca_db_crl_number_next(struct mtls_ca *ca, long long *number)
    MTLS_MUST_CHECK;
int ca_db_each_revoked(struct mtls_ca *ca, ca_db_revoked_fn fn, void *arg)
    MTLS_MUST_CHECK;

int ca_db_list(struct mtls_ca *ca,
    int (*fn)(const struct mtls_ca_record *rec, void *arg), void *arg)
    MTLS_MUST_CHECK;

#endif
