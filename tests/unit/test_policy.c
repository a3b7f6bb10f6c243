/*
 * test_policy.c - the access rules, matcher by matcher, on certificates
 * made here: exact and wildcard matches, SANs matched by type only (a DNS
 * rule never matches a URI or e-mail SAN with the same text), forged SANs
 * with a NUL inside, and rule values refused as malformed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tls/tls_internal.h"
#include "certgen.h"

static struct tpki ca;

static int
setup(void **state)
{
	(void)state;
	ca = tpki_make(NULL, "Policy CA", NULL, NULL, NULL, -60, 3600);
	return ca.cert != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	tpki_free(&ca);
	return 0;
}

/* 1 when a policy of the one rule (kind, value) allows the leaf. */
static int
allows(enum mtls_rule_kind kind, const char *value, X509 *leaf, char *why,
    size_t whylen)
{
	struct mtls_policy *pol = mtls_policy_new();
	struct mtls_error err;

	assert_non_null(pol);
	if (mtls_policy_allow(pol, kind, value, &err) != 0)
		fail_msg("rule %s refused: %s", value, err.msg);
	int ok = policy_check_cert(pol, leaf, why, whylen);
	mtls_policy_free(pol);
	return ok;
}

static int
allow1(enum mtls_rule_kind kind, const char *value, X509 *leaf)
{
	return allows(kind, value, leaf, NULL, 0);
}

static int
malformed(enum mtls_rule_kind kind, const char *value)
{
	struct mtls_policy *pol = mtls_policy_new();
	struct mtls_error err;

	memset(&err, 0, sizeof(err));
	int rc = mtls_policy_allow(pol, kind, value, &err);
	assert_int_equal(mtls_policy_count(pol), rc == 0 ? 1 : 0);
	mtls_policy_free(pol);
	if (rc == 0)
		return 0;
	assert_true(err.msg[0] != '\0');
	return 1;
}

static void
test_any_and_none(void **state)
{
	(void)state;
	struct tpki c = tpki_make(&ca, "x", NULL, "clientAuth", NULL, -60,
	    3600);
	struct mtls_policy *empty = mtls_policy_new();
	char why[256];

	assert_true(allow1(MTLS_ALLOW_ANY, NULL, c.cert));
	assert_int_equal(policy_check_cert(empty, c.cert, why, sizeof(why)),
	    0);
	assert_string_equal(why, "no rule allows CN=x");
	assert_int_equal(policy_check_cert(NULL, c.cert, NULL, 0), 0);
	mtls_policy_free(empty);
	tpki_free(&c);
}

static void
test_cn(void **state)
{
	(void)state;
	struct tpki c = tpki_make(&ca, "client", NULL, "clientAuth", NULL,
	    -60, 3600);

	assert_true(allow1(MTLS_ALLOW_CN, "client", c.cert));
	assert_false(allow1(MTLS_ALLOW_CN, "Client", c.cert));
	assert_false(allow1(MTLS_ALLOW_CN, "clien", c.cert));
	assert_false(allow1(MTLS_ALLOW_CN, "client2", c.cert));
	tpki_free(&c);

	/* Two CNs: ambiguous, never matched. */
	c = tpki_make(&ca, "client", NULL, "clientAuth", NULL, -60, 3600);
	X509_NAME *n = X509_NAME_dup(X509_get_subject_name(c.cert));
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"admin", -1, -1, 0);
	X509_set_subject_name(c.cert, n);
	X509_NAME_free(n);
	assert_false(allow1(MTLS_ALLOW_CN, "client", c.cert));
	assert_false(allow1(MTLS_ALLOW_CN, "admin", c.cert));
	tpki_free(&c);
}

static void
test_ou(void **state)
{
	(void)state;
	struct tpki c = tpki_make(&ca, "client", "payments", "clientAuth",
	    NULL, -60, 3600);

	assert_true(allow1(MTLS_ALLOW_OU, "payments", c.cert));
	assert_false(allow1(MTLS_ALLOW_OU, "Payments", c.cert));
	assert_false(allow1(MTLS_ALLOW_OU, "client", c.cert));
	tpki_free(&c);
}

