/*
 * ca.c - the certificate authority: creating a root or an intermediate CA
 * directory (all of it or nothing), opening one, and issuing leaf
 * certificates from a key or a CSR.  The profiles follow RFC 5280 section
 * 4.2 and the CA/Browser Forum baseline where it applies to private PKI:
 *
 *   root          basicConstraints critical CA:TRUE; keyUsage critical
 *                 keyCertSign, cRLSign; SKI; AKI = SKI; 10 years
 *   intermediate  basicConstraints critical CA:TRUE, pathLen:0; the same
 *                 keyUsage; SKI; AKI = parent's SKI; 5 years
 *   server/client basicConstraints critical CA:FALSE; keyUsage critical
 *                 digitalSignature (+keyEncipherment for RSA); EKU
 *                 serverAuth or clientAuth; SKI; AKI; SANs; 90 days
 *
 * Every certificate is v3 with a 126-bit random positive serial, signed with
 * SHA-256 (EdDSA: no digest), valid from five minutes ago (clock skew) and
 * never past its issuer's notAfter (the validity is capped to it).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "ca/inventory.h"
#include "x509/text.h"
#include "ca/pki.h"
#include "tools/mtls_tools.h"
#include "core/pem.h"

#define CA_BACKDATE 300         /* seconds of notBefore before now */
#define CA_MAX_DAYS 36500
#define CA_SERIAL_TRIES 8
#define CA_MAX_OFFSET (100L * 366 * 86400)

