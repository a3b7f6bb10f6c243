/*
 * policy.c - access rules: which verified client certificates a server lets
 * in.  Nothing is allowed without a rule.  Rules on names match SANs by
 * type: a DNS rule looks only at dNSName SANs, a URI rule only at URI SANs,
 * an e-mail rule only at rfc822Name SANs, so that a SAN of one type whose
 * text looks like another's never matches (Envoy CVE-2022-21656).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls/tls_internal.h"
#include "tools/mtls_tools.h"
#include "x509/text.h"

struct mtls_policy *
mtls_policy_new(void)
{
	struct mtls_policy *pol = calloc(1, sizeof(*pol));

	if (pol != NULL)
		pol->refs = 1;
	return pol;
}

void
policy_ref(struct mtls_policy *pol)
{
	__atomic_add_fetch(&pol->refs, 1, __ATOMIC_RELAXED);
}

void
mtls_policy_free(struct mtls_policy *pol)
{
	if (pol == NULL)
		return;
	if (__atomic_sub_fetch(&pol->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (size_t i = 0; i < pol->n; i++)
		free(pol->rules[i].value);
	free(pol->rules);
	free(pol);
}

size_t
mtls_policy_count(const struct mtls_policy *pol)
{
	return pol != NULL ? pol->n : 0;
}

static const char *
kind_name(enum mtls_rule_kind kind)
{
	switch (kind) {
	case MTLS_ALLOW_ANY: return "any";
	case MTLS_ALLOW_CN: return "cn";
	case MTLS_ALLOW_DNS: return "dns";
	case MTLS_ALLOW_URI: return "uri";
	case MTLS_ALLOW_OU: return "ou";
	case MTLS_ALLOW_FINGERPRINT: return "fingerprint";
	case MTLS_ALLOW_EMAIL: return "email";
	}
	return "?";
}

char *
mtls_policy_text(const struct mtls_policy *pol, char *buf, size_t cap)
{
	size_t len = 0;

	if (cap == 0)
		return buf;
	buf[0] = '\0';
	if (pol == NULL || pol->n == 0) {
		snprintf(buf, cap, "none");
		return buf;
	}
	for (size_t i = 0; i < pol->n && len < cap; i++) {
		const struct policy_rule *r = &pol->rules[i];
		int k = snprintf(buf + len, cap - len, "%s%s%s%s",
		    i ? ", " : "", kind_name(r->kind),
		    r->value != NULL ? " " : "",
		    r->value != NULL ? r->value : "");

		if (k < 0)
			break;
		len += (size_t)k;
	}
	return buf;
}

/* ---- validating and normalising a rule --------------------------- */

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* A DNS rule: LDH labels, optionally "*." for exactly one label; at least
 * two labels after a wildcard (no "*.com"). */
static int
valid_dns(const char *v)
{
	const char *p = v;
	int labels = 0;

	if (strncmp(p, "*.", 2) == 0)
		p += 2;
	if (*p == '\0' || strlen(p) > 253)
		return 0;
	while (*p != '\0') {
		size_t len = 0;
		while (p[len] != '\0' && p[len] != '.') {
			unsigned char c = (unsigned char)p[len];
			if (!isalnum(c) && c != '-' && c != '_')
				return 0;
			len++;
		}
		if (len == 0 || len > 63 || p[0] == '-' || p[len - 1] == '-')
			return 0;
		labels++;
		p += len;
		if (*p == '.') {
			p++;
			if (*p == '\0')
				return 0; /* no trailing dot */
		}
	}
	return v[0] != '*' || labels >= 2;
}

/* Splits "scheme://authority/path" at the path; -1 when it is not one. */
static int
uri_split(const char *u, size_t *path_off)
{
	const char *sep = strstr(u, "://");

	if (sep == NULL || sep == u)
		return -1;
	for (const char *c = u; c < sep; c++)
		if (!isalnum((unsigned char)*c) && *c != '+' && *c != '-' &&
		    *c != '.')
			return -1;
	const char *auth = sep + 3;
	const char *slash = strchr(auth, '/');
	if (slash == auth)
		return -1; /* empty authority */
	*path_off = slash != NULL ? (size_t)(slash - u) : strlen(u);
	return 0;
}

/* A URI rule: scheme://authority[/path]; "*" and "**" only as whole path
 * segments, "**" only last; no query or fragment. */
