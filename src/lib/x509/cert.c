/*
 * cert.c - a certificate or a chain (leaf first) as a file: loading PEM or
 * DER, writing PEM atomically, and checking that a key belongs to the leaf.
 */
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "core/internal.h"
#include "core/pem.h"
#include "ca/pki.h"

struct mtls_cert *
mtls_cert_load_mem(const void *buf, size_t len, const char *name,
    struct mtls_error *err)
{
	struct mtls_cert *cert;
	STACK_OF(X509) *sk;

	if (name == NULL)
		name = "certificate";
	if (buf == NULL) {
		err_set(err, MTLS_ERR_PARSE, ERR_NOT_A_CERT, name);
		return NULL;
	}
	if (pem_read_certs(buf, len, name, &sk, err) == -1)
		return NULL;
	if ((cert = calloc(1, sizeof(*cert))) == NULL) {
		sk_X509_pop_free(sk, X509_free);
		err_set(err, MTLS_ERR_NOMEM, "%s: out of memory", name);
		return NULL;
	}
	cert->certs = sk;
	return cert;
}

struct mtls_cert *
mtls_cert_load_file(const char *path, struct mtls_error *err)
{
	struct mtls_cert *cert;
	char *buf;
	size_t len;

	if (path == NULL) {
		err_set(err, MTLS_ERR_USAGE, "no certificate file given");
		return NULL;
	}
	if (file_read(path, MTLS_MAX_INPUT, &buf, &len, err) == -1)
		return NULL;
	cert = mtls_cert_load_mem(buf, len, path, err);
	file_free(buf, len);
	return cert;
}

size_t
mtls_cert_count(const struct mtls_cert *cert)
{
	if (cert == NULL || cert->certs == NULL)
		return 0;
	return (size_t)sk_X509_num(cert->certs);
}

int
mtls_cert_write_file(const struct mtls_cert *cert, const char *path,
    int flags, struct mtls_error *err)
{
	BIO *bio;
	int ret = -1;

	if (path == NULL)
		return err_set(err, MTLS_ERR_USAGE, "no output file given");
	if (mtls_cert_count(cert) == 0)
		return err_set(err, MTLS_ERR_USAGE, "%s: no certificate to "
		    "write", path);
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return err_set_ssl(err, MTLS_ERR_NOMEM, "%s: out of memory",
		    path);
	for (int i = 0; i < sk_X509_num(cert->certs); i++) {
		if (!PEM_write_bio_X509(bio, sk_X509_value(cert->certs, i))) {
			err_set_ssl(err, MTLS_ERR_CRYPTO,
			    "%s: cannot encode certificate %d", path, i + 1);
			goto out;
		}
	}
	ret = pem_write_bio(bio, path, 0644, flags, err);
out:
	BIO_free(bio);
	return ret;
}

int
mtls_cert_check_key(const struct mtls_cert *cert, const struct mtls_key *key,
    struct mtls_error *err)
{
	EVP_PKEY *pub;

	if (mtls_cert_count(cert) == 0 || key == NULL || key->pkey == NULL)
		return err_set(err, MTLS_ERR_USAGE,
		    "no certificate or key to compare");
	pub = X509_get0_pubkey(sk_X509_value(cert->certs, 0));
	if (pub == NULL)
		return err_set_ssl(err, MTLS_ERR_PARSE,
		    "certificate: cannot read its public key");
	if (EVP_PKEY_eq(pub, key->pkey) != 1) {
		char *subj = x509_name_line(
		    X509_get_subject_name(sk_X509_value(cert->certs, 0)));
		ERR_clear_error();
		err_set(err, MTLS_ERR_KEY_MISMATCH,
		    "%s: key does not match certificate",
		    subj != NULL && *subj != '\0' ? subj : "certificate");
		free(subj);
		return -1;
	}
	return 0;
}

void
mtls_cert_free(struct mtls_cert *cert)
{
	if (cert == NULL)
		return;
	sk_X509_pop_free(cert->certs, X509_free);
	free(cert);
}

const char *
mtls_cert_kind_name(enum mtls_cert_kind kind)
{
	switch (kind) {
	case MTLS_CERT_SERVER:
		return "server";
	case MTLS_CERT_CLIENT:
		return "client";
	case MTLS_CERT_CA:
		return "ca";
	}
	return "unknown";
}