int
ca_err(struct mtls_ca *ca, enum mtls_errcode code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(&ca->err, code, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int
ca_err_inv(struct mtls_ca *ca)
{
	ca->err = *inv_error(ca->inv);
	return -1;
}

int
ca_err_ssl(struct mtls_ca *ca, enum mtls_errcode code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(&ca->err, code, 1, fmt, ap);
	va_end(ap);
	return -1;
}

/* db: the inventory's file or URL; NULL for dir/ca.db. */
static struct mtls_ca *
ca_alloc(const char *dir, const char *db, const char *passphrase,
    struct mtls_error *err)
{
	struct mtls_ca *ca = calloc(1, sizeof(*ca));

	if (ca == NULL)
		goto nomem;
	if ((ca->dir = strdup(dir)) == NULL ||
	    (ca->key_path = pki_path(dir, "ca.key")) == NULL ||
	    (ca->db_target = db != NULL ? strdup(db) : pki_path(dir, "ca.db"))
	    == NULL)
		goto nomem;
	if (passphrase != NULL && (ca->passphrase = strdup(passphrase)) ==
	    NULL)
		goto nomem;
	return ca;
nomem:
	mtls_ca_free(ca);
	err_set(err, MTLS_ERR_NOMEM, "%s: out of memory", dir);
	return NULL;
}

void
mtls_ca_free(struct mtls_ca *ca)
{
	if (ca == NULL)
		return;
	inv_close(ca->inv);
	mtls_cert_free(ca->cert);
	EVP_PKEY_free(ca->key);
	if (ca->passphrase != NULL) {
		mtls_cleanse(ca->passphrase, strlen(ca->passphrase));
		free(ca->passphrase);
	}
	free(ca->dir);
	free(ca->key_path);
	if (ca->db_target != NULL) {
		/* A URL may hold a password. */
		mtls_cleanse(ca->db_target, strlen(ca->db_target));
		free(ca->db_target);
	}
	free(ca);
}

const char *
mtls_ca_error(const struct mtls_ca *ca)
{
	if (ca == NULL)
		return "no CA";
	return ca->err.msg;
}

int
mtls_ca_set_clock_offset(struct mtls_ca *ca, long seconds)
{
	if (ca == NULL)
		return -1;
	if (seconds > CA_MAX_OFFSET || seconds < -CA_MAX_OFFSET)
		return ca_err(ca, MTLS_ERR_USAGE, "validity offset of %ld "
		    "seconds is out of range", seconds);
	ca->clock_offset = seconds;
	return 0;
}

const struct mtls_cert *
mtls_ca_cert(const struct mtls_ca *ca)
{
	return ca != NULL ? ca->cert : NULL;
}

int
mtls_ca_is_key_encrypted(const struct mtls_ca *ca)
{
	return ca != NULL && ca->key_encrypted;
}

/* Checks that pkey is the key of the CA certificate. */
static int
ca_check_key(struct mtls_ca *ca, EVP_PKEY *pkey)
{
	if (EVP_PKEY_eq(X509_get0_pubkey(ca->x509), pkey) != 1) {
		ERR_clear_error();
		return ca_err(ca, MTLS_ERR_KEY_MISMATCH, "%s: key does not "
		    "match certificate %s/ca.crt", ca->key_path, ca->dir);
	}
	return 0;
}

int
ca_load_key(struct mtls_ca *ca)
{
	struct mtls_key *key;

	if (ca->key != NULL)
		return 0;
	if ((key = mtls_key_load_file(ca->key_path, ca->passphrase,
	    &ca->err)) == NULL)
		return -1;
	if (ca_check_key(ca, key->pkey) == -1) {
		mtls_key_free(key);
		return -1;
	}
	ca->key = key->pkey;
	key->pkey = NULL;
	mtls_key_free(key);
	return 0;
}

/* ca.crt, then the rest of chain.crt when there is one. */
static int
ca_load_certs(struct mtls_ca *ca)
{
	struct mtls_cert *chain = NULL;
	char *crt = pki_path(ca->dir, "ca.crt");
	char *chn = pki_path(ca->dir, "chain.crt");
	int ret = -1;

	if (crt == NULL || chn == NULL) {
		ca_err(ca, MTLS_ERR_NOMEM, "%s: out of memory", ca->dir);
		goto out;
	}
	if ((ca->cert = mtls_cert_load_file(crt, &ca->err)) == NULL)
		goto out;
	ca->x509 = sk_X509_value(ca->cert->certs, 0);
	if (mtls_cert_count(ca->cert) != 1) {
		ca_err(ca, MTLS_ERR_PARSE, "%s: holds %zu certificates, "
		    "expected only the CA's", crt, mtls_cert_count(ca->cert));
		goto out;
	}
	if (!(X509_get_extension_flags(ca->x509) & EXFLAG_CA)) {
		ca_err(ca, MTLS_ERR_PARSE, "%s: not a CA certificate", crt);
		goto out;
	}
	if (file_exists(chn)) {
		if ((chain = mtls_cert_load_file(chn, &ca->err)) == NULL)
			goto out;
		if (X509_cmp(sk_X509_value(chain->certs, 0), ca->x509) != 0) {
			ca_err(ca, MTLS_ERR_PARSE, "%s: does not start with "
			    "the certificate of %s", chn, crt);
			goto out;
		}
		for (int i = 1; i < sk_X509_num(chain->certs); i++) {
			X509 *x = sk_X509_value(chain->certs, i);
			if (!sk_X509_push(ca->cert->certs, x)) {
				ca_err(ca, MTLS_ERR_NOMEM, "%s: out of memory",
				    chn);
				goto out;
			}
			X509_up_ref(x);
		}
	}
	ret = 0;
out:
	mtls_cert_free(chain);
	free(crt);
	free(chn);
	return ret;
}

int
ca_bind_inventory(struct mtls_ca *ca, struct inv *inv)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	if (X509_digest(ca->x509, EVP_sha256(), md, &len) != 1)
		return ca_err_ssl(ca, MTLS_ERR_CRYPTO, "%s: cannot hash the "
		    "CA certificate", ca->dir);
	for (unsigned int k = 0; k < len; k++)
		snprintf(hex + 2 * k, 3, "%02x", md[k]);
	if (inv_bind_ca(inv, hex, ca->dir) == -1) {
		ca->err = *inv_error(inv);
		return -1;
	}
	return 0;
}

struct mtls_ca *
mtls_ca_open(const char *dir, const char *passphrase, struct mtls_error *err)
{
	return mtls_ca_open_db(dir, NULL, passphrase, err);
}

struct mtls_ca *
mtls_ca_open_db(const char *dir, const char *db, const char *passphrase,
    struct mtls_error *err)
{
	struct mtls_key *key = NULL;
	struct mtls_ca *ca;

	if (dir == NULL || *dir == '\0') {
		err_set(err, MTLS_ERR_USAGE, "no CA directory given");
		return NULL;
	}
	if (db != NULL && *db == '\0') {
		err_set(err, MTLS_ERR_USAGE, "the inventory's location is empty");
		return NULL;
	}
	if ((ca = ca_alloc(dir, db, passphrase, err)) == NULL)
		return NULL;
	if (ca_load_certs(ca) == -1)
		goto fail;
	if ((ca->inv = inv_open(ca->db_target, 0, &ca->err)) == NULL ||
	    ca_bind_inventory(ca, ca->inv) == -1)
		goto fail;
	/* The key is read now when that needs no passphrase or one was
	 * given; an encrypted key without one is reported at signing time,
	 * so that listing and the like work without it.  A missing ca.key
	 * (root kept offline) likewise fails only when signing. */
	if (file_exists(ca->key_path)) {
		key = mtls_key_load_file(ca->key_path, NULL, &ca->err);
		if (key == NULL && ca->err.code == MTLS_ERR_PASSPHRASE) {
			ca->key_encrypted = 1;
			if (passphrase != NULL && ca_load_key(ca) == -1)
				goto fail;
		} else if (key == NULL) {
			goto fail;
		} else {
			if (ca_check_key(ca, key->pkey) == -1)
				goto fail;
			ca->key = key->pkey;
			key->pkey = NULL;
		}
	}
	mtls_key_free(key);
	err_clear(&ca->err);
	return ca;
fail:
	if (err != NULL)
		*err = ca->err;
	mtls_key_free(key);
	mtls_ca_free(ca);
	return NULL;
}

int
mtls_ca_import(const char *dir, const char *db, struct mtls_error *err)
{
	struct mtls_key *key = NULL;
	struct mtls_ca *ca;
	struct inv *inv;
	int ret = -1;

	if (dir == NULL || *dir == '\0')
		return err_set(err, MTLS_ERR_USAGE, "no CA directory given");
	if ((ca = ca_alloc(dir, db, NULL, err)) == NULL)
		return -1;
	if (ca_load_certs(ca) == -1)
		goto out;
	/* The key must be the certificate's; an encrypted one is checked
	 * when it first signs. */
	if (file_exists(ca->key_path)) {
		key = mtls_key_load_file(ca->key_path, NULL, &ca->err);
		if (key == NULL && ca->err.code != MTLS_ERR_PASSPHRASE)
			goto out;
		if (key != NULL && ca_check_key(ca, key->pkey) == -1)
			goto out;
	}
	if (db == NULL && file_exists(ca->db_target)) {
		ca_err(ca, MTLS_ERR_EXISTS, "%s: exists: this CA has an "
		    "inventory already", ca->db_target);
		goto out;
	}
	if ((inv = inv_open(ca->db_target, 1, &ca->err)) == NULL)
		goto out;
	if (ca_bind_inventory(ca, inv) == 0)
		ret = 0;
	inv_close(inv);
out:
	if (ret != 0 && err != NULL)
		*err = ca->err;
	mtls_key_free(key);
	mtls_ca_free(ca);
	return ret;
}

/* The PEM text of x as a heap string. */
static char *
x509_pem(X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *s = NULL;
	long n;

	if (bio == NULL)
		return NULL;
	if (PEM_write_bio_X509(bio, x) &&
	    (n = BIO_get_mem_data(bio, &data)) >= 0 &&
	    (s = malloc((size_t)n + 1)) != NULL) {
		memcpy(s, data, (size_t)n);
		s[n] = '\0';
	}
	BIO_free(bio);
	return s;
}

/* The inventory's kind for a certificate kind. */
static enum inv_kind
ca_inv_kind(enum mtls_cert_kind kind)
{
	switch (kind) {
	case MTLS_CERT_SERVER: return INV_KIND_SERVER;
	case MTLS_CERT_CLIENT: return INV_KIND_CLIENT;
	case MTLS_CERT_CA: return INV_KIND_CA;
	}
	return 0;
}

int
ca_sign_record(struct mtls_ca *ca, X509 *x, enum mtls_cert_kind kind)
{
	struct inv_cert row;
	char *serial = NULL, *subject = NULL, *sans = NULL, *pem = NULL;
	int ret = -1;

	if (ca_load_key(ca) == -1)
		return -1;
	memset(&row, 0, sizeof(row));
	/* The inventory records "" for a certificate without SANs. */
	if ((subject = x509_name_line(X509_get_subject_name(x))) == NULL ||
	    x509_sans_text(x, &sans) != 0 ||
	    (sans == NULL && (sans = strdup("")) == NULL)) {
		ca_err_ssl(ca, MTLS_ERR_NOMEM, "%s: out of memory", ca->dir);
		goto out;
	}
	for (int tries = 0;; tries++) {
		if (tries == CA_SERIAL_TRIES) {
			ca_err(ca, MTLS_ERR_DB, "%s: no unused serial after %d "
			    "tries", inv_name(ca->inv), tries);
			goto out;
		}
		free(serial);
		free(pem);
		serial = pem = NULL;
		if (pki_serial_random(x) == -1 || pki_sign_x509(x, ca->key)) {
			ca_err_ssl(ca, MTLS_ERR_CRYPTO, "%s: cannot sign the "
			    "certificate", ca->key_path);
			goto out;
		}
		if ((serial = x509_serial_hex(X509_get0_serialNumber(x))) ==
		    NULL || (pem = x509_pem(x)) == NULL) {
			ca_err_ssl(ca, MTLS_ERR_NOMEM, "%s: out of memory",
			    ca->dir);
			goto out;
		}
		row.serial = serial;
		row.subject = subject;
		row.sans = sans;
		row.kind = ca_inv_kind(kind);
		if (x509_time(X509_get0_notBefore(x), &row.not_before) != 0 ||
		    x509_time(X509_get0_notAfter(x), &row.not_after) != 0) {
			ca_err(ca, MTLS_ERR_PARSE, "%s: the new certificate's "
			    "validity is unreadable", ca->dir);
			goto out;
		}
		row.pem = pem;
		int r = inv_record(ca->inv, &row);
		if (r == 0)
			break;
		if (r == -1) {
			ca_err_inv(ca);
			goto out;
		}
		/* r == 1: the serial is taken; draw another. */
	}
	ret = 0;
out:
	free(serial);
	free(subject);
	free(sans);
	free(pem);
	return ret;
}

/* SKI by RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey. */
static int
set_ski(X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	ASN1_OCTET_STRING *os = NULL;
	int ok;

	if (!X509_pubkey_digest(x, EVP_sha1(), md, &len))
		return -1;
	if ((os = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(os, md, (int)len)) {
		ASN1_OCTET_STRING_free(os);
		return -1;
	}
	ok = X509_add1_ext_i2d(x, NID_subject_key_identifier, os, 0,
	    X509V3_ADD_DEFAULT);
	ASN1_OCTET_STRING_free(os);
	return ok ? 0 : -1;
}

/* AKI keyIdentifier = the issuer's SKI (or its key hash if it has none). */
static int
set_aki(X509 *x, X509 *issuer)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(issuer);
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	int ok = 0;

	if (akid == NULL)
		return -1;
	if (ski != NULL) {
		akid->keyid = ASN1_OCTET_STRING_dup(ski);
	} else if (X509_pubkey_digest(issuer, EVP_sha1(), md, &len)) {
		if ((akid->keyid = ASN1_OCTET_STRING_new()) != NULL &&
		    !ASN1_OCTET_STRING_set(akid->keyid, md, (int)len)) {
			ASN1_OCTET_STRING_free(akid->keyid);
			akid->keyid = NULL;
		}
	}
	if (akid->keyid != NULL)
		ok = X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0,
		    X509V3_ADD_DEFAULT);
	AUTHORITY_KEYID_free(akid);
	return ok ? 0 : -1;
}

