/*
 * tls_peer.c - facts about the peer's certificate as plain strings and
 * time_t.  Nothing is computed until asked for, and then only once per
 * connection: most connections never ask for the chain in PEM.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls/tls_internal.h"
#include "x509/text.h"

static X509 *
peer_leaf(struct mtls *ctx)
{
	if (ctx == NULL || ctx->ssl == NULL)
		return NULL;
	return SSL_get0_peer_certificate(ctx->ssl);
}

static struct tls_peer *
peer_get(struct mtls *ctx)
{
	if (peer_leaf(ctx) == NULL)
		return NULL;
	if (ctx->peer == NULL)
		ctx->peer = calloc(1, sizeof(*ctx->peer));
	return ctx->peer;
}

void
tls_peer_free(struct tls_peer *p)
{
	if (p == NULL)
		return;
	free(p->subject);
	free(p->issuer);
	free(p->common_name);
	free(p->hash);
	for (size_t i = 0; i < p->nsans; i++)
		free(p->sans[i].value);
	free(p->sans);
	free(p->chain_pem);
	free(p);
}

int
mtls_peer_cert_provided(struct mtls *ctx)
{
	return peer_leaf(ctx) != NULL;
}

const char *
mtls_peer_cert_subject(struct mtls *ctx)
{
	struct tls_peer *p = peer_get(ctx);

	if (p == NULL)
		return NULL;
	if (p->subject == NULL)
		p->subject = x509_name_line(X509_get_subject_name(peer_leaf(ctx)));
	return p->subject;
}

const char *
mtls_peer_cert_issuer(struct mtls *ctx)
{
	struct tls_peer *p = peer_get(ctx);

	if (p == NULL)
		return NULL;
	if (p->issuer == NULL)
		p->issuer = x509_name_line(X509_get_issuer_name(peer_leaf(ctx)));
	return p->issuer;
}

const char *
mtls_peer_cert_common_name(struct mtls *ctx)
{
	struct tls_peer *p = peer_get(ctx);

	if (p == NULL)
		return NULL;
	/* The one CN (x509/text.h), as `cert inspect` names it. */
	if (p->common_name == NULL)
		p->common_name = x509_name_cn_utf8(X509_get_subject_name(
		    peer_leaf(ctx)));
	return p->common_name;
}

const char *
mtls_peer_cert_hash(struct mtls *ctx)
{
	static const char hexd[] = "0123456789abcdef";
	struct tls_peer *p = peer_get(ctx);
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (p == NULL)
		return NULL;
	if (p->hash == NULL) {
		if (!X509_digest(peer_leaf(ctx), EVP_sha256(), md, &mdlen) ||
		    mdlen != 32)
			return NULL;
		char *h = malloc(7 + 64 + 1);
		if (h == NULL)
			return NULL;
		memcpy(h, "sha256:", 7);
		for (unsigned i = 0; i < 32; i++) {
			h[7 + 2 * i] = hexd[md[i] >> 4];
			h[8 + 2 * i] = hexd[md[i] & 15];
		}
		h[71] = '\0';
		p->hash = h;
	}
	return p->hash;
}

static time_t
asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return (time_t)-1;
	return timegm(&tm);
}

time_t
mtls_peer_cert_notbefore(struct mtls *ctx)
{
	X509 *x = peer_leaf(ctx);

	return x != NULL ? asn1_time(X509_get0_notBefore(x)) : (time_t)-1;
}

time_t
mtls_peer_cert_notafter(struct mtls *ctx)
{
	X509 *x = peer_leaf(ctx);

	return x != NULL ? asn1_time(X509_get0_notAfter(x)) : (time_t)-1;
}

