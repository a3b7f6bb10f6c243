/*
 * tls_config.c - the TLS configuration: files and switches set by the
 * caller, the safe defaults of DESIGN.md, and the one SSL_CTX per role built
 * from them (lazily, once; never per connection).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/pem.h"
#include "tls/tls_internal.h"

/*
 * TLS 1.2: forward secrecy (ECDHE) and AEAD only.  TLS 1.3 suites are all
 * AEAD with (EC)DHE already; OpenSSL's default list for them is kept.
 */
static const char tls12_ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
static const char tls_groups[] = "X25519:P-256:P-384";
/* OpenSSL's TLS 1.3 suites, AES-128-GCM first (see build_ctx). */
static const char tls13_suites[] = "TLS_AES_128_GCM_SHA256:"
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/* Root -> intermediate -> leaf needs 2; leave room for one more level of
 * intermediates and a cross-signed root. */
#define TLS_VERIFY_DEPTH 5
#define TICKET_KEY_LEN 80
/*
 * Sessions a server keeps for resumption unless told otherwise.  Each one
 * holds the client's certificate, decoded: 6.2 KB with an ECDSA P-256
 * client certificate (measured: heap growth over 1000 full handshakes
 * whose sessions stay cached).  OpenSSL's default of 20480 is then up to
 * 124 MB; 4096 bound the cache to about 25 MB, and resume the 4096 most
 * recent clients (sessions of clients beyond that are replaced oldest
 * first, and those clients make a full handshake).
 */
#define TLS_SESSION_CACHE_DEFAULT 4096

static int cfg_ex_index = -1, sid_ex_index = -1;
static pthread_once_t cfg_ex_once = PTHREAD_ONCE_INIT;

static void
sid_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	free(ptr);
}

static void
cfg_ex_init(void)
{
	cfg_ex_index = SSL_CTX_get_ex_new_index(0, "mtls_config", NULL, NULL,
	    NULL);
	sid_ex_index = SSL_CTX_get_ex_new_index(0, "mtls sid ctx", NULL, NULL,
	    sid_ex_free);
}

int
tls_config_ex_index(void)
{
	pthread_once(&cfg_ex_once, cfg_ex_init);
	return cfg_ex_index;
}

const unsigned char *
tls_config_sid_ctx(SSL_CTX *sctx)
{
	pthread_once(&cfg_ex_once, cfg_ex_init);
	return SSL_CTX_get_ex_data(sctx, sid_ex_index);
}

struct mtls_config *
mtls_config_new(void)
{
	struct mtls_config *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL)
		return NULL;
	if (pthread_mutex_init(&cfg->lock, NULL) != 0) {
		free(cfg);
		return NULL;
	}
	cfg->refs = 1;
	cfg->min_proto = TLS1_2_VERSION;
	cfg->max_proto = TLS1_3_VERSION;
	cfg->client_auth = TLS_CLIENT_AUTH_REQUIRE;
	return cfg;
}

void
tls_config_ref(struct mtls_config *cfg)
{
	__atomic_add_fetch(&cfg->refs, 1, __ATOMIC_RELAXED);
}

/* Drops the built SSL_CTXs: the next context configured builds anew.
 * Contexts configured before keep their own reference. */
static void
cfg_invalidate(struct mtls_config *cfg)
{
	pthread_mutex_lock(&cfg->lock);
	SSL_CTX_free(cfg->server_ctx);
	SSL_CTX_free(cfg->client_ctx);
	cfg->server_ctx = cfg->client_ctx = NULL;
	pthread_mutex_unlock(&cfg->lock);
}

