/*
 * verify.c - certificate verification with OpenSSL's verifier, strictly:
 * only the given CA file is trusted (never the system store), RFC 5280
 * strictness (X509_V_FLAG_X509_STRICT), names matched against SANs only
 * (the CN is never a name, no partial wildcards), purpose by EKU, and
 * revocation from the given CRL file, failing closed.  A failure is turned
 * into one sentence: which certificate, and why.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "core/reason.h"
#include "x509/inspect.h"
#include "x509/verify_words.h"

/* The security level of the TLS defaults (DESIGN.md): keys of at least
 * 112 bits of security, no SHA-1 signatures below the trust anchor. */
#define VERIFY_AUTH_LEVEL 2

struct verify_inputs {
	X509 *leaf;
	STACK_OF(X509) *untrusted;
	X509_STORE *store;
	STACK_OF(X509_CRL) *crls;   /* NULL: no revocation check */
	const char *crl_file;
	const struct mtls_verify_options *opt;
};

static const char *
purpose_words(enum mtls_purpose p)
{
	return p == MTLS_PURPOSE_CLIENT ? "client authentication" :
	    "server authentication";
}

static char *
subject_of(X509 *x)
{
	char *s = x ? x509_name_line(X509_get_subject_name(x)) : NULL;

	if (s != NULL && *s == '\0') {
		free(s);
		s = strdup("empty subject");
	}
	return s;
}

/* Why the leaf does not fit the purpose, from its EKU or key usage. */
static void
purpose_detail(X509 *x, char *buf, size_t len)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL,
	    NULL);
	ASN1_BIT_STRING *ku;
	char *t;

	if (eku != NULL) {
		t = x509_eku_text(eku);
		snprintf(buf, len, "EKU has %s%s", t ? t : "?",
		    sk_ASN1_OBJECT_num(eku) == 1 ? " only" : "");
		free(t);
		EXTENDED_KEY_USAGE_free(eku);
	} else if ((ku = X509_get_ext_d2i(x, NID_key_usage, NULL, NULL))) {
		t = x509_key_usage_text(ku);
		snprintf(buf, len, "key usage is %s", t ? t : "?");
		free(t);
		ASN1_BIT_STRING_free(ku);
	} else {
		snprintf(buf, len, "its extensions forbid it");
	}
	ERR_clear_error();
}

static void
revoked_detail(X509 *x, STACK_OF(X509_CRL) *crls, char *buf, size_t len)
{
	snprintf(buf, len, "no reason given");
	for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
		X509_REVOKED *rev = NULL;
		if (X509_CRL_get0_by_cert(sk_X509_CRL_value(crls, i), &rev,
		    x) != 1 || rev == NULL)
			continue;
		ASN1_ENUMERATED *why = X509_REVOKED_get_ext_d2i(rev,
		    NID_crl_reason, NULL, NULL);
		long r = why ? ASN1_ENUMERATED_get(why) : -1;
		ASN1_ENUMERATED_free(why);
		time_t at;
		char when[32] = "?";
		if (x509_time(X509_REVOKED_get0_revocationDate(rev), &at) == 0)
			x509_time_rfc3339(at, when, sizeof(when));
		snprintf(buf, len, "%s, on %s", r >= 0 ?
		    mtls_revoke_reason_name((enum mtls_revoke_reason)r) :
		    "no reason given", when);
		break;
	}
	ERR_clear_error();
}

/* A validity bound in words: when, its date; span, how far it lies from
 * now (in the past with past set, else ahead).  Both empty when the bound
 * is absent or unreadable. */
static void
bound_words(const ASN1_TIME *bound, time_t now, int past, char *when,
    size_t when_len, char *span, size_t span_len)
{
	time_t t;

	when[0] = span[0] = '\0';
	if (bound == NULL || x509_time(bound, &t) != 0)
		return;
	x509_time_rfc3339(t, when, when_len);
	x509_span_words((long long)(past ? now - t : t - now), span, span_len);
}

