/*
 * pem.c - certificates in, PEM or DER, with the length always bounded by the
 * buffer; and memory BIOs out to files through the atomic writer.
 */
#include <limits.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "core/pem.h"

int
pem_is_pem(const void *buf, size_t len)
{
	return memmem(buf, len, "-----BEGIN ", 11) != NULL;
}

static int
read_pem_certs(const void *buf, size_t len, const char *name,
    STACK_OF(X509) *sk, struct mtls_error *err)
{
	BIO *bio;
	X509 *x;
	int ret = -1;

	if (len > INT_MAX)
		return err_set(err, MTLS_ERR_PARSE, "%s: input too large",
		    name);
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL)
		return err_set_ssl(err, MTLS_ERR_NOMEM, "%s: out of memory",
		    name);
	/* PEM_read_bio_X509 skips blocks of other types (keys, CSRs), so a
	 * combined cert+key file yields its certificates. */
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			err_set_ssl(err, MTLS_ERR_NOMEM, "%s: out of memory",
			    name);
			goto out;
		}
	}
	/* The loop ends at "no start line" when the input is exhausted; any
	 * other reason means a certificate block that does not parse. */
	unsigned long e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
		ERR_clear_error();
	} else if (e != 0) {
		err_set_ssl(err, MTLS_ERR_PARSE,
		    "%s: malformed certificate (certificate %d)", name,
		    sk_X509_num(sk) + 1);
		goto out;
	}
	ret = 0;
out:
	BIO_free(bio);
	return ret;
}

static int
read_der_certs(const void *buf, size_t len, const char *name,
    STACK_OF(X509) *sk, struct mtls_error *err)
{
	const unsigned char *p = buf, *end = p + len;

	while (p < end) {
		long left = end - p > LONG_MAX ? LONG_MAX : (long)(end - p);
		X509 *x = d2i_X509(NULL, &p, left);
		if (x == NULL) {
			if (sk_X509_num(sk) == 0) {
				ERR_clear_error();
				return 0; /* not a certificate at all */
			}
			return err_set_ssl(err, MTLS_ERR_PARSE,
			    "%s: trailing data after certificate %d", name,
			    sk_X509_num(sk));
		}
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			return err_set_ssl(err, MTLS_ERR_NOMEM,
			    "%s: out of memory", name);
		}
	}
	return 0;
}

int
pem_read_certs(const void *buf, size_t len, const char *name,
    STACK_OF(X509) **out, struct mtls_error *err)
{
	STACK_OF(X509) *sk;
	int r;

	*out = NULL;
	if (name == NULL)
		name = "certificate";
	if ((sk = sk_X509_new_null()) == NULL)
		return err_set_ssl(err, MTLS_ERR_NOMEM, "%s: out of memory",
		    name);
	if (pem_is_pem(buf, len))
		r = read_pem_certs(buf, len, name, sk, err);
	else
		r = read_der_certs(buf, len, name, sk, err);
	if (r == 0 && sk_X509_num(sk) == 0)
		r = err_set(err, MTLS_ERR_PARSE, pem_is_pem(buf, len) ?
		    ERR_NOT_A_CERT_PEM : ERR_NOT_A_CERT, name);
	if (r != 0) {
		sk_X509_pop_free(sk, X509_free);
		return -1;
	}
	*out = sk;
	return 0;
}

int
pem_write_bio(BIO *bio, const char *path, mode_t mode, int flags,
    struct mtls_error *err)
{
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);

	if (n < 0 || data == NULL)
		return err_set(err, MTLS_ERR_IO, "%s: nothing to write", path);
	return mtls_file_write_atomic(path, data, (size_t)n, mode, flags,
	    err);
}
