/*
 * inspect.c - "what is in this file?": every object of a PEM or DER input
 * (certificates, CSRs, CRLs, keys, PKCS#12), the facts of CSRs and CRLs, and
 * the string helpers that cert_info.c and verify.c share.
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

/* ------------------------------------------------------------------ */
/* Strings                                                            */
/* ------------------------------------------------------------------ */

static char *
bio_to_string(BIO *bio)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);

	if (n < 0)
		return NULL;
	return strndup(data, (size_t)n);
}

char *
x509_name_line(const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *s = NULL;

	if (bio == NULL)
		return NULL;
	/* RFC 2253 order and escaping, but UTF-8 kept as is (not \XX). */
	if (X509_NAME_print_ex(bio, name, 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0)
		s = bio_to_string(bio);
	BIO_free(bio);
	return s;
}

/* Copies text of untrusted origin for display: printable ASCII kept, any
 * other byte as \xNN, so that a name cannot hide or forge output. */
static char *
printable(const unsigned char *p, size_t len)
{
	char *s = malloc(len * 4 + 1), *q = s;

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f)
			*q++ = (char)p[i];
		else
			q += sprintf(q, "\\x%02X", p[i]);
	}
	*q = '\0';
	return s;
}

char *
x509_name_cn(const X509_NAME *name)
{
	int i = -1, last = -1;
	unsigned char *utf8 = NULL;

	/* The last CN is the most specific one. */
	while ((i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) >= 0)
		last = i;
	if (last < 0)
		return NULL;
	X509_NAME_ENTRY *e = X509_NAME_get_entry(name, last);
	int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
	if (n < 0)
		return NULL;
	/* UTF-8 is kept; only control characters are escaped. */
	char *s = malloc((size_t)n * 4 + 1), *q = s;
	if (s != NULL) {
		for (int k = 0; k < n; k++) {
			if (utf8[k] < 0x20 || utf8[k] == 0x7f)
				q += sprintf(q, "\\x%02X", utf8[k]);
			else
				*q++ = (char)utf8[k];
		}
		*q = '\0';
	}
	OPENSSL_free(utf8);
	return s;
}

char *
x509_hex_colon(const unsigned char *p, size_t len)
{
	char *s = malloc(len * 3 + 1);

	if (s == NULL)
		return NULL;
	s[0] = '\0';
	for (size_t i = 0; i < len; i++)
		sprintf(s + i * 3, i + 1 < len ? "%02X:" : "%02X", p[i]);
	return s;
}

int
x509_keyid_hex(const ASN1_OCTET_STRING *id, char **out)
{
	*out = NULL;
	if (id == NULL)
		return 0;
	*out = x509_hex_colon(ASN1_STRING_get0_data(id),
	    (size_t)ASN1_STRING_length(id));
	return *out != NULL ? 0 : -1;
}

char *
x509_serial_hex(const ASN1_INTEGER *serial)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char *s = NULL;

	if (bn == NULL)
		return NULL;
	char *h = BN_bn2hex(bn);
	if (h != NULL) {
		s = strdup(h);
		OPENSSL_free(h);
	}
	BN_free(bn);
	return s;
}

/* Appends ", word" (or "word" first) to a growing string. */
static int
list_add(char **s, const char *word)
{
	size_t old = *s ? strlen(*s) : 0, add = strlen(word) + 2;
	char *n = realloc(*s, old + add + 1);

	if (n == NULL)
		return -1;
	if (old == 0)
		n[0] = '\0';
	if (old > 0)
		strcat(n, ", ");
	strcat(n, word);
	*s = n;
	return 0;
}

char *
x509_key_usage_text(const ASN1_BIT_STRING *ku)
{
	/* RFC 5280 section 4.2.1.3, in bit order. */
	static const char *const bits[] = {
		"digitalSignature", "nonRepudiation", "keyEncipherment",
		"dataEncipherment", "keyAgreement", "keyCertSign", "cRLSign",
		"encipherOnly", "decipherOnly",
	};
	char *s = NULL;

	for (size_t i = 0; i < nitems(bits); i++)
		if (ASN1_BIT_STRING_get_bit(ku, (int)i) &&
		    list_add(&s, bits[i]) != 0)
			goto fail;
	if (s == NULL)
		s = strdup("(none)");
	return s;
fail:
	free(s);
	return NULL;
}

