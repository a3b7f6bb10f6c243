/*
 * crl_info.c - the CRL API of mtls.h: CRLs loaded from files or memory and
 * their facts (issuer, numbers, dates, entries with reasons).
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
/* CRLs                                                               */
/* ------------------------------------------------------------------ */

static struct mtls_crl *
crl_from_objects(struct x509_objects *o, const char *name,
    struct mtls_error *err)
{
	struct mtls_crl *crl;

	if (sk_X509_CRL_num(o->crls) == 0) {
		if (o->c.first == MTLS_OBJECT_NONE)
			err_set(err, MTLS_ERR_PARSE, "%s: no CRL found: %s",
			    name, mtls_object_kind_name(MTLS_OBJECT_NONE));
		else
			err_set(err, MTLS_ERR_PARSE, "%s: this is %s, not a "
			    "CRL", name, mtls_object_kind_name(o->c.first));
		x509_objects_clear(o);
		return NULL;
	}
	if ((crl = calloc(1, sizeof(*crl))) == NULL) {
		x509_objects_clear(o);
		err_set(err, MTLS_ERR_NOMEM, "%s: out of memory", name);
		return NULL;
	}
	crl->crls = o->crls;
	o->crls = NULL;
	x509_objects_clear(o);
	return crl;
}

struct mtls_crl *
mtls_crl_load_file(const char *path, struct mtls_error *err)
{
	struct x509_objects o;

	if (x509_objects_read_file(path, &o, err) != 0)
		return NULL;
	return crl_from_objects(&o, path, err);
}

struct mtls_crl *
mtls_crl_load_mem(const void *buf, size_t len, const char *name,
    struct mtls_error *err)
{
	struct x509_objects o;

	if (name == NULL)
		name = "CRL";
	if (x509_objects_read(buf, len, name, &o, err) != 0)
		return NULL;
	return crl_from_objects(&o, name, err);
}

size_t
mtls_crl_count(const struct mtls_crl *crl)
{
	return crl == NULL ? 0 : (size_t)sk_X509_CRL_num(crl->crls);
}

void
mtls_crl_free(struct mtls_crl *crl)
{
	if (crl == NULL)
		return;
	sk_X509_CRL_pop_free(crl->crls, X509_CRL_free);
	free(crl);
}

int
mtls_crl_info(const struct mtls_crl *crl, size_t i,
    struct mtls_crl_info *info, struct mtls_error *err)
{
	ASN1_INTEGER *num = NULL;
	AUTHORITY_KEYID *akid = NULL;
	const X509_ALGOR *alg;
	int ret = -1;

	memset(info, 0, sizeof(*info));
	if (crl == NULL || i >= mtls_crl_count(crl))
		return err_set(err, MTLS_ERR_USAGE, "no CRL number %zu",
		    i + 1);
	X509_CRL *c = sk_X509_CRL_value(crl->crls, (int)i);

	if ((info->issuer = x509_name_line(X509_CRL_get_issuer(c))) == NULL)
		goto nomem;
	info->version = (int)X509_CRL_get_version(c) + 1;
	if (x509_time(X509_CRL_get0_lastUpdate(c), &info->this_update) != 0) {
		err_set(err, MTLS_ERR_PARSE, "CRL %zu: malformed thisUpdate",
		    i + 1);
		goto out;
	}
	if (X509_CRL_get0_nextUpdate(c) != NULL &&
	    x509_time(X509_CRL_get0_nextUpdate(c), &info->next_update) != 0) {
		err_set(err, MTLS_ERR_PARSE, "CRL %zu: malformed nextUpdate",
		    i + 1);
		goto out;
	}
	if ((num = X509_CRL_get_ext_d2i(c, NID_crl_number, NULL, NULL))) {
		BIGNUM *bn = ASN1_INTEGER_to_BN(num, NULL);
		char *dec = bn ? BN_bn2dec(bn) : NULL;
		info->crl_number = dec ? strdup(dec) : NULL;
		OPENSSL_free(dec);
		BN_free(bn);
		if (info->crl_number == NULL)
			goto nomem;
	}
	akid = X509_CRL_get_ext_d2i(c, NID_authority_key_identifier, NULL,
	    NULL);
	if (akid != NULL && x509_keyid_hex(akid->keyid, &info->aki) != 0)
		goto nomem;
	X509_CRL_get0_signature(c, NULL, &alg);
	if ((info->signature_algorithm = x509_sig_alg_name(alg)) == NULL)
		goto nomem;

	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(c);
	int n = sk_X509_REVOKED_num(revs);
	if (n > 0) {
		if ((info->entries = calloc((size_t)n,
		    sizeof(*info->entries))) == NULL)
			goto nomem;
		for (int k = 0; k < n; k++) {
			X509_REVOKED *r = sk_X509_REVOKED_value(revs, k);
			struct mtls_crl_entry *e = &info->entries[k];
			info->nentries++;
			e->reason = -1;
			if ((e->serial = x509_serial_hex(
			    X509_REVOKED_get0_serialNumber(r))) == NULL)
				goto nomem;
			(void)x509_time(X509_REVOKED_get0_revocationDate(r),
			    &e->revoked_at);
			ASN1_ENUMERATED *why = X509_REVOKED_get_ext_d2i(r,
			    NID_crl_reason, NULL, NULL);
			if (why != NULL) {
				e->reason = (int)ASN1_ENUMERATED_get(why);
				ASN1_ENUMERATED_free(why);
			}
		}
	}
	ERR_clear_error();
	ret = 0;
	goto out;
nomem:
	err_set(err, MTLS_ERR_NOMEM, "out of memory");
out:
	ASN1_INTEGER_free(num);
	AUTHORITY_KEYID_free(akid);
	if (ret != 0)
		mtls_crl_info_clear(info);
	return ret;
}

void
mtls_crl_info_clear(struct mtls_crl_info *info)
{
	if (info == NULL)
		return;
	free(info->issuer);
	free(info->crl_number);
	free(info->aki);
	free(info->signature_algorithm);
	for (size_t i = 0; i < info->nentries; i++)
		free(info->entries[i].serial);
	free(info->entries);
	memset(info, 0, sizeof(*info));
}