void
mtls_config_free(struct mtls_config *cfg)
{
	if (cfg == NULL)
		return;
	if (__atomic_sub_fetch(&cfg->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	SSL_CTX_free(cfg->server_ctx);
	SSL_CTX_free(cfg->client_ctx);
	X509_free(cfg->cert);
	sk_X509_pop_free(cfg->chain, X509_free);
	free(cfg->cert_path);
	free(cfg->key_path);
	EVP_PKEY_free(cfg->key);
	sk_X509_pop_free(cfg->ca_certs, X509_free);
	sk_X509_CRL_pop_free(cfg->crls, X509_CRL_free);
	mtls_policy_free(cfg->policy);
	if (cfg->ticket_keys != NULL) {
		mtls_cleanse(cfg->ticket_keys,
		    cfg->nticket_keys * TICKET_KEY_LEN);
		free(cfg->ticket_keys);
	}
	for (size_t i = 0; i < cfg->npool; i++) {
		SSL_SESSION_free(cfg->pool[i].sess);
		free(cfg->pool[i].name);
	}
	free(cfg->pool);
	free(cfg->vcache);
	pthread_mutex_destroy(&cfg->lock);
	free(cfg);
}

const char *
mtls_config_error(struct mtls_config *cfg)
{
	if (cfg == NULL)
		return "no configuration";
	return cfg->err.msg[0] != '\0' ? cfg->err.msg : NULL;
}

/* SHA-256 over the DER of every certificate (or, with certs NULL, CRL) of
 * a file, so that a reload with other trust material yields another
 * session id context. */
static int
hash_der(STACK_OF(X509) *certs, STACK_OF(X509_CRL) *crls,
    unsigned char out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int n = certs != NULL ? sk_X509_num(certs) : sk_X509_CRL_num(crls);
	int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL);

	for (int i = 0; ok && i < n; i++) {
		unsigned char *der = NULL;
		int len = certs != NULL ? i2d_X509(sk_X509_value(certs, i),
		    &der) : i2d_X509_CRL(sk_X509_CRL_value(crls, i), &der);
		ok = len > 0 && EVP_DigestUpdate(md, der, (size_t)len);
		OPENSSL_free(der);
	}
	ok = ok && EVP_DigestFinal_ex(md, out, NULL);
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

static int read_crls(const char *path, const char *buf, size_t len,
    STACK_OF(X509_CRL) **out, struct mtls_error *err);

/* The certificates (crls NULL) or CRLs of the file path; with hash, also
 * the SHA-256 of their DER.  0, or -1 with the reason on cfg. */
static int
load_objects(struct mtls_config *cfg, const char *path,
    STACK_OF(X509) **certs, STACK_OF(X509_CRL) **crls, unsigned char *hash)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (file_read(path, MTLS_MAX_INPUT, &buf, &len, &cfg->err) != 0)
		return -1;
	rc = crls != NULL ? read_crls(path, buf, len, crls, &cfg->err) :
	    pem_read_certs(buf, len, path, certs, &cfg->err);
	file_free(buf, len);
	if (rc != 0 || hash == NULL)
		return rc;
	if (hash_der(crls != NULL ? NULL : *certs, crls != NULL ? *crls :
	    NULL, hash) != 0) {
		if (crls != NULL)
			sk_X509_CRL_pop_free(*crls, X509_CRL_free);
		else
			sk_X509_pop_free(*certs, X509_free);
		return err_set_ssl(&cfg->err, MTLS_ERR_CRYPTO, "%s: cannot "
		    "hash the %s", path, crls != NULL ? "CRLs" :
		    "certificates");
	}
	return 0;
}

/* A key that is not the certificate's, said as cert export says it:
 * naming both files.  0 when they match or one is missing. */
static int
key_mismatch(struct mtls_config *cfg, X509 *cert, EVP_PKEY *key,
    const char *key_path, const char *cert_path)
{
	if (cert == NULL || key == NULL || X509_check_private_key(cert, key))
		return 0;
	ERR_clear_error();
	return err_set(&cfg->err, MTLS_ERR_KEY_MISMATCH, "%s: not the key of "
	    "%s (key does not match certificate)", key_path ? key_path :
	    "the key", cert_path ? cert_path : "the certificate");
}

int
mtls_config_set_cert_file(struct mtls_config *cfg, const char *path)
{
	STACK_OF(X509) *sk = NULL;

	if (load_objects(cfg, path, &sk, NULL, NULL) != 0)
		return -1;
	X509 *leaf = sk_X509_shift(sk);
	if (key_mismatch(cfg, leaf, cfg->key, cfg->key_path, path) != 0) {
		X509_free(leaf);
		sk_X509_pop_free(sk, X509_free);
		return -1;
	}
	X509_free(cfg->cert);
	sk_X509_pop_free(cfg->chain, X509_free);
	cfg->cert = leaf;
	cfg->chain = sk;
	free(cfg->cert_path);
	cfg->cert_path = strdup(path);
	cfg_invalidate(cfg);
	return 0;
}

int
mtls_config_set_key_file(struct mtls_config *cfg, const char *path,
    const char *passphrase)
{
	/* The same loader as every other key (PEM or DER, encrypted or
	 * not), and the same words when it cannot be read. */
	struct mtls_key *key = mtls_key_load_file(path, passphrase, &cfg->err);
	EVP_PKEY *pkey;

	if (key == NULL)
		return -1;
	pkey = key->pkey;
	key->pkey = NULL;
	mtls_key_free(key);
	if (key_mismatch(cfg, cfg->cert, pkey, path, cfg->cert_path) != 0) {
		EVP_PKEY_free(pkey);
		return -1;
	}
	EVP_PKEY_free(cfg->key);
	cfg->key = pkey;
	free(cfg->key_path);
	cfg->key_path = strdup(path);
	cfg_invalidate(cfg);
	ERR_clear_error();
	return 0;
}

int
mtls_config_set_ca_file(struct mtls_config *cfg, const char *path)
{
	STACK_OF(X509) *sk = NULL;

	if (load_objects(cfg, path, &sk, NULL, cfg->ca_hash) != 0)
		return -1;
	sk_X509_pop_free(cfg->ca_certs, X509_free);
	cfg->ca_certs = sk;
	cfg->have_ca = 1;
	cfg_invalidate(cfg);
	return 0;
}

int
mtls_config_add_ca_file(struct mtls_config *cfg, const char *path)
{
	STACK_OF(X509) *sk = NULL;
	unsigned char hash[32];
	EVP_MD_CTX *md;
	int ok;

	if (!cfg->have_ca)
		return mtls_config_set_ca_file(cfg, path);
	if (load_objects(cfg, path, &sk, NULL, hash) != 0)
		return -1;
	for (int i = 0; i < sk_X509_num(sk); i++) {
		if (!sk_X509_push(cfg->ca_certs, sk_X509_value(sk, i))) {
			sk_X509_pop_free(sk, X509_free);
			return err_set(&cfg->err, MTLS_ERR_NOMEM, "%s: out of "
			    "memory", path);
		}
		sk_X509_set(sk, i, NULL);
	}
	sk_X509_pop_free(sk, X509_free);
	/* The session id context follows both files. */
	md = EVP_MD_CTX_new();
	ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(md, cfg->ca_hash, sizeof(cfg->ca_hash)) &&
	    EVP_DigestUpdate(md, hash, sizeof(hash)) &&
	    EVP_DigestFinal_ex(md, cfg->ca_hash, NULL);
	EVP_MD_CTX_free(md);
	if (!ok)
		return err_set_ssl(&cfg->err, MTLS_ERR_CRYPTO, "%s: cannot "
		    "hash the certificates", path);
	cfg_invalidate(cfg);
	return 0;
}

void
mtls_config_set_client_purpose_any(struct mtls_config *cfg)
{
	cfg->client_purpose_any = 1;
	cfg_invalidate(cfg);
}

int
mtls_config_use_system_ca(struct mtls_config *cfg)
{
	cfg->system_ca = 1;
	cfg_invalidate(cfg);
	return 0;
}

/* Every CRL of a PEM file (several blocks) or one DER CRL. */
static int
read_crls(const char *path, const char *buf, size_t len,
    STACK_OF(X509_CRL) **out, struct mtls_error *err)
{
	STACK_OF(X509_CRL) *sk = sk_X509_CRL_new_null();
	BIO *bio = NULL;
	X509_CRL *crl;
	int ret = -1;

	if (sk == NULL || (bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		err_set(err, MTLS_ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	if (pem_is_pem(buf, len)) {
		while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) !=
		    NULL) {
			if (!sk_X509_CRL_push(sk, crl)) {
				X509_CRL_free(crl);
				err_set(err, MTLS_ERR_NOMEM, "%s: out of "
				    "memory", path);
				goto out;
			}
		}
		/* The loop ends on "no start line" at the end of the file. */
		ERR_clear_error();
	} else {
		const unsigned char *p = (const unsigned char *)buf;
		if ((crl = d2i_X509_CRL(NULL, &p, (long)len)) != NULL &&
		    !sk_X509_CRL_push(sk, crl)) {
			X509_CRL_free(crl);
			err_set(err, MTLS_ERR_NOMEM, "%s: out of memory", path);
			goto out;
		}
	}
	if (sk_X509_CRL_num(sk) == 0) {
		err_set_ssl(err, MTLS_ERR_PARSE, "%s: no CRL found", path);
		goto out;
	}
	*out = sk;
	sk = NULL;
	ret = 0;
out:
	sk_X509_CRL_pop_free(sk, X509_CRL_free);
	BIO_free(bio);
	return ret;
}

int
mtls_config_set_crl_file(struct mtls_config *cfg, const char *path)
{
	STACK_OF(X509_CRL) *sk = NULL;

	if (load_objects(cfg, path, NULL, &sk, cfg->crl_hash) != 0)
		return -1;
	sk_X509_CRL_pop_free(cfg->crls, X509_CRL_free);
	cfg->crls = sk;
	cfg->have_crl = 1;
	cfg_invalidate(cfg);
	return 0;
}

static int
proto_ok(int v)
{
	return v == 0 || v == MTLS_TLS1_2 || v == MTLS_TLS1_3;
}

int
mtls_config_set_protocols(struct mtls_config *cfg, int min, int max)
{
	if (!proto_ok(min) || !proto_ok(max))
		return err_set(&cfg->err, MTLS_ERR_USAGE, "TLS versions: only "
		    "1.2 and 1.3 are supported");
	if (min == 0)
		min = TLS1_2_VERSION;
	if (max == 0)
		max = TLS1_3_VERSION;
	if (min > max)
		return err_set(&cfg->err, MTLS_ERR_USAGE, "TLS versions: the "
		    "minimum is above the maximum");
	cfg->min_proto = min;
	cfg->max_proto = max;
	cfg_invalidate(cfg);
	return 0;
}

void
mtls_config_verify_client(struct mtls_config *cfg)
{
	cfg->client_auth = TLS_CLIENT_AUTH_REQUIRE;
	cfg_invalidate(cfg);
}

void
mtls_config_verify_client_optional(struct mtls_config *cfg)
{
	cfg->client_auth = TLS_CLIENT_AUTH_OPTIONAL;
	cfg_invalidate(cfg);
}

/*
 * The policy is read at every handshake (under the lock), so replacing it
 * on a live config takes effect for the next handshake, resumed ones
 * included, without dropping the session cache.  A reload that builds a new
 * config also changes the session id context (it hashes the rules), so
 * sessions from the old config are then not resumed at all.
 */
int
mtls_config_set_policy(struct mtls_config *cfg, struct mtls_policy *pol)
{
	struct mtls_policy *old;

	if (pol != NULL)
		policy_ref(pol);
	pthread_mutex_lock(&cfg->lock);
	old = cfg->policy;
	cfg->policy = pol;
	pthread_mutex_unlock(&cfg->lock);
	mtls_policy_free(old);
	return 0;
}

struct mtls_policy *
tls_config_policy(struct mtls_config *cfg)
{
	struct mtls_policy *pol;

	pthread_mutex_lock(&cfg->lock);
	pol = cfg->policy;
	if (pol != NULL)
		policy_ref(pol);
	pthread_mutex_unlock(&cfg->lock);
	return pol;
}

int
mtls_config_set_ticket_key_file(struct mtls_config *cfg, const char *path)
{
	char *buf = NULL;
	size_t len = 0;

	if (file_read(path, 64 * TICKET_KEY_LEN, &buf, &len, &cfg->err) != 0)
		return -1;
	if (len == 0 || len % TICKET_KEY_LEN != 0) {
		file_free(buf, len);
		return err_set(&cfg->err, MTLS_ERR_PARSE, "%s: a ticket key "
		    "file holds 80 bytes per key (16 name, 32 HMAC, 32 AES), "
		    "this one has %zu bytes", path, len);
	}
	unsigned char *keys = malloc(len);
	if (keys == NULL) {
		file_free(buf, len);
		return err_set(&cfg->err, MTLS_ERR_NOMEM, "%s: out of memory",
		    path);
	}
	memcpy(keys, buf, len);
	file_free(buf, len);
	if (cfg->ticket_keys != NULL) {
		mtls_cleanse(cfg->ticket_keys,
		    cfg->nticket_keys * TICKET_KEY_LEN);
		free(cfg->ticket_keys);
	}
	cfg->ticket_keys = keys;
	cfg->nticket_keys = len / TICKET_KEY_LEN;
	cfg_invalidate(cfg);
	return 0;
}

void
mtls_config_insecure_noverifycert(struct mtls_config *cfg)
{
	cfg->noverifycert = 1;
	cfg_invalidate(cfg);
}

void
mtls_config_insecure_noverifyname(struct mtls_config *cfg)
{
	cfg->noverifyname = 1;
	cfg_invalidate(cfg);
}

int
mtls_config_set_session_cache_size(struct mtls_config *cfg, size_t sessions)
{
	if (sessions == 0 || sessions > LONG_MAX)
		return err_set(&cfg->err, MTLS_ERR_USAGE, "session cache size: "
		    "%zu is not a number of sessions from 1 to %ld", sessions,
		    LONG_MAX);
	cfg->session_cache_size = sessions;
	cfg_invalidate(cfg);
	return 0;
}

void
mtls_config_disable_resumption(struct mtls_config *cfg)
{
	cfg->no_resumption = 1;
	cfg_invalidate(cfg);
}

void
mtls_config_enable_ktls(struct mtls_config *cfg)
{
	cfg->ktls = 1;
	cfg_invalidate(cfg);
}

/* RFC 7301: the list is sent as length-prefixed names. */
int
mtls_config_set_alpn(struct mtls_config *cfg, const char *protos)
{
	unsigned char wire[sizeof(cfg->alpn)];
	size_t n = 0;
	const char *p = protos;

	while (p != NULL && *p != '\0') {
		size_t len = strcspn(p, ",");
		if (len == 0 || len > 255 || n + 1 + len > sizeof(wire)) {
			return err_set(&cfg->err, MTLS_ERR_USAGE, "'%s' is not a short "
			    "comma-separated list of protocol names", protos);
		}
		wire[n++] = (unsigned char)len;
		memcpy(wire + n, p, len);
		n += len;
		p += len;
		if (*p == ',')
			p++;
	}
	memcpy(cfg->alpn, wire, n);
	cfg->alpn_len = n;
	cfg_invalidate(cfg);
	return 0;
}

/*
 * Stateless tickets with keys shared by instances (RFC 5077 layout as
 * nginx's 80-byte files: name, HMAC-SHA256 key, AES-256-CBC key).  The
 * first key encrypts new tickets; every key decrypts.
 */
static int
ticket_key_cb(SSL *ssl, unsigned char *name, unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	SSL_CTX *sctx = SSL_get_SSL_CTX(ssl);
	struct mtls_config *cfg = SSL_CTX_get_ex_data(sctx,
	    tls_config_ex_index());
	const unsigned char *k = NULL;
	OSSL_PARAM params[2];

	if (cfg == NULL || cfg->nticket_keys == 0)
		return -1;
	if (enc) {
		k = cfg->ticket_keys;
		memcpy(name, k, 16);
		if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1)
			return -1;
	} else {
		for (size_t i = 0; i < cfg->nticket_keys; i++)
			if (memcmp(name, cfg->ticket_keys + i * TICKET_KEY_LEN,
			    16) == 0) {
				k = cfg->ticket_keys + i * TICKET_KEY_LEN;
				break;
			}
		if (k == NULL)
			return 0; /* unknown key: full handshake */
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(hctx, k + 16, 32, params))
		return -1;
	if (enc) {
		if (!EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k + 48,
		    iv))
			return -1;
		return 1;
	}
	if (!EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k + 48, iv))
		return -1;
	/* 2 asks for a new ticket: under the current key when an older one
	 * was used, and always in TLS 1.3, where OpenSSL otherwise sends none
	 * after a resumption (RFC 8446 C.4: a client should not reuse one). */
	return k == cfg->ticket_keys && SSL_version(ssl) != TLS1_3_VERSION ?
	    1 : 2;
}