/*
 * The validity window: from now - CA_BACKDATE to now + days, both shifted
 * by offset; notAfter capped at the issuer's notAfter (a certificate cannot
 * outlive its issuer's).  Refused when the issuer has expired or nothing is
 * left of the window.
 */
static int
set_validity(struct mtls_ca *ca, X509 *x, X509 *issuer, int days,
    long offset, long lifetime)
{
	time_t now = time(NULL);
	time_t back = lifetime > 0 && lifetime / 10 < CA_BACKDATE ?
	    lifetime / 10 : CA_BACKDATE;
	time_t nb = now - back + offset;
	time_t na = now + (lifetime > 0 ? (time_t)lifetime :
	    (time_t)days * 86400) + offset;

	if (issuer != NULL) {
		time_t ina;
		if (x509_time(X509_get0_notAfter(issuer), &ina) != 0)
			return ca_err(ca, MTLS_ERR_PARSE, "%s/ca.crt: unreadable"
			    " notAfter", ca->dir);
		if (ina <= now)
			return ca_err(ca, MTLS_ERR_POLICY, "%s/ca.crt: the CA "
			    "certificate has expired", ca->dir);
		if (na > ina)
			na = ina;
		if (na <= nb)
			return ca_err(ca, MTLS_ERR_POLICY, "%s/ca.crt: the CA "
			    "certificate expires before the new one would "
			    "start", ca->dir);
	}
	if (X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &nb) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &na) == NULL)
		return ca_err_ssl(ca, MTLS_ERR_CRYPTO, "cannot set validity");
	return 0;
}