#define NONEMPTY(s) ((s)[0] != '\0' ? (s) : NULL)

void
x509_verify_facts(X509_STORE_CTX *x, STACK_OF(X509_CRL) *crls, time_t now,
    struct verify_facts *f, struct verify_fact_text *t)
{
	X509 *cur = X509_STORE_CTX_get_current_cert(x);
	X509_CRL *crl = X509_STORE_CTX_get0_current_crl(x);

	memset(f, 0, sizeof(*f));
	memset(t, 0, sizeof(*t));
	f->err = X509_STORE_CTX_get_error(x);
	f->depth = X509_STORE_CTX_get_error_depth(x);
	f->words = x509_verify_words(x);
	if (cur == NULL)
		return;
	x509_name_short(X509_get_subject_name(cur), t->subject,
	    sizeof(t->subject));
	x509_name_short(X509_get_issuer_name(cur), t->issuer,
	    sizeof(t->issuer));
	x509_identity_text(cur, t->holds, sizeof(t->holds));
	f->subject = t->subject;
	f->issuer = t->issuer;
	f->holds = t->holds;
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cur), NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	if (hex != NULL) {
		snprintf(t->serial, sizeof(t->serial), "%s", hex);
		f->serial = t->serial;
	}
	OPENSSL_free(hex);
	BN_free(bn);
	bound_words(X509_get0_notBefore(cur), now, 0, t->not_before,
	    sizeof(t->not_before), t->starts_in, sizeof(t->starts_in));
	bound_words(X509_get0_notAfter(cur), now, 1, t->not_after,
	    sizeof(t->not_after), t->expired_ago, sizeof(t->expired_ago));
	f->not_before = NONEMPTY(t->not_before);
	f->starts_in = NONEMPTY(t->starts_in);
	f->not_after = NONEMPTY(t->not_after);
	f->expired_ago = NONEMPTY(t->expired_ago);
	if (f->err == X509_V_ERR_INVALID_PURPOSE) {
		purpose_detail(cur, t->usage, sizeof(t->usage));
		f->usage = t->usage;
	}
	if (f->err == X509_V_ERR_CERT_REVOKED && crls != NULL) {
		revoked_detail(cur, crls, t->revoked, sizeof(t->revoked));
		f->revoked = t->revoked;
	}
	/* The context forgets its current CRL once verification stops:
	 * find the one from the issuer of the certificate. */
	for (int i = 0; crl == NULL && i < sk_X509_CRL_num(crls); i++)
		if (X509_NAME_cmp(X509_CRL_get_issuer(sk_X509_CRL_value(crls,
		    i)), X509_get_issuer_name(cur)) == 0)
			crl = sk_X509_CRL_value(crls, i);
	if (crl != NULL) {
		x509_name_short(X509_CRL_get_issuer(crl), t->crl_issuer,
		    sizeof(t->crl_issuer));
		f->crl_issuer = t->crl_issuer;
		bound_words(X509_CRL_get0_lastUpdate(crl), now, 0,
		    t->crl_this, sizeof(t->crl_this), t->crl_starts,
		    sizeof(t->crl_starts));
		bound_words(X509_CRL_get0_nextUpdate(crl), now, 1,
		    t->crl_next, sizeof(t->crl_next), t->crl_ago,
		    sizeof(t->crl_ago));
		f->crl_this_update = NONEMPTY(t->crl_this);
		f->crl_starts_in = NONEMPTY(t->crl_starts);
		f->crl_next_update = NONEMPTY(t->crl_next);
		f->crl_expired_ago = NONEMPTY(t->crl_ago);
	}
	ERR_clear_error();
}

/* err <- one sentence for the failed verification in ctx, in the reason
 * table's words (core/reason.c), with the files this caller was given. */
