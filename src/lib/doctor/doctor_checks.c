/*
 * doctor_checks.c - the local checks of the diagnosis: the files (there,
 * readable, the right kind of object), the key, the order of the chain, the
 * chain against the CA file, validity, usage for the role, names,
 * algorithms, and revocation.  Each check adds findings and never stops the
 * others: a broken key does not hide an expired certificate.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "doctor/doctor.h"
#include "x509/inspect.h"

/* A certificate starting less than this far in the future was most
 * likely issued just now by a machine whose clock runs ahead of ours. */
#define CLOCK_SKEW_MAX (2 * 24 * 3600L)

/* Chains longer than this are not followed (a bound on loops). */
#define CHAIN_MAX 10

/* ------------------------------------------------------------------ */
/* Small helpers                                                      */
/* ------------------------------------------------------------------ */

const char *
doctor_name_line(const X509_NAME *name, char *buf, size_t len)
{
	char *s = name != NULL ? x509_name_line(name) : NULL;

	snprintf(buf, len, "%s", s != NULL && *s != '\0' ? s : "(empty name)");
	free(s);
	return buf;
}

const char *
doctor_cert_name(const X509 *x, char *buf, size_t len)
{
	return doctor_name_line(X509_get_subject_name(x), buf, len);
}

const char *
doctor_duration(long secs, char *buf, size_t len)
{
	if (secs < 0)
		secs = -secs;
	if (secs >= 2 * 86400L)
		snprintf(buf, len, "%ld days", secs / 86400L);
	else if (secs >= 2 * 3600L)
		snprintf(buf, len, "%ld hours", secs / 3600L);
	else if (secs >= 120)
		snprintf(buf, len, "%ld minutes", secs / 60);
	else
		snprintf(buf, len, "%ld seconds", secs);
	return buf;
}

const char *
date_text(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
	return buf;
}

/* 1 when issuer issued x: names, key identifiers and the signature. */
int
cert_issued_by(X509 *x, X509 *issuer)
{
	EVP_PKEY *pub;
	int ok;

	if (X509_check_issued(issuer, x) != X509_V_OK)
		return 0;
	if ((pub = X509_get0_pubkey(issuer)) == NULL) {
		ERR_clear_error();
		return 0;
	}
	ok = X509_verify(x, pub) == 1;
	ERR_clear_error();
	return ok;
}

/* Signed by its own key under its own name.  Not X509_check_issued(x, x):
 * that also wants keyCertSign, which a self-signed leaf made with
 * "openssl req -x509 -addext keyUsage=digitalSignature" lacks. */
static int
cert_self_signed(X509 *x)
{
	EVP_PKEY *pub;
	int ok;

	if (X509_NAME_cmp(X509_get_subject_name(x),
	    X509_get_issuer_name(x)) != 0 || (pub = X509_get0_pubkey(x)) ==
	    NULL) {
		ERR_clear_error();
		return 0;
	}
	ok = X509_verify(x, pub) == 1;
	ERR_clear_error();
	return ok;
}

/* A CA's own certificate: CA:TRUE and allowed to sign certificates. */
static int
cert_is_ca(X509 *x)
{
	uint32_t flags = X509_get_extension_flags(x);

	return (flags & EXFLAG_CA) && (!(flags & EXFLAG_KUSAGE) ||
	    (X509_get_key_usage(x) & KU_KEY_CERT_SIGN));
}

/* The issuer of x among pool (never x itself), or NULL. */
X509 *
find_issuer(X509 *x, STACK_OF(X509) *pool)
{
	for (int i = 0; pool != NULL && i < sk_X509_num(pool); i++) {
		X509 *c = sk_X509_value(pool, i);
		if (X509_cmp(c, x) != 0 && cert_issued_by(x, c))
			return c;
	}
	return NULL;
}

static int
stack_has(STACK_OF(X509) *sk, X509 *x)
{
	for (int i = 0; sk != NULL && i < sk_X509_num(sk); i++)
		if (X509_cmp(sk_X509_value(sk, i), x) == 0)
			return 1;
	return 0;
}

/* The names of every certificate of sk, "; "-separated, for messages. */
static const char *
stack_names(STACK_OF(X509) *sk, char *buf, size_t len)
{
	char one[256];
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; sk != NULL && i < sk_X509_num(sk) && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s",
		    i > 0 ? "; " : "",
		    doctor_cert_name(sk_X509_value(sk, i), one, sizeof(one)));
		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "no certificate");
	return buf;
}

/* Seconds since the epoch of t, or 0 when it cannot be read. */
time_t
asn1_time(const ASN1_TIME *t)
{
	time_t v;

	return x509_time(t, &v) == 0 ? v : 0;
}

/* ------------------------------------------------------------------ */
/* Files                                                              */
/* ------------------------------------------------------------------ */

/*
 * Reads path for the role what ("certificate", "key", "CA", "CRL").
 * Adds file-missing / file-unreadable and returns -1 when it cannot.
 */
static int
read_input(struct mtls_doctor *d, const char *what, const char *path,
    char **buf, size_t *len)
{
	struct mtls_error err;
	struct stat sb;
	int fd;

	*buf = NULL;
	*len = 0;
	if (stat(path, &sb) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			doctor_add(d, DR_FILE_MISSING, path, what, path, NULL);
		else
			doctor_add(d, DR_FILE_UNREADABLE, path, what, path,
			    strerror(errno), NULL);
		return -1;
	}
	if (S_ISDIR(sb.st_mode)) {
		doctor_add(d, DR_FILE_UNREADABLE, path, what, path,
		    "it is a directory", NULL);
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		doctor_add(d, DR_FILE_UNREADABLE, path, what, path,
		    strerror(errno), NULL);
		return -1;
	}
	close(fd);
	err_clear(&err);
	if (file_read(path, MTLS_MAX_INPUT, buf, len, &err) != 0) {
		const char *why = err.msg;
		size_t n = strlen(path);
		if (strncmp(why, path, n) == 0 &&
		    strncmp(why + n, ": ", 2) == 0)
			why += n + 2;
		doctor_add(d, DR_FILE_UNREADABLE, path, what, path, why, NULL);
		return -1;
	}
	return 0;
}

