/*
 * identify.c - "what is in this file?": every object of a PEM or DER input
 * (certificates, CSRs, CRLs, keys, PKCS#12), counted and kept for the
 * inspection and verification code.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "x509/inspect.h"

/* ------------------------------------------------------------------ */
/* Reading every object of an input                                   */
/* ------------------------------------------------------------------ */

/* Counts one object of kind (NONE: a PEM block of another kind); the first
 * one counted names the input. */
static void
note_object(struct x509_objects *o, enum mtls_object_kind kind)
{
	switch (kind) {
	case MTLS_OBJECT_CERT: o->c.ncerts++; break;
	case MTLS_OBJECT_CSR: o->c.ncsrs++; break;
	case MTLS_OBJECT_CRL: o->c.ncrls++; break;
	case MTLS_OBJECT_KEY: o->c.nkeys++; break;
	case MTLS_OBJECT_PUBLIC_KEY: o->c.npublic_keys++; break;
	case MTLS_OBJECT_PKCS12: o->c.npkcs12++; break;
	case MTLS_OBJECT_NONE: o->c.nother++; return;
	}
	if (o->c.first == MTLS_OBJECT_NONE)
		o->c.first = kind;
}

/* Is label one of the PEM labels of a private key?  RFC 7468 section 10-11
 * ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY") and the legacy and OpenSSH ones
 * ("RSA PRIVATE KEY", "OPENSSH PRIVATE KEY", ...). */
static int
label_is_private_key(const char *label)
{
	size_t n = strlen(label), k = strlen("PRIVATE KEY");

	return n >= k && strcmp(label + n - k, "PRIVATE KEY") == 0;
}

/* Decodes one DER body of a PEM block whose label we know; the whole body
 * must be consumed. */
static int
pem_block_add(struct x509_objects *o, const char *name, size_t index,
    const char *label, const unsigned char *der, long len,
    struct mtls_error *err)
{
	const unsigned char *p = der;

	if (strcmp(label, PEM_STRING_X509) == 0 ||
	    strcmp(label, PEM_STRING_X509_OLD) == 0 ||
	    strcmp(label, PEM_STRING_X509_TRUSTED) == 0) {
		X509 *x = strcmp(label, PEM_STRING_X509_TRUSTED) == 0 ?
		    d2i_X509_AUX(NULL, &p, len) : d2i_X509(NULL, &p, len);
		if (x == NULL || p != der + len) {
			X509_free(x);
			return err_set_ssl(err, MTLS_ERR_PARSE, "%s: PEM block "
			    "%zu (%s) is not a valid certificate", name, index,
			    label);
		}
		if (!sk_X509_push(o->certs, x)) {
			X509_free(x);
			return err_set(err, MTLS_ERR_NOMEM, "%s: out of memory",
			    name);
		}
		note_object(o, MTLS_OBJECT_CERT);
	} else if (strcmp(label, PEM_STRING_X509_REQ) == 0 ||
	    strcmp(label, PEM_STRING_X509_REQ_OLD) == 0) {
		X509_REQ *r = d2i_X509_REQ(NULL, &p, len);
		if (r == NULL || p != der + len) {
			X509_REQ_free(r);
			return err_set_ssl(err, MTLS_ERR_PARSE, "%s: PEM block "
			    "%zu (%s) is not a valid CSR", name, index, label);
		}
		if (o->csr == NULL)
			o->csr = r;
		else
			X509_REQ_free(r);
		note_object(o, MTLS_OBJECT_CSR);
	} else if (strcmp(label, PEM_STRING_X509_CRL) == 0) {
		X509_CRL *crl = d2i_X509_CRL(NULL, &p, len);
		if (crl == NULL || p != der + len) {
			X509_CRL_free(crl);
			return err_set_ssl(err, MTLS_ERR_PARSE, "%s: PEM block "
			    "%zu (%s) is not a valid CRL", name, index, label);
		}
		if (!sk_X509_CRL_push(o->crls, crl)) {
			X509_CRL_free(crl);
			return err_set(err, MTLS_ERR_NOMEM, "%s: out of memory",
			    name);
		}
		note_object(o, MTLS_OBJECT_CRL);
	} else if (label_is_private_key(label)) {
		/* Not decoded: it may be encrypted, and we only need to say
		 * what it is. */
		note_object(o, MTLS_OBJECT_KEY);
	} else if (strcmp(label, PEM_STRING_PUBLIC) == 0 ||
	    strcmp(label, PEM_STRING_RSA_PUBLIC) == 0) {
		note_object(o, MTLS_OBJECT_PUBLIC_KEY);
	} else if (strcmp(label, "PKCS12") == 0) {
		note_object(o, MTLS_OBJECT_PKCS12);
	} else {
		note_object(o, MTLS_OBJECT_NONE);
	}
	return 0;
}

