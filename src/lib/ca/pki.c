/*
 * pki.c - small pieces the PKI files share: random serials and their hex
 * form, signing with the right digest, names and SANs as text, building the
 * SAN extension from struct mtls_names, and the key-strength policy.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <idn2.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "ca/pki.h"

char *
pki_path(const char *dir, const char *file)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, file) == -1)
		return NULL;
	return p;
}

int
pki_serial_random(X509 *x)
{
	unsigned char b[16];
	BIGNUM *bn = NULL;
	int ret = -1;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	b[0] = (b[0] & 0x7f) | 0x40;
	if ((bn = BN_bin2bn(b, sizeof(b), NULL)) == NULL)
		goto out;
	if (BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto out;
	ret = 0;
out:
	BN_free(bn);
	OPENSSL_cleanse(b, sizeof(b));
	return ret;
}

static char *
bn_hex_dup(const BIGNUM *bn)
{
	char *h = BN_bn2hex(bn), *s;

	if (h == NULL)
		return NULL;
	s = strdup(h);
	OPENSSL_free(h);
	return s;
}

char *
pki_serial_normalize(const char *in)
{
	char digits[128];
	BIGNUM *bn = NULL;
	size_t n = 0;
	char *s;

	if (in == NULL)
		return NULL;
	if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
		in += 2;
	for (const char *p = in; *p != '\0'; p++) {
		if (*p == ':')
			continue;
		if (!isxdigit((unsigned char)*p) || n + 1 >= sizeof(digits))
			return NULL;
		digits[n++] = *p;
	}
	if (n == 0)
		return NULL;
	digits[n] = '\0';
	if (BN_hex2bn(&bn, digits) == 0)
		return NULL;
	s = bn_hex_dup(bn);
	BN_free(bn);
	return s;
}

static const EVP_MD *
sign_digest(EVP_PKEY *key)
{
	/* EdDSA signs the message itself; it takes no digest. */
	if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448"))
		return NULL;
	return EVP_sha256();
}

int
pki_sign_x509(X509 *x, EVP_PKEY *key)
{
	return X509_sign(x, key, sign_digest(key)) > 0 ? 0 : -1;
}

int
pki_sign_crl(X509_CRL *crl, EVP_PKEY *key)
{
	return X509_CRL_sign(crl, key, sign_digest(key)) > 0 ? 0 : -1;
}

int
pki_sign_req(X509_REQ *req, EVP_PKEY *key)
{
	return X509_REQ_sign(req, key, sign_digest(key)) > 0 ? 0 : -1;
}

int
pki_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok;

	if (ext == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* RFC 1123 host name (letters, digits, hyphens; labels of 1-63; 253 at
 * most), with an optional leading "*." wildcard label (RFC 6125 6.4.3). */
static int
valid_hostname(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > 253)
		return 0;
	if (s[0] == '*' && s[1] == '.' && s[2] != '\0')
		s += 2;
	for (const char *p = s;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || p[-1] == '-')
				return 0;
			if (*p == '\0')
				return 1;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-')
			return 0;
		if (*p == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
	}
}

static int
parse_ip(const char *s, unsigned char buf[16])
{
	if (inet_pton(AF_INET, s, buf) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, buf) == 1)
		return 16;
	return 0;
}

/* An absolute URI: a scheme (RFC 3986 3.1), a colon, then printable ASCII
 * without spaces. */
static int
valid_uri(const char *s)
{
	const char *p = s;

	if (!isalpha((unsigned char)*p))
		return 0;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' ||
	    *p == '.')
		p++;
	if (*p != ':' || p[1] == '\0')
		return 0;
	for (; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return 0;
	return 1;
}

static int
valid_email(const char *s)
{
	const char *at = strchr(s, '@');

	if (at == NULL || at == s || strchr(at + 1, '@') != NULL)
		return 0;
	for (const char *p = s; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return 0;
	return valid_hostname(at + 1) && strchr(at + 1, '*') == NULL;
}

static int
gens_push_ia5(GENERAL_NAMES *gens, int type, const char *value)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *str = ASN1_IA5STRING_new();

	if (g == NULL || str == NULL ||
	    !ASN1_STRING_set(str, value, (int)strlen(value)))
		goto fail;
	GENERAL_NAME_set0_value(g, type, str);
	str = NULL;
	if (!sk_GENERAL_NAME_push(gens, g))
		goto fail;
	return 0;
fail:
	ASN1_IA5STRING_free(str);
	GENERAL_NAME_free(g);
	return -1;
}

static int
gens_push_ip(GENERAL_NAMES *gens, const unsigned char *ip, int len)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_OCTET_STRING *str = ASN1_OCTET_STRING_new();

	if (g == NULL || str == NULL || !ASN1_OCTET_STRING_set(str, ip, len))
		goto fail;
	GENERAL_NAME_set0_value(g, GEN_IPADD, str);
	str = NULL;
	if (!sk_GENERAL_NAME_push(gens, g))
		goto fail;
	return 0;
fail:
	ASN1_OCTET_STRING_free(str);
	GENERAL_NAME_free(g);
	return -1;
}

