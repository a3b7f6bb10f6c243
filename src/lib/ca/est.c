/*
 * est.c - the online CA's decisions: RFC 7030 (EST) requests answered from
 * an open CA.  The transport is the caller's (src/proxy/est_server.c); here
 * a request, already framed, becomes a response.
 *
 *   GET  /.well-known/est/cacerts         the CA chain, certs-only (4.1)
 *   POST /.well-known/est/simpleenroll    a CSR, authenticated by a
 *                                         one-time token (HTTP Basic,
 *                                         3.2.3) or a bootstrap CA's
 *                                         certificate (3.3.2)
 *   POST /.well-known/est/simplereenroll  a CSR, authenticated by the
 *                                         certificate it renews (4.2.2)
 *   GET  /.well-known/est/csrattrs        the key the CA wants (4.5)
 *   GET  /crl                             the CRL, DER (RFC 5280 4.2.1.13)
 *
 * Issuance goes through mtls_ca_sign_csr(), the policy of `cert sign`
 * (self-signature, key strength, only subject and SANs, never CA:TRUE),
 * recorded in the inventory the same way; here only the authorization is
 * added: which names this requester may have.  Refusals are codes from one
 * table, with the HTTP status and the words; the caller logs them.
 *
 * Not implemented: fullcmc (4.3) and serverkeygen (4.4), see the README.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>

#include "ca/est.h"
#include "core/pem.h"
#include "x509/text.h"

#define EST_PREFIX "/.well-known/est/"
#define EST_RATE_SLOTS 1024
#define EST_LIFETIME_DEFAULT 86400L

/* Why a request was refused: the code is the metrics label and the log's
 * outcome; the words go to the client and the log. */
enum est_refusal {
	R_NO_AUTH,
	R_BAD_TOKEN,
	R_TOKEN_USED,
	R_TOKEN_EXPIRED,
	R_NAMES,
	R_NAMES_CHANGED,
	R_REVOKED,
	R_EXPIRED,
	R_NOT_OURS,
	R_BOOTSTRAP,
	R_BAD_CSR,
	R_POLICY,
	R_CONTENT_TYPE,
	R_BODY_TOO_LARGE,
	R_BAD_REQUEST,
	R_RATE,
	R_NOT_FOUND,
	R_METHOD,
	R_UNAVAILABLE,
	R_INTERNAL,
	R_COUNT,
};

static const struct {
	const char *code;
	int status;
} refusals[R_COUNT] = {
	[R_NO_AUTH] = { "no_authentication", 401 },
	[R_BAD_TOKEN] = { "bad_token", 401 },
	[R_TOKEN_USED] = { "token_used", 401 },
	[R_TOKEN_EXPIRED] = { "token_expired", 401 },
	[R_NAMES] = { "names_not_allowed", 403 },
	[R_NAMES_CHANGED] = { "names_changed", 403 },
	[R_REVOKED] = { "revoked", 403 },
	[R_EXPIRED] = { "expired", 403 },
	[R_NOT_OURS] = { "not_issued_here", 403 },
	[R_BOOTSTRAP] = { "bootstrap_refused", 403 },
	[R_BAD_CSR] = { "bad_csr", 400 },
	[R_POLICY] = { "csr_refused", 403 },
	[R_CONTENT_TYPE] = { "bad_content_type", 415 },
	[R_BODY_TOO_LARGE] = { "body_too_large", 413 },
	[R_BAD_REQUEST] = { "bad_request", 400 },
	[R_RATE] = { "rate_limited", 429 },
	[R_NOT_FOUND] = { "not_found", 404 },
	[R_METHOD] = { "method_not_allowed", 405 },
	[R_UNAVAILABLE] = { "unavailable", 503 },
	[R_INTERNAL] = { "internal_error", 500 },
};

/* A token bucket per identity (rate_per_minute, refilled continuously). */
struct est_rate {
	char id[128];
	double tokens;
	time_t last;
};

struct mtls_est {
	struct mtls_ca *ca;
	long lifetime;
	int rate;
	int crl_days;
	char *crl_path;
	STACK_OF(X509) *bootstrap;  /* anchors, or NULL */
	char *bootstrap_file;
	char *cacerts;              /* the cacerts body, made once */
	size_t cacerts_len;
	const char *csrattrs;       /* base64 */
	unsigned char *crl_der;     /* the CRL served */
	size_t crl_der_len;
	time_t crl_this, crl_next;
	int crl_revoked;            /* revocations it holds */
	int crl_failing;
	struct est_rate rates[EST_RATE_SLOTS];
	/* counters */
	unsigned long long issued, renewed, served;
	unsigned long long refused[R_COUNT];
	unsigned long long crl_made, crl_failed;
};

/* ---- responses --------------------------------------------------- */

static void
resp_text(struct mtls_est_response *resp, int status, const char *text)
{
	size_t n = strlen(text);

	resp->status = status;
	resp->content_type = "text/plain; charset=utf-8";
	free(resp->body);
	resp->body_len = 0;
	if ((resp->body = malloc(n + 1)) != NULL) {
		memcpy(resp->body, text, n);
		resp->body[n] = '\n';
		resp->body_len = n + 1;
	}
}

/* Why an inventory call failed, as a refusal: 503 when the database cannot
 * be reached (nothing was recorded; the client may retry, here or at another
 * front end), 500 otherwise. */
static enum est_refusal
inv_refusal(const struct mtls_est *est)
{
	return inv_last_fail(est->ca->inv) == INV_FAIL_LOST ? R_UNAVAILABLE :
	    R_INTERNAL;
}

static int MTLS_PRINTF(4, 5)
refuse(struct mtls_est *est, struct mtls_est_response *resp,
    enum est_refusal r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(resp->reason, sizeof(resp->reason), fmt, ap);
	va_end(ap);
	resp->outcome = refusals[r].code;
	resp->authenticate = refusals[r].status == 401;
	est->refused[r]++;
	resp_text(resp, refusals[r].status, resp->reason);
	return 0;
}