static int
read_pem(struct x509_objects *o, const void *buf, size_t len,
    const char *name, struct mtls_error *err)
{
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	char *label = NULL, *header = NULL;
	unsigned char *data = NULL;
	long dlen = 0;
	size_t index = 0;
	int ret = -1;

	if (bio == NULL)
		return err_set(err, MTLS_ERR_NOMEM, "%s: out of memory", name);
	for (;;) {
		ERR_clear_error();
		if (!PEM_read_bio(bio, &label, &header, &data, &dlen)) {
			unsigned long e = ERR_peek_last_error();
			if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
			    ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
				ERR_clear_error();
				break; /* no more blocks */
			}
			err_set_ssl(err, MTLS_ERR_PARSE, "%s: malformed PEM "
			    "block %zu", name, index + 1);
			goto out;
		}
		index++;
		if (index > X509_OBJECTS_MAX) {
			err_set(err, MTLS_ERR_PARSE, "%s: more than %d PEM "
			    "blocks", name, X509_OBJECTS_MAX);
			goto out;
		}
		if (pem_block_add(o, name, index, label, data, dlen, err) != 0)
			goto out;
		OPENSSL_free(label);
		OPENSSL_free(header);
		OPENSSL_clear_free(data, (size_t)dlen);
		label = header = NULL;
		data = NULL;
	}
	ret = 0;
out:
	OPENSSL_free(label);
	OPENSSL_free(header);
	if (data != NULL)
		OPENSSL_clear_free(data, (size_t)dlen);
	BIO_free(bio);
	return ret;
}

/* Whether the whole of der decodes as one it. */
static int
der_whole(const unsigned char *der, long len, const ASN1_ITEM *it)
{
	const unsigned char *p = der;
	ASN1_VALUE *v = ASN1_item_d2i(NULL, &p, len, it);
	int whole = v != NULL && p == der + len;

	ASN1_item_free(v, it);
	return whole;
}

/* The kind of a DER object that is only identified, never kept: a PKCS#12
 * bundle, a private key (encrypted PKCS#8, PKCS#8 or a legacy form) or a
 * public key; MTLS_OBJECT_NONE when the whole of der is none of them. */
static enum mtls_object_kind
der_identify(const unsigned char *der, long len)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey;
	int whole;

	if (der_whole(der, len, ASN1_ITEM_rptr(PKCS12)))
		return MTLS_OBJECT_PKCS12;
	if (der_whole(der, len, ASN1_ITEM_rptr(X509_SIG)))
		return MTLS_OBJECT_KEY;
	pkey = d2i_AutoPrivateKey(NULL, &p, len);
	whole = pkey != NULL && p == der + len;
	EVP_PKEY_free(pkey);
	if (whole)
		return MTLS_OBJECT_KEY;
	p = der;
	pkey = d2i_PUBKEY(NULL, &p, len);
	whole = pkey != NULL && p == der + len;
	EVP_PKEY_free(pkey);
	return whole ? MTLS_OBJECT_PUBLIC_KEY : MTLS_OBJECT_NONE;
}

/* A DER input holds one object (or, for certificates, several one after
 * the other).  Each decoder must consume the input exactly. */