static int
check_days(struct mtls_ca *ca, int days)
{
	if (days < 0 || days > CA_MAX_DAYS)
		return ca_err(ca, MTLS_ERR_USAGE, "%d days: out of range "
		    "(1 to %d)", days, CA_MAX_DAYS);
	return 0;
}

/* The leaf chain for PREFIX.crt: leaf, then the CA certificates except a
 * self-signed root (the relying party has that one already). */
static struct mtls_cert *
ca_leaf_chain(struct mtls_ca *ca, X509 *leaf)
{
	struct mtls_cert *out = calloc(1, sizeof(*out));

	if (out == NULL || (out->certs = sk_X509_new_null()) == NULL)
		goto nomem;
	/* A decoded copy: the object we built has its extension cache from
	 * before the last extensions were added. */
	if ((leaf = X509_dup(leaf)) == NULL)
		goto nomem;
	if (!sk_X509_push(out->certs, leaf)) {
		X509_free(leaf);
		goto nomem;
	}
	for (int i = 0; i < sk_X509_num(ca->cert->certs); i++) {
		X509 *x = sk_X509_value(ca->cert->certs, i);
		if (X509_get_extension_flags(x) & EXFLAG_SS)
			continue;
		if (!sk_X509_push(out->certs, x))
			goto nomem;
		X509_up_ref(x);
	}
	return out;
nomem:
	mtls_cert_free(out);
	ca_err(ca, MTLS_ERR_NOMEM, "%s: out of memory", ca->dir);
	return NULL;
}

/*
 * Builds, signs and records a leaf for pubkey with subject and SANs (gens,
 * may be empty); returns the leaf chain.
 */