static void
test_dns(void **state)
{
	(void)state;
	struct tpki c = tpki_make(&ca, "c", NULL, "clientAuth",
	    "DNS:api.example.com,DNS:Web.Example.ORG", -60, 3600);

	assert_true(allow1(MTLS_ALLOW_DNS, "api.example.com", c.cert));
	assert_true(allow1(MTLS_ALLOW_DNS, "API.Example.com", c.cert));
	assert_true(allow1(MTLS_ALLOW_DNS, "web.example.org", c.cert));
	assert_false(allow1(MTLS_ALLOW_DNS, "example.com", c.cert));
	assert_false(allow1(MTLS_ALLOW_DNS, "pi.example.com", c.cert));
	/* "*." is exactly one label. */
	assert_true(allow1(MTLS_ALLOW_DNS, "*.example.com", c.cert));
	assert_true(allow1(MTLS_ALLOW_DNS, "*.EXAMPLE.org", c.cert));
	tpki_free(&c);

	c = tpki_make(&ca, "c", NULL, "clientAuth",
	    "DNS:a.b.example.com,DNS:example.com", -60, 3600);
	assert_false(allow1(MTLS_ALLOW_DNS, "*.example.com", c.cert));
	assert_true(allow1(MTLS_ALLOW_DNS, "*.b.example.com", c.cert));
	tpki_free(&c);

	/* A client certificate with a wildcard SAN names no one client: no
	 * rule matches it, not even the same wildcard. */
	c = tpki_make(&ca, "c", NULL, "clientAuth", "DNS:*.example.com", -60,
	    3600);
	assert_false(allow1(MTLS_ALLOW_DNS, "api.example.com", c.cert));
	assert_false(allow1(MTLS_ALLOW_DNS, "*.example.com", c.cert));
	tpki_free(&c);
}

/* Envoy CVE-2022-21656: a rule of one type never matches a SAN of another
 * type that holds the same text. */
static void
test_type_confusion(void **state)
{
	(void)state;
	struct tpki c = tpki_make(&ca, "c", NULL, "clientAuth",
	    "URI:api.example.com,email:admin@example.com", -60, 3600);
	char why[256];

	assert_false(allows(MTLS_ALLOW_DNS, "api.example.com", c.cert, why,
	    sizeof(why)));
	assert_string_equal(why, "no rule allows CN=c, URI:api.example.com, "
	    "email:admin@example.com");
	assert_false(allow1(MTLS_ALLOW_DNS, "*.example.com", c.cert));
	assert_false(allow1(MTLS_ALLOW_CN, "api.example.com", c.cert));
	tpki_free(&c);

	c = tpki_make(&ca, "c", NULL, "clientAuth",
	    "DNS:spiffe://td/sa/web,email:spiffe@td", -60, 3600);
	assert_false(allow1(MTLS_ALLOW_URI, "spiffe://td/sa/web", c.cert));
	assert_false(allow1(MTLS_ALLOW_URI, "spiffe://td/sa/*", c.cert));
	tpki_free(&c);

	c = tpki_make(&ca, "c", NULL, "clientAuth",
	    "DNS:admin@example.com,URI:admin@example.com", -60, 3600);
	assert_false(allow1(MTLS_ALLOW_EMAIL, "admin@example.com", c.cert));
	tpki_free(&c);
}

static void
test_uri(void **state)
{
	(void)state;
	struct tpki c = tpki_make(&ca, "c", NULL, "clientAuth",
	    "URI:spiffe://trust.domain/ns/prod/sa/web", -60, 3600);

	assert_true(allow1(MTLS_ALLOW_URI,
	    "spiffe://trust.domain/ns/prod/sa/web", c.cert));
	assert_true(allow1(MTLS_ALLOW_URI,
	    "spiffe://trust.domain/ns/*/sa/web", c.cert));
	assert_true(allow1(MTLS_ALLOW_URI,
	    "spiffe://trust.domain/ns/*/sa/*", c.cert));
	assert_true(allow1(MTLS_ALLOW_URI, "spiffe://trust.domain/ns/**",
	    c.cert));
	assert_true(allow1(MTLS_ALLOW_URI, "spiffe://trust.domain/**",
	    c.cert));
	assert_false(allow1(MTLS_ALLOW_URI,
	    "spiffe://trust.domain/ns/*/sa/api", c.cert));
	assert_false(allow1(MTLS_ALLOW_URI, "spiffe://trust.domain/ns/*",
	    c.cert));
	assert_false(allow1(MTLS_ALLOW_URI,
	    "spiffe://trust.domain/ns/prod/sa/web/**", c.cert));
	/* Scheme and host case-insensitive (RFC 3986 6.2.2.1), the path
	 * exact. */
	assert_true(allow1(MTLS_ALLOW_URI,
	    "SPIFFE://Trust.Domain/ns/prod/sa/web", c.cert));
	assert_false(allow1(MTLS_ALLOW_URI,
	    "spiffe://trust.domain/NS/prod/sa/web", c.cert));
	assert_false(allow1(MTLS_ALLOW_URI,
	    "spiffe://trust.domain.evil/ns/prod/sa/web", c.cert));
	assert_false(allow1(MTLS_ALLOW_URI,
	    "https://trust.domain/ns/prod/sa/web", c.cert));
	tpki_free(&c);

	/* "*" is one sane segment: not empty, not "..", not two. */
	c = tpki_make(&ca, "c", NULL, "clientAuth",
	    "URI:spiffe://td/ns/a/b/sa/web,URI:spiffe://td/ns//sa/web,"
	    "URI:spiffe://td/ns/../sa/web", -60, 3600);
	assert_false(allow1(MTLS_ALLOW_URI, "spiffe://td/ns/*/sa/web",
	    c.cert));
	assert_true(allow1(MTLS_ALLOW_URI, "spiffe://td/ns/**", c.cert));
	tpki_free(&c);

	c = tpki_make(&ca, "c", NULL, "clientAuth",
	    "URI:spiffe://td/ns/../sa/web,URI:spiffe://td/ns", -60, 3600);
	assert_false(allow1(MTLS_ALLOW_URI, "spiffe://td/ns/*/sa/web",
	    c.cert));
	assert_false(allow1(MTLS_ALLOW_URI, "spiffe://td/ns/**", c.cert));
	tpki_free(&c);
}