static void
obj_text(const ASN1_OBJECT *obj, char *buf, size_t len)
{
	int nid = OBJ_obj2nid(obj);

	if (nid != NID_undef)
		snprintf(buf, len, "%s", OBJ_nid2sn(nid));
	else if (OBJ_obj2txt(buf, (int)len, obj, 1) <= 0)
		snprintf(buf, len, "?");
}

char *
x509_eku_text(const EXTENDED_KEY_USAGE *eku)
{
	char *s = NULL, buf[128];

	for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		obj_text(sk_ASN1_OBJECT_value(eku, i), buf, sizeof(buf));
		if (list_add(&s, buf) != 0) {
			free(s);
			return NULL;
		}
	}
	if (s == NULL)
		s = strdup("(none)");
	return s;
}

char *
x509_sig_alg_name(const X509_ALGOR *alg)
{
	const ASN1_OBJECT *obj;
	char buf[128];

	X509_ALGOR_get0(&obj, NULL, NULL, alg);
	int nid = OBJ_obj2nid(obj);
	if (nid != NID_undef)
		return strdup(OBJ_nid2ln(nid));
	if (OBJ_obj2txt(buf, sizeof(buf), obj, 1) <= 0)
		return strdup("unknown");
	return strdup(buf);
}

int
x509_key_describe(const EVP_PKEY *pkey, char **type, int *bits)
{
	char buf[80];

	*type = NULL;
	*bits = 0;
	if (pkey == NULL)
		return -1;
	*bits = EVP_PKEY_get_bits(pkey);
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_EC: {
		char group[64];
		size_t glen;
		if (!EVP_PKEY_get_utf8_string_param(pkey,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen)) {
			snprintf(buf, sizeof(buf), "EC");
			break;
		}
		int nid = OBJ_sn2nid(group);
		const char *nist = nid != NID_undef ?
		    EC_curve_nid2nist(nid) : NULL;
		snprintf(buf, sizeof(buf), "EC %s", nist ? nist : group);
		break;
	}
	case EVP_PKEY_RSA: snprintf(buf, sizeof(buf), "RSA"); break;
	case EVP_PKEY_RSA_PSS: snprintf(buf, sizeof(buf), "RSA-PSS"); break;
	case EVP_PKEY_ED25519: snprintf(buf, sizeof(buf), "Ed25519"); break;
	case EVP_PKEY_ED448: snprintf(buf, sizeof(buf), "Ed448"); break;
	case EVP_PKEY_DSA: snprintf(buf, sizeof(buf), "DSA"); break;
	default: {
		const char *n = EVP_PKEY_get0_type_name(pkey);
		snprintf(buf, sizeof(buf), "%s", n ? n : "unknown");
	}
	}
	ERR_clear_error();
	*type = strdup(buf);
	return *type ? 0 : -1;
}

static char *
san_other_value(const GENERAL_NAME *g)
{
	char buf[512], oid[128];

	switch (g->type) {
	case GEN_DIRNAME: {
		char *dn = x509_name_line(g->d.directoryName);
		snprintf(buf, sizeof(buf), "DirName:%s", dn ? dn : "?");
		free(dn);
		break;
	}
	case GEN_OTHERNAME:
		obj_text(g->d.otherName->type_id, oid, sizeof(oid));
		snprintf(buf, sizeof(buf), "othername:%s", oid);
		break;
	case GEN_RID:
		obj_text(g->d.registeredID, oid, sizeof(oid));
		snprintf(buf, sizeof(buf), "RID:%s", oid);
		break;
	case GEN_X400:
		snprintf(buf, sizeof(buf), "X400Name");
		break;
	case GEN_EDIPARTY:
		snprintf(buf, sizeof(buf), "EdiPartyName");
		break;
	default:
		snprintf(buf, sizeof(buf), "unknown name type %d", g->type);
	}
	return strdup(buf);
}