static int
gens_has_dns(const GENERAL_NAMES *gens, const char *name)
{
	size_t len = strlen(name);

	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		const ASN1_STRING *s = g->d.dNSName;
		if ((size_t)ASN1_STRING_length(s) == len && strncasecmp(
		    (const char *)ASN1_STRING_get0_data(s), name, len) == 0)
			return 1;
	}
	return 0;
}

static int
gens_has_ip(const GENERAL_NAMES *gens, const unsigned char *ip, int len)
{
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_IPADD)
			continue;
		const ASN1_STRING *s = g->d.iPAddress;
		if (ASN1_STRING_length(s) == len &&
		    memcmp(ASN1_STRING_get0_data(s), ip, (size_t)len) == 0)
			return 1;
	}
	return 0;
}

/* RFC 5280 ub-common-name: 64 characters. */
#define CN_MAX 64

/*
 * A common name a person meant: valid UTF-8, no control character, not
 * only spaces, at most 64 characters.  The message never echoes more than
 * the start of a long name.
 */
int
pki_cn_check(const char *cn, struct mtls_error *err)
{
	const unsigned char *p = (const unsigned char *)cn;
	size_t chars = 0, blank = 1;

	for (size_t i = 0; p[i] != '\0'; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			/* The name up to the character only: the
			 * character itself would act on the terminal. */
			return err_set(err, MTLS_ERR_USAGE, "the name %.*s%s "
			    "holds a control character (byte 0x%02x at %zu): "
			    "refused", (int)(i < 20 ? i : 20), cn, i > 20 ?
			    "..." : "", p[i], i + 1);
		if (p[i] != ' ')
			blank = 0;
		if ((p[i] & 0xc0) != 0x80)
			chars++;
	}
	if (blank)
		return err_set(err, MTLS_ERR_USAGE, "a name of only spaces (or "
		    "none) is refused");
	if (chars > CN_MAX)
		return err_set(err, MTLS_ERR_USAGE, "the name %.20s... is %zu "
		    "characters long: a common name is at most %d (RFC 5280 "
		    "ub-common-name)", cn, chars, CN_MAX);
	return 0;
}

/* A host name as it goes into a DNS SAN: ASCII as it is, an
 * internationalized one as its A-label (IDNA 2008, UTS #46
 * non-transitional), on the heap; NULL when it is not a host name. */
static char *
host_alabel(const char *name, struct mtls_error *err)
{
	char *out = NULL;
	int rc;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p >= 0x80)
			goto idn;
	return strdup(name);
idn:
	rc = idn2_to_ascii_8z(name, &out, IDN2_NONTRANSITIONAL |
	    IDN2_NFC_INPUT);
	if (rc != IDN2_OK) {
		if (err != NULL)
			err_set(err, MTLS_ERR_USAGE, "%s: not a valid "
			    "internationalized host name (%s)", name,
			    idn2_strerror(rc));
		return NULL;
	}
	/* libidn2 allocates with malloc: our free() releases it. */
	return out;
}

/*
 * The common-name rule: a CN that parses as an IPv4/IPv6 literal becomes an
 * IP SAN; a CN that is a valid host name and either holds a dot or is
 * "localhost" becomes a DNS SAN.  Undotted names such as "client" or
 * "backup-job" stay in the subject only: they are identities, not hosts,
 * and verifiers ignore the CN for host names anyway (RFC 6125 6.4.4).
 */
int
pki_san_add_cn(GENERAL_NAMES *gens, const char *cn)
{
	unsigned char ip[16];
	int iplen;

	if (cn == NULL || *cn == '\0')
		return 0;
	if ((iplen = parse_ip(cn, ip)) != 0) {
		if (gens_has_ip(gens, ip, iplen))
			return 0;
		return gens_push_ip(gens, ip, iplen);
	}
	/* An internationalized host name goes in as its A-label. */
	char *a = host_alabel(cn, NULL);
	int rc = 0;
	if (a != NULL && valid_hostname(a) &&
	    (strchr(a, '.') != NULL || strcasecmp(a, "localhost") == 0) &&
	    !gens_has_dns(gens, a))
		rc = gens_push_ia5(gens, GEN_DNS, a);
	free(a);
	return rc;
}