/* The peer's SANs, once: the one SAN list of x509/text.h, as sent. */
static int
peer_sans(struct mtls *ctx, struct tls_peer *p)
{
	GENERAL_NAMES *gens;
	int ret;

	if (p->sans != NULL)
		return 0;
	gens = X509_get_ext_d2i(peer_leaf(ctx), NID_subject_alt_name, NULL,
	    NULL);
	ret = x509_sans_collect_raw(gens, &p->sans, &p->nsans);
	GENERAL_NAMES_free(gens);
	if (ret == 0 && p->sans == NULL) /* none: mark "computed" */
		p->sans = calloc(1, sizeof(*p->sans));
	return ret == 0 && p->sans != NULL ? 0 : -1;
}

size_t
mtls_peer_san_count(struct mtls *ctx)
{
	struct tls_peer *p = peer_get(ctx);

	if (p == NULL || peer_sans(ctx, p) != 0)
		return 0;
	return p->nsans;
}

const char *
mtls_peer_san(struct mtls *ctx, size_t i, enum mtls_san_type *type)
{
	struct tls_peer *p = peer_get(ctx);

	if (p == NULL || peer_sans(ctx, p) != 0 || i >= p->nsans)
		return NULL;
	if (type != NULL)
		*type = p->sans[i].type;
	return p->sans[i].value;
}

STACK_OF(X509) *
tls_peer_sent_chain(struct mtls *ctx)
{
	if (ctx == NULL || ctx->ssl == NULL)
		return NULL;
	if (ctx->ticket_chain != NULL && SSL_session_reused(ctx->ssl))
		return ctx->ticket_chain;
	return SSL_get_peer_cert_chain(ctx->ssl);
}

/* A ticket's application data: the DER certificates one after the other
 * (each says its own length).  Bounded so that a ticket stays small
 * enough for a ClientHello; a longer chain is not kept (a session resumed
 * from such a ticket then has no chain to give). */
#define TICKET_CHAIN_MAX 8192

int
tls_ticket_gen_cb(SSL *ssl, void *arg)
{
	struct mtls *ctx = SSL_get_app_data(ssl);
	STACK_OF(X509) *sk = tls_peer_sent_chain(ctx);
	X509 *leaf = SSL_get0_peer_certificate(ssl);
	unsigned char *buf = NULL, *p;
	size_t len = 0;
	int i, n, ok = 1;

	(void)arg;
	for (i = 0; i < sk_X509_num(sk); i++) {
		X509 *x = sk_X509_value(sk, i);
		if (leaf != NULL && X509_cmp(x, leaf) == 0)
			continue;
		if ((n = i2d_X509(x, NULL)) <= 0)
			return 1;
		len += (size_t)n;
	}
	if (len == 0 || len > TICKET_CHAIN_MAX)
		return 1;
	if ((buf = malloc(len)) == NULL)
		return 1;
	p = buf;
	for (i = 0; i < sk_X509_num(sk); i++) {
		X509 *x = sk_X509_value(sk, i);
		if (leaf != NULL && X509_cmp(x, leaf) == 0)
			continue;
		if (i2d_X509(x, &p) <= 0)
			ok = 0;
	}
	if (ok)
		(void)SSL_SESSION_set1_ticket_appdata(SSL_get0_session(ssl),
		    buf, len);
	free(buf);
	/* 0 would abort the handshake; a ticket without the chain only
	 * costs a resumed session its Client-Cert-Chain. */
	return 1;
}

SSL_TICKET_RETURN
tls_ticket_dec_cb(SSL *ssl, SSL_SESSION *ss, const unsigned char *keyname,
    size_t keyname_len, SSL_TICKET_STATUS status, void *arg)
{
	struct mtls *ctx = SSL_get_app_data(ssl);
	void *data = NULL;
	size_t len = 0;

	(void)keyname;
	(void)keyname_len;
	(void)arg;
	/* OpenSSL's own choices when no callback is set. */
	switch (status) {
	case SSL_TICKET_SUCCESS:
	case SSL_TICKET_SUCCESS_RENEW:
		break;
	case SSL_TICKET_EMPTY:
	case SSL_TICKET_NO_DECRYPT:
		return SSL_TICKET_RETURN_IGNORE_RENEW;
	default:
		return SSL_TICKET_RETURN_ABORT;
	}
	if (ctx != NULL && SSL_SESSION_get0_ticket_appdata(ss, &data, &len) &&
	    len > 0 && len <= TICKET_CHAIN_MAX) {
		/* The data was sealed by one of our ticket keys: ours. */
		const unsigned char *p = data, *end = p + len;
		STACK_OF(X509) *sk = sk_X509_new_null();

		while (sk != NULL && p < end) {
			X509 *x = d2i_X509(NULL, &p, (long)(end - p));
			if (x == NULL || !sk_X509_push(sk, x)) {
				X509_free(x);
				sk_X509_pop_free(sk, X509_free);
				sk = NULL;
			}
		}
		sk_X509_pop_free(ctx->ticket_chain, X509_free);
		ctx->ticket_chain = sk;
	}
	return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE :
	    SSL_TICKET_RETURN_USE_RENEW;
}