static int
read_der(struct x509_objects *o, const unsigned char *der, size_t len,
    const char *name, struct mtls_error *err)
{
	const unsigned char *p, *end = der + len;
	long l = (long)len;

	o->c.der = 1;
	/* Certificates, possibly concatenated. */
	p = der;
	while (p < end && sk_X509_num(o->certs) < X509_OBJECTS_MAX) {
		X509 *x = d2i_X509(NULL, &p, end - p);
		if (x == NULL)
			break;
		if (!sk_X509_push(o->certs, x)) {
			X509_free(x);
			return err_set(err, MTLS_ERR_NOMEM, "%s: out of memory",
			    name);
		}
	}
	if (p == end && sk_X509_num(o->certs) > 0) {
		o->c.ncerts = (size_t)sk_X509_num(o->certs);
		o->c.first = MTLS_OBJECT_CERT;
		goto done;
	}
	sk_X509_pop_free(o->certs, X509_free);
	if ((o->certs = sk_X509_new_null()) == NULL)
		return err_set(err, MTLS_ERR_NOMEM, "%s: out of memory", name);

	p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, l);
	if (crl != NULL && p == end) {
		if (!sk_X509_CRL_push(o->crls, crl)) {
			X509_CRL_free(crl);
			return err_set(err, MTLS_ERR_NOMEM, "%s: out of memory",
			    name);
		}
		note_object(o, MTLS_OBJECT_CRL);
		goto done;
	}
	X509_CRL_free(crl);

	p = der;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, l);
	if (req != NULL && p == end) {
		o->csr = req;
		note_object(o, MTLS_OBJECT_CSR);
		goto done;
	}
	X509_REQ_free(req);

	enum mtls_object_kind kind = der_identify(der, l);
	if (kind != MTLS_OBJECT_NONE)
		note_object(o, kind);
	else
		o->c.der = 0; /* not DER of anything we know */
done:
	ERR_clear_error(); /* the failed guesses */
	return 0;
}

int
x509_objects_read(const void *buf, size_t len, const char *name,
    struct x509_objects *o, struct mtls_error *err)
{
	memset(o, 0, sizeof(*o));
	o->certs = sk_X509_new_null();
	o->crls = sk_X509_CRL_new_null();
	if (o->certs == NULL || o->crls == NULL) {
		x509_objects_clear(o);
		return err_set(err, MTLS_ERR_NOMEM, "%s: out of memory", name);
	}
	if (len > MTLS_MAX_INPUT) {
		x509_objects_clear(o);
		return err_set(err, MTLS_ERR_PARSE, "%s: input too large "
		    "(limit %u bytes)", name, MTLS_MAX_INPUT);
	}
	/* PEM if there is a PEM header anywhere: text before and between
	 * blocks (as "openssl x509 -text" writes) is allowed. */
	int r;
	if (memmem(buf, len, "-----BEGIN ", 11) != NULL)
		r = read_pem(o, buf, len, name, err);
	else
		r = read_der(o, buf, len, name, err);
	if (r != 0) {
		x509_objects_clear(o);
		return -1;
	}
	return 0;
}

int
x509_objects_read_file(const char *path, struct x509_objects *o,
    struct mtls_error *err)
{
	char *buf;
	size_t len;

	memset(o, 0, sizeof(*o));
	if (file_read(path, MTLS_MAX_INPUT, &buf, &len, err) != 0)
		return -1;
	/* The file may hold a private key: cleansed when freed. */
	int r = x509_objects_read(buf, len, path, o, err);
	file_free(buf, len);
	return r;
}

void
x509_objects_clear(struct x509_objects *o)
{
	sk_X509_pop_free(o->certs, X509_free);
	sk_X509_CRL_pop_free(o->crls, X509_CRL_free);
	X509_REQ_free(o->csr);
	memset(o, 0, sizeof(*o));
}

int
mtls_mem_identify(const void *buf, size_t len, const char *name,
    struct mtls_file_contents *c, struct mtls_error *err)
{
	struct x509_objects o;

	memset(c, 0, sizeof(*c));
	if (x509_objects_read(buf, len, name ? name : "input", &o, err) != 0)
		return -1;
	*c = o.c;
	x509_objects_clear(&o);
	return 0;
}

int
mtls_file_identify(const char *path, struct mtls_file_contents *c,
    struct mtls_error *err)
{
	struct x509_objects o;

	memset(c, 0, sizeof(*c));
	if (x509_objects_read_file(path, &o, err) != 0)
		return -1;
	*c = o.c;
	x509_objects_clear(&o);
	return 0;
}

const char *
mtls_object_kind_name(enum mtls_object_kind kind)
{
	switch (kind) {
	case MTLS_OBJECT_CERT: return "a certificate";
	case MTLS_OBJECT_CSR: return "a certificate signing request";
	case MTLS_OBJECT_CRL: return "a certificate revocation list";
	case MTLS_OBJECT_KEY: return "a private key";
	case MTLS_OBJECT_PUBLIC_KEY: return "a public key";
	case MTLS_OBJECT_PKCS12: return "a PKCS#12 bundle";
	case MTLS_OBJECT_NONE: break;
	}
	return "not a certificate, CSR, CRL, key or PKCS#12 file";
}