void
mtls_est_response_clear(struct mtls_est_response *resp)
{
	if (resp == NULL)
		return;
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

void
mtls_est_refuse(struct mtls_est *est, int status,
    struct mtls_est_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	snprintf(resp->identity, sizeof(resp->identity), "-");
	if (status == 413)
		refuse(est, resp, R_BODY_TOO_LARGE, "the request body is "
		    "larger than %d bytes", MTLS_EST_MAX_BODY);
	else {
		refuse(est, resp, R_BAD_REQUEST, "malformed HTTP request");
		/* The framing's own status: 414 and 431 say which limit. */
		if (status >= 400 && status <= 599)
			resp->status = status;
	}
}

/* ---- base64 and PKCS#7 ------------------------------------------- */

unsigned char *
est_b64_decode(const char *in, size_t len, size_t *outlen)
{
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	unsigned char *out = malloc(len / 4 * 3 + 4);
	int n = 0, m = 0;

	if (ctx == NULL || out == NULL || len > INT32_MAX)
		goto fail;
	EVP_DecodeInit(ctx);
	/* Line breaks and spaces are skipped by the decoder; anything else
	 * that is not base64 fails it. */
	if (EVP_DecodeUpdate(ctx, out, &n, (const unsigned char *)in,
	    (int)len) < 0 || EVP_DecodeFinal(ctx, out + n, &m) < 0)
		goto fail;
	EVP_ENCODE_CTX_free(ctx);
	*outlen = (size_t)n + (size_t)m;
	return out;
fail:
	EVP_ENCODE_CTX_free(ctx);
	free(out);
	return NULL;
}

/* Base64 in lines of 64, as PEM bodies are. */
static char *
b64_encode(const unsigned char *der, size_t len, size_t *outlen)
{
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	char *out = malloc(len / 48 * 65 + 70);
	int n = 0, m = 0;

	if (ctx == NULL || out == NULL || len > INT32_MAX / 2) {
		EVP_ENCODE_CTX_free(ctx);
		free(out);
		return NULL;
	}
	EVP_EncodeInit(ctx);
	if (EVP_EncodeUpdate(ctx, (unsigned char *)out, &n, der, (int)len) !=
	    1) {
		EVP_ENCODE_CTX_free(ctx);
		free(out);
		return NULL;
	}
	EVP_EncodeFinal(ctx, (unsigned char *)out + n, &m);
	EVP_ENCODE_CTX_free(ctx);
	*outlen = (size_t)n + (size_t)m;
	return out;
}

char *
est_p7_encode(STACK_OF(X509) *certs, size_t *len)
{
	PKCS7 *p7 = PKCS7_new();
	PKCS7_SIGNED *sd;
	unsigned char *der = NULL;
	char *out = NULL;
	int n;

	/* A degenerate SignedData (RFC 5652 5.1, no signers), as
	 * crl2pkcs7 -nocrl makes. */
	if (p7 == NULL || !PKCS7_set_type(p7, NID_pkcs7_signed) ||
	    !PKCS7_content_new(p7, NID_pkcs7_data))
		goto out;
	sd = p7->d.sign;
	if ((sd->cert = sk_X509_new_null()) == NULL)
		goto out;
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);
		if (!sk_X509_push(sd->cert, x))
			goto out;
		X509_up_ref(x);
	}
	if ((n = i2d_PKCS7(p7, &der)) <= 0)
		goto out;
	out = b64_encode(der, (size_t)n, len);
out:
	OPENSSL_free(der);
	PKCS7_free(p7);
	ERR_clear_error();
	return out;
}

STACK_OF(X509) *
est_p7_decode(const char *b64, size_t len, struct mtls_error *err,
    const char *what)
{
	unsigned char *der;
	const unsigned char *p;
	size_t n = 0;
	PKCS7 *p7 = NULL;
	STACK_OF(X509) *out = NULL, *in;

	if ((der = est_b64_decode(b64, len, &n)) == NULL) {
		err_set(err, MTLS_ERR_PARSE, "%s: the answer is not base64",
		    what);
		return NULL;
	}
	p = der;
	if ((p7 = d2i_PKCS7(NULL, &p, (long)n)) == NULL ||
	    !PKCS7_type_is_signed(p7) || p7->d.sign == NULL ||
	    (in = p7->d.sign->cert) == NULL || sk_X509_num(in) == 0) {
		err_set_ssl(err, MTLS_ERR_PARSE, "%s: the answer is not a "
		    "PKCS#7 certs-only structure", what);
		goto out;
	}
	if ((out = sk_X509_new_null()) == NULL)
		goto out;
	for (int i = 0; i < sk_X509_num(in); i++) {
		X509 *x = sk_X509_value(in, i);
		if (!sk_X509_push(out, x)) {
			sk_X509_pop_free(out, X509_free);
			out = NULL;
			err_set(err, MTLS_ERR_NOMEM, "out of memory");
			goto out;
		}
		X509_up_ref(x);
	}
out:
	PKCS7_free(p7);
	free(der);
	return out;
}

/* ---- set up ------------------------------------------------------ */

/*
 * csrattrs (RFC 7030 4.5.2): the CA's own key type, as an attribute naming
 * the key algorithm (and curve) and the signature OID, in the form of the
 * RFC's example.  Base64 of fixed DER, made with `openssl asn1parse
 * -genconf`:
 *   P-256:   SEQ { OID ecdsa-with-SHA256, SEQ { OID id-ecPublicKey,
 *            SET { OID prime256v1 } } }
 *   P-384:   the same with ecdsa-with-SHA384 and secp384r1
 *   RSA:     SEQ { OID sha256WithRSAEncryption, OID rsaEncryption }
 *   Ed25519: SEQ { OID id-Ed25519 }
 */
static const char *
csrattrs_for(EVP_PKEY *key)
{
	char group[64];
	size_t glen = 0;

	if (EVP_PKEY_is_a(key, "RSA"))
		return "MBYGCSqGSIb3DQEBCwYJKoZIhvcNAQEB\n";
	if (EVP_PKEY_is_a(key, "ED25519"))
		return "MAUGAytlcA==\n";
	if (EVP_PKEY_is_a(key, "EC") && EVP_PKEY_get_utf8_string_param(key,
	    "group", group, sizeof(group), &glen) &&
	    strcmp(group, "secp384r1") == 0)
		return "MB4GCCqGSM49BAMDMBIGByqGSM49AgExBwYFK4EEACI=\n";
	return "MCEGCCqGSM49BAMCMBUGByqGSM49AgExCgYIKoZIzj0DAQc=\n";
}