/* What the peer sent, leaf first.  A client's SSL_get_peer_cert_chain()
 * starts with the leaf; a server's does not.  The returned stack is new
 * (its certificates are not up-referenced); free it with sk_X509_free(). */
static STACK_OF(X509) *
peer_chain(struct mtls *ctx)
{
	STACK_OF(X509) *sent, *out;

	if (ctx == NULL || ctx->ssl == NULL)
		return NULL;
	sent = ctx->role == TLS_ROLE_CLIENT ?
	    SSL_get_peer_cert_chain(ctx->ssl) : tls_peer_sent_chain(ctx);
	if ((out = sk_X509_new_null()) == NULL)
		return NULL;
	X509 *leaf = SSL_get0_peer_certificate(ctx->ssl);
	if (ctx->role != TLS_ROLE_CLIENT && leaf != NULL)
		sk_X509_push(out, leaf);
	for (int i = 0; i < sk_X509_num(sent); i++)
		sk_X509_push(out, sk_X509_value(sent, i));
	return out;
}

const char *
mtls_peer_cert_chain_pem(struct mtls *ctx, size_t *len)
{
	struct tls_peer *p = peer_get(ctx);

	if (len != NULL)
		*len = 0;
	if (p == NULL)
		return NULL;
	if (p->chain_pem == NULL) {
		STACK_OF(X509) *sk = peer_chain(ctx);
		BIO *bio = BIO_new(BIO_s_mem());
		int ok = sk != NULL && bio != NULL;
		for (int i = 0; ok && i < sk_X509_num(sk); i++)
			ok = PEM_write_bio_X509(bio, sk_X509_value(sk, i));
		if (ok) {
			char *data;
			long n = BIO_get_mem_data(bio, &data);
			if (n > 0 && (p->chain_pem = malloc((size_t)n + 1)) !=
			    NULL) {
				memcpy(p->chain_pem, data, (size_t)n);
				p->chain_pem[n] = '\0';
				p->chain_pem_len = (size_t)n;
			}
		}
		BIO_free(bio);
		sk_X509_free(sk);
	}
	if (len != NULL)
		*len = p->chain_pem_len;
	return p->chain_pem;
}

size_t
mtls_peer_chain_count(struct mtls *ctx)
{
	STACK_OF(X509) *sk = peer_chain(ctx);
	size_t n = sk != NULL ? (size_t)sk_X509_num(sk) : 0;

	sk_X509_free(sk);
	return n;
}

int
mtls_peer_chain_info(struct mtls *ctx, size_t i, struct mtls_cert_info *info,
    struct mtls_error *err)
{
	STACK_OF(X509) *sk = peer_chain(ctx);
	struct mtls_cert c;

	if (sk == NULL || i >= (size_t)sk_X509_num(sk)) {
		sk_X509_free(sk);
		memset(info, 0, sizeof(*info));
		return err_set(err, MTLS_ERR_NOT_FOUND, "the peer sent no "
		    "certificate number %zu", i + 1);
	}
	c.certs = sk;
	int rc = mtls_cert_info(&c, i, info, err);
	sk_X509_free(sk);
	return rc;
}