GENERAL_NAMES *
pki_names_san(const struct mtls_names *names, struct mtls_error *err)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	unsigned char ip[16];
	size_t i;
	int iplen;

	if (gens == NULL)
		goto nomem;
	if (names->common_name != NULL &&
	    pki_cn_check(names->common_name, err) != 0)
		goto fail;
	for (i = 0; i < names->ndns; i++) {
		const char *d = names->dns[i];
		char *a = d != NULL ? host_alabel(d, err) : NULL;
		if (d != NULL && a == NULL)
			goto fail;
		if (a == NULL || !valid_hostname(a)) {
			err_set(err, MTLS_ERR_USAGE, "%s: not a valid DNS name",
			    d != NULL ? d : "(null)");
			free(a);
			goto fail;
		}
		if (parse_ip(a, ip) != 0) {
			err_set(err, MTLS_ERR_USAGE, "%s: an IP address, not a "
			    "DNS name (give it as an IP SAN)", d);
			free(a);
			goto fail;
		}
		if (!gens_has_dns(gens, a) && gens_push_ia5(gens, GEN_DNS, a)) {
			free(a);
			goto nomem;
		}
		free(a);
	}
	for (i = 0; i < names->nip; i++) {
		const char *a = names->ip[i];
		if (a == NULL || (iplen = parse_ip(a, ip)) == 0) {
			err_set(err, MTLS_ERR_USAGE,
			    "%s: not an IPv4 or IPv6 address",
			    a != NULL ? a : "(null)");
			goto fail;
		}
		if (!gens_has_ip(gens, ip, iplen) &&
		    gens_push_ip(gens, ip, iplen))
			goto nomem;
	}
	for (i = 0; i < names->nuri; i++) {
		const char *u = names->uri[i];
		if (u == NULL || !valid_uri(u)) {
			err_set(err, MTLS_ERR_USAGE, "%s: not an absolute URI "
			    "(scheme:...)", u != NULL ? u : "(null)");
			goto fail;
		}
		if (gens_push_ia5(gens, GEN_URI, u))
			goto nomem;
	}
	for (i = 0; i < names->nemail; i++) {
		const char *e = names->email[i];
		if (e == NULL || !valid_email(e)) {
			err_set(err, MTLS_ERR_USAGE,
			    "%s: not a valid e-mail address",
			    e != NULL ? e : "(null)");
			goto fail;
		}
		if (gens_push_ia5(gens, GEN_EMAIL, e))
			goto nomem;
	}
	if (pki_san_add_cn(gens, names->common_name))
		goto nomem;
	return gens;
nomem:
	err_set_ssl(err, MTLS_ERR_NOMEM, "out of memory");
fail:
	GENERAL_NAMES_free(gens);
	return NULL;
}

/* An IA5String SAN as a C string, refused if it holds a NUL. */
static const char *
ia5_cstr(const ASN1_STRING *s, char *buf, size_t len)
{
	int n = ASN1_STRING_length(s);

	if (n <= 0 || (size_t)n >= len ||
	    memchr(ASN1_STRING_get0_data(s), '\0', (size_t)n) != NULL)
		return NULL;
	memcpy(buf, ASN1_STRING_get0_data(s), (size_t)n);
	buf[n] = '\0';
	return buf;
}

const char *
pki_san_check(const GENERAL_NAME *g, char *buf, size_t len)
{
	unsigned char ip[16];
	char v[1024];
	const char *s;

	switch (g->type) {
	case GEN_DNS:
		s = ia5_cstr(g->d.dNSName, v, sizeof(v));
		if (s != NULL && valid_hostname(s) && parse_ip(s, ip) == 0)
			return NULL;
		snprintf(buf, len, "requested DNS SAN is not a valid host name");
		return buf;
	case GEN_IPADD: {
		int n = ASN1_STRING_length(g->d.iPAddress);
		if (n == 4 || n == 16)
			return NULL;
		snprintf(buf, len, "requested IP SAN has %d bytes", n);
		return buf;
	}
	case GEN_URI:
		s = ia5_cstr(g->d.uniformResourceIdentifier, v, sizeof(v));
		if (s != NULL && valid_uri(s))
			return NULL;
		snprintf(buf, len, "requested URI SAN is not an absolute URI");
		return buf;
	case GEN_EMAIL:
		s = ia5_cstr(g->d.rfc822Name, v, sizeof(v));
		if (s != NULL && valid_email(s))
			return NULL;
		snprintf(buf, len, "requested e-mail SAN is not valid");
		return buf;
	default:
		snprintf(buf, len, "requested SAN of type %d is not supported "
		    "(DNS, IP, URI and e-mail only)", g->type);
		return buf;
	}
}

const char *
pki_key_weakness(EVP_PKEY *key, char *buf, size_t len)
{
	char group[64];
	size_t glen = 0;
	int bits = EVP_PKEY_get_bits(key);

	if (EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS")) {
		if (bits < 2048) {
			snprintf(buf, len, "RSA key of %d bits is too weak "
			    "(2048 at least)", bits);
			return buf;
		}
		if (bits > 16384) {
			snprintf(buf, len, "RSA key of %d bits is too large "
			    "(16384 at most)", bits);
			return buf;
		}
		return NULL;
	}
	if (EVP_PKEY_is_a(key, "EC")) {
		if (!EVP_PKEY_get_group_name(key, group, sizeof(group), &glen)) {
			ERR_clear_error();
			snprintf(buf, len, "EC key with explicit or unknown "
			    "curve parameters");
			return buf;
		}
		int nid = OBJ_txt2nid(group);
		if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1 ||
		    nid == NID_secp521r1)
			return NULL;
		snprintf(buf, len, "EC curve %s is not allowed (P-256, P-384 "
		    "or P-521)", group);
		return buf;
	}
	if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448"))
		return NULL;
	snprintf(buf, len, "key type %s is not allowed (RSA, EC P-256/P-384/"
	    "P-521, Ed25519, Ed448)", EVP_PKEY_get0_type_name(key) != NULL ?
	    EVP_PKEY_get0_type_name(key) : "unknown");
	return buf;
}