static int
valid_uri(const char *v, const char **why)
{
	size_t off;

	if (uri_split(v, &off) != 0) {
		*why = "not scheme://authority/path";
		return 0;
	}
	if (strchr(v, '?') != NULL || strchr(v, '#') != NULL ||
	    strchr(v, ' ') != NULL) {
		*why = "a rule has no query, fragment or space";
		return 0;
	}
	if (memchr(v, '*', off) != NULL) {
		*why = "wildcards are allowed only in the path";
		return 0;
	}
	const char *p = v + off;
	while (*p == '/') {
		p++;
		size_t len = strcspn(p, "/");
		/* A SAN with such a segment is never matched (see
		 * wild_segment_ok), so a rule with one is a mistake. */
		if (len == 0 || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.')) {
			*why = "empty, '.' and '..' path segments never match";
			return 0;
		}
		if (memchr(p, '*', len) != NULL) {
			if (!(len == 1 || (len == 2 && p[0] == '*' &&
			    p[1] == '*'))) {
				*why = "'*' must be a whole path segment";
				return 0;
			}
			if (len == 2 && p[len] != '\0') {
				*why = "'**' must be the last path segment";
				return 0;
			}
		}
		p += len;
	}
	return 1;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "sha256:AB:cd..." or bare hex: 64 hex digits, colons and case free. */
static int
parse_fingerprint(const char *v, unsigned char out[32])
{
	size_t n = 0;

	if (strncasecmp(v, "sha256:", 7) == 0)
		v += 7;
	for (; *v != '\0'; v++) {
		if (*v == ':')
			continue;
		int h = hexval((unsigned char)*v);
		if (h < 0 || n >= 64)
			return -1;
		if (n % 2 == 0)
			out[n / 2] = (unsigned char)(h << 4);
		else
			out[n / 2] |= (unsigned char)h;
		n++;
	}
	return n == 64 ? 0 : -1;
}

static int
valid_email(const char *v)
{
	const char *at = strchr(v, '@');

	return at != NULL && at != v && at[1] != '\0' &&
	    strchr(at + 1, '@') == NULL && strchr(v, ' ') == NULL;
}

int
mtls_policy_allow(struct mtls_policy *pol, enum mtls_rule_kind kind,
    const char *value, struct mtls_error *err)
{
	struct policy_rule r;
	const char *why = NULL;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	if (pol == NULL)
		return err_set(err, MTLS_ERR_USAGE, "no policy");
	if (kind != MTLS_ALLOW_ANY && (value == NULL || *value == '\0'))
		return err_set(err, MTLS_ERR_USAGE, "a %s rule needs a value",
		    kind_name(kind));
	if (value != NULL && !printable(value))
		return err_set(err, MTLS_ERR_USAGE, "a %s rule: the value has "
		    "control characters", kind_name(kind));

	switch (kind) {
	case MTLS_ALLOW_ANY:
		value = "";
		break;
	case MTLS_ALLOW_CN:
	case MTLS_ALLOW_OU:
		break;
	case MTLS_ALLOW_DNS:
		if (!valid_dns(value))
			return err_set(err, MTLS_ERR_USAGE, "%s: "
			    "not a DNS name (letters, digits, '-', dots; "
			    "'*.' only as the whole first label, followed by "
			    "two labels or more)", value);
		break;
	case MTLS_ALLOW_URI:
		if (!valid_uri(value, &why))
			return err_set(err, MTLS_ERR_USAGE, "%s: %s",
			    value, why);
		break;
	case MTLS_ALLOW_FINGERPRINT:
		if (parse_fingerprint(value, r.fp) != 0)
			return err_set(err, MTLS_ERR_USAGE, "%s: "
			    "expected sha256: and 64 hex digits (colons "
			    "allowed)", value);
		break;
	case MTLS_ALLOW_EMAIL:
		if (!valid_email(value))
			return err_set(err, MTLS_ERR_USAGE, "%s: "
			    "not an e-mail address", value);
		break;
	default:
		return err_set(err, MTLS_ERR_USAGE, "unknown rule kind %d",
		    (int)kind);
	}
	if ((r.value = strdup(value)) == NULL)
		return err_set(err, MTLS_ERR_NOMEM, "out of memory");
	if (kind == MTLS_ALLOW_DNS)
		for (char *c = r.value; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
	if (pol->n == pol->cap) {
		size_t cap = pol->cap ? pol->cap * 2 : 8;
		struct policy_rule *nr = realloc(pol->rules,
		    cap * sizeof(*nr));
		if (nr == NULL) {
			free(r.value);
			return err_set(err, MTLS_ERR_NOMEM, "out of memory");
		}
		pol->rules = nr;
		pol->cap = cap;
	}
	pol->rules[pol->n++] = r;
	return 0;
}

int
policy_digest_update(const struct mtls_policy *pol, EVP_MD_CTX *md)
{
	if (pol == NULL)
		return EVP_DigestUpdate(md, "none", 4) ? 0 : -1;
	for (size_t i = 0; i < pol->n; i++) {
		unsigned char k = (unsigned char)pol->rules[i].kind;
		if (!EVP_DigestUpdate(md, &k, 1) ||
		    !EVP_DigestUpdate(md, pol->rules[i].value,
		    strlen(pol->rules[i].value) + 1))
			return -1;
	}
	return 0;
}

/* ---- matching ---------------------------------------------------- */

/* The text of an IA5String SAN, or NULL when it holds a NUL (forged). */
static const char *
ia5_text(ASN1_STRING *s, size_t *len)
{
	const char *d = (const char *)ASN1_STRING_get0_data(s);

	*len = (size_t)ASN1_STRING_length(s);
	if (d == NULL || memchr(d, '\0', *len) != NULL)
		return NULL;
	return d;
}

static int
match_dns(const char *rule, const char *san, size_t len)
{
	if (strncmp(rule, "*.", 2) != 0)
		return strlen(rule) == len && strncasecmp(rule, san, len) == 0;
	/* "*.example.com": exactly one non-empty label before ".example.com"
	 * (RFC 6125 section 6.4.3, without partial-label wildcards). */
	const char *suffix = rule + 1; /* ".example.com" */
	size_t slen = strlen(suffix);
	if (len <= slen || strncasecmp(san + len - slen, suffix, slen) != 0)
		return 0;
	size_t label = len - slen;
	for (size_t i = 0; i < label; i++)
		if (san[i] == '.' || san[i] == '*')
			return 0;
	return 1;
}

/* One path segment matched by "*": non-empty, not "." or "..", and no
 * query or fragment. */
static int
wild_segment_ok(const char *s, size_t len)
{
	if (len == 0 || (len == 1 && s[0] == '.') ||
	    (len == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '?' || s[i] == '#')
			return 0;
	return 1;
}

/* URI rules: scheme and authority compared without case (RFC 3986
 * 6.2.2.1: both are case-insensitive); the path exactly, segment by
 * segment, "*" one segment, "**" one segment or more to the end. */
static int
match_uri(const char *rule, const char *san, size_t len)
{
	size_t roff, soff;
	char *u = strndup(san, len);
	int ok = 0;

	if (u == NULL || uri_split(rule, &roff) != 0 || uri_split(u, &soff) !=
	    0 || roff != soff || strncasecmp(rule, u, roff) != 0)
		goto out;
	const char *rp = rule + roff, *sp = u + soff;
	for (;;) {
		if (*rp == '\0') {
			ok = *sp == '\0';
			break;
		}
		if (*sp != '/')
			break;
		rp++;
		sp++;
		size_t rl = strcspn(rp, "/"), sl = strcspn(sp, "/");
		if (rl == 2 && rp[0] == '*' && rp[1] == '*') {
			/* The rest: every remaining segment must be sane. */
			ok = 1;
			for (;;) {
				if (!wild_segment_ok(sp, sl)) {
					ok = 0;
					break;
				}
				sp += sl;
				if (*sp == '\0')
					break;
				sp++;
				sl = strcspn(sp, "/");
			}
			break;
		}
		if (rl == 1 && rp[0] == '*') {
			if (!wild_segment_ok(sp, sl))
				break;
		} else if (rl != sl || strncmp(rp, sp, rl) != 0) {
			break;
		}
		rp += rl;
		sp += sl;
	}
out:
	free(u);
	return ok;
}

static int
match_email(const char *rule, const char *san, size_t len)
{
	const char *at = strchr(rule, '@');
	size_t local = (size_t)(at - rule);

	if (strlen(rule) != len || memchr(san, '@', len) != san + local)
		return 0;
	/* Local part exact (RFC 5321 2.4), domain case-insensitive. */
	return strncmp(rule, san, local) == 0 &&
	    strncasecmp(at, san + local, len - local) == 0;
}

/* Every subject entry of type nid equal to value (exact, UTF-8). */
static int
match_name_entry(X509 *x, int nid, const char *value, int only_one)
{
	X509_NAME *name = X509_get_subject_name(x);
	int i = -1, found = 0;

	while ((i = X509_NAME_get_index_by_NID(name, nid, i)) >= 0) {
		unsigned char *u = NULL;
		int n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(
		    X509_NAME_get_entry(name, i)));
		if (n >= 0 && (size_t)n == strlen(value) &&
		    memcmp(u, value, (size_t)n) == 0)
			found = 1;
		OPENSSL_free(u);
	}
	/* A subject with several CNs is ambiguous: no CN rule matches it
	 * (x509/text.h). */
	if (only_one && x509_name_cn_count(name) != 1)
		return 0;
	return found;
}

static int
match_san(X509 *x, enum mtls_rule_kind kind, const char *rule)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL);
	int want = kind == MTLS_ALLOW_DNS ? GEN_DNS : kind == MTLS_ALLOW_URI ?
	    GEN_URI : GEN_EMAIL;
	int ok = 0;

	for (int i = 0; !ok && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const char *s;
		size_t len;

		if (g->type != want)
			continue; /* by type, never by text */
		if (want == GEN_DNS)
			s = ia5_text(g->d.dNSName, &len);
		else if (want == GEN_URI)
			s = ia5_text(g->d.uniformResourceIdentifier, &len);
		else
			s = ia5_text(g->d.rfc822Name, &len);
		if (s == NULL)
			continue;
		if (want == GEN_DNS)
			ok = match_dns(rule, s, len);
		else if (want == GEN_URI)
			ok = match_uri(rule, s, len);
		else
			ok = match_email(rule, s, len);
	}
	GENERAL_NAMES_free(gens);
	return ok;
}