/* The session id context: sessions made under other trust anchors, CRLs,
 * rules or client-auth mode are never resumed (RFC 8446 4.6.1 leaves the
 * choice to the server; this is ours).  Called with cfg->lock held. */
static int
session_id_context(struct mtls_config *cfg, unsigned char out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const struct mtls_policy *pol = cfg->policy;
	unsigned char mode = (unsigned char)cfg->client_auth;
	int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(md, "mtls session v1", 15) &&
	    EVP_DigestUpdate(md, cfg->ca_hash, 32) &&
	    EVP_DigestUpdate(md, cfg->crl_hash, 32) &&
	    EVP_DigestUpdate(md, &mode, 1) &&
	    policy_digest_update(pol, md) == 0 &&
	    EVP_DigestFinal_ex(md, out, NULL);

	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

static X509_STORE *
build_store(struct mtls_config *cfg, int client, struct mtls_error *err)
{
	X509_STORE *store = X509_STORE_new();

	if (store == NULL) {
		err_set_ssl(err, MTLS_ERR_NOMEM, "certificate store");
		return NULL;
	}
	for (int i = 0; i < sk_X509_num(cfg->ca_certs); i++)
		if (!X509_STORE_add_cert(store, sk_X509_value(cfg->ca_certs,
		    i))) {
			err_set_ssl(err, MTLS_ERR_CRYPTO, "cannot add a CA "
			    "certificate to the trust store");
			goto fail;
		}
	for (int i = 0; i < sk_X509_CRL_num(cfg->crls); i++)
		if (!X509_STORE_add_crl(store, sk_X509_CRL_value(cfg->crls,
		    i))) {
			err_set_ssl(err, MTLS_ERR_CRYPTO, "cannot add a CRL to "
			    "the trust store");
			goto fail;
		}
	if (client && cfg->system_ca && !X509_STORE_set_default_paths(store)) {
		err_set_ssl(err, MTLS_ERR_IO, "cannot load the system CA "
		    "store");
		goto fail;
	}
	return store;
fail:
	X509_STORE_free(store);
	return NULL;
}

static SSL_CTX *
build_ctx(struct mtls_config *cfg, enum tls_role role, struct mtls_error *err)
{
	int server = role != TLS_ROLE_CLIENT;
	SSL_CTX *ctx = NULL;
	X509_STORE *store = NULL;
	X509_VERIFY_PARAM *param;

	if (server && (cfg->cert == NULL || cfg->key == NULL)) {
		err_set(err, MTLS_ERR_USAGE, "a server needs a certificate and "
		    "its key");
		return NULL;
	}
	if ((cfg->cert == NULL) != (cfg->key == NULL)) {
		err_set(err, MTLS_ERR_USAGE, "a certificate needs its key (and "
		    "a key its certificate)");
		return NULL;
	}
	if (server && !cfg->have_ca) {
		err_set(err, MTLS_ERR_USAGE, "a server needs the CA file that "
		    "issues its clients' certificates");
		return NULL;
	}
	if (!server && !cfg->have_ca && !cfg->system_ca && !cfg->noverifycert) {
		err_set(err, MTLS_ERR_USAGE, "a client needs a CA file to "
		    "verify the server (or the system store, asked for "
		    "explicitly)");
		return NULL;
	}

	if ((ctx = SSL_CTX_new(server ? TLS_server_method() :
	    TLS_client_method())) == NULL) {
		err_set_ssl(err, MTLS_ERR_CRYPTO, "cannot create a TLS context");
		return NULL;
	}
	if (!SSL_CTX_set_ex_data(ctx, tls_config_ex_index(), cfg))
		goto ssl_fail;
	SSL_CTX_set_security_level(ctx, 2);
	if (!SSL_CTX_set_min_proto_version(ctx, cfg->min_proto) ||
	    !SSL_CTX_set_max_proto_version(ctx, cfg->max_proto) ||
	    !SSL_CTX_set_cipher_list(ctx, tls12_ciphers) ||
	    !SSL_CTX_set1_groups_list(ctx, tls_groups))
		goto ssl_fail;
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Partial writes and moving buffers suit a non-blocking proxy; idle
	 * connections give their buffers back. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_NO_AUTO_CHAIN);
	/* One read() brings a record's header and body (and whatever
	 * follows) instead of one read for each; callers that poll check
	 * mtls_pending() first. */
	SSL_CTX_set_read_ahead(ctx, 1);
#ifdef SSL_OP_ENABLE_KTLS
	/* OpenSSL sets the kernel up after the handshake where it can, and
	 * silently keeps to user space where it cannot. */
	if (server && cfg->ktls)
		SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
#endif
	/* TLS 1.3: AES-128-GCM first.  A server's choice wins
	 * (SSL_OP_CIPHER_SERVER_PREFERENCE); OpenSSL's clients list
	 * AES-256 first, 14 AES rounds per block to AES-128's 10, for a
	 * margin no attack on a 128-bit key calls for. */
	if (server && !SSL_CTX_set_ciphersuites(ctx, tls13_suites))
		goto ssl_fail;

	if (cfg->cert != NULL) {
		if (!SSL_CTX_use_cert_and_key(ctx, cfg->cert, cfg->key,
		    cfg->chain, 1)) {
			err_set_ssl(err, MTLS_ERR_KEY_MISMATCH, "cannot use the "
			    "certificate and key");
			goto fail;
		}
		if (!SSL_CTX_check_private_key(ctx)) {
			err_set_ssl(err, MTLS_ERR_KEY_MISMATCH, "the key does "
			    "not belong to the certificate");
			goto fail;
		}
	}

	if ((store = build_store(cfg, !server, err)) == NULL)
		goto fail;
	SSL_CTX_set_cert_store(ctx, store); /* takes the reference */
	if (cfg->cert != NULL && sk_X509_num(cfg->chain) == 0) {
		/* A file with the leaf alone: complete the chain from the trust
		 * store once, here, instead of on every handshake.  Failing is
		 * fine: the peer may hold the issuer. */
		SSL_CTX_build_cert_chain(ctx, SSL_BUILD_CHAIN_FLAG_NO_ROOT |
		    SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR);
		ERR_clear_error();
	}

	param = SSL_CTX_get0_param(ctx);
	unsigned long vflags = X509_V_FLAG_X509_STRICT;
	if (cfg->have_crl)
		vflags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
	X509_VERIFY_PARAM_set_flags(param, vflags);
	X509_VERIFY_PARAM_set_depth(param, TLS_VERIFY_DEPTH);
	X509_VERIFY_PARAM_set_purpose(param, !server ? X509_PURPOSE_SSL_SERVER :
	    cfg->client_purpose_any ? X509_PURPOSE_ANY :
	    X509_PURPOSE_SSL_CLIENT);
	X509_VERIFY_PARAM_set_hostflags(param,
	    X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);

	SSL_CTX_set_info_callback(ctx, tls_info_cb);
	if (server) {
		int mode = SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE;
		if (cfg->client_auth == TLS_CLIENT_AUTH_REQUIRE)
			mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		SSL_CTX_set_verify(ctx, mode, tls_verify_cb);
		SSL_CTX_set_cert_verify_callback(ctx, tls_cert_verify_cb, NULL);
		STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
		if (names == NULL)
			goto ssl_fail;
		for (int i = 0; i < sk_X509_num(cfg->ca_certs); i++) {
			X509_NAME *n = X509_NAME_dup(X509_get_subject_name(
			    sk_X509_value(cfg->ca_certs, i)));
			if (n == NULL || !sk_X509_NAME_push(names, n)) {
				X509_NAME_free(n);
				sk_X509_NAME_pop_free(names, X509_NAME_free);
				goto ssl_fail;
			}
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		/* Runs once ClientHello is parsed, when a resumed session is
		 * known: it re-authorizes the session's client. */
		SSL_CTX_set_tlsext_servername_callback(ctx, tls_servername_cb);

		/* The context of this SSL_CTX; the ClientHello callback
		 * narrows it per connection to the server name asked for. */
		unsigned char *sid = malloc(TLS_SID_LEN);
		if (sid == NULL)
			goto ssl_fail;
		if (session_id_context(cfg, sid) != 0 ||
		    !SSL_CTX_set_ex_data(ctx, sid_ex_index, sid)) {
			free(sid);
			goto ssl_fail;
		}
		if (!SSL_CTX_set_session_id_context(ctx, sid, TLS_SID_LEN))
			goto ssl_fail;
		SSL_CTX_set_client_hello_cb(ctx, tls_client_hello_cb, NULL);
		if (cfg->no_resumption) {
			SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
			SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
			SSL_CTX_set_num_tickets(ctx, 0);
		} else if (cfg->nticket_keys > 0) {
			/* Shared keys: stateless tickets that any instance
			 * can open. */
			SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
			SSL_CTX_set_num_tickets(ctx, 1);
			if (!SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx,
			    ticket_key_cb) ||
			    !SSL_CTX_set_session_ticket_cb(ctx,
			    tls_ticket_gen_cb, tls_ticket_dec_cb, NULL))
				goto ssl_fail;
		} else {
			/*
			 * Stateful: the session stays in this process's cache
			 * and TLS 1.3 tickets only name it (SSL_OP_NO_TICKET
			 * makes OpenSSL issue such tickets; in TLS 1.2 it means
			 * session ids).  DESIGN.md measured a resumption at
			 * ~108 us this way against ~320 us with stateless
			 * tickets that carry the client certificate.  One
			 * ticket per handshake: a client reconnects with one.
			 */
			SSL_CTX_set_session_cache_mode(ctx,
			    SSL_SESS_CACHE_SERVER);
			SSL_CTX_sess_set_cache_size(ctx,
			    (long)(cfg->session_cache_size != 0 ?
			    cfg->session_cache_size :
			    TLS_SESSION_CACHE_DEFAULT));
			SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
			SSL_CTX_set_num_tickets(ctx, 1);
		}
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, tls_verify_cb);
		/* (SSL_CTX_set_alpn_protos returns 0 on success.) */
		if (cfg->alpn_len > 0 && SSL_CTX_set_alpn_protos(ctx, cfg->alpn,
		    (unsigned int)cfg->alpn_len) != 0)
			goto ssl_fail;
		/* X509_verify_cert, or the verification cache when the
		 * config has one. */
		SSL_CTX_set_cert_verify_callback(ctx, tls_cert_verify_cb, NULL);
		if (cfg->no_resumption) {
			SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
			SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		} else {
			/* The new-session callback keeps the newest session
			 * on the config for the next connection. */
			SSL_CTX_set_session_cache_mode(ctx,
			    SSL_SESS_CACHE_CLIENT |
			    SSL_SESS_CACHE_NO_INTERNAL_STORE);
			SSL_CTX_sess_set_new_cb(ctx, tls_client_new_session);
		}
	}
	return ctx;