int
x509_sans_collect(const GENERAL_NAMES *gens, struct mtls_san **sans,
    size_t *nsans)
{
	int n = sk_GENERAL_NAME_num(gens);
	struct mtls_san *v;

	*sans = NULL;
	*nsans = 0;
	if (n <= 0)
		return 0;
	if ((v = calloc((size_t)n, sizeof(*v))) == NULL)
		return -1;
	for (int i = 0; i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_STRING *str = NULL;
		char ip[INET6_ADDRSTRLEN];

		switch (g->type) {
		case GEN_DNS:
			v[i].type = MTLS_SAN_DNS;
			str = g->d.dNSName;
			break;
		case GEN_URI:
			v[i].type = MTLS_SAN_URI;
			str = g->d.uniformResourceIdentifier;
			break;
		case GEN_EMAIL:
			v[i].type = MTLS_SAN_EMAIL;
			str = g->d.rfc822Name;
			break;
		case GEN_IPADD: {
			v[i].type = MTLS_SAN_IP;
			int len = ASN1_STRING_length(g->d.iPAddress);
			const unsigned char *a =
			    ASN1_STRING_get0_data(g->d.iPAddress);
			if ((len == 4 && inet_ntop(AF_INET, a, ip,
			    sizeof(ip)) != NULL) || (len == 16 &&
			    inet_ntop(AF_INET6, a, ip, sizeof(ip)) != NULL))
				v[i].value = strdup(ip);
			else
				v[i].value = printable(a, (size_t)len);
			break;
		}
		default:
			v[i].type = MTLS_SAN_OTHER;
			v[i].value = san_other_value(g);
		}
		if (str != NULL)
			v[i].value = printable(ASN1_STRING_get0_data(str),
			    (size_t)ASN1_STRING_length(str));
		if (v[i].value == NULL) {
			x509_sans_free(v, (size_t)n);
			return -1;
		}
	}
	*sans = v;
	*nsans = (size_t)n;
	return 0;
}

void
x509_sans_free(struct mtls_san *sans, size_t nsans)
{
	for (size_t i = 0; sans != NULL && i < nsans; i++)
		free(sans[i].value);
	free(sans);
}

const char *
mtls_san_type_name(enum mtls_san_type type)
{
	switch (type) {
	case MTLS_SAN_DNS: return "DNS";
	case MTLS_SAN_IP: return "IP";
	case MTLS_SAN_URI: return "URI";
	case MTLS_SAN_EMAIL: return "email";
	case MTLS_SAN_OTHER: break;
	}
	return "other";
}

int
x509_sans_text(const X509 *cert, char **out)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name,
	    NULL, NULL);
	struct mtls_san *sans = NULL;
	size_t n = 0;
	int ret = -1;

	*out = NULL;
	if (gens == NULL) {
		ERR_clear_error();
		return 0;
	}
	if (x509_sans_collect(gens, &sans, &n) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		char *item;
		/* Another kind of name says what it is in its value. */
		int r = sans[i].type == MTLS_SAN_OTHER ?
		    asprintf(&item, "%s", sans[i].value) :
		    asprintf(&item, "%s:%s", mtls_san_type_name(sans[i].type),
		    sans[i].value);
		if (r < 0)
			goto out;
		r = list_add(out, item);
		free(item);
		if (r != 0)
			goto out;
	}
	ret = 0;
out:
	if (ret != 0) {
		free(*out);
		*out = NULL;
	}
	x509_sans_free(sans, n);
	GENERAL_NAMES_free(gens);
	return ret;
}

char *
x509_sans_line(const X509 *cert)
{
	char *s;

	return x509_sans_text(cert, &s) == 0 ? s : NULL;
}

int
x509_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	*out = timegm(&tm);
	return 0;
}

void
x509_time_rfc3339(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
}

