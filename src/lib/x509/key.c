/*
 * key.c - private keys: generation for the key types of the command-line
 * contract, loading (PEM or DER, encrypted or not) with a passphrase error
 * that says which of "missing" or "wrong" it is, and writing PKCS#8 PEM,
 * mode 0600, through the atomic writer.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "core/internal.h"
#include "core/pem.h"

static const struct {
	enum mtls_key_type type;
	const char *name;
} keytypes[] = {
	{ MTLS_KEY_EC_P256, "ec-p256" },
	{ MTLS_KEY_EC_P384, "ec-p384" },
	{ MTLS_KEY_RSA_2048, "rsa-2048" },
	{ MTLS_KEY_RSA_3072, "rsa-3072" },
	{ MTLS_KEY_RSA_4096, "rsa-4096" },
	{ MTLS_KEY_ED25519, "ed25519" },
};

int
mtls_key_type_parse(const char *name, enum mtls_key_type *type)
{
	if (name == NULL)
		return -1;
	for (size_t i = 0; i < nitems(keytypes); i++) {
		if (strcasecmp(name, keytypes[i].name) == 0) {
			*type = keytypes[i].type;
			return 0;
		}
	}
	return -1;
}

const char *
mtls_key_type_name(enum mtls_key_type type)
{
	for (size_t i = 0; i < nitems(keytypes); i++)
		if (keytypes[i].type == type)
			return keytypes[i].name;
	return "unknown";
}

struct mtls_key *
mtls_key_generate(enum mtls_key_type type, struct mtls_error *err)
{
	struct mtls_key *key;
	EVP_PKEY *pkey = NULL;

	switch (type) {
	case MTLS_KEY_EC_P256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case MTLS_KEY_EC_P384:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case MTLS_KEY_RSA_2048:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case MTLS_KEY_RSA_3072:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		break;
	case MTLS_KEY_RSA_4096:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
		break;
	case MTLS_KEY_ED25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	default:
		err_set(err, MTLS_ERR_USAGE, "unknown key type %d", (int)type);
		return NULL;
	}
	if (pkey == NULL) {
		err_set_ssl(err, MTLS_ERR_CRYPTO, "%s: key generation failed",
		    mtls_key_type_name(type));
		return NULL;
	}
	if ((key = calloc(1, sizeof(*key))) == NULL) {
		EVP_PKEY_free(pkey);
		err_set(err, MTLS_ERR_NOMEM, "out of memory");
		return NULL;
	}
	key->pkey = pkey;
	return key;
}

/* What the passphrase callback saw: whether the decoder asked at all tells
 * "no passphrase given" and "wrong passphrase" apart from "not a key". */
struct pass_state {
	const char *pass;
	int asked;
};

static int
pass_cb(char *buf, int size, int rwflag, void *u)
{
	struct pass_state *ps = u;
	size_t len;

	(void)rwflag;
	ps->asked = 1;
	if (ps->pass == NULL)
		return -1;
	len = strlen(ps->pass);
	if (size < 0 || len > (size_t)size)
		return -1;
	memcpy(buf, ps->pass, len);
	return (int)len;
}

/* OSSL_DECODER's callback shape, for DER input. */
static int
decoder_pass_cb(char *buf, size_t size, size_t *len,
    const OSSL_PARAM params[], void *u)
{
	struct pass_state *ps = u;
	size_t n;

	(void)params;
	ps->asked = 1;
	if (ps->pass == NULL)
		return 0;
	n = strlen(ps->pass);
	if (n > size)
		return 0;
	memcpy(buf, ps->pass, n);
	*len = n;
	return 1;
}

static EVP_PKEY *
decode_der(const void *buf, size_t len, struct pass_state *ps)
{
	OSSL_DECODER_CTX *dctx;
	EVP_PKEY *pkey = NULL;
	const unsigned char *p = buf;
	size_t left = len;

	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", NULL, NULL,
	    EVP_PKEY_KEYPAIR, NULL, NULL);
	if (dctx == NULL)
		return NULL;
	if (OSSL_DECODER_CTX_set_passphrase_cb(dctx, decoder_pass_cb, ps))
		(void)OSSL_DECODER_from_data(dctx, &p, &left);
	OSSL_DECODER_CTX_free(dctx);
	return pkey;
}

