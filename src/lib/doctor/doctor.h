/*
 * doctor.h - private pieces of the diagnosis (doctor.c, doctor_checks.c,
 * doctor_remote.c): the finding codes, the list they are added to, and what
 * the local checks leave for the remote ones.
 */
#ifndef MTLS_DOCTOR_H
#define MTLS_DOCTOR_H

#include <time.h>

#include <openssl/x509.h>

#include "core/internal.h"

/* Every finding, in the order of the table in doctor.c. */
enum doctor_code {
	/* files */
	DR_FILE_MISSING,
	DR_FILE_UNREADABLE,
	DR_NOT_PEM_OR_DER,
	DR_WRONG_OBJECT_KIND,
	DR_OK_FILES,
	/* the key */
	DR_KEY_ENCRYPTED_NO_PASSPHRASE,
	DR_KEY_WRONG_PASSPHRASE,
	DR_KEY_PERMISSIONS,
	DR_KEY_MISMATCH,
	DR_OK_KEY_MATCH,
	/* the chain */
	DR_CHAIN_WRONG_ORDER,
	DR_CHAIN_EXTRA_CERT,
	DR_CHAIN_MISSING_INTERMEDIATE,
	DR_CA_NAME_CLASH,
	DR_CHAIN_UNTRUSTED,
	DR_CHAIN_INVALID,
	DR_CHAIN_INCOMPLETE,
	DR_OK_CHAIN,
	DR_CA_NOT_CA,
	DR_CA_NO_ROOT,
	DR_LEAF_SELF_SIGNED,
	DR_LEAF_IS_CA,
	/* validity */
	DR_CERT_NOT_YET_VALID,
	DR_CLOCK_SKEW,
	DR_CERT_EXPIRED,
	DR_CERT_EXPIRES_SOON,
	DR_OK_VALIDITY,
	/* usage and names */
	DR_USAGE_NO_CLIENTAUTH,
	DR_USAGE_NO_SERVERAUTH,
	DR_USAGE_NO_DIGITALSIGNATURE,
	DR_OK_USAGE,
	DR_NAME_NOT_IN_SAN,
	DR_CN_WITHOUT_SAN,
	DR_OK_NAME,
	/* algorithms */
	DR_WEAK_KEY,
	DR_SHA1_SIGNATURE,
	/* revocation */
	DR_CERT_REVOKED,
	DR_CRL_EXPIRED,
	DR_CRL_NOT_YET_VALID,
	DR_CRL_WRONG_ISSUER,
	DR_CRL_MISSING_FOR_INTERMEDIATE,
	DR_CRL_MISSING_FOR_ROOT,
	DR_OK_CRL,
	/* the network */
	DR_DNS_FAILED,
	DR_TCP_REFUSED,
	DR_TCP_TIMEOUT,
	DR_TCP_UNREACHABLE,
	DR_OK_TCP,
	/* TLS */
	DR_TLS_NOT_TLS,
	DR_TLS_TIMEOUT,
	DR_TLS_CLOSED,
	DR_TLS_VERSION,
	DR_TLS_NO_SHARED_CIPHER,
	DR_TLS_HANDSHAKE_FAILED,
	DR_OK_HANDSHAKE,
	/* the server as seen from a client */
	DR_SERVER_CERT_UNTRUSTED,
	DR_SERVER_NAME_MISMATCH,
	DR_SERVER_CHAIN_INCOMPLETE,
	DR_SERVER_CHAIN_MISSING,
	DR_OK_SERVER_CERT,
	DR_SERVER_NO_CLIENT_AUTH,
	DR_CLIENT_CA_NOT_ACCEPTED,
	DR_OK_CLIENT_AUTH_REQUESTED,
	DR_CLIENT_CERT_MISSING,
	DR_CLIENT_CERT_UNUSABLE,
	DR_CLIENT_CERT_REJECTED,
	DR_HTTP_CLIENT_CERT_REFUSED,
	DR_OK_CLIENT_CERT_ACCEPTED,
	/* a server's configuration (srvconf_audit.c) */
	DR_CONF_SYNTAX,
	DR_CONF_INCLUDE_MISSING,
	DR_CONF_NO_TLS_SERVER,
	DR_CONF_CLIENT_AUTH_OFF,
	DR_CONF_OPTIONAL_UNCHECKED,
	DR_CONF_CLIENT_AUTH_PER_LOCATION,
	DR_CONF_CLIENT_CA_MISSING,
	DR_CONF_FILE_MISSING,
	DR_CONF_CA_NOT_CA,
	DR_CONF_CA_MIXED_ROOTS,
	DR_CONF_CA_NOT_SENT,
	DR_CONF_VERIFY_DEPTH,
	DR_CONF_NO_REVOCATION,
	DR_CONF_CRL_NOT_CHECKED,
	DR_CONF_CRL_LEAF_ONLY,
	DR_CONF_CRL_MISSING_FOR_CA,
	DR_CONF_IDENTITY_HEADER_SPOOFABLE,
	DR_CONF_OLD_TLS,
	DR_OK_CONF_MTLS,
	DR_NCODES
};