void
x509_span_words(long long secs, char *buf, size_t len)
{
	if (secs < 0)
		secs = -secs;
	if (secs >= 86400)
		snprintf(buf, len, "%lld day%s", secs / 86400,
		    secs / 86400 == 1 ? "" : "s");
	else if (secs >= 3600)
		snprintf(buf, len, "%lld hour%s", secs / 3600,
		    secs / 3600 == 1 ? "" : "s");
	else
		snprintf(buf, len, "less than an hour");
}

void
mtls_validity_words(time_t not_before, time_t not_after, time_t now,
    char *buf, size_t len)
{
	char span[48];

	if (not_before != 0 && now < not_before) {
		x509_span_words((long long)not_before - now, span,
		    sizeof(span));
		snprintf(buf, len, "not yet valid, starts in %s", span);
	} else if (not_after != 0 && now > not_after) {
		x509_span_words((long long)now - not_after, span,
		    sizeof(span));
		snprintf(buf, len, "EXPIRED %s ago", span);
	} else if (not_after != 0) {
		x509_span_words((long long)not_after - now, span,
		    sizeof(span));
		snprintf(buf, len, "expires in %s", span);
	} else {
		snprintf(buf, len, "no expiry given");
	}
}

/* ------------------------------------------------------------------ */
/* CSRs                                                               */
/* ------------------------------------------------------------------ */

static int
csr_note_other(struct mtls_csr_info *info, X509_EXTENSION *ext,
    const char *why)
{
	char oid[128], line[200];
	char **v;

	obj_text(X509_EXTENSION_get_object(ext), oid, sizeof(oid));
	snprintf(line, sizeof(line), "%s%s%s", oid,
	    X509_EXTENSION_get_critical(ext) ? " (critical)" : "", why);
	v = realloc(info->other_extensions,
	    (info->nother_extensions + 1) * sizeof(*v));
	if (v == NULL)
		return -1;
	info->other_extensions = v;
	if ((v[info->nother_extensions] = strdup(line)) == NULL)
		return -1;
	info->nother_extensions++;
	return 0;
}

static int
csr_extension(struct mtls_csr_info *info, X509_EXTENSION *ext)
{
	int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
	void *d = NULL;
	int ret = -1;

	if (nid != NID_subject_alt_name && nid != NID_key_usage &&
	    nid != NID_ext_key_usage && nid != NID_basic_constraints)
		return csr_note_other(info, ext, "");
	if ((d = X509V3_EXT_d2i(ext)) == NULL) {
		ERR_clear_error();
		return csr_note_other(info, ext, ": malformed");
	}
	switch (nid) {
	case NID_subject_alt_name:
		if (info->sans != NULL) /* duplicate: keep the first */
			ret = csr_note_other(info, ext, ": duplicate");
		else
			ret = x509_sans_collect(d, &info->sans, &info->nsans);
		GENERAL_NAMES_free(d);
		break;
	case NID_key_usage:
		free(info->key_usage);
		info->key_usage = x509_key_usage_text(d);
		ret = info->key_usage ? 0 : -1;
		ASN1_BIT_STRING_free(d);
		break;
	case NID_ext_key_usage:
		free(info->ext_key_usage);
		info->ext_key_usage = x509_eku_text(d);
		ret = info->ext_key_usage ? 0 : -1;
		EXTENDED_KEY_USAGE_free(d);
		break;
	case NID_basic_constraints: {
		BASIC_CONSTRAINTS *bc = d;
		info->has_basic_constraints = 1;
		info->is_ca = bc->ca != 0;
		info->path_len = bc->pathlen ?
		    (int)ASN1_INTEGER_get(bc->pathlen) : -1;
		BASIC_CONSTRAINTS_free(bc);
		ret = 0;
		break;
	}
	}
	return ret;
}

