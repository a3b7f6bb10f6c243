/*
 * pem.h - private helpers of libmtls for PEM-or-DER input and PEM output of
 * certificates.  Used by the PKI files and by inspection.
 */
#ifndef MTLS_PEM_H
#define MTLS_PEM_H

#include <stddef.h>

#include <openssl/bio.h>
#include <openssl/x509.h>

#include "core/internal.h"

/*
 * Reads every certificate of buf: PEM (one or many CERTIFICATE blocks, other
 * blocks skipped) or DER (one or several concatenated).  name is used in
 * messages.  A buffer with no certificate is MTLS_ERR_PARSE
 * ERR_NOT_A_CERT (ERR_NOT_A_CERT_PEM for PEM without a certificate).
 */
int pem_read_certs(const void *buf, size_t len, const char *name,
    STACK_OF(X509) **out, struct mtls_error *err) MTLS_MUST_CHECK;

/* 1 when buf looks like PEM text (holds a "-----BEGIN " line). */
int pem_is_pem(const void *buf, size_t len);

/* Writes what bio (a memory BIO) holds to path atomically with mode. */
int pem_write_bio(BIO *bio, const char *path, mode_t mode, int flags,
    struct mtls_error *err) MTLS_MUST_CHECK;

#endif