/* What a file of the role what should have been, for the fix sentence. */
static const char *
wanted_hint(enum mtls_object_kind want, enum mtls_object_kind got)
{
	if (got == MTLS_OBJECT_PKCS12)
		return "Extract what the option needs from the bundle: openssl "
		    "pkcs12 -in FILE -clcerts -nokeys for the certificate, "
		    "-nocerts -noenc for the key";
	if (got == MTLS_OBJECT_CSR && want == MTLS_OBJECT_CERT)
		return "A CSR is only a request: have the CA sign it and give "
		    "the certificate it returns";
	switch (want) {
	case MTLS_OBJECT_CERT:
		return "Give the certificate (BEGIN CERTIFICATE) here, and the "
		    "key as the key file";
	case MTLS_OBJECT_KEY:
		return "Give the private key (BEGIN PRIVATE KEY) here, and the "
		    "certificate as the certificate file";
	case MTLS_OBJECT_CRL:
		return "Give the CRL itself, as its CA publishes it";
	default:
		return "Check which file the option expects";
	}
}

/*
 * Reads and identifies the file of role what; o holds its objects.
 * Returns 0 when it holds at least one object of kind want; otherwise adds
 * a finding and returns -1.  The raw buffer is kept in *raw for the key.
 */
static int
load_objects(struct mtls_doctor *d, const char *what, const char *path,
    enum mtls_object_kind want, struct x509_objects *o, char **raw,
    size_t *rawlen)
{
	struct mtls_error err;
	size_t have = 0;
	char *buf;
	size_t len;

	memset(o, 0, sizeof(*o));
	if (read_input(d, what, path, &buf, &len) != 0)
		return -1;
	err_clear(&err);
	if (len == 0) {
		doctor_add(d, DR_NOT_PEM_OR_DER, path, what, path,
		    "the file is empty", NULL);
		goto fail;
	}
	if (x509_objects_read(buf, len, path, o, &err) != 0) {
		doctor_add(d, DR_NOT_PEM_OR_DER, path, what, path, err.msg,
		    NULL);
		goto fail;
	}
	switch (want) {
	case MTLS_OBJECT_CERT: have = o->c.ncerts; break;
	case MTLS_OBJECT_KEY: have = o->c.nkeys; break;
	case MTLS_OBJECT_CRL: have = o->c.ncrls; break;
	default: break;
	}
	if (o->c.first == MTLS_OBJECT_NONE) {
		doctor_add(d, DR_NOT_PEM_OR_DER, path, what, path,
		    "no PEM block or DER object that TLS uses was found in it",
		    NULL);
		goto fail;
	}
	if (have == 0) {
		doctor_add(d, DR_WRONG_OBJECT_KIND, path, what, path,
		    mtls_object_kind_name(o->c.first),
		    mtls_object_kind_name(want),
		    wanted_hint(want, o->c.first), NULL);
		goto fail;
	}
	if (raw != NULL) {
		*raw = buf;
		*rawlen = len;
	} else {
		file_free(buf, len);
	}
	return 0;
fail:
	x509_objects_clear(o);
	file_free(buf, len);
	return -1;
}

static void
files_ok(struct mtls_doctor *d, const char *what, const char *path,
    size_t n, const char *one, const char *many)
{
	char text[96];

	if (n == 1)
		snprintf(text, sizeof(text), "%s", one);
	else
		snprintf(text, sizeof(text), "%zu %s", n, many);
	doctor_add(d, DR_OK_FILES, path, what, path, text, NULL);
}

/* A file of certificates (what: its role in messages) into *certs. */
static int
load_cert_file(struct mtls_doctor *d, const char *what, const char *path,
    STACK_OF(X509) **certs)
{
	struct x509_objects o;

	if (load_objects(d, what, path, MTLS_OBJECT_CERT, &o, NULL,
	    NULL) != 0)
		return 0;
	*certs = o.certs;
	o.certs = NULL;
	x509_objects_clear(&o);
	files_ok(d, what, path, (size_t)sk_X509_num(*certs),
	    "a certificate", "certificates");
	return 1;
}

static void
load_certs(struct mtls_doctor *d, struct doctor_state *st)
{
	st->cert_ok = load_cert_file(d, "certificate", st->opt->cert_file,
	    &st->certs);
}

static void
load_cas(struct mtls_doctor *d, struct doctor_state *st)
{
	st->ca_ok = load_cert_file(d, "CA", st->opt->ca_file, &st->cas);
}

static void
load_crls(struct mtls_doctor *d, struct doctor_state *st)
{
	const char *path = st->opt->crl_file;
	struct x509_objects o;

	if (load_objects(d, "CRL", path, MTLS_OBJECT_CRL, &o, NULL,
	    NULL) != 0)
		return;
	st->crls = o.crls;
	o.crls = NULL;
	x509_objects_clear(&o);
	st->crl_ok = 1;
	files_ok(d, "CRL", path, (size_t)sk_X509_CRL_num(st->crls), "a CRL",
	    "CRLs");
}