static struct mtls_cert *
ca_issue_leaf(struct mtls_ca *ca, EVP_PKEY *pubkey, const X509_NAME *subject,
    GENERAL_NAMES *gens, const struct mtls_issue_options *opt)
{
	struct mtls_cert *out = NULL;
	X509 *x = NULL;
	const char *what = "certificate";
	char why[160];
	int days;

	if (opt == NULL || (opt->kind != MTLS_CERT_SERVER &&
	    opt->kind != MTLS_CERT_CLIENT)) {
		ca_err(ca, MTLS_ERR_USAGE, "a leaf certificate is either "
		    "for a server or for a client");
		return NULL;
	}
	if (check_days(ca, opt->days) == -1)
		return NULL;
	if (opt->lifetime_seconds < 0 ||
	    opt->lifetime_seconds > (long)CA_MAX_DAYS * 86400) {
		ca_err(ca, MTLS_ERR_USAGE, "a lifetime of %ld seconds is out "
		    "of range", opt->lifetime_seconds);
		return NULL;
	}
	if (pki_key_weakness(pubkey, why, sizeof(why)) != NULL) {
		ca_err(ca, MTLS_ERR_POLICY, "%s", why);
		return NULL;
	}
	days = opt->days != 0 ? opt->days : 90;
	if (opt->kind == MTLS_CERT_SERVER && sk_GENERAL_NAME_num(gens) == 0) {
		char *subj = x509_name_line(subject);
		ca_err(ca, MTLS_ERR_USAGE, "%s: a server certificate needs at "
		    "least one DNS name or IP address, and the common name is "
		    "not a host name", subj != NULL && *subj != '\0' ? subj :
		    "(empty subject)");
		free(subj);
		return NULL;
	}
	if (X509_NAME_entry_count(subject) == 0 &&
	    sk_GENERAL_NAME_num(gens) == 0) {
		ca_err(ca, MTLS_ERR_USAGE, "a certificate needs a subject or "
		    "a SAN");
		return NULL;
	}
	if (ca_load_key(ca) == -1)
		return NULL;
	if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_subject_name(x, subject) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(ca->x509)) ||
	    !X509_set_pubkey(x, pubkey))
		goto ssl_fail;
	if (set_validity(ca, x, ca->x509, days, ca->clock_offset,
	    opt->lifetime_seconds) == -1)
		goto out;
	int rsa = EVP_PKEY_is_a(pubkey, "RSA");
	what = "extensions";
	if (pki_add_ext(x, NULL, NID_basic_constraints, "critical,CA:FALSE") ||
	    pki_add_ext(x, NULL, NID_key_usage, rsa ?
	    "critical,digitalSignature,keyEncipherment" :
	    "critical,digitalSignature") ||
	    pki_add_ext(x, NULL, NID_ext_key_usage,
	    opt->kind == MTLS_CERT_SERVER ? "serverAuth" : "clientAuth") ||
	    set_ski(x) || set_aki(x, ca->x509))
		goto ssl_fail;
	/* RFC 5280 4.2.1.6: critical when the subject is empty. */
	if (sk_GENERAL_NAME_num(gens) > 0 && !X509_add1_ext_i2d(x,
	    NID_subject_alt_name, gens, X509_NAME_entry_count(subject) == 0,
	    X509V3_ADD_DEFAULT))
		goto ssl_fail;
	if (ca_sign_record(ca, x, opt->kind) == -1)
		goto out;
	out = ca_leaf_chain(ca, x);
	goto out;
ssl_fail:
	ca_err_ssl(ca, MTLS_ERR_CRYPTO, "%s: cannot build the %s", ca->dir,
	    what);
out:
	X509_free(x);
	return out;
}

struct mtls_cert *
mtls_ca_issue(struct mtls_ca *ca, const struct mtls_key *key,
    const struct mtls_names *names, const struct mtls_issue_options *opt)
{
	struct mtls_cert *out = NULL;
	GENERAL_NAMES *gens = NULL;
	X509_NAME *subj = NULL;

	if (ca == NULL)
		return NULL;
	if (key == NULL || key->pkey == NULL || names == NULL ||
	    names->common_name == NULL || *names->common_name == '\0') {
		ca_err(ca, MTLS_ERR_USAGE, "a certificate needs a key and a "
		    "name");
		return NULL;
	}
	if ((gens = pki_names_san(names, &ca->err)) == NULL)
		return NULL;
	if ((subj = X509_NAME_new()) == NULL ||
	    !X509_NAME_add_entry_by_NID(subj, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)names->common_name, -1, -1, 0)) {
		ca_err_ssl(ca, MTLS_ERR_USAGE, "%s: not a valid common name",
		    names->common_name);
		goto out;
	}
	out = ca_issue_leaf(ca, key->pkey, subj, gens, opt);
out:
	X509_NAME_free(subj);
	GENERAL_NAMES_free(gens);
	return out;
}

/* The display name of a CSR in messages: its CN, else "CSR". */
static void
csr_label(const X509_REQ *req, char *buf, size_t len)
{
	char *cn = x509_name_cn_utf8(X509_REQ_get_subject_name(req));

	snprintf(buf, len, "CSR %s", cn != NULL ? cn : "(no CN)");
	free(cn);
}

/*
 * The SANs to put in a certificate for req: the DNS, IP, URI and e-mail
 * names of its subjectAltName request, each checked, plus the CN under the
 * rule of pki_san_add_cn().  A CSR asking for a CA certificate is refused;
 * every other requested extension is ignored.
 */
