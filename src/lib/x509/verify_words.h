/*
 * verify_words.h - one place that puts a certificate verification failure
 * into words, shared by `mtls cert verify` (verify.c) and the TLS peer
 * check (tls_verify.c).  Private to src/lib.
 */
#ifndef MTLS_VERIFY_WORDS_H
#define MTLS_VERIFY_WORDS_H

#include <openssl/x509_vfy.h>

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

#endif
