/*
 * csr.c - certificate signing requests (PKCS#10, RFC 2986): made from a key
 * and names (subject CN, SANs requested through the extensionRequest
 * attribute), read as PEM or DER, written as PEM.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "core/pem.h"
#include "ca/pki.h"

struct mtls_csr *
mtls_csr_new(const struct mtls_key *key, const struct mtls_names *names,
    struct mtls_error *err)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	struct mtls_csr *csr = NULL;
	GENERAL_NAMES *gens = NULL;
	X509_REQ *req = NULL;
	X509_NAME *subj;

	if (key == NULL || key->pkey == NULL || names == NULL ||
	    names->common_name == NULL || *names->common_name == '\0') {
		err_set(err, MTLS_ERR_USAGE, "a CSR needs a key and a name");
		return NULL;
	}
	if ((gens = pki_names_san(names, err)) == NULL)
		return NULL;
	if ((req = X509_REQ_new()) == NULL || !X509_REQ_set_version(req, 0))
		goto ssl_fail;
	subj = X509_REQ_get_subject_name(req);
	if (!X509_NAME_add_entry_by_NID(subj, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)names->common_name, -1, -1, 0)) {
		err_set_ssl(err, MTLS_ERR_USAGE, "%s: not a valid common name",
		    names->common_name);
		goto fail;
	}
	if (!X509_REQ_set_pubkey(req, key->pkey))
		goto ssl_fail;
	if (sk_GENERAL_NAME_num(gens) > 0) {
		if ((exts = sk_X509_EXTENSION_new_null()) == NULL ||
		    !X509V3_add1_i2d(&exts, NID_subject_alt_name, gens, 0,
		    X509V3_ADD_DEFAULT) ||
		    !X509_REQ_add_extensions(req, exts))
			goto ssl_fail;
	}
	if (pki_sign_req(req, key->pkey) == -1)
		goto ssl_fail;
	if ((csr = calloc(1, sizeof(*csr))) == NULL) {
		err_set(err, MTLS_ERR_NOMEM, "out of memory");
		goto fail;
	}
	csr->req = req;
	req = NULL;
	goto done;
ssl_fail:
	err_set_ssl(err, MTLS_ERR_CRYPTO, "%s: cannot make the CSR",
	    names->common_name);
fail:
done:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	X509_REQ_free(req);
	return csr;
}

struct mtls_csr *
mtls_csr_load_mem(const void *buf, size_t len, const char *name,
    struct mtls_error *err)
{
	struct mtls_csr *csr;
	X509_REQ *req = NULL;

	if (name == NULL)
		name = "CSR";
	if (buf == NULL || len == 0 || len > INT_MAX) {
		err_set(err, MTLS_ERR_PARSE, ERR_NOT_A_CSR, name);
		return NULL;
	}
	if (pem_is_pem(buf, len)) {
		BIO *bio = BIO_new_mem_buf(buf, (int)len);
		if (bio != NULL)
			req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
		BIO_free(bio);
	} else {
		const unsigned char *p = buf;
		req = d2i_X509_REQ(NULL, &p, (long)len);
		if (req != NULL && p != (const unsigned char *)buf + len) {
			X509_REQ_free(req);
			err_set(err, MTLS_ERR_PARSE,
			    "%s: trailing data after the request", name);
			return NULL;
		}
	}
	if (req == NULL) {
		/* OpenSSL's reason (nested asn1 error) says nothing more. */
		ERR_clear_error();
		err_set(err, MTLS_ERR_PARSE, ERR_NOT_A_CSR, name);
		return NULL;
	}
	ERR_clear_error();
	if ((csr = calloc(1, sizeof(*csr))) == NULL) {
		X509_REQ_free(req);
		err_set(err, MTLS_ERR_NOMEM, "%s: out of memory", name);
		return NULL;
	}
	csr->req = req;
	return csr;
}

struct mtls_csr *
mtls_csr_load_file(const char *path, struct mtls_error *err)
{
	struct mtls_csr *csr;
	char *buf;
	size_t len;

	if (path == NULL) {
		err_set(err, MTLS_ERR_USAGE, "no CSR file given");
		return NULL;
	}
	if (file_read(path, MTLS_MAX_INPUT, &buf, &len, err) == -1)
		return NULL;
	csr = mtls_csr_load_mem(buf, len, path, err);
	file_free(buf, len);
	return csr;
}

int
mtls_csr_write_file(const struct mtls_csr *csr, const char *path, int flags,
    struct mtls_error *err)
{
	BIO *bio;
	int ret = -1;

	if (csr == NULL || csr->req == NULL || path == NULL)
		return err_set(err, MTLS_ERR_USAGE, "no CSR or no path given");
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return err_set_ssl(err, MTLS_ERR_NOMEM, "%s: out of memory",
		    path);
	if (!PEM_write_bio_X509_REQ(bio, csr->req))
		err_set_ssl(err, MTLS_ERR_CRYPTO, "%s: cannot encode the CSR",
		    path);
	else
		ret = pem_write_bio(bio, path, 0644, flags, err);
	BIO_free(bio);
	return ret;
}

void
mtls_csr_free(struct mtls_csr *csr)
{
	if (csr == NULL)
		return;
	X509_REQ_free(csr->req);
	free(csr);
}