static GENERAL_NAMES *
csr_sans(struct mtls_ca *ca, X509_REQ *req, const char *label)
{
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES *req_gens = NULL, *gens = NULL;
	BASIC_CONSTRAINTS *bc = NULL;
	char why[160], *cn = NULL;
	int crit = -1;

	exts = X509_REQ_get_extensions(req);
	if (exts == NULL && X509_REQ_get_attr_by_NID(req, NID_ext_req, -1) >=
	    0) {
		ca_err_ssl(ca, MTLS_ERR_PARSE, "%s: malformed extension "
		    "request", label);
		return NULL;
	}
	bc = X509V3_get_d2i(exts, NID_basic_constraints, &crit, NULL);
	if (bc == NULL && crit != -1) {
		/* Repeated or undecodable: it might be a CA request. */
		ca_err_ssl(ca, MTLS_ERR_POLICY, "%s: malformed basicConstraints "
		    "request", label);
		goto out;
	}
	if (bc != NULL && bc->ca) {
		ca_err(ca, MTLS_ERR_POLICY, "%s: requests a CA certificate "
		    "(CA:TRUE), which is never granted", label);
		goto out;
	}
	req_gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	if (req_gens == NULL && crit != -1) {
		ca_err(ca, MTLS_ERR_PARSE, "%s: malformed subjectAltName "
		    "request", label);
		goto out;
	}
	if ((gens = sk_GENERAL_NAME_new_null()) == NULL)
		goto nomem;
	for (int i = 0; i < sk_GENERAL_NAME_num(req_gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(req_gens, i);
		GENERAL_NAME *copy;

		if (pki_san_check(g, why, sizeof(why)) != NULL) {
			ca_err(ca, MTLS_ERR_POLICY, "%s: %s", label, why);
			goto fail;
		}
		if ((copy = GENERAL_NAME_dup(g)) == NULL)
			goto nomem;
		if (!sk_GENERAL_NAME_push(gens, copy)) {
			GENERAL_NAME_free(copy);
			goto nomem;
		}
	}
	cn = x509_name_cn_utf8(X509_REQ_get_subject_name(req));
	if (pki_san_add_cn(gens, cn) == -1)
		goto nomem;
	goto out;
nomem:
	ca_err_ssl(ca, MTLS_ERR_NOMEM, "%s: out of memory", label);
fail:
	GENERAL_NAMES_free(gens);
	gens = NULL;
out:
	free(cn);
	BASIC_CONSTRAINTS_free(bc);
	GENERAL_NAMES_free(req_gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return gens;
}

struct mtls_cert *
mtls_ca_sign_csr(struct mtls_ca *ca, const struct mtls_csr *csr,
    const struct mtls_issue_options *opt)
{
	struct mtls_cert *out = NULL;
	GENERAL_NAMES *gens = NULL;
	char label[160], why[160];
	EVP_PKEY *pub;

	if (ca == NULL)
		return NULL;
	if (csr == NULL || csr->req == NULL) {
		ca_err(ca, MTLS_ERR_USAGE, "no CSR given");
		return NULL;
	}
	csr_label(csr->req, label, sizeof(label));
	if ((pub = X509_REQ_get0_pubkey(csr->req)) == NULL) {
		ca_err_ssl(ca, MTLS_ERR_PARSE, "%s: unreadable public key",
		    label);
		return NULL;
	}
	if (pki_key_weakness(pub, why, sizeof(why)) != NULL) {
		ca_err(ca, MTLS_ERR_POLICY, "%s: %s", label, why);
		return NULL;
	}
	/* Proof of possession (RFC 2986 section 3): the requester holds the
	 * private key and the request was not altered. */
	if (X509_REQ_verify(csr->req, pub) != 1) {
		ca_err_ssl(ca, MTLS_ERR_POLICY, "%s: its signature does not "
		    "verify", label);
		return NULL;
	}
	if ((gens = csr_sans(ca, csr->req, label)) == NULL)
		return NULL;
	out = ca_issue_leaf(ca, pub, X509_REQ_get_subject_name(csr->req), gens,
	    opt);
	GENERAL_NAMES_free(gens);
	return out;
}

/* ------------------------------------------------------------------ */
/* Creating a CA                                                      */
/* ------------------------------------------------------------------ */

/* What mtls_ca_create made so far, to undo it on failure. */
struct created {
	int dir;
	char *files[6];
	size_t nfiles;
	char *parent_serial; /* recorded in the parent's ca.db */
};

static int
remember(struct created *c, char *path)
{
	if (path == NULL)
		return -1;
	c->files[c->nfiles++] = path;
	return 0;
}

static int
ca_exists(const char *dir)
{
	static const char *const names[] = { "ca.key", "ca.crt", "ca.db",
	    "chain.crt" };
	char path[4096];

	for (size_t i = 0; i < nitems(names); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) <
		    (int)sizeof(path) && file_exists(path))
			return 1;
	}
	return 0;
}

/* Builds the CA certificate for ca (its key in ca->key) under parent, or
 * self-signed; records it in the parent's ca.db. */