int
mtls_csr_info(const struct mtls_csr *csr, struct mtls_csr_info *info,
    struct mtls_error *err)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	const X509_ALGOR *alg;
	int ret = -1;

	memset(info, 0, sizeof(*info));
	info->path_len = -1;
	if (csr == NULL || csr->req == NULL)
		return err_set(err, MTLS_ERR_USAGE, "no CSR");
	X509_REQ *req = csr->req;
	const X509_NAME *subj = X509_REQ_get_subject_name(req);
	if ((info->subject = x509_name_line(subj)) == NULL)
		goto nomem;
	info->common_name = x509_name_cn(subj);

	exts = X509_REQ_get_extensions(req);
	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++)
		if (csr_extension(info, sk_X509_EXTENSION_value(exts, i)) != 0)
			goto nomem;

	EVP_PKEY *pkey = X509_REQ_get0_pubkey(req);
	if (pkey == NULL) {
		err_set_ssl(err, MTLS_ERR_PARSE, "the CSR's public key cannot "
		    "be decoded");
		goto out;
	}
	if (x509_key_describe(pkey, &info->key_type, &info->key_bits) != 0)
		goto nomem;
	X509_REQ_get0_signature(req, NULL, &alg);
	if ((info->signature_algorithm = x509_sig_alg_name(alg)) == NULL)
		goto nomem;
	info->signature_ok = X509_REQ_verify(req, pkey) == 1;
	ERR_clear_error();
	ret = 0;
	goto out;
nomem:
	err_set(err, MTLS_ERR_NOMEM, "out of memory");
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	if (ret != 0)
		mtls_csr_info_clear(info);
	return ret;
}

void
mtls_csr_info_clear(struct mtls_csr_info *info)
{
	if (info == NULL)
		return;
	free(info->subject);
	free(info->common_name);
	x509_sans_free(info->sans, info->nsans);
	free(info->key_usage);
	free(info->ext_key_usage);
	for (size_t i = 0; i < info->nother_extensions; i++)
		free(info->other_extensions[i]);
	free(info->other_extensions);
	free(info->key_type);
	free(info->signature_algorithm);
	memset(info, 0, sizeof(*info));
	info->path_len = -1;
}

/* ------------------------------------------------------------------ */
/* CRLs                                                               */
/* ------------------------------------------------------------------ */

static struct mtls_crl *
crl_from_objects(struct x509_objects *o, const char *name,
    struct mtls_error *err)
{
	struct mtls_crl *crl;

	if (sk_X509_CRL_num(o->crls) == 0) {
		if (o->c.first == MTLS_OBJECT_NONE)
			err_set(err, MTLS_ERR_PARSE, "%s: no CRL found: %s",
			    name, mtls_object_kind_name(MTLS_OBJECT_NONE));
		else
			err_set(err, MTLS_ERR_PARSE, "%s: this is %s, not a "
			    "CRL", name, mtls_object_kind_name(o->c.first));
		x509_objects_clear(o);
		return NULL;
	}
	if ((crl = calloc(1, sizeof(*crl))) == NULL) {
		x509_objects_clear(o);
		err_set(err, MTLS_ERR_NOMEM, "%s: out of memory", name);
		return NULL;
	}
	crl->crls = o->crls;
	o->crls = NULL;
	x509_objects_clear(o);
	return crl;
}

struct mtls_crl *
mtls_crl_load_file(const char *path, struct mtls_error *err)
{
	struct x509_objects o;

	if (x509_objects_read_file(path, &o, err) != 0)
		return NULL;
	return crl_from_objects(&o, path, err);
}

struct mtls_crl *
mtls_crl_load_mem(const void *buf, size_t len, const char *name,
    struct mtls_error *err)
{
	struct x509_objects o;

	if (name == NULL)
		name = "CRL";
	if (x509_objects_read(buf, len, name, &o, err) != 0)
		return NULL;
	return crl_from_objects(&o, name, err);
}

size_t
mtls_crl_count(const struct mtls_crl *crl)
{
	return crl == NULL ? 0 : (size_t)sk_X509_CRL_num(crl->crls);
}

void
mtls_crl_free(struct mtls_crl *crl)
{
	if (crl == NULL)
		return;
	sk_X509_CRL_pop_free(crl->crls, X509_CRL_free);
	free(crl);
}

