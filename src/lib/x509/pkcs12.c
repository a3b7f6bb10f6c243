/*
 * pkcs12.c - a PKCS#12 bundle of a key and its certificate chain for
 * browsers, Java and Windows: AES-256-CBC with PBKDF2 (PBES2, RFC 8018) for
 * both the key bag and the certificates, and an HMAC-SHA256 MAC, so that it
 * opens without OpenSSL's -legacy provider.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pkcs12.h>

#include "core/pem.h"
#include "x509/text.h"
#include "ca/pki.h"

/* PBKDF2 iterations for the encryption and for the MAC key. */
#define P12_ITER 10000

int
mtls_pkcs12_write_file(const struct mtls_cert *cert,
    const struct mtls_key *key, const char *friendly_name,
    const char *passphrase, const char *path, int flags,
    struct mtls_error *err)
{
	STACK_OF(X509) *chain = NULL;
	PKCS12 *p12 = NULL;
	BIO *bio = NULL;
	char *cn = NULL;
	X509 *leaf;
	int ret = -1;

	if (path == NULL)
		return err_set(err, MTLS_ERR_USAGE, "no output file given");
	if (mtls_cert_count(cert) == 0 || key == NULL || key->pkey == NULL)
		return err_set(err, MTLS_ERR_USAGE,
		    "%s: a certificate and its key are needed", path);
	if (passphrase == NULL)
		return err_set(err, MTLS_ERR_USAGE,
		    "%s: a PKCS#12 file needs a passphrase", path);
	if (mtls_cert_check_key(cert, key, err) == -1)
		return -1;
	leaf = sk_X509_value(cert->certs, 0);
	if (friendly_name == NULL) {
		/* Default to the leaf's CN, the name key stores list. */
		cn = x509_name_cn_utf8(X509_get_subject_name(leaf));
		friendly_name = cn;
	}
	if ((chain = sk_X509_new_null()) == NULL)
		goto nomem;
	for (int i = 1; i < sk_X509_num(cert->certs); i++)
		if (!sk_X509_push(chain, sk_X509_value(cert->certs, i)))
			goto nomem;
	/* mac_iter -1: no MAC yet; it is set below with SHA-256 explicitly. */
	p12 = PKCS12_create_ex((char *)passphrase, (char *)friendly_name,
	    key->pkey, leaf, chain, NID_aes_256_cbc, NID_aes_256_cbc,
	    P12_ITER, -1, 0, NULL, NULL);
	if (p12 == NULL || !PKCS12_set_mac(p12, passphrase, -1, NULL, 0,
	    P12_ITER, EVP_sha256())) {
		err_set_ssl(err, MTLS_ERR_CRYPTO,
		    "%s: cannot make the PKCS#12 bundle", path);
		goto out;
	}
	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		goto nomem;
	if (i2d_PKCS12_bio(bio, p12) != 1) {
		err_set_ssl(err, MTLS_ERR_CRYPTO,
		    "%s: cannot encode the PKCS#12 bundle", path);
		goto out;
	}
	ret = pem_write_bio(bio, path, 0600, flags, err);
	goto out;
nomem:
	err_set_ssl(err, MTLS_ERR_NOMEM, "%s: out of memory", path);
out:
	BIO_free(bio);
	PKCS12_free(p12);
	sk_X509_free(chain);
	free(cn);
	return ret;
}
