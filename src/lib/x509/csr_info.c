/*
 * csr_info.c - the requested facts of a CSR (mtls_csr_info()): subject,
 * SANs, key, and the extensions it asks for, which the CA never copies.
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
/* CSRs                                                               */
/* ------------------------------------------------------------------ */

static int
csr_note_other(struct mtls_csr_info *info, X509_EXTENSION *ext,
    const char *why)
{
	char oid[128], line[200];
	char **v;

	x509_obj_text(X509_EXTENSION_get_object(ext), oid, sizeof(oid));
	snprintf(line, sizeof(line), "%s%s%s", oid,
	    X509_EXTENSION_get_critical(ext) ? " (critical)" : "", why);
	v = realloc(info->other_extensions,
	    (info->nother_extensions + 1) * sizeof(*v));
	if (v == NULL)
		return -1;
	info->other_extensions = v;
	if ((v[info->nother_extensions] = strdup(line)) == NULL)
		return -1;
	info->nother_extensions++;
	return 0;
}

static int
csr_extension(struct mtls_csr_info *info, X509_EXTENSION *ext)
{
	int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
	void *d = NULL;
	int ret = -1;

	if (nid != NID_subject_alt_name && nid != NID_key_usage &&
	    nid != NID_ext_key_usage && nid != NID_basic_constraints)
		return csr_note_other(info, ext, "");
	if ((d = X509V3_EXT_d2i(ext)) == NULL) {
		ERR_clear_error();
		return csr_note_other(info, ext, ": malformed");
	}
	switch (nid) {
	case NID_subject_alt_name:
		if (info->sans != NULL) /* duplicate: keep the first */
			ret = csr_note_other(info, ext, ": duplicate");
		else
			ret = x509_sans_collect(d, &info->sans, &info->nsans);
		GENERAL_NAMES_free(d);
		break;
	case NID_key_usage:
		free(info->key_usage);
		info->key_usage = x509_key_usage_text(d);
		ret = info->key_usage ? 0 : -1;
		ASN1_BIT_STRING_free(d);
		break;
	case NID_ext_key_usage:
		free(info->ext_key_usage);
		info->ext_key_usage = x509_eku_text(d);
		ret = info->ext_key_usage ? 0 : -1;
		EXTENDED_KEY_USAGE_free(d);
		break;
	case NID_basic_constraints: {
		BASIC_CONSTRAINTS *bc = d;
		info->has_basic_constraints = 1;
		info->is_ca = bc->ca != 0;
		info->path_len = bc->pathlen ?
		    (int)ASN1_INTEGER_get(bc->pathlen) : -1;
		BASIC_CONSTRAINTS_free(bc);
		ret = 0;
		break;
	}
	}
	return ret;
}

int
mtls_csr_info(const struct mtls_csr *csr, struct mtls_csr_info *info,
    struct mtls_error *err)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	const X509_ALGOR *alg;
	int ret = -1;

	memset(info, 0, sizeof(*info));
	info->path_len = -1;
	if (csr == NULL || csr->req == NULL)
		return err_set(err, MTLS_ERR_USAGE, "no CSR");
	X509_REQ *req = csr->req;
	const X509_NAME *subj = X509_REQ_get_subject_name(req);
	if ((info->subject = x509_name_line(subj)) == NULL)
		goto nomem;
	info->common_name = x509_name_cn(subj);

	exts = X509_REQ_get_extensions(req);
	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++)
		if (csr_extension(info, sk_X509_EXTENSION_value(exts, i)) != 0)
			goto nomem;

	EVP_PKEY *pkey = X509_REQ_get0_pubkey(req);
	if (pkey == NULL) {
		err_set_ssl(err, MTLS_ERR_PARSE, "the CSR's public key cannot "
		    "be decoded");
		goto out;
	}
	if (x509_key_describe(pkey, &info->key_type, &info->key_bits) != 0)
		goto nomem;
	X509_REQ_get0_signature(req, NULL, &alg);
	if ((info->signature_algorithm = x509_sig_alg_name(alg)) == NULL)
		goto nomem;
	info->signature_ok = X509_REQ_verify(req, pkey) == 1;
	ERR_clear_error();
	ret = 0;
	goto out;
nomem:
	err_set(err, MTLS_ERR_NOMEM, "out of memory");
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	if (ret != 0)
		mtls_csr_info_clear(info);
	return ret;
}

void
mtls_csr_info_clear(struct mtls_csr_info *info)
{
	if (info == NULL)
		return;
	free(info->subject);
	free(info->common_name);
	x509_sans_free(info->sans, info->nsans);
	free(info->key_usage);
	free(info->ext_key_usage);
	for (size_t i = 0; i < info->nother_extensions; i++)
		free(info->other_extensions[i]);
	free(info->other_extensions);
	free(info->key_type);
	free(info->signature_algorithm);
	memset(info, 0, sizeof(*info));
	info->path_len = -1;
}