static void
describe_failure(X509_STORE_CTX *ctx, const struct verify_inputs *in,
    struct mtls_error *err)
{
	const struct mtls_verify_options *opt = in->opt;
	struct verify_facts f;
	struct verify_fact_text t;
	char at[64], msg[1024];

	x509_verify_facts(ctx, in->crls, opt->at ? opt->at : time(NULL), &f,
	    &t);
	snprintf(at, sizeof(at), "at depth %d", f.depth);
	f.what = f.depth == 0 ? "certificate" : "CA certificate";
	f.where = at;
	f.purpose = purpose_words(opt->purpose);
	f.name = opt->name;
	f.anchors = opt->ca_label != NULL ? opt->ca_label :
	    opt->ca_file != NULL ? opt->ca_file : "the trust anchors";
	f.untrusted = opt->untrusted_label != NULL ? opt->untrusted_label :
	    "a file of untrusted intermediates";
	f.crl_file = in->crl_file != NULL ? in->crl_file : "the CRL file";
	reason_verify_words(&f, msg, sizeof(msg));
	err_set(err, MTLS_ERR_VERIFY, "%s", msg);
}

/* Does a CA above depth in the chain of x carry name constraints? */
static int
nc_above(X509_STORE_CTX *x, int depth)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(x);

	for (int i = depth + 1; i < sk_X509_num(chain); i++)
		if (X509_get_ext_by_NID(sk_X509_value(chain, i),
		    NID_name_constraints, -1) >= 0)
			return 1;
	return 0;
}

const char *
x509_verify_words(X509_STORE_CTX *x)
{
	int code = X509_STORE_CTX_get_error(x);
	const char *phrase = reason_verify_phrase(code);

	if (phrase != NULL)
		return phrase;
	/* OpenSSL's bound on names x constraints (NAME_CONSTRAINTS_check) is
	 * its one unspecified error in a chain that has name constraints. */
	if (code == X509_V_ERR_UNSPECIFIED &&
	    nc_above(x, X509_STORE_CTX_get_error_depth(x)))
		return "too many names to check against the CA's name "
		    "constraints";
	return X509_verify_cert_error_string(code);
}

static int
is_ip_literal(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* One run of OpenSSL's verifier.  On success *chain (if asked) is the
 * verified path. */
static int
verify_once(const struct verify_inputs *in, unsigned long crl_flags,
    STACK_OF(X509) **chain, struct mtls_error *err)
{
	const struct mtls_verify_options *opt = in->opt;
	X509_STORE_CTX *ctx = NULL;
	int ret = -1;

	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    !X509_STORE_CTX_init(ctx, in->store, in->leaf, in->untrusted)) {
		err_set_ssl(err, MTLS_ERR_NOMEM, "cannot set up verification");
		goto out;
	}
	if (opt->purpose != MTLS_PURPOSE_ANY &&
	    !X509_STORE_CTX_set_purpose(ctx, opt->purpose ==
	    MTLS_PURPOSE_CLIENT ? X509_PURPOSE_SSL_CLIENT :
	    X509_PURPOSE_SSL_SERVER)) {
		err_set_ssl(err, MTLS_ERR_CRYPTO, "cannot set the purpose");
		goto out;
	}
	X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT | crl_flags);
	X509_VERIFY_PARAM_set_auth_level(param, VERIFY_AUTH_LEVEL);
	/* RFC 6125 section 6.4.4: a client must not fall back to the CN
	 * when the certificate has SANs; we never use it at all. */
	X509_VERIFY_PARAM_set_hostflags(param,
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
	    X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
	if (opt->name != NULL) {
		int ok = is_ip_literal(opt->name) ?
		    X509_VERIFY_PARAM_set1_ip_asc(param, opt->name) :
		    X509_VERIFY_PARAM_set1_host(param, opt->name, 0);
		if (!ok) {
			err_set(err, MTLS_ERR_USAGE, "'%s' is not a valid host "
			    "name or IP address", opt->name);
			goto out;
		}
	}
	if (opt->at != 0)
		X509_VERIFY_PARAM_set_time(param, opt->at);
	if (crl_flags != 0)
		X509_STORE_CTX_set0_crls(ctx, in->crls);

	ERR_clear_error();
	if (X509_verify_cert(ctx) != 1) {
		if (X509_STORE_CTX_get_error(ctx) == X509_V_OK)
			err_set_ssl(err, MTLS_ERR_CRYPTO, "verification "
			    "failed");
		else
			describe_failure(ctx, in, err);
		goto out;
	}
	if (chain != NULL && (*chain = X509_STORE_CTX_get1_chain(ctx)) ==
	    NULL) {
		err_set(err, MTLS_ERR_NOMEM, "out of memory");
		goto out;
	}
	ret = 0;
out:
	X509_STORE_CTX_free(ctx);
	return ret;
}