static void
load_key(struct mtls_doctor *d, struct doctor_state *st)
{
	const char *path = st->opt->key_file;
	struct x509_objects o;
	struct mtls_error err;
	struct mtls_key *key;
	struct stat sb;
	char *buf;
	size_t len;

	if (load_objects(d, "key", path, MTLS_OBJECT_KEY, &o, &buf,
	    &len) != 0)
		return;
	x509_objects_clear(&o);
	if (stat(path, &sb) == 0 && (sb.st_mode & 077) != 0) {
		char mode[16];
		snprintf(mode, sizeof(mode), "%04o",
		    (unsigned)(sb.st_mode & 07777));
		doctor_add(d, DR_KEY_PERMISSIONS, path, path, mode, NULL);
	}
	err_clear(&err);
	key = mtls_key_load_mem(buf, len, st->opt->passphrase, path, &err);
	file_free(buf, len);
	if (key == NULL) {
		if (err.code == MTLS_ERR_PASSPHRASE &&
		    st->opt->passphrase == NULL)
			doctor_add(d, DR_KEY_ENCRYPTED_NO_PASSPHRASE, path,
			    path, NULL);
		else if (err.code == MTLS_ERR_PASSPHRASE)
			doctor_add(d, DR_KEY_WRONG_PASSPHRASE, path, path,
			    NULL);
		else
			doctor_add(d, DR_NOT_PEM_OR_DER, path, "key", path,
			    err.msg, NULL);
		return;
	}
	st->key = key->pkey;
	key->pkey = NULL;
	mtls_key_free(key);
	st->key_ok = 1;
	files_ok(d, "key", path, 1, "a private key", "private keys");
}

/* ------------------------------------------------------------------ */
/* The order of the certificate file                                  */
/* ------------------------------------------------------------------ */

/*
 * Finds the leaf of the certificate file and puts its chain in order
 * (leaf, then each issuer found in the file); reports a wrong order and
 * certificates that belong to no chain.  Returns the ordered chain.
 */
static STACK_OF(X509) *
order_chain(struct mtls_doctor *d, struct doctor_state *st)
{
	STACK_OF(X509) *certs = st->certs, *chain;
	const char *path = st->opt->cert_file;
	char a[256], b[256], why[640];
	int n = sk_X509_num(certs), leaf_at = 0;
	X509 *cur;

	/* The leaf issued none of the others; the first such one wins. */
	if (n > 1) {
		leaf_at = -1;
		for (int i = 0; i < n && leaf_at < 0; i++) {
			X509 *x = sk_X509_value(certs, i);
			int issues = 0;
			for (int j = 0; j < n && !issues; j++)
				if (j != i && cert_issued_by(
				    sk_X509_value(certs, j), x))
					issues = 1;
			if (!issues)
				leaf_at = i;
		}
		if (leaf_at < 0)
			leaf_at = 0;
	}
	if ((chain = sk_X509_new_null()) == NULL)
		return NULL;
	cur = sk_X509_value(certs, leaf_at);
	while (cur != NULL && sk_X509_num(chain) < CHAIN_MAX) {
		if (!sk_X509_push(chain, cur))
			break;
		if (cert_self_signed(cur))
			break;
		X509 *next = find_issuer(cur, certs);
		if (next != NULL && stack_has(chain, next))
			break;
		cur = next;
	}
	st->leaf = sk_X509_value(chain, 0);

	if (leaf_at != 0) {
		snprintf(why, sizeof(why), "the leaf %s is certificate %d of "
		    "%d, after %s", doctor_cert_name(st->leaf, a, sizeof(a)),
		    leaf_at + 1, n, doctor_cert_name(sk_X509_value(certs, 0),
		    b, sizeof(b)));
		doctor_add(d, DR_CHAIN_WRONG_ORDER, path, path, why, NULL);
	} else {
		for (int i = 1; i < sk_X509_num(chain); i++) {
			if (sk_X509_value(certs, i) == sk_X509_value(chain, i))
				continue;
			snprintf(why, sizeof(why), "%s, the issuer of %s, "
			    "should come right after it",
			    doctor_cert_name(sk_X509_value(chain, i), a,
			    sizeof(a)), doctor_cert_name(sk_X509_value(chain,
			    i - 1), b, sizeof(b)));
			doctor_add(d, DR_CHAIN_WRONG_ORDER, path, path, why,
			    NULL);
			break;
		}
	}
	for (int i = 0; i < n; i++) {
		X509 *x = sk_X509_value(certs, i);
		if (!stack_has(chain, x))
			doctor_add(d, DR_CHAIN_EXTRA_CERT, path, path,
			    doctor_cert_name(x, a, sizeof(a)), NULL);
	}
	return chain;
}

/* ------------------------------------------------------------------ */
/* One certificate and its chain                                      */
/* ------------------------------------------------------------------ */

/* Validity of every certificate of certs; 1 when all are fine. */
static int
check_validity(struct mtls_doctor *d, const struct doctor_state *st,
    STACK_OF(X509) *certs, const char *subject)
{
	char name[256], when[64], dur[64];
	int ok = 1;

	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);
		time_t nb = asn1_time(X509_get0_notBefore(x));
		time_t na = asn1_time(X509_get0_notAfter(x));

		doctor_cert_name(x, name, sizeof(name));
		if (nb > st->now) {
			long ahead = (long)(nb - st->now);
			ok = 0;
			doctor_add(d, DR_CERT_NOT_YET_VALID, subject, name,
			    subject, date_text(nb, when, sizeof(when)),
			    doctor_duration(ahead, dur, sizeof(dur)), NULL);
			if (ahead <= CLOCK_SKEW_MAX)
				doctor_add(d, DR_CLOCK_SKEW, subject, name,
				    dur, NULL);
		}
		if (na != 0 && na < st->now) {
			ok = 0;
			doctor_add(d, DR_CERT_EXPIRED, subject, name, subject,
			    date_text(na, when, sizeof(when)),
			    doctor_duration((long)(st->now - na), dur,
			    sizeof(dur)), NULL);
		} else if (na != 0 &&
		    na - st->now < (time_t)st->warn_days * 86400) {
			ok = 0;
			doctor_add(d, DR_CERT_EXPIRES_SOON, subject, name,
			    subject, date_text(na, when, sizeof(when)),
			    doctor_duration((long)(na - st->now), dur,
			    sizeof(dur)), NULL);
		}
	}
	return ok;
}

