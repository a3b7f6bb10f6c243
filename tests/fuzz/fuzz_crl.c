/*
 * fuzz_crl - CRLs as `mtls serve --crl`, `mtls cert verify --crl` and
 * `mtls cert inspect` read them: mtls_crl_load_mem(), the facts of each CRL,
 * then revocation checking with it.
 *
 * As with certificates, a mutated CRL's signature never verifies, so each
 * CRL is also re-signed with the key of a CA made at start-up before a
 * client certificate of that CA is verified against the file: OpenSSL's CRL
 * processing (issuing distribution points, reason codes, extensions, times)
 * and our explanation of its verdict then see every fuzzed field.
 */
#include "fuzz.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include "ca/pki.h"
#include "x509/inspect.h"

static struct mtls_ca *ca;
static struct mtls_cert *leaf;
static char ca_path[128], crl_path[128];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct mtls_ca_options opt;
	struct mtls_issue_options iopt;
	struct mtls_names names;
	struct mtls_error err;
	struct mtls_key *key;
	char dir[128];

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/ca", fuzz_scratch_dir());
	snprintf(ca_path, sizeof(ca_path), "%s/ca/ca.crt", fuzz_scratch_dir());
	snprintf(crl_path, sizeof(crl_path), "%s/crl.pem", fuzz_scratch_dir());
	memset(&opt, 0, sizeof(opt));
	opt.dir = dir;
	opt.name = "Fuzz CRL CA";
	memset(&names, 0, sizeof(names));
	names.common_name = "client";
	memset(&iopt, 0, sizeof(iopt));
	iopt.kind = MTLS_CERT_CLIENT;
	if ((ca = mtls_ca_create(&opt, &err)) == NULL ||
	    (key = mtls_key_generate(MTLS_KEY_EC_P256, &err)) == NULL ||
	    (leaf = mtls_ca_issue(ca, key, &names, &iopt)) == NULL ||
	    ca_load_key(ca) != 0) {
		fprintf(stderr, "fuzz_crl: %s / %s\n", err.msg,
		    ca ? mtls_ca_error(ca) : "");
		abort();
	}
	mtls_key_free(key);
	return 0;
}

/* Writes the CRLs of crl, re-signed by our CA, to crl_path; 0 when none
 * could be. */
static int
write_resigned(const struct mtls_crl *crl)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int n = 0;
	char *p;
	long len;

	if (bio == NULL)
		abort();
	for (int i = 0; i < sk_X509_CRL_num(crl->crls) && i < 4; i++) {
		X509_CRL *c = X509_CRL_dup(sk_X509_CRL_value(crl->crls, i));
		if (c != NULL && X509_CRL_sign(c, ca->key, EVP_sha256()) > 0 &&
		    PEM_write_bio_X509_CRL(bio, c))
			n++;
		X509_CRL_free(c);
	}
	len = BIO_get_mem_data(bio, &p);
	if (n > 0)
		fuzz_write_file(crl_path, p, (size_t)len);
	BIO_free(bio);
	ERR_clear_error();
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtls_verify_options vopt;
	struct mtls_error err;
	struct mtls_crl *crl;

	memset(&err, 0, sizeof(err));
	if ((crl = mtls_crl_load_mem(data, size, "fuzz", &err)) == NULL) {
		FUZZ_ASSERT(err.msg[0] != '\0');
		return 0;
	}
	FUZZ_ASSERT(mtls_crl_count(crl) >= 1);
	for (size_t i = 0; i < mtls_crl_count(crl) && i < 16; i++) {
		struct mtls_crl_info info;
		memset(&info, 0, sizeof(info));
		(void)mtls_crl_info(crl, i, &info, &err);
		mtls_crl_info_clear(&info);
	}
	if (write_resigned(crl) > 0) {
		memset(&vopt, 0, sizeof(vopt));
		vopt.ca_file = ca_path;
		vopt.crl_file = crl_path;
		vopt.purpose = MTLS_PURPOSE_CLIENT;
		if (mtls_verify_cert(leaf, &vopt, &err) != 0)
			FUZZ_ASSERT(err.msg[0] != '\0');
	}
	mtls_crl_free(crl);
	ERR_clear_error();
	return 0;
}