struct mtls_est *
mtls_est_new(struct mtls_ca *ca, const struct mtls_est_options *opt,
    struct mtls_error *err)
{
	struct mtls_est *est;

	if (ca == NULL || opt == NULL) {
		err_set(err, MTLS_ERR_USAGE, "no CA given");
		return NULL;
	}
	if ((est = calloc(1, sizeof(*est))) == NULL) {
		err_set(err, MTLS_ERR_NOMEM, "out of memory");
		return NULL;
	}
	est->ca = ca;
	est->lifetime = opt->lifetime_seconds > 0 ? opt->lifetime_seconds :
	    EST_LIFETIME_DEFAULT;
	est->rate = opt->rate_per_minute > 0 ? opt->rate_per_minute : 30;
	est->crl_days = opt->crl_days > 0 ? opt->crl_days : 1;
	est->crl_path = opt->crl_file != NULL ? strdup(opt->crl_file) :
	    pki_path(ca->dir, "crl.pem");
	if (est->crl_path == NULL) {
		err_set(err, MTLS_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (ca_load_key(ca) == -1) {
		*err = ca->err;
		goto fail;
	}
	/* The inventory must hold the tables of the online CA (an SQLite
	 * file is migrated when opened; PostgreSQL by ca db migrate). */
	{
		struct est_token probe;
		if (est_token_get(ca->inv, "", &probe) == -1) {
			*err = *inv_error(ca->inv);
			goto fail;
		}
	}
	if ((est->cacerts = est_p7_encode(ca->cert->certs,
	    &est->cacerts_len)) == NULL) {
		err_set(err, MTLS_ERR_CRYPTO, "%s: cannot encode the CA "
		    "certificates", ca->dir);
		goto fail;
	}
	est->csrattrs = csrattrs_for(ca->key);
	if (opt->bootstrap_ca_file != NULL) {
		struct mtls_cert *b = mtls_cert_load_file(
		    opt->bootstrap_ca_file, err);
		if (b == NULL)
			goto fail;
		est->bootstrap = b->certs;
		b->certs = NULL;
		mtls_cert_free(b);
		if ((est->bootstrap_file = strdup(opt->bootstrap_ca_file)) ==
		    NULL) {
			err_set(err, MTLS_ERR_NOMEM, "out of memory");
			goto fail;
		}
	}
	return est;
fail:
	mtls_est_free(est);
	return NULL;
}

void
mtls_est_free(struct mtls_est *est)
{
	if (est == NULL)
		return;
	sk_X509_pop_free(est->bootstrap, X509_free);
	free(est->bootstrap_file);
	free(est->cacerts);
	free(est->crl_der);
	free(est->crl_path);
	free(est);
}

/* ---- rate limits ------------------------------------------------- */

/* 1 when id may go on; a full table forgets its stalest entry. */
static int
rate_take(struct mtls_est *est, const char *id, time_t now)
{
	unsigned long h = 5381;
	struct est_rate *slot = NULL, *stalest = NULL;

	for (const char *p = id; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (size_t i = 0; i < 16; i++) {
		struct est_rate *r = &est->rates[(h + i) % EST_RATE_SLOTS];
		if (r->id[0] == '\0' || strncmp(r->id, id,
		    sizeof(r->id) - 1) == 0) {
			slot = r;
			break;
		}
		if (stalest == NULL || r->last < stalest->last)
			stalest = r;
	}
	if (slot == NULL)
		slot = stalest;
	if (slot->id[0] == '\0' || strncmp(slot->id, id,
	    sizeof(slot->id) - 1) != 0) {
		snprintf(slot->id, sizeof(slot->id), "%s", id);
		slot->tokens = est->rate;
		slot->last = now;
	}
	slot->tokens += (double)(now - slot->last) * est->rate / 60.0;
	if (slot->tokens > est->rate)
		slot->tokens = est->rate;
	slot->last = now;
	if (slot->tokens < 1.0)
		return 0;
	slot->tokens -= 1.0;
	return 1;
}

/* ---- names ------------------------------------------------------- */

/* "TYPE:value" lines of gens, sorted, in one string (heap). */
static char *
sans_lines(const GENERAL_NAMES *gens)
{
	struct mtls_san *sans = NULL;
	size_t n = 0, total = 1;
	char **items = NULL, *out = NULL;

	if (gens != NULL && x509_sans_collect(gens, &sans, &n) != 0)
		return NULL;
	if (n > 0 && (items = calloc(n, sizeof(*items))) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (asprintf(&items[i], "%s:%s",
		    mtls_san_type_name(sans[i].type), sans[i].value) < 0) {
			items[i] = NULL;
			goto out;
		}
		total += strlen(items[i]) + 1;
	}
	/* Insertion sort: a certificate has a handful of names. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(items[j - 1], items[j]) > 0;
		    j--) {
			char *t = items[j];
			items[j] = items[j - 1];
			items[j - 1] = t;
		}
	if ((out = malloc(total)) == NULL)
		goto out;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strcat(out, items[i]);
		strcat(out, "\n");
	}
out:
	for (size_t i = 0; items != NULL && i < n; i++)
		free(items[i]);
	free(items);
	x509_sans_free(sans, n);
	return out;
}

/* Is line ("DNS:x") one of the lines of list? */
static int
lines_has(const char *list, const char *line, size_t len)
{
	for (const char *p = list; *p != '\0';) {
		const char *e = strchr(p, '\n');
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n == len && strncmp(p, line, len) == 0)
			return 1;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return 0;
}

/*
 * The SANs a certificate for req would carry, as mtls_ca_sign_csr() makes
 * them: the requested ones plus the CN when it is a host name.  NULL with
 * the reason in why when the request is malformed.
 */
static char *
csr_effective_sans(X509_REQ *req, char *why, size_t whylen)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *gens;
	char *cn = NULL, *out = NULL;
	int crit = -1;

	gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL && crit != -1) {
		snprintf(why, whylen, "malformed subjectAltName request");
		goto out;
	}
	if (gens == NULL && (gens = sk_GENERAL_NAME_new_null()) == NULL)
		goto nomem;
	cn = x509_name_cn_utf8(X509_REQ_get_subject_name(req));
	if (pki_san_add_cn(gens, cn) == -1 || (out = sans_lines(gens)) ==
	    NULL)
		goto nomem;
	goto out;
nomem:
	snprintf(why, whylen, "out of memory");
out:
	free(cn);
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ERR_clear_error();
	return out;
}

/* Every line of want is in allowed; else the first that is not, in bad. */
static int
names_within(const char *want, const char *allowed, char *bad, size_t len)
{
	for (const char *p = want; *p != '\0';) {
		const char *e = strchr(p, '\n');
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n > 0 && !lines_has(allowed, p, n)) {
			snprintf(bad, len, "%.*s", (int)n, p);
			return 0;
		}
		if (e == NULL)
			break;
		p = e + 1;
	}
	return 1;
}

/* The subject holds exactly one attribute, a CN equal to name. */
static int
subject_is_cn(X509_REQ *req, const char *name)
{
	const X509_NAME *subj = X509_REQ_get_subject_name(req);
	char *cn = x509_name_cn_utf8(subj);
	int ok = X509_NAME_entry_count(subj) == 1 && cn != NULL &&
	    strcmp(cn, name) == 0;

	free(cn);
	return ok;
}

/* ---- the requests ------------------------------------------------ */

static int
content_type_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	if (ct == NULL)
		return 0;
	while (*ct == ' ')
		ct++;
	return strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' ||
	    ct[n] == ';' || ct[n] == ' ');
}

