/*
 * verify_words.h - one place that puts a certificate verification failure
 * into words, shared by `mtls cert verify` (verify.c) and the TLS peer
 * check (tls_verify.c).  Private to src/lib.
 */
#ifndef MTLS_VERIFY_WORDS_H
#define MTLS_VERIFY_WORDS_H

#include <time.h>

#include <openssl/x509_vfy.h>

#include "core/reason.h"

/*
 * What went wrong with the certificate at the error depth of x, as a
 * phrase that does not name it ("its signature does not verify with the
 * key of its issuer", "too many names to check against the CA's name
 * constraints"); the caller says which certificate and where.  For the
 * errors whose words need no more than the error itself: expiry, unknown
 * issuers, revocation, CRLs, purpose and names are told by each caller
 * with the dates, files and roles it knows.
 */
const char *x509_verify_words(X509_STORE_CTX *x);

/* Room for the facts x509_verify_facts() gathers. */
struct verify_fact_text {
	char subject[512], issuer[512], holds[1024], serial[80];
	char not_before[32], starts_in[48], not_after[32], expired_ago[48];
	char crl_issuer[512], crl_this[32], crl_starts[48];
	char crl_next[32], crl_ago[48];
	char revoked[256], usage[256];
};

/*
 * The facts of the failure in x (core/reason.h) for reason_verify_words(),
 * the one wording: the certificate at the error depth, its names, dates,
 * serial, usage; its CRL (the context's, or the one of crls from its
 * issuer) and, with crls, the revocation's reason and date.  Spans are
 * from now.  The caller adds how it names things (what, where, purpose,
 * name, anchors...).  The strings live in t.
 */
void x509_verify_facts(X509_STORE_CTX *x, STACK_OF(X509_CRL) *crls,
    time_t now, struct verify_facts *f, struct verify_fact_text *t);

#endif