static char *
eku_text(X509 *x)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage,
	    NULL, NULL);
	char *s;

	if (eku == NULL)
		return NULL;
	s = x509_eku_text(eku);
	EXTENDED_KEY_USAGE_free(eku);
	return s;
}

static char *
ku_text(X509 *x)
{
	ASN1_BIT_STRING *ku = X509_get_ext_d2i(x, NID_key_usage, NULL, NULL);
	char *s;

	if (ku == NULL)
		return NULL;
	s = x509_key_usage_text(ku);
	ASN1_BIT_STRING_free(ku);
	return s;
}

static void
check_usage(struct mtls_doctor *d, X509 *leaf, const char *subject,
    enum mtls_purpose role)
{
	uint32_t flags = X509_get_extension_flags(leaf);
	uint32_t xku = X509_get_extended_key_usage(leaf);
	char name[256];
	int ok = 1;

	doctor_cert_name(leaf, name, sizeof(name));
	if ((flags & EXFLAG_XKUSAGE) && role == MTLS_PURPOSE_CLIENT &&
	    !(xku & XKU_SSL_CLIENT)) {
		char *t = eku_text(leaf);
		doctor_add(d, DR_USAGE_NO_CLIENTAUTH, subject, name, subject,
		    t != NULL ? t : "?", NULL);
		free(t);
		ok = 0;
	}
	if ((flags & EXFLAG_XKUSAGE) && role == MTLS_PURPOSE_SERVER &&
	    !(xku & XKU_SSL_SERVER)) {
		char *t = eku_text(leaf);
		doctor_add(d, DR_USAGE_NO_SERVERAUTH, subject, name, subject,
		    t != NULL ? t : "?", NULL);
		free(t);
		ok = 0;
	}
	if ((flags & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE)) {
		char *t = ku_text(leaf);
		doctor_add(d, DR_USAGE_NO_DIGITALSIGNATURE, subject, name,
		    subject, t != NULL ? t : "?", NULL);
		free(t);
		ok = 0;
	}
	if (ok)
		doctor_add(d, DR_OK_USAGE, subject, name,
		    role == MTLS_PURPOSE_CLIENT ? "client" :
		    role == MTLS_PURPOSE_SERVER ? "server" : "TLS", NULL);
}

/* Matches name (DNS name or IP literal) against the SANs only, as the
 * library's clients do (no partial wildcards, never the CN). */
static int
name_matches(X509 *leaf, const char *name)
{
	unsigned int flags = X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
	    X509_CHECK_FLAG_NEVER_CHECK_SUBJECT;
	unsigned char ip[16];
	int r;

	if (inet_pton(AF_INET, name, ip) == 1 ||
	    inet_pton(AF_INET6, name, ip) == 1)
		r = X509_check_ip_asc(leaf, name, 0);
	else
		r = X509_check_host(leaf, name, 0, flags, NULL);
	ERR_clear_error();
	return r == 1;
}

static void
check_name(struct mtls_doctor *d, X509 *leaf, const char *subject,
    const char *name, enum mtls_purpose role, int remote)
{
	char leafname[256];
	char *sans = x509_sans_line(leaf);
	int has_cn = X509_NAME_get_index_by_NID(X509_get_subject_name(leaf),
	    NID_commonName, -1) >= 0;

	doctor_cert_name(leaf, leafname, sizeof(leafname));
	if (sans == NULL && has_cn &&
	    (role == MTLS_PURPOSE_SERVER || name != NULL)) {
		doctor_add(d, DR_CN_WITHOUT_SAN, subject, leafname, subject,
		    NULL);
	} else if (name != NULL && !name_matches(leaf, name)) {
		/* An address matches an IP SAN only (RFC 6125 section
		 * 6.2.1), a name a DNS SAN. */
		unsigned char ip[16];
		const char *san_type = inet_pton(AF_INET, name, ip) == 1 ||
		    inet_pton(AF_INET6, name, ip) == 1 ? "IP" : "DNS";
		if (remote)
			doctor_add(d, DR_SERVER_NAME_MISMATCH, subject,
			    leafname, name, sans != NULL ? sans : "no SAN",
			    san_type, NULL);
		else
			doctor_add(d, DR_NAME_NOT_IN_SAN, subject, name,
			    leafname, sans != NULL ? sans : "none", san_type,
			    NULL);
	} else if (name != NULL && !remote) {
		doctor_add(d, DR_OK_NAME, subject, name, leafname, NULL);
	}
	free(sans);
}

/* Weak keys and SHA-1/MD5 signatures on certs (a self-signed root's own
 * signature is never checked by anyone, so it does not count). */