static void
test_email(void **state)
{
	(void)state;
	struct tpki c = tpki_make(&ca, "c", NULL, "clientAuth",
	    "email:Ops@EXAMPLE.com", -60, 3600);

	assert_true(allow1(MTLS_ALLOW_EMAIL, "Ops@example.com", c.cert));
	assert_false(allow1(MTLS_ALLOW_EMAIL, "ops@example.com", c.cert));
	assert_false(allow1(MTLS_ALLOW_EMAIL, "Ops@example.co", c.cert));
	tpki_free(&c);
}

static void
test_fingerprint(void **state)
{
	(void)state;
	struct tpki c = tpki_make(&ca, "c", NULL, "clientAuth", NULL, -60,
	    3600);
	unsigned char md[32];
	unsigned int n;
	char hex[200], colons[200];

	X509_digest(c.cert, EVP_sha256(), md, &n);
	for (unsigned i = 0; i < 32; i++) {
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
		snprintf(colons + 3 * i, 4, "%02X%s", md[i], i < 31 ? ":" :
		    "");
	}
	char rule[220];
	snprintf(rule, sizeof(rule), "sha256:%s", hex);
	assert_true(allow1(MTLS_ALLOW_FINGERPRINT, rule, c.cert));
	snprintf(rule, sizeof(rule), "SHA256:%s", colons);
	assert_true(allow1(MTLS_ALLOW_FINGERPRINT, rule, c.cert));
	assert_true(allow1(MTLS_ALLOW_FINGERPRINT, colons, c.cert));
	hex[0] = hex[0] == '0' ? '1' : '0';
	snprintf(rule, sizeof(rule), "sha256:%s", hex);
	assert_false(allow1(MTLS_ALLOW_FINGERPRINT, rule, c.cert));
	tpki_free(&c);
}

/* A dNSName with a NUL inside ("good.example.com\0.evil.com") is a forgery
 * aimed at C string comparisons: it matches nothing. */
static void
test_nul_in_san(void **state)
{
	(void)state;
	static const char forged[] = "good.example.com\0.evil.com";
	struct tpki c = tpki_make(&ca, "c", NULL, "clientAuth", NULL, -60,
	    3600);
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	ASN1_STRING_set(s, forged, sizeof(forged) - 1);
	GENERAL_NAME_set0_value(g, GEN_DNS, s);
	sk_GENERAL_NAME_push(gens, g);
	X509_add1_ext_i2d(c.cert, NID_subject_alt_name, gens, 0, 0);
	GENERAL_NAMES_free(gens);
	assert_false(allow1(MTLS_ALLOW_DNS, "good.example.com", c.cert));
	assert_false(allow1(MTLS_ALLOW_DNS, "*.example.com", c.cert));
	tpki_free(&c);
}