/*
 * RFC 5280 rules that OpenSSL 3.0 does not enforce even with
 * X509_V_FLAG_X509_STRICT, checked on the verified chain.  Each one makes
 * verification stricter, never looser.
 */

/* A DNS SAN in preferred name syntax (RFC 5280 section 4.2.1.6, RFC 1034
 * section 3.5): LDH labels of 1 to 63 characters, no empty label, and a
 * '*' only in the leftmost label (whether it matches is the matcher's
 * business: partial wildcards never do). '_' is tolerated, as private
 * names use it. */
static int
dns_name_ok(const unsigned char *p, size_t len)
{
	size_t label = 0, nlabels = 0;

	if (len == 0 || len > 253)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || p[i] == '.') {
			if (label == 0 || label > 63 || p[i - 1] == '-')
				return 0;
			nlabels++;
			label = 0;
			continue;
		}
		int c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' ||
		    (c == '-' && label > 0) || (c == '*' && nlabels == 0)))
			return 0;
		label++;
	}
	return 1;
}

static int
key_type_ok(X509 *x)
{
	EVP_PKEY *pkey = X509_get0_pubkey(x);

	if (pkey == NULL)
		return 0;
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
	case EVP_PKEY_EC:
	case EVP_PKEY_ED25519:
	case EVP_PKEY_ED448:
		return 1;
	}
	return 0;
}

/* Serial numbers are positive and at most 20 octets (RFC 5280 section
 * 4.1.2.2). */
static int
serial_ok(X509 *x)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
	int ok = bn != NULL && !BN_is_zero(bn) && !BN_is_negative(bn) &&
	    BN_num_bytes(bn) <= 20;

	BN_free(bn);
	return ok;
}

static int
strict_fail(struct mtls_error *err, X509 *x, int depth, const char *why)
{
	char *subj = subject_of(x);

	err_set(err, MTLS_ERR_VERIFY, "%s at depth %d (%s)", why, depth,
	    subj ? subj : "?");
	free(subj);
	ERR_clear_error();
	return -1;
}

static int
eku_has(X509 *x, int nid)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL,
	    NULL);
	int found = 0;

	for (int i = 0; eku != NULL && i < sk_ASN1_OBJECT_num(eku); i++)
		if (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == nid)
			found = 1;
	EXTENDED_KEY_USAGE_free(eku);
	return found;
}