/* The CSR of a POST body (base64 DER, RFC 7030 4.2.1); NULL after a
 * refusal. */
static X509_REQ *
read_csr(struct mtls_est *est, const struct mtls_est_request *req,
    struct mtls_est_response *resp)
{
	unsigned char *der;
	const unsigned char *p;
	size_t n = 0;
	X509_REQ *csr = NULL;
	EVP_PKEY *pub;

	if (!content_type_is(req->content_type, "application/pkcs10")) {
		refuse(est, resp, R_CONTENT_TYPE, "the body must be "
		    "application/pkcs10 (a base64 DER CSR), not %s",
		    req->content_type != NULL ? req->content_type : "untyped");
		return NULL;
	}
	if ((der = est_b64_decode(req->body, req->body_len, &n)) == NULL) {
		refuse(est, resp, R_BAD_CSR, "the CSR is not base64");
		return NULL;
	}
	p = der;
	csr = d2i_X509_REQ(NULL, &p, (long)n);
	if (csr == NULL || p != der + n) {
		X509_REQ_free(csr);
		free(der);
		ERR_clear_error();
		refuse(est, resp, R_BAD_CSR, "the body is not one DER "
		    "PKCS#10 request");
		return NULL;
	}
	free(der);
	/* Proof of possession first: nothing of an altered request is
	 * looked at further. */
	if ((pub = X509_REQ_get0_pubkey(csr)) == NULL ||
	    X509_REQ_verify(csr, pub) != 1) {
		X509_REQ_free(csr);
		ERR_clear_error();
		refuse(est, resp, R_BAD_CSR, "the CSR's signature does not "
		    "verify");
		return NULL;
	}
	return csr;
}

/* Signs with the policy of `cert sign`; 0, or -1 after a refusal. */
static int
issue(struct mtls_est *est, X509_REQ *req, enum mtls_cert_kind kind,
    struct mtls_est_response *resp, char serial[64])
{
	struct mtls_issue_options io = { .kind = kind,
	    .lifetime_seconds = est->lifetime };
	struct mtls_csr csr = { .req = req };
	struct mtls_cert *cert;
	STACK_OF(X509) *one;
	X509 *leaf;
	char *hex;

	if ((cert = mtls_ca_sign_csr(est->ca, &csr, &io)) == NULL) {
		enum mtls_errcode code = est->ca->err.code;
		refuse(est, resp, code == MTLS_ERR_POLICY ||
		    code == MTLS_ERR_USAGE || code == MTLS_ERR_PARSE ?
		    R_POLICY : code == MTLS_ERR_DB ? inv_refusal(est) :
		    R_INTERNAL, "%s", mtls_ca_error(est->ca));
		return -1;
	}
	leaf = sk_X509_value(cert->certs, 0);
	hex = x509_serial_hex(X509_get0_serialNumber(leaf));
	snprintf(serial, 64, "%s", hex != NULL ? hex : "");
	free(hex);
	/* RFC 7030 4.2.3: certs-only with the issued certificate. */
	if ((one = sk_X509_new_null()) == NULL || !sk_X509_push(one, leaf)) {
		sk_X509_free(one);
		mtls_cert_free(cert);
		refuse(est, resp, R_INTERNAL, "out of memory");
		return -1;
	}
	free(resp->body);
	resp->body = est_p7_encode(one, &resp->body_len);
	sk_X509_free(one);
	mtls_cert_free(cert);
	if (resp->body == NULL) {
		refuse(est, resp, R_INTERNAL, "cannot encode the certificate");
		return -1;
	}
	resp->status = 200;
	resp->content_type = "application/pkcs7-mime; smime-type=certs-only";
	snprintf(resp->serial, sizeof(resp->serial), "%s", serial);
	return 0;
}

/* "Basic base64(user:password)" (RFC 7617): user and password in the
 * caller's buffers; -1 when malformed. */
static int
basic_auth(const char *h, char *user, size_t ulen, char *pass, size_t plen)
{
	unsigned char *raw;
	size_t n = 0;
	char *colon;
	int ret = -1;

	if (strncasecmp(h, "Basic ", 6) != 0)
		return -1;
	h += 6;
	while (*h == ' ')
		h++;
	if (strlen(h) > 1024 || (raw = est_b64_decode(h, strlen(h), &n)) ==
	    NULL)
		return -1;
	if (n == 0 || memchr(raw, '\0', n) != NULL)
		goto out;
	raw[n] = '\0';
	if ((colon = strchr((char *)raw, ':')) == NULL)
		goto out;
	*colon = '\0';
	if (strlen((char *)raw) >= ulen || strlen(colon + 1) >= plen)
		goto out;
	snprintf(user, ulen, "%s", (char *)raw);
	snprintf(pass, plen, "%s", colon + 1);
	ret = 0;
out:
	mtls_cleanse(raw, n);
	free(raw);
	return ret;
}