ssl_fail:
	err_set_ssl(err, MTLS_ERR_CRYPTO, "cannot set up the TLS context");
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* The SSL_CTX of a role, built on first use; referenced for the caller. */
SSL_CTX *
tls_config_ctx(struct mtls_config *cfg, enum tls_role role,
    struct mtls_error *err)
{
	SSL_CTX **slot = role == TLS_ROLE_CLIENT ? &cfg->client_ctx :
	    &cfg->server_ctx;
	SSL_CTX *ctx;

	pthread_mutex_lock(&cfg->lock);
	if (*slot == NULL)
		*slot = build_ctx(cfg, role, err);
	ctx = *slot;
	if (ctx != NULL)
		SSL_CTX_up_ref(ctx);
	pthread_mutex_unlock(&cfg->lock);
	return ctx;
}

/* Drops entry i of the pool (order does not matter: seq tells age).
 * Called with cfg->lock held. */
static void
pool_drop(struct mtls_config *cfg, size_t i)
{
	SSL_SESSION_free(cfg->pool[i].sess);
	free(cfg->pool[i].name);
	cfg->pool[i] = cfg->pool[--cfg->npool];
}

/*
 * Client sessions: a pool per config, up to TLS_POOL_PER_NAME per server
 * name (TLS_POOL_MAX in all), the oldest dropped first.  OpenSSL calls this
 * for each session (TLS 1.3: each ticket), and each one goes into the
 * pool, so that concurrent connections to one server each find a ticket
 * of their own.
 */