static int
check_strict_extra(STACK_OF(X509) *chain, const struct mtls_verify_options
    *opt, struct mtls_error *err)
{
	int n = sk_X509_num(chain);
	int as_leaf = opt->purpose != MTLS_PURPOSE_ANY || opt->name != NULL;

	for (int i = 0; i < n; i++) {
		X509 *x = sk_X509_value(chain, i);
		int crit = -1;

		if (!key_type_ok(x)) {
			char why[128];
			EVP_PKEY *k = X509_get0_pubkey(x);
			const char *t = k ? EVP_PKEY_get0_type_name(k) : NULL;
			snprintf(why, sizeof(why), "%s keys are not accepted "
			    "(RSA, EC, Ed25519 or Ed448 only)", t ? t :
			    "undecodable");
			return strict_fail(err, x, i, why);
		}
		/* The trust anchor is trusted as configured. */
		if (i + 1 < n && !serial_ok(x))
			return strict_fail(err, x, i, "the serial number "
			    "is not a positive number of at most 20 octets "
			    "(RFC 5280 section 4.1.2.2)");
		NAME_CONSTRAINTS *nc = X509_get_ext_d2i(x,
		    NID_name_constraints, &crit, NULL);
		if (nc == NULL && crit != -1)
			return strict_fail(err, x, i, "malformed name "
			    "constraints");
		/* RFC 5280 4.2.1.10: conforming CAs MUST mark name
		 * constraints critical; a non-critical one is a profile
		 * error (a verifier that ignores it would accept names the
		 * CA was never allowed to certify). */
		if (nc != NULL && crit == 0) {
			NAME_CONSTRAINTS_free(nc);
			return strict_fail(err, x, i, "name constraints not "
			    "marked critical (RFC 5280 section 4.2.1.10)");
		}
		/* An authority key identifier must carry the keyIdentifier
		 * (RFC 5280 4.2.1.1), the trust anchor's too. */
		int akcrit = -1;
		AUTHORITY_KEYID *akid = X509_get_ext_d2i(x,
		    NID_authority_key_identifier, &akcrit, NULL);
		if (akcrit != -1 && (akid == NULL || akid->keyid == NULL)) {
			AUTHORITY_KEYID_free(akid);
			NAME_CONSTRAINTS_free(nc);
			return strict_fail(err, x, i, "authority key identifier "
			    "without a keyIdentifier (RFC 5280 section "
			    "4.2.1.1)");
		}
		AUTHORITY_KEYID_free(akid);
		/* An extension we cannot decode is not ignored. */
		int aiacrit = -1;
		AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(x,
		    NID_info_access, &aiacrit, NULL);
		if (aiacrit != -1 && (aia == NULL ||
		    sk_ACCESS_DESCRIPTION_num(aia) <= 0)) {
			AUTHORITY_INFO_ACCESS_free(aia);
			NAME_CONSTRAINTS_free(nc);
			return strict_fail(err, x, i, "malformed authority "
			    "information access (RFC 5280 section 4.2.2.1)");
		}
		AUTHORITY_INFO_ACCESS_free(aia);
		if (nc != NULL) {
			int empty = sk_GENERAL_SUBTREE_num(
			    nc->permittedSubtrees) <= 0 &&
			    sk_GENERAL_SUBTREE_num(nc->excludedSubtrees) <= 0;
			int ca = X509_check_ca(x) != 0;
			NAME_CONSTRAINTS_free(nc);
			if (!ca)
				return strict_fail(err, x, i, "name "
				    "constraints in a certificate that is not "
				    "a CA (RFC 5280 section 4.2.1.10)");
			if (empty)
				return strict_fail(err, x, i, "name "
				    "constraints with no subtrees (RFC 5280 "
				    "section 4.2.1.10)");
		}
	}

	X509 *leaf = sk_X509_value(chain, 0);
	int sancrit = -1;
	GENERAL_NAMES *gens = X509_get_ext_d2i(leaf, NID_subject_alt_name,
	    &sancrit, NULL);
	/* RFC 5280 4.2.1.6: the SAN is critical when, and only when, the
	 * subject is empty. */
	if (sancrit == 1 && X509_NAME_entry_count(
	    X509_get_subject_name(leaf)) > 0) {
		GENERAL_NAMES_free(gens);
		return strict_fail(err, leaf, 0, "a critical subject "
		    "alternative name with a non-empty subject (RFC 5280 "
		    "section 4.2.1.6)");
	}
	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS || dns_name_ok(ASN1_STRING_get0_data(
		    g->d.dNSName), (size_t)ASN1_STRING_length(g->d.dNSName)))
			continue;
		struct mtls_san *sans;
		size_t ns;
		char *bad = NULL;
		if (x509_sans_collect(gens, &sans, &ns) == 0) {
			bad = strdup(sans[i].value);
			x509_sans_free(sans, ns);
		}
		GENERAL_NAMES_free(gens);
		char why[600];
		snprintf(why, sizeof(why), "malformed DNS SAN '%s'",
		    bad ? bad : "?");
		int r = strict_fail(err, leaf, 0, why);
		free(bad);
		return r;
	}
	GENERAL_NAMES_free(gens);

	if (!as_leaf || n < 2)
		return 0;
	/* Used as a TLS end entity: not a CA (RFC 5280 section 4.2.1.9
	 * and CA/B BR 7.1.2.7.8), and where an EKU is present it names the
	 * purpose itself: anyExtendedKeyUsage is not enough. */
	if (X509_get_extension_flags(leaf) & EXFLAG_CA)
		return strict_fail(err, leaf, 0, "a CA certificate "
		    "(basicConstraints CA:TRUE) cannot be used as a server or "
		    "client certificate");
	if (opt->purpose != MTLS_PURPOSE_ANY &&
	    (X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) &&
	    !eku_has(leaf, opt->purpose == MTLS_PURPOSE_CLIENT ?
	    NID_client_auth : NID_server_auth)) {
		char detail[256];
		purpose_detail(leaf, detail, sizeof(detail));
		char why[400];
		snprintf(why, sizeof(why), "not valid for %s (%s)",
		    purpose_words(opt->purpose), detail);
		return strict_fail(err, leaf, 0, why);
	}
	return 0;
}