/* The peer's certificate chain (leaf first), or NULL when none. */
static struct mtls_cert *
peer_chain(struct mtls *conn)
{
	const char *pem;
	size_t len = 0;
	struct mtls_error e;

	if (conn == NULL || !mtls_peer_cert_provided(conn) ||
	    (pem = mtls_peer_cert_chain_pem(conn, &len)) == NULL)
		return NULL;
	return mtls_cert_load_mem(pem, len, "peer", &e);
}

static int
issued_here(struct mtls_est *est, X509 *leaf)
{
	int ok = X509_check_issued(est->ca->x509, leaf) == X509_V_OK &&
	    X509_verify(leaf, X509_get0_pubkey(est->ca->x509)) == 1;

	ERR_clear_error();
	return ok;
}

static int
enroll_token(struct mtls_est *est, const struct mtls_est_request *req,
    struct mtls_est_response *resp, const char *user, const char *pass,
    time_t now)
{
	struct est_token t;
	char hash[65], bad[300], allowed[2400], why[128], serial[64];
	X509_REQ *csr = NULL;
	char *want = NULL;
	int r;

	snprintf(resp->identity, sizeof(resp->identity), "token:%s", user);
	if (!rate_take(est, resp->identity, now))
		return refuse(est, resp, R_RATE, "more than %d enrollments a "
		    "minute for %s", est->rate, resp->identity);
	if (est_sha256_hex(pass, hash) == -1)
		return refuse(est, resp, R_INTERNAL, "cannot hash the token");
	if ((r = est_token_get(est->ca->inv, hash, &t)) == -1)
		return refuse(est, resp, inv_refusal(est), "%s",
		    inv_error(est->ca->inv)->msg);
	/* An unknown token and a known one under another name look the
	 * same to the client. */
	if (r == 0 || strcmp(t.name, user) != 0)
		return refuse(est, resp, R_BAD_TOKEN, "no such token for %s",
		    user);
	if (t.used_at != 0)
		return refuse(est, resp, R_TOKEN_USED, "the token for %s was "
		    "used already", user);
	if (t.expires_at <= now)
		return refuse(est, resp, R_TOKEN_EXPIRED, "the token for %s "
		    "has expired", user);
	if ((csr = read_csr(est, req, resp)) == NULL)
		return 0;
	if (!subject_is_cn(csr, t.name)) {
		refuse(est, resp, R_NAMES, "the CSR's subject must be CN=%s "
		    "alone, as the token says", t.name);
		goto out;
	}
	if ((want = csr_effective_sans(csr, why, sizeof(why))) == NULL) {
		refuse(est, resp, R_BAD_CSR, "%s", why);
		goto out;
	}
	snprintf(allowed, sizeof(allowed), "%sDNS:%s\n", t.sans, t.name);
	if (!names_within(want, allowed, bad, sizeof(bad))) {
		refuse(est, resp, R_NAMES, "%s is not among the names the "
		    "token for %s allows", bad, t.name);
		goto out;
	}
	if ((r = est_token_consume(est->ca->inv, hash, now)) != 1) {
		if (r == -1)
			refuse(est, resp, inv_refusal(est), "%s",
			    inv_error(est->ca->inv)->msg);
		else
			refuse(est, resp, R_TOKEN_USED, "the token for %s was "
			    "used already", user);
		goto out;
	}
	if (issue(est, csr, t.kind, resp, serial) == -1) {
		/* Nothing was issued: the token may be tried again. */
		est_token_release(est->ca->inv, hash);
		goto out;
	}
	est_token_bind(est->ca->inv, hash, serial);
	resp->outcome = "issued";
	est->issued++;
out:
	free(want);
	X509_REQ_free(csr);
	return 0;
}

/* A bootstrap CA's certificate: the CSR may ask for its CN and SANs. */
static int
enroll_bootstrap(struct mtls_est *est, const struct mtls_est_request *req,
    struct mtls_est_response *resp, struct mtls_cert *peer, time_t now)
{
	struct mtls_verify_options vo = { .ca_file = est->bootstrap_file,
	    .purpose = MTLS_PURPOSE_ANY, .at = now };
	struct mtls_error e = { 0 };
	X509 *leaf = sk_X509_value(peer->certs, 0);
	GENERAL_NAMES *gens = NULL;
	X509_REQ *csr = NULL;
	char *cn = NULL, *have = NULL, *want = NULL;
	char bad[300], why[128], serial[64];

	if (mtls_verify_cert(peer, &vo, &e) == -1)
		return refuse(est, resp, R_BOOTSTRAP, "the client certificate "
		    "is not from a bootstrap CA: %s", e.msg);
	if (!rate_take(est, resp->identity, now))
		return refuse(est, resp, R_RATE, "more than %d enrollments a "
		    "minute for %s", est->rate, resp->identity);
	if ((csr = read_csr(est, req, resp)) == NULL)
		return 0;
	cn = x509_name_cn_utf8(X509_get_subject_name(leaf));
	if (cn == NULL || !subject_is_cn(csr, cn)) {
		refuse(est, resp, R_NAMES, "the CSR's subject must be CN=%s "
		    "alone, as the bootstrap certificate's", cn != NULL ? cn :
		    "(none)");
		goto out;
	}
	gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	if (gens == NULL)
		gens = sk_GENERAL_NAME_new_null();
	if (gens == NULL || pki_san_add_cn(gens, cn) == -1 ||
	    (have = sans_lines(gens)) == NULL) {
		refuse(est, resp, R_INTERNAL, "out of memory");
		goto out;
	}
	if ((want = csr_effective_sans(csr, why, sizeof(why))) == NULL) {
		refuse(est, resp, R_BAD_CSR, "%s", why);
		goto out;
	}
	if (!names_within(want, have, bad, sizeof(bad))) {
		refuse(est, resp, R_NAMES, "%s is not a name of the bootstrap "
		    "certificate", bad);
		goto out;
	}
	if (issue(est, csr, MTLS_CERT_CLIENT, resp, serial) == 0) {
		resp->outcome = "issued";
		est->issued++;
	}
out:
	ERR_clear_error();
	GENERAL_NAMES_free(gens);
	free(cn);
	free(have);
	free(want);
	X509_REQ_free(csr);
	return 0;
}