static void
check_algorithms(struct mtls_doctor *d, STACK_OF(X509) *certs,
    const char *subject)
{
	char name[256], what[128];

	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);
		EVP_PKEY *pub = X509_get0_pubkey(x);
		int mdnid = NID_undef;

		doctor_cert_name(x, name, sizeof(name));
		if (pub != NULL && EVP_PKEY_get_security_bits(pub) < 112) {
			snprintf(what, sizeof(what), "%s, %d bits",
			    OBJ_nid2sn(EVP_PKEY_get_base_id(pub)),
			    EVP_PKEY_get_bits(pub));
			doctor_add(d, DR_WEAK_KEY, subject, name, subject,
			    what, NULL);
		}
		if (cert_self_signed(x))
			continue;
		if (X509_get_signature_info(x, &mdnid, NULL, NULL, NULL) &&
		    (mdnid == NID_sha1 || mdnid == NID_md5 ||
		    mdnid == NID_md5_sha1)) {
			snprintf(what, sizeof(what), "%s",
			    OBJ_nid2ln(X509_get_signature_nid(x)));
			doctor_add(d, DR_SHA1_SIGNATURE, subject, name,
			    subject, what, NULL);
		}
		ERR_clear_error();
	}
}

/*
 * Verifies certs[0] with certs[1..] as untrusted intermediates against
 * anchors, as the library's TLS code does (X509_STRICT), but without time
 * checks: validity has findings of its own.  On success *path is the
 * verified chain.  Returns the X509_V_ERR code (X509_V_OK on success).
 */
static int
verify_chain(STACK_OF(X509) *certs, STACK_OF(X509) *anchors, int system,
    STACK_OF(X509) **path)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = NULL;
	int r = X509_V_ERR_UNSPECIFIED;

	*path = NULL;
	if (store == NULL || ctx == NULL)
		goto out;
	for (int i = 0; anchors != NULL && i < sk_X509_num(anchors); i++)
		X509_STORE_add_cert(store, sk_X509_value(anchors, i));
	if (system)
		X509_STORE_set_default_paths(store);
	X509_STORE_set_flags(store, X509_V_FLAG_X509_STRICT |
	    X509_V_FLAG_NO_CHECK_TIME);
	if ((untrusted = sk_X509_dup(certs)) == NULL)
		goto out;
	(void)sk_X509_shift(untrusted);
	if (!X509_STORE_CTX_init(ctx, store, sk_X509_value(certs, 0),
	    untrusted))
		goto out;
	if (X509_verify_cert(ctx) == 1) {
		r = X509_V_OK;
		*path = X509_STORE_CTX_get1_chain(ctx);
	} else {
		r = X509_STORE_CTX_get_error(ctx);
		if (r == X509_V_OK)
			r = X509_V_ERR_UNSPECIFIED;
	}
out:
	ERR_clear_error();
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return r;
}

/*
 * Explains a chain that does not verify: follows issuers through the given
 * certificates and the CA file to where the chain stops.
 */
static void
explain_chain(struct mtls_doctor *d, const struct doctor_state *st,
    STACK_OF(X509) *certs, const char *subject, int vr, int remote)
{
	const char *cafile = st->opt->ca_file != NULL ? st->opt->ca_file :
	    "the system CA store";
	char leafname[256], curname[256], iss[256], holds[768], why[2048];
	STACK_OF(X509) *pool = sk_X509_dup(certs);
	X509 *cur = sk_X509_value(certs, 0), *next;
	int depth = 0;

	doctor_cert_name(cur, leafname, sizeof(leafname));
	for (int i = 0; pool != NULL && st->cas != NULL &&
	    i < sk_X509_num(st->cas); i++)
		sk_X509_push(pool, sk_X509_value(st->cas, i));
	while ((next = find_issuer(cur, pool)) != NULL && depth++ < CHAIN_MAX)
		cur = next;
	doctor_cert_name(cur, curname, sizeof(curname));
	doctor_name_line(X509_get_issuer_name(cur), iss, sizeof(iss));
	stack_names(st->cas, holds, sizeof(holds));

	/* The issuer's name is there, but not its key: another CA that
	 * happens to have the same name. */
	for (int i = 0; next == NULL && !cert_self_signed(cur) &&
	    st->cas != NULL && i < sk_X509_num(st->cas); i++) {
		if (X509_NAME_cmp(X509_get_issuer_name(cur),
		    X509_get_subject_name(sk_X509_value(st->cas, i))) != 0)
			continue;
		doctor_add(d, DR_CA_NAME_CLASH, subject, curname, iss, cafile,
		    NULL);
		sk_X509_free(pool);
		return;
	}
	/* A server that sent only its leaf, issued by a CA that is not in
	 * the CA file: most likely the intermediate it should send. */
	if (remote && next == NULL && !cert_self_signed(cur) &&
	    sk_X509_num(certs) == 1 && st->cas != NULL) {
		doctor_add(d, DR_SERVER_CHAIN_MISSING, subject, leafname, iss,
		    cafile, holds, NULL);
		sk_X509_free(pool);
		return;
	}

	if (next == NULL && !cert_self_signed(cur) &&
	    vr != X509_V_ERR_CERT_SIGNATURE_FAILURE &&
	    cur != sk_X509_value(certs, 0) && st->cas != NULL && !remote) {
		/* The files hold the leaf's issuer but not the CA above
		 * it: the chain leads to a CA the CA file does not hold. */
		doctor_add(d, DR_CHAIN_UNTRUSTED, subject, leafname, iss,
		    cafile, holds, NULL);
	} else if (next == NULL && !cert_self_signed(cur) &&
	    vr != X509_V_ERR_CERT_SIGNATURE_FAILURE) {
		if (remote) {
			snprintf(why, sizeof(why), "its chain stops at %s, "
			    "whose issuer %s is neither sent by the server nor "
			    "in %s", curname, iss, cafile);
			doctor_add(d, DR_SERVER_CERT_UNTRUSTED, subject,
			    leafname, cafile, why, NULL);
		} else {
			doctor_add(d, DR_CHAIN_MISSING_INTERMEDIATE, subject,
			    leafname, curname, iss, subject, cafile, NULL);
		}
	} else if (next == NULL && cert_self_signed(cur) &&
	    !stack_has(st->cas, cur)) {
		if (remote) {
			snprintf(why, sizeof(why), "it was issued under the "
			    "root %s, which is not in %s (it holds %s)",
			    curname, cafile, holds);
			doctor_add(d, DR_SERVER_CERT_UNTRUSTED, subject,
			    leafname, cafile, why, NULL);
		} else if (st->cas == NULL) {
			doctor_add(d, DR_CHAIN_INVALID, subject, leafname,
			    cafile, X509_verify_cert_error_string(vr), NULL);
		} else {
			doctor_add(d, DR_CHAIN_UNTRUSTED, subject, leafname,
			    curname, cafile, holds, NULL);
		}
	} else if (remote) {
		doctor_add(d, DR_SERVER_CERT_UNTRUSTED, subject, leafname,
		    cafile, X509_verify_cert_error_string(vr), NULL);
	} else {
		doctor_add(d, DR_CHAIN_INVALID, subject, leafname, cafile,
		    X509_verify_cert_error_string(vr), NULL);
	}
	sk_X509_free(pool);
}