/* Does crls hold a CRL issued by the issuer of every certificate of the
 * chain?  Then revocation is checked for all of them, not only the leaf. */
static int
crls_cover_chain(STACK_OF(X509) *chain, STACK_OF(X509_CRL) *crls)
{
	for (int i = 0; i + 1 < sk_X509_num(chain); i++) {
		const X509_NAME *issuer =
		    X509_get_subject_name(sk_X509_value(chain, i + 1));
		int found = 0;
		for (int k = 0; k < sk_X509_CRL_num(crls) && !found; k++)
			found = X509_NAME_cmp(issuer, X509_CRL_get_issuer(
			    sk_X509_CRL_value(crls, k))) == 0;
		if (!found)
			return 0;
	}
	return 1;
}

static int
read_input(const char *path, const char *what, struct x509_objects *o,
    int want_crls, struct mtls_error *err)
{
	if (x509_objects_read_file(path, o, err) != 0)
		return -1;
	if (want_crls ? o->c.ncrls > 0 : o->c.ncerts > 0)
		return 0;
	enum mtls_object_kind k = o->c.first;
	x509_objects_clear(o);
	if (k == MTLS_OBJECT_NONE)
		return err_set(err, MTLS_ERR_PARSE, "%s (%s): %s", path, what,
		    mtls_object_kind_name(k));
	return err_set(err, MTLS_ERR_PARSE, "%s (%s): this is %s, not %s",
	    path, what, mtls_object_kind_name(k), want_crls ? "a CRL" :
	    "a certificate");
}

int
mtls_verify_cert_chain(const struct mtls_cert *cert,
    const struct mtls_verify_options *opt, struct mtls_cert **chain_out,
    struct mtls_error *err)
{
	struct x509_objects ca, unt, crl;
	struct verify_inputs in;
	STACK_OF(X509) *chain = NULL;
	int ret = -1;