static int
simpleenroll(struct mtls_est *est, const struct mtls_est_request *req,
    struct mtls_est_response *resp, time_t now)
{
	char user[256], pass[256];
	struct mtls_cert *peer = NULL;
	int ret;

	if (req->authorization != NULL) {
		if (basic_auth(req->authorization, user, sizeof(user), pass,
		    sizeof(pass)) == -1) {
			snprintf(resp->identity, sizeof(resp->identity), "-");
			return refuse(est, resp, R_NO_AUTH, "the Authorization "
			    "header is not HTTP Basic with a name and a "
			    "token");
		}
		ret = enroll_token(est, req, resp, user, pass, now);
		mtls_cleanse(pass, sizeof(pass));
		return ret;
	}
	if (est->bootstrap != NULL && (peer = peer_chain(req->conn)) !=
	    NULL && !issued_here(est, sk_X509_value(peer->certs, 0))) {
		ret = enroll_bootstrap(est, req, resp, peer, now);
		mtls_cert_free(peer);
		return ret;
	}
	mtls_cert_free(peer);
	if (!rate_take(est, resp->identity, now))
		return refuse(est, resp, R_RATE, "too many requests from %s",
		    resp->identity);
	return refuse(est, resp, R_NO_AUTH, "enrollment needs a token "
	    "(HTTP Basic: the name, then the token)%s",
	    est->bootstrap != NULL ? " or a bootstrap CA's certificate" : "");
}

static int
simplereenroll(struct mtls_est *est, const struct mtls_est_request *req,
    struct mtls_est_response *resp, time_t now)
{
	struct mtls_cert *peer = peer_chain(req->conn);
	enum mtls_cert_kind kind = MTLS_CERT_CLIENT;
	X509 *leaf;
	X509_REQ *csr = NULL;
	char *serial = NULL, *subj = NULL, *csubj = NULL, *have = NULL;
	char *want = NULL, why[128], newserial[64];
	int revoked = 0, r;
	time_t na = 0;

	if (peer == NULL) {
		if (!rate_take(est, resp->identity, now))
			return refuse(est, resp, R_RATE, "too many requests "
			    "from %s", resp->identity);
		return refuse(est, resp, R_NO_AUTH, "re-enrollment needs the "
		    "current certificate as the TLS client certificate");
	}
	leaf = sk_X509_value(peer->certs, 0);
	if ((serial = x509_serial_hex(X509_get0_serialNumber(leaf))) ==
	    NULL || (subj = x509_name_line(X509_get_subject_name(leaf))) ==
	    NULL) {
		refuse(est, resp, R_INTERNAL, "out of memory");
		goto out;
	}
	snprintf(resp->identity, sizeof(resp->identity), "%s", subj);
	if (!rate_take(est, serial, now)) {
		refuse(est, resp, R_RATE, "more than %d renewals a minute "
		    "for serial %s", est->rate, serial);
		goto out;
	}
	if (!issued_here(est, leaf)) {
		refuse(est, resp, R_NOT_OURS, "serial %s was not issued by "
		    "this CA", serial);
		goto out;
	}
	if ((r = est_cert_lookup(est->ca->inv, serial, &revoked, &kind)) ==
	    -1) {
		refuse(est, resp, inv_refusal(est), "%s",
		    inv_error(est->ca->inv)->msg);
		goto out;
	}
	if (r == 0) {
		refuse(est, resp, R_NOT_OURS, "serial %s is not in the "
		    "inventory", serial);
		goto out;
	}
	if (revoked) {
		refuse(est, resp, R_REVOKED, "serial %s is revoked", serial);
		goto out;
	}
	/* The TLS layer refuses an expired certificate already; this holds
	 * for a session resumed across the expiry. */
	if (x509_time(X509_get0_notAfter(leaf), &na) != 0 || na <= now) {
		refuse(est, resp, R_EXPIRED, "serial %s has expired", serial);
		goto out;
	}
	if (kind != MTLS_CERT_SERVER && kind != MTLS_CERT_CLIENT) {
		refuse(est, resp, R_NOT_OURS, "serial %s is a CA certificate",
		    serial);
		goto out;
	}
	if ((csr = read_csr(est, req, resp)) == NULL)
		goto out;
	/* RFC 7030 4.2.2: the subject and the SANs stay the same. */
	if ((csubj = x509_name_line(X509_REQ_get_subject_name(csr))) == NULL ||
	    (want = csr_effective_sans(csr, why, sizeof(why))) == NULL) {
		refuse(est, resp, R_BAD_CSR, "%s", csubj == NULL ?
		    "unreadable subject" : why);
		goto out;
	}
	{
		GENERAL_NAMES *g = X509_get_ext_d2i(leaf,
		    NID_subject_alt_name, NULL, NULL);
		have = sans_lines(g);
		GENERAL_NAMES_free(g);
	}
	if (have == NULL) {
		refuse(est, resp, R_INTERNAL, "out of memory");
		goto out;
	}
	if (strcmp(subj, csubj) != 0 || strcmp(have, want) != 0) {
		refuse(est, resp, R_NAMES_CHANGED, "re-enrollment keeps the "
		    "names: the CSR asks for %s [%s], the certificate has %s "
		    "[%s]", csubj, want, subj, have);
		goto out;
	}
	if (issue(est, csr, kind, resp, newserial) == -1)
		goto out;
	if (est_supersede(est->ca->inv, serial, newserial, now) == -1) {
		/* Issued and recorded: the answer stands; the note is lost. */
		snprintf(resp->reason, sizeof(resp->reason), "%.200s",
		    inv_error(est->ca->inv)->msg);
	}
	resp->outcome = "renewed";
	est->renewed++;
out:
	/* Names in the reason may hold newlines from the lists. */
	for (char *p = resp->reason; *p; p++)
		if (*p == '\n')
			*p = ',';
	ERR_clear_error();
	X509_REQ_free(csr);
	free(serial);
	free(subj);
	free(csubj);
	free(have);
	free(want);
	mtls_cert_free(peer);
	return 0;
}

static int
serve_bytes(struct mtls_est *est, struct mtls_est_response *resp,
    const char *type, const void *data, size_t len)
{
	free(resp->body);
	if ((resp->body = malloc(len > 0 ? len : 1)) == NULL) {
		resp->body_len = 0;
		return refuse(est, resp, R_INTERNAL, "out of memory");
	}
	memcpy(resp->body, data, len);
	resp->body_len = len;
	resp->status = 200;
	resp->content_type = type;
	resp->outcome = "served";
	est->served++;
	return 0;
}