int
tls_client_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct mtls_config *cfg = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
	    tls_config_ex_index());
	struct mtls *ctx = SSL_get_app_data(ssl);
	const char *name;
	size_t same = 0, oldest_same = 0, oldest = 0;

	if (cfg == NULL || ctx == NULL)
		return 0;
	name = ctx->servername != NULL ? ctx->servername : "";
	pthread_mutex_lock(&cfg->lock);
	if (cfg->pool == NULL && (cfg->pool = calloc(TLS_POOL_MAX,
	    sizeof(*cfg->pool))) == NULL)
		goto refuse;
	for (size_t i = 0; i < cfg->npool; i++) {
		const struct tls_pooled_session *e = &cfg->pool[i];
		if (e->sess == sess)
			goto refuse; /* already pooled (a TLS 1.2 session) */
		if (e->seq < cfg->pool[oldest].seq)
			oldest = i;
		if (strcmp(e->name, name) != 0)
			continue;
		if (same++ == 0 || e->seq < cfg->pool[oldest_same].seq)
			oldest_same = i;
	}
	if (same >= TLS_POOL_PER_NAME)
		pool_drop(cfg, oldest_same);
	else if (cfg->npool == TLS_POOL_MAX)
		pool_drop(cfg, oldest);
	struct tls_pooled_session *e = &cfg->pool[cfg->npool];
	if ((e->name = strdup(name)) == NULL)
		goto refuse;
	e->sess = sess;
	e->seq = ++cfg->pool_seq;
	cfg->npool++;
	pthread_mutex_unlock(&cfg->lock);
	return 1; /* the pool keeps the reference */