int
policy_check_cert(const struct mtls_policy *pol, X509 *leaf, char *why,
    size_t whylen)
{
	unsigned char fp[32];
	int have_fp = 0;

	for (size_t i = 0; pol != NULL && i < pol->n; i++) {
		const struct policy_rule *r = &pol->rules[i];
		int ok = 0;

		switch (r->kind) {
		case MTLS_ALLOW_ANY:
			ok = 1;
			break;
		case MTLS_ALLOW_CN:
			ok = match_name_entry(leaf, NID_commonName, r->value, 1);
			break;
		case MTLS_ALLOW_OU:
			ok = match_name_entry(leaf,
			    NID_organizationalUnitName, r->value, 0);
			break;
		case MTLS_ALLOW_DNS:
		case MTLS_ALLOW_URI:
		case MTLS_ALLOW_EMAIL:
			ok = match_san(leaf, r->kind, r->value);
			break;
		case MTLS_ALLOW_FINGERPRINT:
			if (!have_fp) {
				unsigned int n = 0;
				if (!X509_digest(leaf, EVP_sha256(), fp, &n) ||
				    n != 32)
					break;
				have_fp = 1;
			}
			ok = CRYPTO_memcmp(fp, r->fp, 32) == 0;
			break;
		}
		if (ok)
			return 1;
	}
	if (why != NULL && whylen > 0) {
		char ident[300];
		x509_identity_text(leaf, ident, sizeof(ident));
		snprintf(why, whylen, "no rule allows %s", ident);
	}
	return 0;
}

int
policy_allows_anonymous(const struct mtls_policy *pol)
{
	for (size_t i = 0; pol != NULL && i < pol->n; i++)
		if (pol->rules[i].kind == MTLS_ALLOW_ANY)
			return 1;
	return 0;
}

int
mtls_policy_check(const struct mtls_policy *pol, struct mtls *ctx, char *why,
    size_t whylen)
{
	X509 *leaf = ctx != NULL && ctx->ssl != NULL ?
	    SSL_get0_peer_certificate(ctx->ssl) : NULL;

	if (leaf == NULL) {
		/* Only a server that made the certificate optional lets a
		 * client in without one, and only under an "any" rule. */
		int optional = ctx != NULL &&
		    ctx->role == TLS_ROLE_SERVER_CONN &&
		    ctx->cfg->client_auth == TLS_CLIENT_AUTH_OPTIONAL;
		if (optional && ctx->handshake_done &&
		    policy_allows_anonymous(pol))
			return 1;
		if (why != NULL && whylen > 0)
			snprintf(why, whylen, "%s", optional ?
			    TLS_NO_CERT_NO_RULE : "no client certificate");
		return 0;
	}
	return policy_check_cert(pol, leaf, why, whylen);
}