struct mtls_key *
mtls_key_load_mem(const void *buf, size_t len, const char *passphrase,
    const char *name, struct mtls_error *err)
{
	struct pass_state ps = { passphrase, 0 };
	struct mtls_key *key;
	EVP_PKEY *pkey = NULL;

	if (name == NULL)
		name = "key";
	if (buf == NULL || len == 0 || len > INT_MAX) {
		err_set(err, MTLS_ERR_PARSE, "%s: no private key found", name);
		return NULL;
	}
	if (pem_is_pem(buf, len)) {
		BIO *bio = BIO_new_mem_buf(buf, (int)len);
		if (bio == NULL) {
			err_set_ssl(err, MTLS_ERR_NOMEM, "%s: out of memory",
			    name);
			return NULL;
		}
		/* Skips other PEM blocks, so a cert+key file works too. */
		pkey = PEM_read_bio_PrivateKey(bio, NULL, pass_cb, &ps);
		BIO_free(bio);
	} else {
		pkey = decode_der(buf, len, &ps);
	}
	if (pkey == NULL) {
		if (ps.asked && passphrase == NULL) {
			ERR_clear_error();
			err_set(err, MTLS_ERR_PASSPHRASE,
			    "%s: the key is encrypted and no passphrase was "
			    "given", name);
		} else if (ps.asked) {
			ERR_clear_error();
			err_set(err, MTLS_ERR_PASSPHRASE,
			    "%s: wrong passphrase", name);
		} else {
			err_set_ssl(err, MTLS_ERR_PARSE,
			    "%s: no private key found", name);
		}
		return NULL;
	}
	ERR_clear_error();
	if ((key = calloc(1, sizeof(*key))) == NULL) {
		EVP_PKEY_free(pkey);
		err_set(err, MTLS_ERR_NOMEM, "%s: out of memory", name);
		return NULL;
	}
	key->pkey = pkey;
	return key;
}

struct mtls_key *
mtls_key_load_file(const char *path, const char *passphrase,
    struct mtls_error *err)
{
	struct mtls_key *key;
	char *buf;
	size_t len;

	if (path == NULL) {
		err_set(err, MTLS_ERR_USAGE, "no key file given");
		return NULL;
	}
	if (file_read(path, MTLS_MAX_INPUT, &buf, &len, err) == -1)
		return NULL;
	key = mtls_key_load_mem(buf, len, passphrase, path, err);
	file_free(buf, len);
	return key;
}

int
mtls_key_write_file(const struct mtls_key *key, const char *path,
    const char *passphrase, int flags, struct mtls_error *err)
{
	const EVP_CIPHER *cipher = NULL;
	BIO *bio = NULL;
	int ret = -1;

	if (key == NULL || key->pkey == NULL || path == NULL)
		return err_set(err, MTLS_ERR_USAGE, "%s: no key to write",
		    path != NULL ? path : "key");
	if (passphrase != NULL) {
		if (strlen(passphrase) > INT_MAX)
			return err_set(err, MTLS_ERR_USAGE,
			    "%s: passphrase too long", path);
		cipher = EVP_aes_256_cbc();
	}
	/* A secure-heap BIO: the PEM text of the key is cleared on free. */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL) {
		err_set_ssl(err, MTLS_ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	/* PKCS#8; with a cipher OpenSSL 3 uses PBES2 with PBKDF2 and
	 * HMAC-SHA256 (RFC 8018 section 6.2). */
	if (!PEM_write_bio_PKCS8PrivateKey(bio, key->pkey, cipher,
	    (const char *)passphrase, passphrase ? (int)strlen(passphrase) : 0,
	    NULL, NULL)) {
		err_set_ssl(err, MTLS_ERR_CRYPTO, "%s: cannot encode key",
		    path);
		goto out;
	}
	ret = pem_write_bio(bio, path, 0600, flags, err);
out:
	BIO_free(bio);
	return ret;
}

void
mtls_key_free(struct mtls_key *key)
{
	if (key == NULL)
		return;
	/* EVP_PKEY_free clears the key material of the providers. */
	EVP_PKEY_free(key->pkey);
	mtls_cleanse(key, sizeof(*key));
	free(key);
}