refuse:
	pthread_mutex_unlock(&cfg->lock);
	return 0;
}

SSL_SESSION *
tls_config_client_session(struct mtls_config *cfg, const char *servername)
{
	SSL_SESSION *sess = NULL;
	size_t best = 0;
	int found = 0;

	if (servername == NULL)
		servername = "";
	pthread_mutex_lock(&cfg->lock);
	for (size_t i = 0; i < cfg->npool; ) {
		struct tls_pooled_session *e = &cfg->pool[i];
		if (!SSL_SESSION_is_resumable(e->sess) ||
		    SSL_SESSION_get_time(e->sess) +
		    SSL_SESSION_get_timeout(e->sess) <= (long)time(NULL)) {
			pool_drop(cfg, i);
			continue;
		}
		if (strcmp(e->name, servername) == 0 &&
		    (!found || e->seq > cfg->pool[best].seq)) {
			best = i;
			found = 1;
		}
		i++;
	}
	if (found) {
		sess = cfg->pool[best].sess;
		if (SSL_SESSION_get_protocol_version(sess) >= TLS1_3_VERSION) {
			/* Single-use: the caller takes the pool's
			 * reference. */
			cfg->pool[best].sess = NULL;
			pool_drop(cfg, best);
		} else {
			SSL_SESSION_up_ref(sess);
		}
	}
	pthread_mutex_unlock(&cfg->lock);
	return sess;
}