int
mtls_est_handle(struct mtls_est *est, const struct mtls_est_request *req,
    struct mtls_est_response *resp)
{
	time_t now = req->now != 0 ? req->now : time(NULL);
	const char *path = req->path, *op;
	size_t oplen;
	int get = strcmp(req->method, "GET") == 0;
	int post = strcmp(req->method, "POST") == 0;

	memset(resp, 0, sizeof(*resp));
	/* Until a request authenticates, it is its address (without the
	 * port, which changes with each connection). */
	snprintf(resp->identity, sizeof(resp->identity), "%s",
	    req->client != NULL ? req->client : "-");
	if (resp->identity[0] == '[') {
		char *e = strchr(resp->identity, ']');
		if (e != NULL)
			*e = '\0';
		memmove(resp->identity, resp->identity + 1,
		    strlen(resp->identity));
	} else if (strchr(resp->identity, ':') != NULL) {
		*strrchr(resp->identity, ':') = '\0';
	}
	if (strcmp(path, "/crl") == 0) {
		if (!get)
			return refuse(est, resp, R_METHOD, "/crl is read with "
			    "GET");
		if (est->crl_der == NULL)
			return refuse(est, resp, R_UNAVAILABLE, "no CRL yet");
		return serve_bytes(est, resp, "application/pkix-crl",
		    est->crl_der, est->crl_der_len);
	}
	if (strncmp(path, EST_PREFIX, strlen(EST_PREFIX)) != 0)
		return refuse(est, resp, R_NOT_FOUND, "%s: not an EST path "
		    "(they are under %s)", path, EST_PREFIX);
	op = path + strlen(EST_PREFIX);
	oplen = strcspn(op, "?");
#define OP(s) (oplen == strlen(s) && strncmp(op, s, oplen) == 0)
	if (OP("cacerts") || OP("csrattrs")) {
		if (!get)
			return refuse(est, resp, R_METHOD, "%s is read with "
			    "GET", path);
		if (OP("cacerts"))
			return serve_bytes(est, resp, "application/pkcs7-mime;"
			    " smime-type=certs-only", est->cacerts,
			    est->cacerts_len);
		return serve_bytes(est, resp, "application/csrattrs",
		    est->csrattrs, strlen(est->csrattrs));
	}
	if (OP("simpleenroll") || OP("simplereenroll")) {
		if (!post)
			return refuse(est, resp, R_METHOD, "%s takes a POST",
			    path);
		return OP("simpleenroll") ? simpleenroll(est, req, resp, now) :
		    simplereenroll(est, req, resp, now);
	}
	if (OP("fullcmc") || OP("serverkeygen"))
		return refuse(est, resp, R_NOT_FOUND, "%s is not offered by "
		    "this CA", path);
#undef OP
	return refuse(est, resp, R_NOT_FOUND, "%s: no such EST operation",
	    path);
}

/* ---- the CRL ----------------------------------------------------- */

/* Loads the CRL file into the served DER. */
static int
crl_load(struct mtls_est *est, struct mtls_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	X509_CRL *crl = NULL;
	unsigned char *der = NULL;
	int n, ret = -1;

	if (file_read(est->crl_path, MTLS_MAX_INPUT, &buf, &len, err) != 0)
		return -1;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL ||
	    (crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) == NULL ||
	    (n = i2d_X509_CRL(crl, &der)) <= 0) {
		err_set_ssl(err, MTLS_ERR_PARSE, "%s: unreadable CRL",
		    est->crl_path);
		goto out;
	}
	if (x509_time(X509_CRL_get0_lastUpdate(crl), &est->crl_this) != 0 ||
	    X509_CRL_get0_nextUpdate(crl) == NULL ||
	    x509_time(X509_CRL_get0_nextUpdate(crl), &est->crl_next) != 0) {
		err_set(err, MTLS_ERR_PARSE, "%s: the CRL's dates are "
		    "unreadable", est->crl_path);
		goto out;
	}
	free(est->crl_der);
	if ((est->crl_der = malloc((size_t)n)) == NULL) {
		est->crl_der_len = 0;
		err_set(err, MTLS_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(est->crl_der, der, (size_t)n);
	est->crl_der_len = (size_t)n;
	est->crl_revoked = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl));
	ret = 0;
out:
	OPENSSL_free(der);
	X509_CRL_free(crl);
	BIO_free(bio);
	free(buf);
	return ret;
}

int
mtls_est_crl_refresh(struct mtls_est *est, time_t now, time_t *next_update,
    struct mtls_error *err)
{
	int revoked = -1, due;

	if (est->crl_der == NULL && file_exists(est->crl_path))
		(void)crl_load(est, err);
	if (est_count_revoked(est->ca->inv, &revoked) == -1)
		revoked = -1;
	/* Well before nextUpdate: at half of the validity. */
	due = est->crl_der == NULL ||
	    now >= est->crl_this + (est->crl_next - est->crl_this) / 2 ||
	    (revoked >= 0 && revoked != est->crl_revoked);
	*next_update = est->crl_next;
	if (!due)
		return 0;
	if (mtls_ca_write_crl(est->ca, est->crl_path, est->crl_days,
	    MTLS_WRITE_FORCE) == -1 || crl_load(est, err) == -1) {
		if (est->ca->err.code != MTLS_OK)
			*err = est->ca->err;
		est->crl_failed++;
		est->crl_failing = 1;
		*next_update = est->crl_next;
		return -1;
	}
	est->crl_made++;
	est->crl_failing = 0;
	*next_update = est->crl_next;
	return 1;
}