static X509 *
ca_make_cert(struct mtls_ca *ca, struct mtls_ca *parent, const char *name,
    int days, struct created *made)
{
	X509_NAME *subj = NULL;
	X509 *x = NULL;

	if ((subj = X509_NAME_new()) == NULL ||
	    !X509_NAME_add_entry_by_NID(subj, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)name, -1, -1, 0)) {
		ca_err_ssl(ca, MTLS_ERR_USAGE, "%s: not a valid CA name (a "
		    "common name of 1 to 64 characters)", name);
		goto fail;
	}
	if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_subject_name(x, subj) ||
	    !X509_set_issuer_name(x, parent != NULL ?
	    X509_get_subject_name(parent->x509) : subj) ||
	    !X509_set_pubkey(x, ca->key)) {
		ca_err_ssl(ca, MTLS_ERR_CRYPTO, "%s: cannot build the CA "
		    "certificate", ca->dir);
		goto fail;
	}
	if (parent != NULL) {
		if (set_validity(parent, x, parent->x509, days, 0, 0) == -1) {
			ca->err = parent->err;
			goto fail;
		}
	} else if (set_validity(ca, x, NULL, days, 0, 0) == -1) {
		goto fail;
	}
	/* An intermediate may sign only leaves (pathLen:0): the root stays
	 * offline and a stolen intermediate cannot mint further CAs. */
	if (pki_add_ext(x, NULL, NID_basic_constraints, parent != NULL ?
	    "critical,CA:TRUE,pathlen:0" : "critical,CA:TRUE") ||
	    pki_add_ext(x, NULL, NID_key_usage, "critical,keyCertSign,cRLSign")
	    || set_ski(x) || set_aki(x, parent != NULL ? parent->x509 : x)) {
		ca_err_ssl(ca, MTLS_ERR_CRYPTO, "%s: cannot build the CA "
		    "certificate extensions", ca->dir);
		goto fail;
	}
	if (parent != NULL) {
		if (ca_sign_record(parent, x, MTLS_CERT_CA) == -1) {
			ca->err = parent->err;
			goto fail;
		}
		made->parent_serial = x509_serial_hex(X509_get0_serialNumber(x));
		if (made->parent_serial == NULL) {
			ca_err(ca, MTLS_ERR_NOMEM, "out of memory");
			goto fail;
		}
	} else if (pki_serial_random(x) == -1 || pki_sign_x509(x, ca->key)) {
		ca_err_ssl(ca, MTLS_ERR_CRYPTO, "%s: cannot sign the CA "
		    "certificate", ca->dir);
		goto fail;
	}
	X509_NAME_free(subj);
	/* A decoded copy, with its extension cache computed afresh. */
	X509 *copy = X509_dup(x);
	if (copy == NULL)
		ca_err_ssl(ca, MTLS_ERR_NOMEM, "%s: out of memory", ca->dir);
	X509_free(x);
	return copy;
fail:
	X509_NAME_free(subj);
	X509_free(x);
	return NULL;
}

