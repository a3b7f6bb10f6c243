/*
 * revocation.c - revocation: marking an issued certificate revoked in the
 * inventory, and
 * the CA's certificate revocation list (RFC 5280 section 5): v2, a CRL
 * number that only grows, the authority key identifier, and a reason code
 * on each entry.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "ca/inventory.h"
#include "ca/pki.h"
#include "core/pem.h"

#define CRL_MAX_DAYS 3650

/* RFC 5280 section 5.3.1, with the ASN.1 names of the CRLReason values.
 * removeFromCRL (8) is named, for CRLs read from elsewhere, but is no
 * reason to revoke: it only takes an entry out of a delta CRL. */
#define REASON_REMOVE_FROM_CRL 8
static const struct {
	int reason;
	const char *name;
} reasons[] = {
	{ MTLS_REVOKE_UNSPECIFIED, "unspecified" },
	{ MTLS_REVOKE_KEY_COMPROMISE, "keyCompromise" },
	{ MTLS_REVOKE_CA_COMPROMISE, "cACompromise" },
	{ MTLS_REVOKE_AFFILIATION_CHANGED, "affiliationChanged" },
	{ MTLS_REVOKE_SUPERSEDED, "superseded" },
	{ MTLS_REVOKE_CESSATION_OF_OPERATION, "cessationOfOperation" },
	{ MTLS_REVOKE_CERTIFICATE_HOLD, "certificateHold" },
	{ REASON_REMOVE_FROM_CRL, "removeFromCRL" },
	{ MTLS_REVOKE_PRIVILEGE_WITHDRAWN, "privilegeWithdrawn" },
	{ MTLS_REVOKE_AA_COMPROMISE, "aACompromise" },
};

/* Both spellings reduce to the same letters: "key-compromise" and
 * "keyCompromise" are "keycompromise" once hyphens go and case folds. */
static int
reason_eq(const char *in, const char *name)
{
	for (;;) {
		while (*in == '-' || *in == '_')
			in++;
		if (*in == '\0' || *name == '\0')
			return *in == *name;
		if (tolower((unsigned char)*in) != tolower((unsigned char)*name))
			return 0;
		in++;
		name++;
	}
}

int
mtls_revoke_reason_parse(const char *name, enum mtls_revoke_reason *r)
{
	if (name == NULL || *name == '\0')
		return -1;
	for (size_t i = 0; i < nitems(reasons); i++) {
		if (reasons[i].reason != REASON_REMOVE_FROM_CRL &&
		    reason_eq(name, reasons[i].name)) {
			*r = (enum mtls_revoke_reason)reasons[i].reason;
			return 0;
		}
	}
	return -1;
}

const char *
mtls_revoke_reason_name(enum mtls_revoke_reason r)
{
	for (size_t i = 0; i < nitems(reasons); i++)
		if (reasons[i].reason == (int)r)
			return reasons[i].name;
	return "unknown";
}

/* A reason a certificate may be revoked for. */
static int
reason_valid(enum mtls_revoke_reason r)
{
	return (int)r != REASON_REMOVE_FROM_CRL &&
	    strcmp(mtls_revoke_reason_name(r), "unknown") != 0;
}

int
mtls_ca_revoke(struct mtls_ca *ca, const char *serial_hex,
    enum mtls_revoke_reason reason)
{
	struct inv_cert prev;
	char *serial;
	int ret;

	if (ca == NULL)
		return -1;
	if (!reason_valid(reason))
		return ca_err(ca, MTLS_ERR_USAGE, "revocation reason %d is not "
		    "an RFC 5280 reason code", (int)reason);
	if ((serial = pki_serial_normalize(serial_hex)) == NULL)
		return ca_err(ca, MTLS_ERR_USAGE, "%s: not a hexadecimal "
		    "serial number", serial_hex != NULL ? serial_hex : "");
	ret = inv_revoke(ca->inv, serial, (int)reason, time(NULL), &prev);
	if (ret == -1 && inv_last_fail(ca->inv) == INV_FAIL_CONFLICT) {
		char when[32] = "an unknown time";
		struct tm tm;
		if (gmtime_r(&prev.revoked_at, &tm) != NULL)
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		ca_err(ca, MTLS_ERR_USAGE, "serial %s is already revoked "
		    "(since %s, reason %s)", serial, when,
		    mtls_revoke_reason_name((enum mtls_revoke_reason)
		    prev.reason));
	} else if (ret == -1) {
		ca_err_inv(ca);
	}
	free(serial);
	return ret;
}

int
mtls_ca_revoke_cert(struct mtls_ca *ca, const struct mtls_cert *cert,
    enum mtls_revoke_reason reason)
{
	char *serial = NULL, *subj = NULL;
	X509 *leaf;
	int ret = -1;

