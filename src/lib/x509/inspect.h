/*
 * inspect.h - private helpers of the inspection and verification code
 * (cert_info.c, identify.c, csr_info.c, crl_info.c, verify.c): reading
 * every object of a PEM or DER buffer; the X.509 text is x509/text.h.
 */
#ifndef MTLS_INSPECT_H
#define MTLS_INSPECT_H

#include <time.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/internal.h"
#include "x509/text.h"

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

#endif