int
mtls_crl_info(const struct mtls_crl *crl, size_t i,
    struct mtls_crl_info *info, struct mtls_error *err)
{
	ASN1_INTEGER *num = NULL;
	AUTHORITY_KEYID *akid = NULL;
	const X509_ALGOR *alg;
	int ret = -1;

	memset(info, 0, sizeof(*info));
	if (crl == NULL || i >= mtls_crl_count(crl))
		return err_set(err, MTLS_ERR_USAGE, "no CRL number %zu",
		    i + 1);
	X509_CRL *c = sk_X509_CRL_value(crl->crls, (int)i);

	if ((info->issuer = x509_name_line(X509_CRL_get_issuer(c))) == NULL)
		goto nomem;
	info->version = (int)X509_CRL_get_version(c) + 1;
	if (x509_time(X509_CRL_get0_lastUpdate(c), &info->this_update) != 0) {
		err_set(err, MTLS_ERR_PARSE, "CRL %zu: malformed thisUpdate",
		    i + 1);
		goto out;
	}
	if (X509_CRL_get0_nextUpdate(c) != NULL &&
	    x509_time(X509_CRL_get0_nextUpdate(c), &info->next_update) != 0) {
		err_set(err, MTLS_ERR_PARSE, "CRL %zu: malformed nextUpdate",
		    i + 1);
		goto out;
	}
	if ((num = X509_CRL_get_ext_d2i(c, NID_crl_number, NULL, NULL))) {
		BIGNUM *bn = ASN1_INTEGER_to_BN(num, NULL);
		char *dec = bn ? BN_bn2dec(bn) : NULL;
		info->crl_number = dec ? strdup(dec) : NULL;
		OPENSSL_free(dec);
		BN_free(bn);
		if (info->crl_number == NULL)
			goto nomem;
	}
	akid = X509_CRL_get_ext_d2i(c, NID_authority_key_identifier, NULL,
	    NULL);
	if (akid != NULL && x509_keyid_hex(akid->keyid, &info->aki) != 0)
		goto nomem;
	X509_CRL_get0_signature(c, NULL, &alg);
	if ((info->signature_algorithm = x509_sig_alg_name(alg)) == NULL)
		goto nomem;

	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(c);
	int n = sk_X509_REVOKED_num(revs);
	if (n > 0) {
		if ((info->entries = calloc((size_t)n,
		    sizeof(*info->entries))) == NULL)
			goto nomem;
		for (int k = 0; k < n; k++) {
			X509_REVOKED *r = sk_X509_REVOKED_value(revs, k);
			struct mtls_crl_entry *e = &info->entries[k];
			info->nentries++;
			e->reason = -1;
			if ((e->serial = x509_serial_hex(
			    X509_REVOKED_get0_serialNumber(r))) == NULL)
				goto nomem;
			(void)x509_time(X509_REVOKED_get0_revocationDate(r),
			    &e->revoked_at);
			ASN1_ENUMERATED *why = X509_REVOKED_get_ext_d2i(r,
			    NID_crl_reason, NULL, NULL);
			if (why != NULL) {
				e->reason = (int)ASN1_ENUMERATED_get(why);
				ASN1_ENUMERATED_free(why);
			}
		}
	}
	ERR_clear_error();
	ret = 0;
	goto out;
nomem:
	err_set(err, MTLS_ERR_NOMEM, "out of memory");
out:
	ASN1_INTEGER_free(num);
	AUTHORITY_KEYID_free(akid);
	if (ret != 0)
		mtls_crl_info_clear(info);
	return ret;
}

void
mtls_crl_info_clear(struct mtls_crl_info *info)
{
	if (info == NULL)
		return;
	free(info->issuer);
	free(info->crl_number);
	free(info->aki);
	free(info->signature_algorithm);
	for (size_t i = 0; i < info->nentries; i++)
		free(info->entries[i].serial);
	free(info->entries);
	memset(info, 0, sizeof(*info));
}