	if (ca == NULL)
		return -1;
	if (mtls_cert_count(cert) == 0)
		return ca_err(ca, MTLS_ERR_USAGE, "no certificate to revoke");
	leaf = sk_X509_value(cert->certs, 0);
	if ((serial = x509_serial_hex(X509_get0_serialNumber(leaf))) == NULL ||
	    (subj = x509_name_line(X509_get_subject_name(leaf))) == NULL) {
		ca_err(ca, MTLS_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* Issuer name and AKI against this CA (X509_check_issued), then the
	 * signature itself: only a certificate this CA signed is revoked. */
	if (X509_check_issued(ca->x509, leaf) != X509_V_OK ||
	    X509_verify(leaf, X509_get0_pubkey(ca->x509)) != 1) {
		ERR_clear_error();
		ca_err(ca, MTLS_ERR_VERIFY, "certificate %s (%s) was not issued "
		    "by the CA in %s", serial, subj, ca->dir);
		goto out;
	}
	ret = mtls_ca_revoke(ca, serial, reason);
out:
	free(serial);
	free(subj);
	return ret;
}

static int
add_revoked(X509_CRL *crl, const char *serial, time_t revoked_at, int reason)
{
	X509_REVOKED *rev = X509_REVOKED_new();
	ASN1_INTEGER *sn = NULL;
	ASN1_TIME *when = NULL;
	ASN1_ENUMERATED *code = NULL;
	BIGNUM *bn = NULL;
	int ret = -1;

	if (rev == NULL || !BN_hex2bn(&bn, serial) ||
	    (sn = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    !X509_REVOKED_set_serialNumber(rev, sn) ||
	    (when = ASN1_TIME_set(NULL, revoked_at)) == NULL ||
	    !X509_REVOKED_set_revocationDate(rev, when))
		goto out;
	/* RFC 5280 5.3.1: the reasonCode extension SHOULD be absent rather
	 * than "unspecified". */
	if (reason != (int)MTLS_REVOKE_UNSPECIFIED) {
		if ((code = ASN1_ENUMERATED_new()) == NULL ||
		    !ASN1_ENUMERATED_set(code, (long)reason) ||
		    !X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, code, 0,
		    X509V3_ADD_DEFAULT))
			goto out;
	}
	if (!X509_CRL_add0_revoked(crl, rev))
		goto out;
	rev = NULL;
	ret = 0;
out:
	X509_REVOKED_free(rev);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(when);
	ASN1_ENUMERATED_free(code);
	BN_free(bn);
	return ret;
}

/* AKI of the CRL (RFC 5280 5.2.1): the CA's SKI. */
static int
crl_set_aki(X509_CRL *crl, X509 *ca)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca);
	AUTHORITY_KEYID *akid;
	int ok = 0;

	if (ski == NULL)
		return 0; /* a CA certificate without SKI: nothing to name */
	if ((akid = AUTHORITY_KEYID_new()) == NULL)
		return -1;
	if ((akid->keyid = ASN1_OCTET_STRING_dup(ski)) != NULL)
		ok = X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier,
		    akid, 0, X509V3_ADD_DEFAULT);
	AUTHORITY_KEYID_free(akid);
	return ok ? 0 : -1;
}

int
mtls_ca_write_crl(struct mtls_ca *ca, const char *path, int days, int flags)
{
	X509_CRL *crl = NULL;
	ASN1_INTEGER *num = NULL;
	ASN1_TIME *t = NULL;
	BIO *bio = NULL;
	struct inv_revoked *revoked = NULL;
	size_t nrevoked = 0;
	long long number = 0;
	time_t now = time(NULL);
	int ret = -1;

	if (ca == NULL)
		return -1;
	if (path == NULL || *path == '\0')
		return ca_err(ca, MTLS_ERR_USAGE, "no CRL output file given");
	if (days < 0 || days > CRL_MAX_DAYS)
		return ca_err(ca, MTLS_ERR_USAGE, "%d days: out of range "
		    "(1 to %d)", days, CRL_MAX_DAYS);
	if (days == 0)
		days = 7;
	if (!(flags & MTLS_WRITE_FORCE) && file_exists(path))
		return ca_err(ca, MTLS_ERR_EXISTS, "%s: file already exists", path);
	if (ca_load_key(ca) == -1)
		return -1;
	/* One transaction takes the number and reads the revocations it
	 * covers: two front ends get distinct, increasing numbers, each with
	 * every revocation committed before it.  A CRL that then fails to be
	 * signed or written costs a number, never reuses one. */
	if (inv_crl_next(ca->inv, &number, &revoked, &nrevoked) == -1)
		return ca_err_inv(ca);
	if ((crl = X509_CRL_new()) == NULL ||
	    !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->x509)) ||
	    (t = ASN1_TIME_set(NULL, now)) == NULL ||
	    !X509_CRL_set1_lastUpdate(crl, t) ||
	    ASN1_TIME_adj(t, now, days, 0) == NULL ||
	    !X509_CRL_set1_nextUpdate(crl, t))
		goto ssl_fail;
	for (size_t i = 0; i < nrevoked; i++)
		if (add_revoked(crl, revoked[i].serial, revoked[i].revoked_at,
		    revoked[i].reason) == -1)
			goto ssl_fail;
	if ((num = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_INTEGER_set_int64(num, number) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0,
	    X509V3_ADD_DEFAULT) || crl_set_aki(crl, ca->x509) == -1 ||
	    !X509_CRL_sort(crl) || pki_sign_crl(crl, ca->key) == -1)
		goto ssl_fail;
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509_CRL(bio, crl))
		goto ssl_fail;
	ret = pem_write_bio(bio, path, 0644, flags, &ca->err);
	goto out;
ssl_fail:
	ca_err_ssl(ca, MTLS_ERR_CRYPTO, "%s: cannot make the CRL", path);
out:
	inv_revoked_free(revoked, nrevoked);
	BIO_free(bio);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	return ret;
}
