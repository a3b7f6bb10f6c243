/*
 * fuzz_cert - certificates and chains as `mtls cert verify`, `mtls serve`
 * (--cert, --ca) and the library read them: mtls_cert_load_mem(), the facts
 * of each certificate, and mtls_verify_cert() of the leaf with the input's
 * last certificate as the trust anchor.
 *
 * Mutated certificates almost never keep a valid signature, which would
 * leave the checks made after the signatures (path length, name
 * constraints, the extra RFC 5280 rules of verify.c, purpose) unreached.  So
 * the chain is verified twice: as given, then re-signed with keys made at
 * start-up (each certificate by the next one's key, the last by its own),
 * which keeps every fuzzed field but the keys and signatures.  A chain that
 * verifies for a purpose must end in a leaf that is no CA and whose EKU,
 * if any, names that purpose.
 */
#include "fuzz.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "core/internal.h"

#define CHAIN_MAX 4

static EVP_PKEY *keys[CHAIN_MAX];
static char anchor_path[128];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (int i = 0; i < CHAIN_MAX; i++)
		if ((keys[i] = EVP_EC_gen("P-256")) == NULL)
			abort();
	snprintf(anchor_path, sizeof(anchor_path), "%s/anchor.pem",
	    fuzz_scratch_dir());
	return 0;
}

static void
write_anchor(X509 *x)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	if (n <= 0) {
		/* Cannot be encoded again: an empty anchor file, which
		 * verification refuses. */
		fuzz_write_file(anchor_path, "", 0);
		ERR_clear_error();
		return;
	}
	fuzz_write_file(anchor_path, der, (size_t)n);
	OPENSSL_free(der);
}

static int
eku_has(X509 *x, int nid)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL,
	    NULL);
	int found = 0;

	if (eku == NULL)
		return -1;
	for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++)
		if (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == nid)
			found = 1;
	EXTENDED_KEY_USAGE_free(eku);
	return found;
}

/* Verifies certs[0] with certs[1..n-2] as intermediates and certs[n-1] as
 * the only trust anchor. */
static void
verify(STACK_OF(X509) *certs, enum mtls_purpose purpose, const char *name)
{
	struct mtls_verify_options opt;
	struct mtls_cert cert;
	struct mtls_error err;
	int n = sk_X509_num(certs);

	write_anchor(sk_X509_value(certs, n - 1));
	cert.certs = sk_X509_new_null();
	if (cert.certs == NULL)
		abort();
	for (int i = 0; i < (n > 1 ? n - 1 : 1); i++)
		if (!sk_X509_push(cert.certs, sk_X509_value(certs, i)))
			abort();
	memset(&opt, 0, sizeof(opt));
	memset(&err, 0, sizeof(err));
	opt.ca_file = anchor_path;
	opt.purpose = purpose;
	opt.name = name;
	if (mtls_verify_cert(&cert, &opt, &err) != 0) {
		FUZZ_ASSERT(err.msg[0] != '\0');
	} else if (n > 1 && (purpose != MTLS_PURPOSE_ANY || name != NULL)) {
		/* mtls.h: with a purpose or a name, the leaf is not a CA
		 * (the leaf is not the anchor itself here). */
		X509 *leaf = sk_X509_value(certs, 0);
		FUZZ_ASSERT((X509_get_extension_flags(leaf) & EXFLAG_CA) == 0);
		if (purpose != MTLS_PURPOSE_ANY)
			FUZZ_ASSERT(eku_has(leaf, purpose ==
			    MTLS_PURPOSE_CLIENT ? NID_client_auth :
			    NID_server_auth) != 0);
	}
	sk_X509_free(cert.certs); /* borrowed */
	ERR_clear_error();
}

/* Each certificate keeps its fields and gets keys[i], signed with the
 * next one's key (the last one self-signed). */
static STACK_OF(X509) *
resign(STACK_OF(X509) *in)
{
	STACK_OF(X509) *out = sk_X509_new_null();
	int n = sk_X509_num(in);

	if (out == NULL)
		abort();
	if (n > CHAIN_MAX)
		n = CHAIN_MAX;
	for (int i = 0; i < n; i++) {
		X509 *x = X509_dup(sk_X509_value(in, i));
		if (x == NULL || !sk_X509_push(out, x)) {
			X509_free(x);
			goto fail;
		}
		if (!X509_set_pubkey(x, keys[i]))
			goto fail;
	}
	for (int i = 0; i < n; i++) {
		EVP_PKEY *signer = keys[i + 1 < n ? i + 1 : i];
		if (X509_sign(sk_X509_value(out, i), signer, EVP_sha256()) <= 0)
			goto fail;
	}
	return out;
fail:
	sk_X509_pop_free(out, X509_free);
	ERR_clear_error();
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtls_error err;
	struct mtls_cert *cert;
	STACK_OF(X509) *again;
	/* Which checks: taken from the size, so that mutations vary it. */
	enum mtls_purpose purpose = (enum mtls_purpose)(size % 3);
	const char *name = (size / 3) % 2 ? "localhost" : NULL;

	if ((cert = mtls_cert_load_mem(data, size, "fuzz", &err)) == NULL) {
		FUZZ_ASSERT(err.msg[0] != '\0');
		return 0;
	}
	size_t n = mtls_cert_count(cert);
	FUZZ_ASSERT(n >= 1);
	for (size_t i = 0; i < n && i < 8; i++) {
		struct mtls_cert_info info;
		memset(&info, 0, sizeof(info));
		(void)mtls_cert_info(cert, i, &info, &err);
		mtls_cert_info_clear(&info);
	}
	if (n <= 8) {
		verify(cert->certs, MTLS_PURPOSE_ANY, NULL);
		if ((again = resign(cert->certs)) != NULL) {
			verify(again, purpose, name);
			sk_X509_pop_free(again, X509_free);
		}
	}
	mtls_cert_free(cert);
	ERR_clear_error();
	return 0;
}
