/*
 * fuzz_csr - certificate requests as `mtls cert sign` and `mtls cert
 * inspect` read them, and the CA's signing policy: mtls_csr_load_mem(),
 * mtls_csr_info(), then mtls_ca_sign_csr() with a CA made once at start-up.
 *
 * A request is signed twice: as given (its self-signature and key checks
 * are then what refuses nearly every mutation), and re-signed with a key
 * made at start-up, so that the policy sees every fuzzed subject, SAN and
 * requested extension.  Whatever the request asks, the certificate issued
 * must be a leaf of the kind asked for: no CA, no keyCertSign or cRLSign,
 * exactly the one EKU of its kind, the requester's key, and no extension
 * outside the few the CA itself writes (mtls.h: "copies only the subject
 * and SANs, never any requested extension").
 */
#include "fuzz.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/internal.h"

static struct mtls_ca *ca;
static EVP_PKEY *req_key;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct mtls_ca_options opt;
	struct mtls_error err;
	char dir[128];

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/ca", fuzz_scratch_dir());
	memset(&opt, 0, sizeof(opt));
	opt.dir = dir;
	opt.name = "Fuzz Root CA";
	if ((ca = mtls_ca_create(&opt, &err)) == NULL) {
		fprintf(stderr, "fuzz_csr: %s\n", err.msg);
		abort();
	}
	if ((req_key = EVP_EC_gen("P-256")) == NULL)
		abort();
	return 0;
}

static int
eku_is_only(X509 *x, int nid)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL,
	    NULL);
	int ok;

	if (eku == NULL)
		return 0;
	ok = sk_ASN1_OBJECT_num(eku) == 1 &&
	    OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)) == nid;
	EXTENDED_KEY_USAGE_free(eku);
	return ok;
}

/* The properties of every certificate the CA issues from a request. */
static void
check_issued(const struct mtls_cert *cert, X509_REQ *req,
    enum mtls_cert_kind kind)
{
	X509 *leaf;

	FUZZ_ASSERT(cert->certs != NULL && sk_X509_num(cert->certs) >= 1);
	leaf = sk_X509_value(cert->certs, 0);
	FUZZ_ASSERT((X509_get_extension_flags(leaf) & EXFLAG_CA) == 0);
	FUZZ_ASSERT(X509_check_ca(leaf) == 0);
	FUZZ_ASSERT((X509_get_key_usage(leaf) & (KU_KEY_CERT_SIGN |
	    KU_CRL_SIGN)) == 0);
	FUZZ_ASSERT(eku_is_only(leaf, kind == MTLS_CERT_SERVER ?
	    NID_server_auth : NID_client_auth));
	FUZZ_ASSERT(EVP_PKEY_eq(X509_get0_pubkey(leaf),
	    X509_REQ_get0_pubkey(req)) == 1);
	for (int i = 0; i < X509_get_ext_count(leaf); i++) {
		X509_EXTENSION *ext = X509_get_ext(leaf, i);
		switch (OBJ_obj2nid(X509_EXTENSION_get_object(ext))) {
		case NID_basic_constraints:
		case NID_key_usage:
		case NID_ext_key_usage:
		case NID_subject_alt_name:
		case NID_subject_key_identifier:
		case NID_authority_key_identifier:
			break;
		default:
			FUZZ_ASSERT(!"an extension the CA does not write");
		}
	}
	/* Signed by our CA. */
	const struct mtls_cert *cac = mtls_ca_cert(ca);
	FUZZ_ASSERT(X509_verify(leaf, X509_get0_pubkey(sk_X509_value(
	    cac->certs, 0))) == 1);
}

static void
sign(const struct mtls_csr *csr, enum mtls_cert_kind kind)
{
	struct mtls_issue_options opt;
	struct mtls_cert *cert;

	memset(&opt, 0, sizeof(opt));
	opt.kind = kind;
	if ((cert = mtls_ca_sign_csr(ca, csr, &opt)) == NULL) {
		FUZZ_ASSERT(mtls_ca_error(ca) != NULL &&
		    mtls_ca_error(ca)[0] != '\0');
	} else {
		check_issued(cert, csr->req, kind);
		mtls_cert_free(cert);
	}
	ERR_clear_error();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtls_error err;
	struct mtls_csr *csr, again;
	struct mtls_csr_info info;
	enum mtls_cert_kind kind = size % 2 ? MTLS_CERT_SERVER :
	    MTLS_CERT_CLIENT;

	if ((csr = mtls_csr_load_mem(data, size, "fuzz", &err)) == NULL) {
		FUZZ_ASSERT(err.msg[0] != '\0');
		return 0;
	}
	memset(&info, 0, sizeof(info));
	(void)mtls_csr_info(csr, &info, &err);
	mtls_csr_info_clear(&info);

	sign(csr, kind);
	again.req = X509_REQ_dup(csr->req);
	if (again.req != NULL && X509_REQ_set_pubkey(again.req, req_key) &&
	    X509_REQ_sign(again.req, req_key, EVP_sha256()) > 0)
		sign(&again, kind);
	X509_REQ_free(again.req);
	mtls_csr_free(csr);
	ERR_clear_error();
	return 0;
}
