/*
 * cert_info.c - the plain facts of one certificate (struct mtls_cert_info):
 * names, serial, validity, SANs by type, usages, CA flag, key, signature
 * algorithm, SHA-256 fingerprint and key identifiers.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "x509/inspect.h"

int
mtls_cert_info(const struct mtls_cert *cert, size_t i,
    struct mtls_cert_info *info, struct mtls_error *err)
{
	GENERAL_NAMES *gens = NULL;
	ASN1_BIT_STRING *ku = NULL;
	EXTENDED_KEY_USAGE *eku = NULL;
	BASIC_CONSTRAINTS *bc = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const X509_ALGOR *alg;
	int crit, ret = -1;

	memset(info, 0, sizeof(*info));
	info->path_len = -1;
	if (cert == NULL || cert->certs == NULL ||
	    i >= (size_t)sk_X509_num(cert->certs))
		return err_set(err, MTLS_ERR_USAGE, "no certificate number %zu",
		    i + 1);
	X509 *x = sk_X509_value(cert->certs, (int)i);

	if ((info->subject = x509_name_line(X509_get_subject_name(x))) ==
	    NULL || (info->issuer = x509_name_line(X509_get_issuer_name(x))) ==
	    NULL)
		goto nomem;
	info->common_name = x509_name_cn(X509_get_subject_name(x));
	if ((info->serial = x509_serial_hex(X509_get0_serialNumber(x))) ==
	    NULL)
		goto nomem;
	info->version = (int)X509_get_version(x) + 1;
	if (x509_time(X509_get0_notBefore(x), &info->not_before) != 0 ||
	    x509_time(X509_get0_notAfter(x), &info->not_after) != 0) {
		err_set(err, MTLS_ERR_PARSE, "certificate %zu (%s): malformed "
		    "validity dates", i + 1, info->subject);
		goto out;
	}

	/* A malformed extension reads as absent (crit == -2); verification
	 * rejects such a certificate, inspection shows what it can. */
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	if (gens != NULL &&
	    x509_sans_collect(gens, &info->sans, &info->nsans) != 0)
		goto nomem;
	ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
	if (ku != NULL && (info->key_usage = x509_key_usage_text(ku)) == NULL)
		goto nomem;
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	if (eku != NULL &&
	    (info->ext_key_usage = x509_eku_text(eku)) == NULL)
		goto nomem;
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	if (bc != NULL) {
		info->is_ca = bc->ca != 0;
		if (bc->ca && bc->pathlen != NULL)
			info->path_len = (int)ASN1_INTEGER_get(bc->pathlen);
	}

	EVP_PKEY *pkey = X509_get0_pubkey(x);
	if (pkey == NULL) {
		info->key_type = strdup("unknown (undecodable key)");
		if (info->key_type == NULL)
			goto nomem;
	} else if (x509_key_describe(pkey, &info->key_type,
	    &info->key_bits) != 0)
		goto nomem;
	X509_get0_signature(NULL, &alg, x);
	if ((info->signature_algorithm = x509_sig_alg_name(alg)) == NULL)
		goto nomem;
	if (!X509_digest(x, EVP_sha256(), md, &mdlen)) {
		err_set_ssl(err, MTLS_ERR_CRYPTO, "certificate %zu: cannot "
		    "compute its fingerprint", i + 1);
		goto out;
	}
	if ((info->fingerprint_sha256 = x509_hex_colon(md, mdlen)) == NULL)
		goto nomem;
	if (x509_keyid_hex(X509_get0_subject_key_id(x), &info->ski) != 0 ||
	    x509_keyid_hex(X509_get0_authority_key_id(x), &info->aki) != 0)
		goto nomem;
	/* Self-signed: issuer == subject and the certificate's own key
	 * verifies its signature. */
	info->self_signed = X509_self_signed(x, 1) == 1;
	ERR_clear_error();
	ret = 0;
	goto out;
nomem:
	err_set(err, MTLS_ERR_NOMEM, "out of memory");
out:
	GENERAL_NAMES_free(gens);
	ASN1_BIT_STRING_free(ku);
	EXTENDED_KEY_USAGE_free(eku);
	BASIC_CONSTRAINTS_free(bc);
	if (ret != 0)
		mtls_cert_info_clear(info);
	return ret;
}

void
mtls_cert_info_clear(struct mtls_cert_info *info)
{
	if (info == NULL)
		return;
	free(info->subject);
	free(info->issuer);
	free(info->common_name);
	free(info->serial);
	x509_sans_free(info->sans, info->nsans);
	free(info->key_usage);
	free(info->ext_key_usage);
	free(info->key_type);
	free(info->signature_algorithm);
	free(info->fingerprint_sha256);
	free(info->ski);
	free(info->aki);
	memset(info, 0, sizeof(*info));
	info->path_len = -1;
}