/*
 * Adds a finding.  The explanation and fix templates of the table have
 * slots %1..%9, filled with the arguments that follow subject (const char *,
 * ended by NULL).  Out of memory is remembered and reported by
 * mtls_doctor_run(), so checks do not test the result.
 */
void doctor_add(struct mtls_doctor *d, enum doctor_code code,
    const char *subject, ...);
/* 1 when a finding with code was added. */
int doctor_has(const struct mtls_doctor *d, enum doctor_code code);

/* What the local checks loaded, for the remote checks to reuse. */
struct doctor_state {
	const struct mtls_doctor_options *opt;
	time_t now;
	int warn_days;
	enum mtls_purpose role;
	STACK_OF(X509) *certs;      /* the certificate file, in order */
	X509 *leaf;                 /* the leaf among them (not owned) */
	EVP_PKEY *key;              /* its key, decrypted */
	STACK_OF(X509) *cas;        /* the CA file's */
	STACK_OF(X509_CRL) *crls;   /* the CRL file's */
	int cert_ok, key_ok, ca_ok, crl_ok; /* loaded without a finding */
};

void doctor_state_clear(struct doctor_state *st);

/* The local checks (doctor_checks.c). */
void doctor_check_local(struct mtls_doctor *d, struct doctor_state *st);

/*
 * The certificate checks shared by the local and the remote side: validity,
 * usage for role, name, algorithms, and the chain against st->cas.  certs
 * holds the leaf first (the remote side: as the server sent it); subject
 * names it in findings.  remote selects the server-* codes for trust and
 * name.
 */
void doctor_check_leaf(struct mtls_doctor *d, const struct doctor_state *st,
    STACK_OF(X509) *certs, const char *subject, enum mtls_purpose role,
    const char *name, int remote);

/* The remote checks (doctor_remote.c). */
void doctor_check_remote(struct mtls_doctor *d, struct doctor_state *st);
/* 0 when s is "HOST:PORT" or "[IPv6]:PORT" with a port from 1 to 65535. */
int doctor_parse_target(const char *s);

/* Small helpers of doctor_checks.c used by the remote side too. */
/* The RFC 2253 one-line form of a name, truncated to fit buf. */
const char *doctor_name_line(const X509_NAME *name, char *buf, size_t len);
/* The subject of x in that form. */
const char *doctor_cert_name(const X509 *x, char *buf, size_t len);
/* "3 days", "5 hours", "40 minutes", "12 seconds" for secs >= 0. */
const char *doctor_duration(long secs, char *buf, size_t len);

/* Also used by the server configuration audit and by mtls config
 * (src/lib/config): */
/* "2026-01-02 03:04:05 UTC". */
const char *date_text(time_t t, char *buf, size_t len);
/* 1 when issuer issued x: names, key identifiers and the signature. */
int cert_issued_by(X509 *x, X509 *issuer);
/* The issuer of x among pool (never x itself), or NULL. */
X509 *find_issuer(X509 *x, STACK_OF(X509) *pool);
/* The newest CRL of crls that issuer signed, or NULL. */
X509_CRL *crl_of(STACK_OF(X509_CRL) *crls, X509 *issuer);
/* Seconds since the epoch of t, or 0 when it cannot be read. */
time_t asn1_time(const ASN1_TIME *t);

/* The audit of a server's configuration (srvconf_audit.c). */
void doctor_check_server_config(struct mtls_doctor *d,
    struct doctor_state *st);

#endif