static void
check_chain(struct mtls_doctor *d, const struct doctor_state *st,
    STACK_OF(X509) *certs, const char *subject, int remote)
{
	STACK_OF(X509) *path = NULL;
	char leafname[256], top[256], inter[256];
	int system = st->cas == NULL && remote;
	int vr;

	if (st->cas == NULL && !remote)
		return;
	vr = verify_chain(certs, st->cas, system, &path);
	doctor_cert_name(sk_X509_value(certs, 0), leafname, sizeof(leafname));
	if (vr != X509_V_OK) {
		explain_chain(d, st, certs, subject, vr, remote);
		return;
	}
	doctor_cert_name(sk_X509_value(path, sk_X509_num(path) - 1), top,
	    sizeof(top));
	/* Verified, but only thanks to intermediates of the CA file: the
	 * peer, which usually holds only the root, will not find them. */
	if (sk_X509_num(path) > 2 &&
	    sk_X509_num(certs) < sk_X509_num(path) - 1) {
		doctor_cert_name(sk_X509_value(path, sk_X509_num(certs)),
		    inter, sizeof(inter));
		if (remote)
			doctor_add(d, DR_SERVER_CHAIN_INCOMPLETE, subject,
			    leafname, inter, NULL);
		else
			doctor_add(d, DR_CHAIN_INCOMPLETE, subject, subject,
			    inter, NULL);
	}
	if (!remote)
		doctor_add(d, DR_OK_CHAIN, subject, leafname, top, NULL);
	sk_X509_pop_free(path, X509_free);
}

void
doctor_check_leaf(struct mtls_doctor *d, const struct doctor_state *st,
    STACK_OF(X509) *certs, const char *subject, enum mtls_purpose role,
    const char *name, int remote)
{
	X509 *leaf = sk_X509_value(certs, 0);
	char leafname[256], until[64];

	if (leaf == NULL)
		return;
	doctor_cert_name(leaf, leafname, sizeof(leafname));
	if (check_validity(d, st, certs, subject))
		doctor_add(d, DR_OK_VALIDITY, subject, subject,
		    date_text(asn1_time(X509_get0_notAfter(leaf)), until,
		    sizeof(until)), NULL);
	/* A CA's own certificate (a root is self-signed too): leaf-is-ca
	 * says what to use instead, and its usage and names are beside the
	 * point.  A self-signed leaf (openssl req -x509) has no chain:
	 * leaf-self-signed says it all. */
	int is_ca = cert_is_ca(leaf) && ((X509_get_extension_flags(leaf) &
	    EXFLAG_KUSAGE) || stack_has(st->cas, leaf) ||
	    !cert_self_signed(leaf));
	if (is_ca)
		doctor_add(d, DR_LEAF_IS_CA, subject, leafname, subject, NULL);
	else if (cert_self_signed(leaf))
		doctor_add(d, DR_LEAF_SELF_SIGNED, subject, leafname, subject,
		    NULL);
	if (!is_ca) {
		check_usage(d, leaf, subject, role);
		check_name(d, leaf, subject, name, role, remote);
	}
	check_algorithms(d, certs, subject);
	if (!cert_self_signed(leaf) && !st->opt->ca_for_peer_only)
		check_chain(d, st, certs, subject, remote);
}

/* ------------------------------------------------------------------ */
/* The CA file                                                        */
/* ------------------------------------------------------------------ */

/* A CA file without a self-signed certificate: verification builds
 * chains up to a root (no partial chains), so nothing can verify. */
static void
check_ca_root(struct mtls_doctor *d, const struct doctor_state *st)
{
	char names[768], root[256];

	for (int i = 0; i < sk_X509_num(st->cas); i++)
		if (cert_self_signed(sk_X509_value(st->cas, i)))
			return;
	X509 *top = sk_X509_value(st->cas, 0);
	for (int n = 0; top != NULL && n < CHAIN_MAX; n++) {
		X509 *up = find_issuer(top, st->cas);
		if (up == NULL)
			break;
		top = up;
	}
	if (top == NULL)
		return;
	doctor_add(d, DR_CA_NO_ROOT, st->opt->ca_file, st->opt->ca_file,
	    stack_names(st->cas, names, sizeof(names)),
	    doctor_name_line(X509_get_issuer_name(top), root, sizeof(root)),
	    NULL);
}