	memset(&ca, 0, sizeof(ca));
	memset(&unt, 0, sizeof(unt));
	memset(&crl, 0, sizeof(crl));
	memset(&in, 0, sizeof(in));
	if (chain_out != NULL)
		*chain_out = NULL;
	if (cert == NULL || cert->certs == NULL || sk_X509_num(cert->certs) < 1)
		return err_set(err, MTLS_ERR_USAGE, "no certificate to verify");
	if (opt == NULL || opt->ca_file == NULL)
		return err_set(err, MTLS_ERR_USAGE, "a CA file is required");
	if (opt->name != NULL && *opt->name == '\0')
		return err_set(err, MTLS_ERR_USAGE, "an empty name to match");
	in.opt = opt;
	in.leaf = sk_X509_value(cert->certs, 0);

	if (read_input(opt->ca_file, "CA", &ca, 0, err) != 0)
		goto out;
	if (opt->untrusted_file != NULL && read_input(opt->untrusted_file,
	    "intermediates", &unt, 0, err) != 0)
		goto out;
	if (opt->crl_file != NULL &&
	    read_input(opt->crl_file, "CRL", &crl, 1, err) != 0)
		goto out;
	in.crls = crl.crls;
	in.crl_file = opt->crl_file;

	/* Trust only the CA file: no default paths, no system store. */
	if ((in.store = X509_STORE_new()) == NULL ||
	    (in.untrusted = sk_X509_new_null()) == NULL) {
		err_set(err, MTLS_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < sk_X509_num(ca.certs); i++)
		if (!X509_STORE_add_cert(in.store, sk_X509_value(ca.certs, i))) {
			err_set_ssl(err, MTLS_ERR_CRYPTO, "%s: cannot use CA "
			    "certificate %d", opt->ca_file, i + 1);
			goto out;
		}
	/* The leaf file's other certificates, then the untrusted ones. */
	for (int i = 1; i < sk_X509_num(cert->certs); i++)
		if (!sk_X509_push(in.untrusted, sk_X509_value(cert->certs, i))) {
			err_set(err, MTLS_ERR_NOMEM, "out of memory");
			goto out;
		}
	for (int i = 0; unt.certs != NULL && i < sk_X509_num(unt.certs); i++)
		if (!sk_X509_push(in.untrusted, sk_X509_value(unt.certs, i))) {
			err_set(err, MTLS_ERR_NOMEM, "out of memory");
			goto out;
		}

	if (in.crls == NULL) {
		if (verify_once(&in, 0, &chain, err) != 0)
			goto out;
	} else {
		/* First the path without revocation (its failure is the one
		 * to report), then revocation: of the leaf always, of every
		 * certificate when the file has the CRL of each issuer. */
		if (verify_once(&in, 0, &chain, err) != 0)
			goto out;
		unsigned long flags = X509_V_FLAG_CRL_CHECK;
		if (crls_cover_chain(chain, in.crls))
			flags |= X509_V_FLAG_CRL_CHECK_ALL;
		sk_X509_pop_free(chain, X509_free);
		chain = NULL;
		if (verify_once(&in, flags, &chain, err) != 0)
			goto out;
	}
	if (check_strict_extra(chain, opt, err) != 0)
		goto out;
	if (chain_out != NULL) {
		if ((*chain_out = calloc(1, sizeof(**chain_out))) == NULL) {
			err_set(err, MTLS_ERR_NOMEM, "out of memory");
			goto out;
		}
		(*chain_out)->certs = chain;
		chain = NULL;
	}
	ret = 0;
out:
	sk_X509_pop_free(chain, X509_free);
	/* untrusted borrowed its certificates: free the stack only. */
	sk_X509_free(in.untrusted);
	X509_STORE_free(in.store);
	x509_objects_clear(&ca);
	x509_objects_clear(&unt);
	x509_objects_clear(&crl);
	return ret;
}

int
mtls_verify_cert(const struct mtls_cert *cert,
    const struct mtls_verify_options *opt, struct mtls_error *err)
{
	return mtls_verify_cert_chain(cert, opt, NULL, err);
}