static void
test_malformed_rules(void **state)
{
	(void)state;
	/* dns */
	assert_true(malformed(MTLS_ALLOW_DNS, ""));
	assert_true(malformed(MTLS_ALLOW_DNS, NULL));
	assert_true(malformed(MTLS_ALLOW_DNS, "*.com"));
	assert_true(malformed(MTLS_ALLOW_DNS, "*"));
	assert_true(malformed(MTLS_ALLOW_DNS, "a..example.com"));
	assert_true(malformed(MTLS_ALLOW_DNS, "*a.example.com"));
	assert_true(malformed(MTLS_ALLOW_DNS, "a.*.example.com"));
	assert_true(malformed(MTLS_ALLOW_DNS, "example.com."));
	assert_true(malformed(MTLS_ALLOW_DNS, "-a.example.com"));
	assert_true(malformed(MTLS_ALLOW_DNS, "a b.example.com"));
	assert_true(malformed(MTLS_ALLOW_DNS, "spiffe://td/x"));
	assert_false(malformed(MTLS_ALLOW_DNS, "*.example.com"));
	assert_false(malformed(MTLS_ALLOW_DNS, "localhost"));
	/* uri */
	assert_true(malformed(MTLS_ALLOW_URI, "not a uri"));
	assert_true(malformed(MTLS_ALLOW_URI, "spiffe:/td/x"));
	assert_true(malformed(MTLS_ALLOW_URI, "spiffe:///x"));
	assert_true(malformed(MTLS_ALLOW_URI, "spiffe://*/x"));
	assert_true(malformed(MTLS_ALLOW_URI, "spiffe://td/a*b"));
	assert_true(malformed(MTLS_ALLOW_URI, "spiffe://td/**/x"));
	assert_true(malformed(MTLS_ALLOW_URI, "spiffe://td/***"));
	assert_true(malformed(MTLS_ALLOW_URI, "spiffe://td/x?y=1"));
	assert_true(malformed(MTLS_ALLOW_URI, "spiffe://td/x#f"));
	assert_false(malformed(MTLS_ALLOW_URI, "spiffe://td/ns/*/sa/**"));
	/* issue 11: "a*" was taken for "**" and matched literally; dot
	 * segments and empty ones can never match a sane SAN. */
	assert_true(malformed(MTLS_ALLOW_URI, "spiffe://example.com/a*"));
	assert_true(malformed(MTLS_ALLOW_URI, "spiffe://td/*a"));
	assert_true(malformed(MTLS_ALLOW_URI, "spiffe://td/a/../b"));
	assert_true(malformed(MTLS_ALLOW_URI, "spiffe://td/./b"));
	assert_true(malformed(MTLS_ALLOW_URI, "spiffe://td/a//b"));
	assert_true(malformed(MTLS_ALLOW_URI, "spiffe://td/a/"));
	/* fingerprint: 64 hex digits exactly */
	assert_true(malformed(MTLS_ALLOW_FINGERPRINT, "sha256:abcd"));
	assert_true(malformed(MTLS_ALLOW_FINGERPRINT, "sha256:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg"));
	assert_true(malformed(MTLS_ALLOW_FINGERPRINT, "sha256:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "00"));
	assert_true(malformed(MTLS_ALLOW_FINGERPRINT, "sha1:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	/* email, cn, control characters, unknown kinds */
	assert_true(malformed(MTLS_ALLOW_EMAIL, "no-at-sign"));
	assert_true(malformed(MTLS_ALLOW_EMAIL, "@example.com"));
	assert_true(malformed(MTLS_ALLOW_EMAIL, "a@b@c"));
	assert_true(malformed(MTLS_ALLOW_CN, ""));
	assert_true(malformed(MTLS_ALLOW_CN, "a\nb"));
	assert_true(malformed((enum mtls_rule_kind)99, "x"));
	assert_false(malformed(MTLS_ALLOW_ANY, NULL));
}

static void
test_several_rules(void **state)
{
	(void)state;
	struct tpki c = tpki_make(&ca, "svc", NULL, "clientAuth",
	    "DNS:svc.example.com", -60, 3600);
	struct mtls_policy *pol = mtls_policy_new();
	struct mtls_error err;

	assert_int_equal(mtls_policy_allow(pol, MTLS_ALLOW_CN, "other", &err),
	    0);
	assert_int_equal(policy_check_cert(pol, c.cert, NULL, 0), 0);
	assert_int_equal(mtls_policy_allow(pol, MTLS_ALLOW_DNS,
	    "svc.example.com", &err), 0);
	assert_int_equal(mtls_policy_count(pol), 2);
	assert_int_equal(policy_check_cert(pol, c.cert, NULL, 0), 1);
	/* mtls_policy_check on a context without a peer refuses. */
	char why[64];
	assert_int_equal(mtls_policy_check(pol, NULL, why, sizeof(why)), 0);
	assert_string_equal(why, "no client certificate");
	mtls_policy_free(pol);
	tpki_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_any_and_none),
		cmocka_unit_test(test_cn),
		cmocka_unit_test(test_ou),
		cmocka_unit_test(test_dns),
		cmocka_unit_test(test_type_confusion),
		cmocka_unit_test(test_uri),
		cmocka_unit_test(test_email),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_nul_in_san),
		cmocka_unit_test(test_malformed_rules),
		cmocka_unit_test(test_several_rules),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
