/*
 * reason.h - the one table of refusal reasons (after s2n-tls's error
 * table): every way a handshake or a verification can refuse a
 * certificate, with its code (enum mtls_reject_code in mtls.h), the
 * OpenSSL verify errors or internal causes that lead to it, the TLS alert
 * a server sends for it, the metric label, one line of words and a fix.
 * Decisions (metrics, exit codes, which explanation to print) take the
 * code; the words are for people and may change.  Private to src/lib.
 */
#ifndef MTLS_REASON_H
#define MTLS_REASON_H

#include <openssl/x509_vfy.h>

#include "mtls.h"

struct reason_info {
	enum mtls_reject_code code;
	const char *label;  /* stable: metrics, JSON */
	int alert;          /* what an OpenSSL 3.0 server sends; -1: none */
	const char *words;  /* one line, without the certificate's name */
	const char *fix;    /* one line */
};

/* The row of code (the OTHER row for a value that is none). */
const struct reason_info *reason_info(enum mtls_reject_code code);

/* The reason for an X509_V_ERR_* code (OTHER for one not listed). */
enum mtls_reject_code reason_from_verify_error(int x509_v_err);

/* What went wrong, as a phrase that names no certificate ("its signature
 * does not verify with the key of its issuer"), for a verify error whose
 * words need nothing but the error; NULL when the table has none (the
 * caller then tells it with the facts it knows, or uses OpenSSL's). */
const char *reason_verify_phrase(int x509_v_err);

/*
 * What a caller knows of a failed verification, for reason_verify_words():
 * the facts of the certificate at the error depth (x509_verify_facts()
 * gathers them) and how the caller names things.  NULL: not known, left
 * out of the words.
 */
struct verify_facts {
	int err;                 /* X509_V_ERR_* */
	int depth;
	const char *what;        /* "certificate", "server certificate", ... */
	const char *where;       /* "at depth 1", "in the server's chain" */
	const char *subject;     /* the certificate's name */
	const char *issuer;      /* its issuer's name */
	const char *holds;       /* its names: subject and SANs */
	const char *serial;      /* hex */
	const char *not_before, *starts_in;   /* date, and how far ahead */
	const char *not_after, *expired_ago;  /* date, and how long ago */
	const char *crl_issuer;  /* the CRL concerned */
	const char *crl_this_update, *crl_starts_in;
	const char *crl_next_update, *crl_expired_ago;
	const char *revoked;     /* the revocation's reason and date */
	const char *usage;       /* the EKU or key usage that forbids it */
	const char *purpose;     /* "client authentication" */
	const char *name;        /* the name asked for */
	const char *anchors;     /* the trusted CAs, as the caller calls them */
	const char *untrusted;   /* where intermediates may be given */
	const char *crl_file;    /* where CRLs come from */
	const char *words;       /* the error alone (x509_verify_words()) */
};

/* The one wording of a failed verification, for every caller: which
 * certificate, what is wrong with it, and the facts that show it. */
void reason_verify_words(const struct verify_facts *f, char *buf,
    size_t len);

/*
 * An alert received from a server after we sent our certificate: the
 * reason it stands for (OTHER when it says nothing precise), and what it
 * means and whose side must change, in which %1 stands for our
 * certificate's issuer (both NULL for an alert that needs no words of its
 * own).  0, or -1 for an alert the table does not list (code OTHER).
 */
int reason_from_alert(const char *alert, enum mtls_reject_code *code,
    const char **cause, const char **fix);

#endif