static void
check_cas(struct mtls_doctor *d, const struct doctor_state *st)
{
	const char *path = st->opt->ca_file;
	char name[256], when[64], dur[64];

	check_ca_root(d, st);

	for (int i = 0; i < sk_X509_num(st->cas); i++) {
		X509 *x = sk_X509_value(st->cas, i);
		uint32_t flags = X509_get_extension_flags(x);
		const char *why = NULL;

		doctor_cert_name(x, name, sizeof(name));
		if (!(flags & EXFLAG_CA))
			why = "no basicConstraints CA:TRUE";
		else if ((flags & EXFLAG_KUSAGE) &&
		    !(X509_get_key_usage(x) & KU_KEY_CERT_SIGN))
			why = "its keyUsage lacks keyCertSign";
		if (why != NULL)
			doctor_add(d, DR_CA_NOT_CA, path, path, name, why,
			    NULL);
		time_t na = asn1_time(X509_get0_notAfter(x));
		time_t nb = asn1_time(X509_get0_notBefore(x));
		if (na != 0 && na < st->now)
			doctor_add(d, DR_CERT_EXPIRED, path, name, path,
			    date_text(na, when, sizeof(when)),
			    doctor_duration((long)(st->now - na), dur,
			    sizeof(dur)), NULL);
		else if (nb > st->now)
			doctor_add(d, DR_CERT_NOT_YET_VALID, path, name, path,
			    date_text(nb, when, sizeof(when)),
			    doctor_duration((long)(nb - st->now), dur,
			    sizeof(dur)), NULL);
		else if (na != 0 &&
		    na - st->now < (time_t)st->warn_days * 86400)
			doctor_add(d, DR_CERT_EXPIRES_SOON, path, name, path,
			    date_text(na, when, sizeof(when)),
			    doctor_duration((long)(na - st->now), dur,
			    sizeof(dur)), NULL);
		EVP_PKEY *pub = X509_get0_pubkey(x);
		if (pub != NULL && EVP_PKEY_get_security_bits(pub) < 112) {
			char what[96];
			snprintf(what, sizeof(what), "%s, %d bits",
			    OBJ_nid2sn(EVP_PKEY_get_base_id(pub)),
			    EVP_PKEY_get_bits(pub));
			doctor_add(d, DR_WEAK_KEY, path, name, path, what,
			    NULL);
		}
	}
	ERR_clear_error();
}

/* ------------------------------------------------------------------ */
/* Revocation                                                         */
/* ------------------------------------------------------------------ */

/* 1 when issuer issued and signed the CRL c. */
static int
crl_signed_by(X509_CRL *c, X509 *issuer)
{
	EVP_PKEY *pub = X509_get0_pubkey(issuer);
	int ok = pub != NULL && X509_NAME_cmp(X509_CRL_get_issuer(c),
	    X509_get_subject_name(issuer)) == 0 && X509_CRL_verify(c, pub) == 1;

	ERR_clear_error();
	return ok;
}

/* The newest CRL of crls that issuer signed, or NULL. */
X509_CRL *
crl_of(STACK_OF(X509_CRL) *crls, X509 *issuer)
{
	X509_CRL *best = NULL;

	for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
		X509_CRL *c = sk_X509_CRL_value(crls, i);
		if (crl_signed_by(c, issuer) && (best == NULL ||
		    asn1_time(X509_CRL_get0_lastUpdate(c)) >
		    asn1_time(X509_CRL_get0_lastUpdate(best))))
			best = c;
	}
	return best;
}

static const char *
reason_text(X509_REVOKED *rev)
{
	ASN1_ENUMERATED *r = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason,
	    NULL, NULL);
	long code = -1;

	if (r != NULL) {
		code = ASN1_ENUMERATED_get(r);
		ASN1_ENUMERATED_free(r);
	}
	return code >= 0 ? mtls_revoke_reason_name(
	    (enum mtls_revoke_reason)code) : "not given";
}

