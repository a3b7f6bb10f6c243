/*
 * fuzz_policy - the access rules of `mtls serve --allow-*`: the rule parser
 * (mtls_policy_allow) on fuzzed values, then the matcher on a fuzzed client
 * certificate (policy_check_cert, as the TLS server runs it on every
 * verified peer).
 *
 * Input: rule lines, a NUL byte, then a certificate (DER or PEM).  The
 * first byte of a line picks the rule kind, the rest is its value.
 * Properties: no rule allows nobody; --allow-any allows everyone; a set of
 * rules of one kind only lets in a certificate that has a name of that
 * kind (a DNS rule never matches through a URI or e-mail SAN that holds
 * the same text: Envoy CVE-2022-21656); the reason given is a terminated
 * string.
 */
#include "fuzz.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls/tls_internal.h"

static const enum mtls_rule_kind kinds[] = {
	MTLS_ALLOW_ANY, MTLS_ALLOW_CN, MTLS_ALLOW_DNS, MTLS_ALLOW_URI,
	MTLS_ALLOW_OU, MTLS_ALLOW_FINGERPRINT, MTLS_ALLOW_EMAIL,
};

static int
has_san(X509 *x, int type)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL);
	int found = 0;

	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++)
		if (sk_GENERAL_NAME_value(gens, i)->type == type)
			found = 1;
	GENERAL_NAMES_free(gens);
	return found;
}

static int
has_entry(X509 *x, int nid)
{
	return X509_NAME_get_index_by_NID(X509_get_subject_name(x), nid, -1) >=
	    0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t rules_len = nul != NULL ? (size_t)(nul - data) : size;
	struct mtls_policy *pol;
	struct mtls_error err;
	struct mtls_cert *cert = NULL;
	unsigned added = 0; /* bit per kind index */
	char *text, *line, *save = NULL;
	char why[512];

	if (rules_len > 4096)
		return 0;
	if ((pol = mtls_policy_new()) == NULL ||
	    (text = malloc(rules_len + 1)) == NULL)
		abort();
	memcpy(text, data, rules_len);
	text[rules_len] = '\0';
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		size_t k = (unsigned char)line[0] % nitems(kinds);
		size_t before = mtls_policy_count(pol);
		if (mtls_policy_allow(pol, kinds[k], line + 1, &err) == 0) {
			FUZZ_ASSERT(mtls_policy_count(pol) == before + 1);
			added |= 1u << k;
		} else {
			FUZZ_ASSERT(mtls_policy_count(pol) == before);
			FUZZ_ASSERT(err.msg[0] != '\0');
		}
	}
	free(text);

	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (md == NULL || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		abort();
	(void)policy_digest_update(pol, md);
	EVP_MD_CTX_free(md);

	if (nul != NULL)
		cert = mtls_cert_load_mem(nul + 1, size - rules_len - 1,
		    "fuzz", &err);
	if (cert != NULL) {
		X509 *leaf = sk_X509_value(cert->certs, 0);
		memset(why, 'x', sizeof(why));
		int ok = policy_check_cert(pol, leaf, why, sizeof(why));
		FUZZ_ASSERT(ok == 0 || ok == 1);
		if (!ok)
			FUZZ_ASSERT(memchr(why, '\0', sizeof(why)) != NULL);
		if (added == 0)
			FUZZ_ASSERT(!ok);
		if (added & 1u)
			FUZZ_ASSERT(ok);
		if (ok && added == 1u << 1)
			FUZZ_ASSERT(has_entry(leaf, NID_commonName));
		if (ok && added == 1u << 2)
			FUZZ_ASSERT(has_san(leaf, GEN_DNS));
		if (ok && added == 1u << 3)
			FUZZ_ASSERT(has_san(leaf, GEN_URI));
		if (ok && added == 1u << 4)
			FUZZ_ASSERT(has_entry(leaf, NID_organizationalUnitName));
		if (ok && added == 1u << 6)
			FUZZ_ASSERT(has_san(leaf, GEN_EMAIL));
		mtls_cert_free(cert);
	}
	mtls_policy_free(pol);
	ERR_clear_error();
	return 0;
}
