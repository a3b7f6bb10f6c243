/*
 * tls_verify_cache.c - a client's memory of server chains it has verified.
 *
 * A client that connects to the same server again and again (mtls bench,
 * a tunnel) receives the same chain every time and, without this, builds
 * and verifies it every time (X509_verify_cert: chain building, the CA's
 * signature, the name).  With a cache (mtls_config_set_verify_cache), a
 * chain is verified in full once; afterwards a chain whose bytes and
 * server name hash to an entry is accepted as verified, and any other
 * chain is verified in full.  Nothing else changes: the handshake still
 * checks the server's CertificateVerify signature with the leaf's key, so
 * a peer that replays a cached chain without its key fails as before.
 *
 * An entry is the SHA-256 of the name checked and of each certificate's
 * DER, as received, and lives until the first notAfter of the verified
 * chain or the first nextUpdate of the config's CRLs, whichever comes
 * first (the trust anchors and CRLs are those of the config, which does
 * not change once built; a reload makes a new config and a new cache).
 * Only chains that verified without any complaint are kept, so a
 * noverifycert client never caches a bad chain.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tls/tls_internal.h"
#include "x509/inspect.h"

int
mtls_config_set_verify_cache(struct mtls_config *cfg, size_t entries)
{
	pthread_mutex_lock(&cfg->lock);
	free(cfg->vcache);
	cfg->vcache = NULL;
	cfg->nvcache = 0;
	cfg->vcache_max = entries;
	pthread_mutex_unlock(&cfg->lock);
	return 0;
}

/* The key of the chain in x as the server sent it, for this name. */
static int
chain_key(struct mtls *ctx, X509_STORE_CTX *x, unsigned char key[32])
{
	STACK_OF(X509) *sk = X509_STORE_CTX_get0_untrusted(x);
	X509 *leaf = X509_STORE_CTX_get0_cert(x);
	const char *name = ctx->servername != NULL ? ctx->servername : "";
	size_t namelen = strlen(name) + 1; /* with the NUL: no ambiguity */
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = md != NULL && leaf != NULL &&
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(md, "mtls verified v1", 16) &&
	    EVP_DigestUpdate(md, name, namelen);

	/* The leaf, then what came with it (OpenSSL's untrusted stack holds
	 * the leaf first too). */
	for (int i = -1; ok && i < sk_X509_num(sk); i++) {
		X509 *c = i < 0 ? leaf : sk_X509_value(sk, i);
		unsigned char *der = NULL;
		int len = i2d_X509(c, &der);
		unsigned char l[4] = { (unsigned char)(len >> 24),
		    (unsigned char)(len >> 16), (unsigned char)(len >> 8),
		    (unsigned char)len };

		ok = len > 0 && EVP_DigestUpdate(md, l, sizeof(l)) &&
		    EVP_DigestUpdate(md, der, (size_t)len);
		OPENSSL_free(der);
	}
	ok = ok && EVP_DigestFinal_ex(md, key, NULL);
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

int
tls_verify_cache_lookup(struct mtls *ctx, X509_STORE_CTX *x,
    unsigned char key[32])
{
	struct mtls_config *cfg = ctx->cfg;
	time_t now = time(NULL);
	int hit = 0;

	if (chain_key(ctx, x, key) != 0)
		return -1;
	pthread_mutex_lock(&cfg->lock);
	for (size_t i = 0; i < cfg->nvcache; i++) {
		struct tls_verified *e = &cfg->vcache[i];
		if (memcmp(e->key, key, sizeof(e->key)) != 0)
			continue;
		if (now < e->until) {
			hit = 1;
			cfg->vcache_hits++;
		}
		else
			*e = cfg->vcache[--cfg->nvcache]; /* stale */
		break;
	}
	pthread_mutex_unlock(&cfg->lock);
	return hit;
}

/* Until when a chain verified now stays verified: the first notAfter of
 * the chain, the first nextUpdate of the CRLs. */
static time_t
verified_until(struct mtls_config *cfg, X509_STORE_CTX *x)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(x);
	time_t until = (time_t)-1, t;

	for (int i = 0; i < sk_X509_num(chain); i++) {
		if (x509_time(X509_get0_notAfter(sk_X509_value(chain, i)),
		    &t) != 0)
			return 0;
		if (until == (time_t)-1 || t < until)
			until = t;
	}
	for (int i = 0; i < sk_X509_CRL_num(cfg->crls); i++) {
		const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(
		    sk_X509_CRL_value(cfg->crls, i));
		if (nu == NULL)
			continue;
		if (x509_time(nu, &t) != 0)
			return 0;
		if (until == (time_t)-1 || t < until)
			until = t;
	}
	return until == (time_t)-1 ? 0 : until;
}

void
tls_verify_cache_add(struct mtls *ctx, X509_STORE_CTX *x,
    const unsigned char key[32])
{
	struct mtls_config *cfg = ctx->cfg;
	time_t until = verified_until(cfg, x);
	size_t slot = 0;

	if (until <= time(NULL))
		return;
	pthread_mutex_lock(&cfg->lock);
	if (cfg->vcache_max == 0)
		goto out;
	if (cfg->vcache == NULL && (cfg->vcache = calloc(cfg->vcache_max,
	    sizeof(*cfg->vcache))) == NULL)
		goto out;
	for (size_t i = 0; i < cfg->nvcache; i++) {
		if (memcmp(cfg->vcache[i].key, key, 32) == 0)
			goto out; /* another connection was first */
		if (cfg->vcache[i].seq < cfg->vcache[slot].seq)
			slot = i;
	}
	if (cfg->nvcache < cfg->vcache_max)
		slot = cfg->nvcache++;
	memcpy(cfg->vcache[slot].key, key, 32);
	cfg->vcache[slot].until = until;
	cfg->vcache[slot].seq = ++cfg->pool_seq;
out:
	pthread_mutex_unlock(&cfg->lock);
}