static void
check_crls(struct mtls_doctor *d, const struct doctor_state *st,
    STACK_OF(X509) *chain)
{
	const char *path = st->opt->crl_file;
	STACK_OF(X509) *pool = sk_X509_new_null(), *full = NULL;
	char name[256], when[64], dur[64], names[768];
	size_t before = mtls_doctor_count_severity(d, MTLS_SEVERITY_ERROR);

	if (pool == NULL)
		return;
	for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++)
		sk_X509_push(pool, sk_X509_value(chain, i));
	for (int i = 0; st->cas != NULL && i < sk_X509_num(st->cas); i++)
		sk_X509_push(pool, sk_X509_value(st->cas, i));

	/* Each CRL: who signed it, and is it current? */
	for (int i = 0; i < sk_X509_CRL_num(st->crls); i++) {
		X509_CRL *c = sk_X509_CRL_value(st->crls, i);
		X509 *issuer = NULL;

		for (int j = 0; j < sk_X509_num(pool) && issuer == NULL; j++)
			if (crl_signed_by(c, sk_X509_value(pool, j)))
				issuer = sk_X509_value(pool, j);
		doctor_name_line(X509_CRL_get_issuer(c), name, sizeof(name));
		/* The peers' intermediates, whose CRLs belong here too, are
		 * in no file when the CA file is the peers' alone. */
		if (issuer == NULL && sk_X509_num(pool) > 0 &&
		    !st->opt->ca_for_peer_only)
			doctor_add(d, DR_CRL_WRONG_ISSUER, path, path, name,
			    stack_names(pool, names, sizeof(names)), NULL);
		time_t lu = asn1_time(X509_CRL_get0_lastUpdate(c));
		time_t nu = asn1_time(X509_CRL_get0_nextUpdate(c));
		if (lu > st->now)
			doctor_add(d, DR_CRL_NOT_YET_VALID, path, name, path,
			    date_text(lu, when, sizeof(when)),
			    doctor_duration((long)(lu - st->now), dur,
			    sizeof(dur)), NULL);
		if (nu != 0 && nu < st->now)
			doctor_add(d, DR_CRL_EXPIRED, path, name, path,
			    date_text(nu, when, sizeof(when)),
			    doctor_duration((long)(st->now - nu), dur,
			    sizeof(dur)), NULL);
	}

	/* Each certificate of the leaf's path up to its root: revoked, or
	 * no CRL from its issuer (a server checking the whole chain would
	 * fail closed)? */
	if (chain != NULL && (full = sk_X509_new_null()) != NULL) {
		X509 *cur = sk_X509_value(chain, 0);
		while (cur != NULL && sk_X509_num(full) < CHAIN_MAX &&
		    !stack_has(full, cur)) {
			sk_X509_push(full, cur);
			cur = cert_self_signed(cur) ? NULL :
			    find_issuer(cur, pool);
		}
		for (int i = 0; i < sk_X509_num(full); i++) {
			X509 *x = sk_X509_value(full, i);
			X509 *issuer = i + 1 < sk_X509_num(full) ?
			    sk_X509_value(full, i + 1) : NULL;
			X509_REVOKED *rev = NULL;
			X509_CRL *c;
			char iname[256];

			if (issuer == NULL)
				break; /* a root, or the chain stops here */
			doctor_cert_name(x, name, sizeof(name));
			doctor_cert_name(issuer, iname, sizeof(iname));
			if ((c = crl_of(st->crls, issuer)) == NULL) {
				doctor_add(d, cert_self_signed(issuer) ?
				    DR_CRL_MISSING_FOR_ROOT :
				    DR_CRL_MISSING_FOR_INTERMEDIATE, path,
				    path, iname, name, NULL);
				continue;
			}
			if (X509_CRL_get0_by_cert(c, &rev, x) == 1 &&
			    rev != NULL) {
				char *serial = x509_serial_hex(
				    X509_get0_serialNumber(x));
				doctor_add(d, DR_CERT_REVOKED,
				    st->opt->cert_file, name,
				    serial != NULL ? serial : "?",
				    i == 0 ? st->opt->cert_file : "the chain",
				    date_text(asn1_time(
				    X509_REVOKED_get0_revocationDate(rev)),
				    when, sizeof(when)), reason_text(rev), path,
				    NULL);
				free(serial);
			}
		}
	}
	/* Without a leaf of ours to follow (or when the CA file is the
	 * peers'): every CA of the CA file issues some peer's chain, and a
	 * check of the whole chain needs its CRL. */
	if (chain == NULL || st->opt->ca_for_peer_only)
		for (int i = 0; st->cas != NULL && i < sk_X509_num(st->cas);
		    i++) {
			X509 *ca = sk_X509_value(st->cas, i);
			X509 *below = NULL;
			char iname[256];

			if (crl_of(st->crls, ca) != NULL)
				continue;
			for (int j = 0; j < sk_X509_num(st->cas); j++)
				if (sk_X509_value(st->cas, j) != ca &&
				    cert_issued_by(sk_X509_value(st->cas, j),
				    ca))
					below = sk_X509_value(st->cas, j);
			doctor_cert_name(ca, iname, sizeof(iname));
			if (below != NULL)
				doctor_cert_name(below, name, sizeof(name));
			else
				snprintf(name, sizeof(name), "the peers' "
				    "certificates");
			doctor_add(d, cert_self_signed(ca) ?
			    DR_CRL_MISSING_FOR_ROOT :
			    DR_CRL_MISSING_FOR_INTERMEDIATE, path, path, iname,
			    name, NULL);
		}
	if (mtls_doctor_count_severity(d, MTLS_SEVERITY_ERROR) == before &&
	    chain != NULL)
		doctor_add(d, DR_OK_CRL, path, path,
		    doctor_cert_name(sk_X509_value(chain, 0), name,
		    sizeof(name)), NULL);
	ERR_clear_error();
	sk_X509_free(full);
	sk_X509_free(pool);
}

/* ------------------------------------------------------------------ */
/* All local checks                                                   */
/* ------------------------------------------------------------------ */

void
doctor_check_local(struct mtls_doctor *d, struct doctor_state *st)
{
	const struct mtls_doctor_options *opt = st->opt;
	STACK_OF(X509) *chain = NULL;
	char name[256];

	if (opt->cert_file != NULL)
		load_certs(d, st);
	if (opt->key_file != NULL)
		load_key(d, st);
	if (opt->ca_file != NULL)
		load_cas(d, st);
	if (opt->crl_file != NULL)
		load_crls(d, st);

	if (st->cas != NULL)
		check_cas(d, st);
	if (st->certs != NULL) {
		/* NULL only when out of memory, which doctor_add reports. */
		chain = order_chain(d, st);
		if (chain != NULL) {
			if (st->key != NULL) {
				doctor_cert_name(st->leaf, name, sizeof(name));
				if (EVP_PKEY_eq(X509_get0_pubkey(st->leaf),
				    st->key) == 1)
					doctor_add(d, DR_OK_KEY_MATCH,
					    opt->key_file, opt->key_file, name,
					    NULL);
				else
					doctor_add(d, DR_KEY_MISMATCH,
					    opt->key_file, opt->key_file, name,
					    opt->cert_file, NULL);
				ERR_clear_error();
			}
			/* A remote check names the server, not us. */
			doctor_check_leaf(d, st, chain, opt->cert_file,
			    st->role, opt->connect != NULL ? NULL : opt->name,
			    0);
		}
	}
	if (st->crls != NULL)
		check_crls(d, st, chain);
	sk_X509_free(chain);
}
