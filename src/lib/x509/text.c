/*
 * text.c - the one x509 text module: X.509 fields as the plain strings of
 * mtls.h and of every message (names in RFC 2253, the CN chosen one way,
 * SAN lists, serials, key usages, times and spans), shared by inspection,
 * verification, the CA, the TLS peer facts and the access rules.
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
/* Strings                                                            */
/* ------------------------------------------------------------------ */

static char *
bio_to_string(BIO *bio)
{
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);

	if (n < 0)
		return NULL;
	/* An empty BIO (an empty name) may give no buffer at all. */
	if (n == 0 || data == NULL)
		return strdup("");
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

/* The index of the CN that stands for the name (see text.h), or -1. */
static int
cn_index(const X509_NAME *name)
{
	int i = -1, last = -1;

	while ((i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) >= 0)
		last = i;
	return last;
}

int
x509_name_cn_count(const X509_NAME *name)
{
	int i = -1, n = 0;

	while ((i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) >= 0)
		n++;
	return n;
}

/* The chosen CN as UTF-8 in *utf8 (OPENSSL_free), its length, or -1. */
static int
cn_utf8(const X509_NAME *name, unsigned char **utf8)
{
	int i = cn_index(name);

	*utf8 = NULL;
	if (i < 0)
		return -1;
	return ASN1_STRING_to_UTF8(utf8, X509_NAME_ENTRY_get_data(
	    X509_NAME_get_entry(name, i)));
}

char *
x509_name_cn_utf8(const X509_NAME *name)
{
	unsigned char *utf8 = NULL;
	int n = cn_utf8(name, &utf8);
	char *s = NULL;

	if (n >= 0 && memchr(utf8, '\0', (size_t)n) == NULL)
		s = strndup((char *)utf8, (size_t)n);
	OPENSSL_free(utf8);
	return s;
}

char *
x509_name_cn(const X509_NAME *name)
{
	unsigned char *utf8 = NULL;
	int n = cn_utf8(name, &utf8);

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

void
x509_name_short(const X509_NAME *name, char *buf, size_t len)
{
	char *s = x509_name_cn_utf8(name);

	if (s != NULL) {
		snprintf(buf, len, "CN=%s", s);
		free(s);
		return;
	}
	s = x509_name_line(name);
	snprintf(buf, len, "%s", s != NULL && *s != '\0' ? s :
	    "(empty subject)");
	free(s);
}

char *
x509_hex_colon(const unsigned char *p, size_t len)
{
	char *s = malloc(len * 3 + 1);

	if (s == NULL)
		return NULL;
	static const char hexd[] = "0123456789ABCDEF";
	char *q = s;

	for (size_t i = 0; i < len; i++) {
		if (i > 0)
			*q++ = ':';
		*q++ = hexd[p[i] >> 4];
		*q++ = hexd[p[i] & 0xf];
	}
	*q = '\0';
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

void
x509_obj_text(const ASN1_OBJECT *obj, char *buf, size_t len)
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
		x509_obj_text(sk_ASN1_OBJECT_value(eku, i), buf, sizeof(buf));
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
		x509_obj_text(g->d.otherName->type_id, oid, sizeof(oid));
		snprintf(buf, sizeof(buf), "othername:%s", oid);
		break;
	case GEN_RID:
		x509_obj_text(g->d.registeredID, oid, sizeof(oid));
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

/*
 * The SANs of gens.  For display (raw 0) every name is kept, bytes outside
 * printable ASCII escaped.  For identity (raw 1: the peer facts that
 * programs authorize on) values are the bytes as sent, and a name that
 * cannot be one is left out: an IA5String holding a NUL (a forgery), an
 * IP address of another length than 4 or 16.
 */
static int
sans_collect(const GENERAL_NAMES *gens, int raw, struct mtls_san **sans,
    size_t *nsans)
{
	int n = sk_GENERAL_NAME_num(gens);
	struct mtls_san *v;
	size_t k = 0;

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
			v[k].type = MTLS_SAN_DNS;
			str = g->d.dNSName;
			break;
		case GEN_URI:
			v[k].type = MTLS_SAN_URI;
			str = g->d.uniformResourceIdentifier;
			break;
		case GEN_EMAIL:
			v[k].type = MTLS_SAN_EMAIL;
			str = g->d.rfc822Name;
			break;
		case GEN_IPADD: {
			v[k].type = MTLS_SAN_IP;
			int len = ASN1_STRING_length(g->d.iPAddress);
			const unsigned char *a =
			    ASN1_STRING_get0_data(g->d.iPAddress);
			if ((len == 4 && inet_ntop(AF_INET, a, ip,
			    sizeof(ip)) != NULL) || (len == 16 &&
			    inet_ntop(AF_INET6, a, ip, sizeof(ip)) != NULL))
				v[k].value = strdup(ip);
			else if (raw)
				continue;
			else
				v[k].value = printable(a, (size_t)len);
			break;
		}
		default:
			v[k].type = MTLS_SAN_OTHER;
			v[k].value = san_other_value(g);
		}
		if (str != NULL) {
			const unsigned char *d = ASN1_STRING_get0_data(str);
			size_t len = (size_t)ASN1_STRING_length(str);
			if (!raw)
				v[k].value = printable(d, len);
			else if (memchr(d, '\0', len) != NULL)
				continue;
			else
				v[k].value = strndup((const char *)d, len);
		}
		if (v[k].value == NULL) {
			x509_sans_free(v, (size_t)n);
			return -1;
		}
		k++;
	}
	*sans = v;
	*nsans = k;
	return 0;
}

int
x509_sans_collect(const GENERAL_NAMES *gens, struct mtls_san **sans,
    size_t *nsans)
{
	return sans_collect(gens, 0, sans, nsans);
}

int
x509_sans_collect_raw(const GENERAL_NAMES *gens, struct mtls_san **sans,
    size_t *nsans)
{
	return sans_collect(gens, 1, sans, nsans);
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

void
x509_identity_text(X509 *x, char *buf, size_t len)
{
	char *sans = x509_sans_line(x);
	size_t used;

	x509_name_short(X509_get_subject_name(x), buf, len);
	used = strlen(buf);
	if (sans != NULL && used + 2 < len)
		snprintf(buf + used, len - used, ", %s", sans);
	free(sans);
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