struct mtls_ca *
mtls_ca_create(const struct mtls_ca_options *opt, struct mtls_error *err)
{
	struct mtls_ca *ca = NULL, *parent = NULL;
	struct mtls_key *key = NULL, keyref;
	struct created made;
	X509 *x = NULL;
	const char *name;
	int days, ok = 0;

	memset(&made, 0, sizeof(made));
	if (opt == NULL || opt->dir == NULL || *opt->dir == '\0') {
		err_set(err, MTLS_ERR_USAGE, "no CA directory given");
		return NULL;
	}
	if ((ca = ca_alloc(opt->dir, NULL, opt->passphrase, err)) == NULL)
		return NULL;
	name = opt->name != NULL ? opt->name : opt->parent_dir != NULL ?
	    "mtls Intermediate CA" : "mtls Root CA";
	if (*name == '\0') {
		ca_err(ca, MTLS_ERR_USAGE, "the CA name is empty");
		goto out;
	}
	/* The same check as every other name. */
	if (pki_cn_check(name, err) != 0) {
		ca_err(ca, err->code, "%s", err->msg);
		goto out;
	}
	if (check_days(ca, opt->days) == -1)
		goto out;
	days = opt->days != 0 ? opt->days : opt->parent_dir != NULL ? 1825 :
	    3650;
	if (ca_exists(opt->dir)) {
		ca_err(ca, MTLS_ERR_EXISTS, "%s: a CA already exists here",
		    opt->dir);
		goto out;
	}
	if (opt->parent_dir != NULL) {
		struct mtls_error perr;

		if ((parent = mtls_ca_open(opt->parent_dir,
		    opt->parent_passphrase, &perr)) == NULL) {
			ca->err = perr;
			goto out;
		}
		if (X509_get_pathlen(parent->x509) == 0) {
			ca_err(ca, MTLS_ERR_POLICY, "%s: this CA has pathLen:0 "
			    "and cannot sign another CA", opt->parent_dir);
			goto out;
		}
		if (ca_load_key(parent) == -1) {
			ca->err = parent->err;
			goto out;
		}
	}
	if (mkdir(opt->dir, 0700) == 0) {
		made.dir = 1;
	} else if (errno != EEXIST) {
		ca_err(ca, MTLS_ERR_IO, "%s: cannot create: %s", opt->dir,
		    strerror(errno));
		goto out;
	}
	if ((key = mtls_key_generate(opt->key_type, &ca->err)) == NULL)
		goto out;
	ca->key = key->pkey;
	key->pkey = NULL;
	if ((x = ca_make_cert(ca, parent, name, days, &made)) == NULL)
		goto out;

	/* The files: key first (the certificate is useless without it). */
	keyref.pkey = ca->key;
	if (mtls_key_write_file(&keyref, ca->key_path, opt->passphrase, 0,
	    &ca->err) == -1)
		goto out;
	if (remember(&made, strdup(ca->key_path)) == -1)
		goto nomem;
	ca->key_encrypted = opt->passphrase != NULL;
	if ((ca->cert = calloc(1, sizeof(*ca->cert))) == NULL ||
	    (ca->cert->certs = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(ca->cert->certs, x))
		goto nomem;
	ca->x509 = x;
	x = NULL;
	char *crt = pki_path(opt->dir, "ca.crt");
	if (remember(&made, crt) == -1)
		goto nomem;
	if (mtls_cert_write_file(ca->cert, crt, 0, &ca->err) == -1) {
		made.nfiles--;
		free(crt);
		goto out;
	}
	if (parent != NULL) {
		/* chain.crt: this CA, then the parent's chain up to and
		 * including the root, for verifiers that want it all. */
		for (int i = 0; i < sk_X509_num(parent->cert->certs); i++) {
			X509 *p = sk_X509_value(parent->cert->certs, i);
			if (!sk_X509_push(ca->cert->certs, p))
				goto nomem;
			X509_up_ref(p);
		}
		char *chn = pki_path(opt->dir, "chain.crt");
		if (remember(&made, chn) == -1)
			goto nomem;
		if (mtls_cert_write_file(ca->cert, chn, 0, &ca->err) == -1) {
			made.nfiles--;
			free(chn);
			goto out;
		}
	}
	/* ca.db, with its write-ahead log files when a failure leaves them. */
	if (remember(&made, strdup(ca->db_target)) == -1 ||
	    remember(&made, pki_path(opt->dir, "ca.db-wal")) == -1 ||
	    remember(&made, pki_path(opt->dir, "ca.db-shm")) == -1)
		goto nomem;
	if ((ca->inv = inv_open(ca->db_target, 1, &ca->err)) == NULL ||
	    ca_bind_inventory(ca, ca->inv) == -1)
		goto out;
	ok = 1;
	goto out;
nomem:
	ca_err(ca, MTLS_ERR_NOMEM, "%s: out of memory", opt->dir);
out:
	if (!ok) {
		inv_close(ca->inv);
		ca->inv = NULL;
		for (size_t i = made.nfiles; i > 0; i--)
			unlink(made.files[i - 1]);
		if (made.dir)
			rmdir(opt->dir);
		if (made.parent_serial != NULL)
			(void)inv_forget(parent->inv, made.parent_serial);
		if (err != NULL)
			*err = ca->err;
		mtls_ca_free(ca);
		ca = NULL;
	} else {
		err_clear(&ca->err);
	}
	for (size_t i = 0; i < made.nfiles; i++)
		free(made.files[i]);
	free(made.parent_serial);
	X509_free(x);
	mtls_key_free(key);
	mtls_ca_free(parent);
	return ca;
}

struct list_arg {
	int (*fn)(const struct mtls_ca_record *rec, void *arg);
	void *arg;
	time_t now;
};

/* An inventory row as the public record. */
static int
list_row(const struct inv_cert *c, void *arg)
{
	struct list_arg *a = arg;
	struct mtls_ca_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.serial = c->serial;
	rec.subject = c->subject;
	rec.sans = c->sans;
	rec.kind = c->kind == INV_KIND_SERVER ? MTLS_CERT_SERVER :
	    c->kind == INV_KIND_CLIENT ? MTLS_CERT_CLIENT : MTLS_CERT_CA;
	rec.not_before = c->not_before;
	rec.not_after = c->not_after;
	rec.superseded_by = c->superseded_by;
	if (c->status == INV_STATUS_REVOKED) {
		rec.status = MTLS_STATUS_REVOKED;
		rec.revoked_at = c->revoked_at;
		rec.reason = (enum mtls_revoke_reason)c->reason;
	} else {
		rec.status = c->not_after < a->now ? MTLS_STATUS_EXPIRED :
		    MTLS_STATUS_VALID;
	}
	return a->fn(&rec, a->arg);
}

int
mtls_ca_list(struct mtls_ca *ca,
    int (*fn)(const struct mtls_ca_record *rec, void *arg), void *arg)
{
	struct list_arg a = { fn, arg, time(NULL) };

	if (ca == NULL)
		return -1;
	if (fn == NULL)
		return ca_err(ca, MTLS_ERR_USAGE, "no callback given");
	if (inv_list(ca->inv, list_row, &a) == -1)
		return ca_err_inv(ca);
	return 0;
}
