/*
 * internal.h - private helpers shared by the files of libmtls.
 * Never installed; nothing outside src/ includes it.
 */
#ifndef MTLS_INTERNAL_H
#define MTLS_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mtls.h"
#include "tools/mtls_tools.h"

/* The opaque types of mtls.h, as the library's files see them. */
struct mtls_key {
	EVP_PKEY *pkey;
};

struct mtls_cert {
	STACK_OF(X509) *certs; /* leaf first, then its chain */
};

struct mtls_csr {
	X509_REQ *req;
};

#define MTLS_MUST_CHECK __attribute__((warn_unused_result))
#define MTLS_PRINTF(a, b) __attribute__((format(printf, a, b)))

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Error idiom: err_set() formats the message; err_set_ssl() appends the
 * reason of the newest entry on OpenSSL's error queue and clears the queue.
 * It is the one place where OpenSSL's errors become ours.  Both accept a NULL
 * err and always return -1, so a failure path reads
 *     return err_set(err, MTLS_ERR_IO, "%s: %s", path, strerror(errno));
 */
int err_set(struct mtls_error *err, enum mtls_errcode code, const char *fmt,
    ...) MTLS_PRINTF(3, 4);
int err_set_ssl(struct mtls_error *err, enum mtls_errcode code,
    const char *fmt, ...) MTLS_PRINTF(3, 4);
int err_vset(struct mtls_error *err, enum mtls_errcode code, int with_ssl,
    const char *fmt, va_list ap) MTLS_PRINTF(4, 0);
void err_clear(struct mtls_error *err);
/* The reason of the newest OpenSSL error ("bad decrypt"), or NULL. Clears. */
const char *err_ssl_reason(char *buf, size_t len);

/*
 * Files.  file_read() reads a whole regular file (at most max bytes) into a
 * NUL-terminated heap buffer; the caller frees it (file_free() cleanses it
 * first, for secrets).
 */
int file_read(const char *path, size_t max, char **buf, size_t *len,
    struct mtls_error *err) MTLS_MUST_CHECK;
void file_free(char *buf, size_t len);
int file_exists(const char *path);

/* Limit on any PEM/DER input file we read: 16 MiB. */
#define MTLS_MAX_INPUT (16u * 1024 * 1024)

/* The one wording, everywhere, for a file that should hold a certificate
 * (or a request) and does not (a %s for its name). */
#define ERR_NOT_A_CERT "%s: not a certificate (neither PEM nor DER)"
#define ERR_NOT_A_CERT_PEM "%s: not a certificate (no CERTIFICATE block " \
	"in this PEM file)"
#define ERR_NOT_A_CSR "%s: not a certificate request (neither PEM nor DER)"

#endif