size_t
mtls_est_metrics(struct mtls_est *est, char *buf, size_t cap, time_t now)
{
	size_t len = 0;
	int n;

#define EMIT(...) do { \
	n = snprintf(buf + len, cap > len ? cap - len : 0, __VA_ARGS__); \
	if (n > 0) len += (size_t)n; \
	if (len > cap) len = cap; \
} while (0)
	EMIT("# HELP mtls_ca_issued_total Certificates issued by enrollment."
	    "\n# TYPE mtls_ca_issued_total counter\n"
	    "mtls_ca_issued_total %llu\n", est->issued);
	EMIT("# HELP mtls_ca_renewed_total Certificates issued by "
	    "re-enrollment.\n# TYPE mtls_ca_renewed_total counter\n"
	    "mtls_ca_renewed_total %llu\n", est->renewed);
	EMIT("# HELP mtls_ca_served_total CA certificates, CSR attributes "
	    "and CRLs served.\n# TYPE mtls_ca_served_total counter\n"
	    "mtls_ca_served_total %llu\n", est->served);
	EMIT("# HELP mtls_ca_refused_total Requests refused, by reason.\n"
	    "# TYPE mtls_ca_refused_total counter\n");
	for (int i = 0; i < R_COUNT; i++)
		EMIT("mtls_ca_refused_total{reason=\"%s\"} %llu\n",
		    refusals[i].code, est->refused[i]);
	EMIT("# HELP mtls_ca_crl_next_update_timestamp_seconds nextUpdate of "
	    "the CRL served.\n"
	    "# TYPE mtls_ca_crl_next_update_timestamp_seconds gauge\n"
	    "mtls_ca_crl_next_update_timestamp_seconds %lld\n",
	    (long long)est->crl_next);
	EMIT("# HELP mtls_ca_crl_stale 1 when the CRL could not be remade and "
	    "a quarter or less of its validity is left.\n"
	    "# TYPE mtls_ca_crl_stale gauge\nmtls_ca_crl_stale %d\n",
	    est->crl_failing && est->crl_next - now <=
	    (est->crl_next - est->crl_this) / 4 ? 1 : 0);
	EMIT("# HELP mtls_ca_crl_made_total CRLs made, and failures.\n"
	    "# TYPE mtls_ca_crl_made_total counter\n"
	    "mtls_ca_crl_made_total{outcome=\"ok\"} %llu\n"
	    "mtls_ca_crl_made_total{outcome=\"failed\"} %llu\n",
	    est->crl_made, est->crl_failed);
#undef EMIT
	return len;
}

/* ---- tokens ------------------------------------------------------ */

int
mtls_ca_token_create(struct mtls_ca *ca,
    const struct mtls_token_options *opt, char *token, size_t len)
{
	struct est_token t;
	struct mtls_names n;
	unsigned char raw[24];
	GENERAL_NAMES *gens = NULL;
	char *lines = NULL, hash[65];
	size_t tlen = 0;
	int ret = -1;

	if (ca == NULL)
		return -1;
	if (opt == NULL || opt->names == NULL ||
	    opt->names->common_name == NULL ||
	    *opt->names->common_name == '\0')
		return ca_err(ca, MTLS_ERR_USAGE, "a token needs a name");
	if (opt->names->nemail > 0)
		return ca_err(ca, MTLS_ERR_USAGE, "a token allows DNS names, "
		    "IP addresses and URIs only");
	if (opt->ttl_seconds < 0 || opt->ttl_seconds > 366L * 86400)
		return ca_err(ca, MTLS_ERR_USAGE, "a token lives at most a "
		    "year");
	if (token == NULL || len < MTLS_TOKEN_MAX)
		return ca_err(ca, MTLS_ERR_USAGE, "no room for the token");
	if (strlen(opt->names->common_name) >= sizeof(t.name) ||
	    strchr(opt->names->common_name, ':') != NULL)
		return ca_err(ca, MTLS_ERR_USAGE, "%s: not a usable name (at "
		    "most %zu characters, no ':', which HTTP Basic "
		    "reserves)", opt->names->common_name, sizeof(t.name) - 1);
	memset(&t, 0, sizeof(t));
	/* The names are checked as issuance will check them. */
	n = *opt->names;
	if ((gens = pki_names_san(&n, &ca->err)) == NULL)
		return -1;
	if ((lines = sans_lines(gens)) == NULL) {
		ca_err(ca, MTLS_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (strlen(lines) >= sizeof(t.sans)) {
		ca_err(ca, MTLS_ERR_USAGE, "too many names for one token");
		goto out;
	}
	snprintf(t.name, sizeof(t.name), "%s", opt->names->common_name);
	snprintf(t.sans, sizeof(t.sans), "%s", lines);
	t.kind = opt->kind == MTLS_CERT_SERVER ? MTLS_CERT_SERVER :
	    MTLS_CERT_CLIENT;
	t.expires_at = time(NULL) + (opt->ttl_seconds > 0 ?
	    opt->ttl_seconds : 3600);
	/* 192 random bits, base64url without padding: 32 characters. */
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		ca_err_ssl(ca, MTLS_ERR_CRYPTO, "no random bytes");
		goto out;
	}
	tlen = (size_t)EVP_EncodeBlock((unsigned char *)token, raw,
	    sizeof(raw));
	for (size_t i = 0; i < tlen; i++)
		token[i] = token[i] == '+' ? '-' : token[i] == '/' ? '_' :
		    token[i];
	while (tlen > 0 && token[tlen - 1] == '=')
		token[--tlen] = '\0';
	if (est_sha256_hex(token, hash) == -1) {
		ca_err(ca, MTLS_ERR_CRYPTO, "cannot hash the token");
		goto out;
	}
	if (est_token_add(ca->inv, hash, &t) == -1) {
		ca_err_inv(ca);
		goto out;
	}
	ret = 0;
out:
	if (ret != 0)
		mtls_cleanse(token, len);
	mtls_cleanse(raw, sizeof(raw));
	GENERAL_NAMES_free(gens);
	free(lines);
	return ret;
}

/* ---- renewal timing ---------------------------------------------- */

time_t
mtls_renew_time(time_t nb, time_t na, double jitter01)
{
	double life = (double)(na - nb);

	if (jitter01 < 0 || jitter01 >= 1)
		jitter01 = 0;
	return nb + (time_t)(life * 2.0 / 3.0 - life / 12.0 * jitter01);
}

double
mtls_renew_backoff(int n, time_t now, time_t na)
{
	double d = 1.0, left = (double)(na - now) / 4.0;

	for (int i = 1; i < n && d < 60.0; i++)
		d *= 2;
	if (d > 60.0)
		d = 60.0;
	if (d > left)
		d = left;
	return d < 1.0 ? 1.0 : d;
}
