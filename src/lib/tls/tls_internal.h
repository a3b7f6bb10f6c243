/*
 * tls_internal.h - the TLS half of libmtls as its own files see it: the
 * configuration, the context, the access rules, and the hooks that tie them
 * to OpenSSL.  Private; nothing outside src/lib includes it (the unit tests
 * may, to reach the pieces they test).
 */
#ifndef MTLS_TLS_INTERNAL_H
#define MTLS_TLS_INTERNAL_H

#include <pthread.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/internal.h"
#include "core/reason.h"

/* How a server treats clients: the DESIGN.md default is REQUIRE. */
enum tls_client_auth {
	TLS_CLIENT_AUTH_REQUIRE = 0,
	TLS_CLIENT_AUTH_OPTIONAL,
};

/*
 * A configuration.  Setters fill the fields; the SSL_CTX of each role is
 * built once, the first time a context of that role is configured, and then
 * shared by every connection made with it (never one per connection).  A
 * setter called afterwards drops the built SSL_CTX, so contexts configured
 * later get a fresh one; contexts configured earlier keep theirs.
 */
struct mtls_config {
	int refs;                    /* atomic: contexts + the owner */
	pthread_mutex_t lock;        /* the lazy build, policy, client session */
	struct mtls_error err;

	char *cert_path, *key_path;  /* as given, for messages */
	X509 *cert;                  /* leaf */
	STACK_OF(X509) *chain;       /* what followed it in the file */
	EVP_PKEY *key;
	STACK_OF(X509) *ca_certs;    /* trust anchors from the CA file */
	STACK_OF(X509_CRL) *crls;
	unsigned char ca_hash[32];   /* SHA-256 of the CA file's DER certs */
	unsigned char crl_hash[32];
	int have_ca, have_crl;
	int system_ca;               /* client: opted in to the system store */
	int min_proto, max_proto;    /* TLS1_2_VERSION / TLS1_3_VERSION */
	enum tls_client_auth client_auth;
	struct mtls_policy *policy;  /* referenced; NULL allows nobody */
	unsigned char *ticket_keys;  /* n * 80 bytes: name, HMAC, AES keys */
	size_t nticket_keys;
	int noverifycert, noverifyname;
	int no_resumption;
	int ktls;                    /* server: SSL_OP_ENABLE_KTLS asked for */
	size_t session_cache_size;   /* server: sessions kept; 0: default */
	int client_purpose_any;      /* server: any usage of client certs */
	unsigned char alpn[64];      /* client: offered, wire format */
	size_t alpn_len;
	/* Client: chains verified already (see tls_verify_cache.c); 0 entries
	 * (the default) verifies every handshake in full. */
	size_t vcache_max, nvcache;
	struct tls_verified *vcache;
	unsigned long vcache_hits;   /* chains accepted from it */

	SSL_CTX *server_ctx;         /* built lazily, see above */
	SSL_CTX *client_ctx;

	/* Client: a pool of sessions per server name (see
	 * tls_client_new_session()). */
	struct tls_pooled_session *pool;
	size_t npool;
	unsigned long pool_seq;
};

/* Client session pool: TLS 1.3 tickets are single-use (RFC 8446 C.4, and
 * a stateful server forgets a session once resumed), so concurrent
 * connections each need their own. */
#define TLS_POOL_PER_NAME 16
#define TLS_POOL_MAX 64
struct tls_pooled_session {
	SSL_SESSION *sess;
	char *name;                  /* server name, "" for none */
	unsigned long seq;           /* newer is larger */
};

enum tls_role {
	TLS_ROLE_CLIENT = 1,
	TLS_ROLE_SERVER,             /* the listening context */
	TLS_ROLE_SERVER_CONN,        /* one accepted connection */
};

/* Peer facts, computed the first time one is asked for. */
struct tls_peer {
	char *subject, *issuer, *common_name, *hash;
	time_t not_before, not_after;
	struct mtls_san *sans;
	size_t nsans;
	char *chain_pem;
	size_t chain_pem_len;
};

struct mtls {
	enum tls_role role;
	struct mtls_config *cfg;     /* referenced */
	SSL_CTX *ssl_ctx;            /* referenced */
	SSL *ssl;
	int fd;
	int handshake_done;
	int handshake_failed;
	int io_failed;               /* a fatal TLS error after the handshake */
	int io_dead;                 /* the socket failed after the handshake */
	int ktls;                    /* MTLS_KTLS_* the kernel took on at the
	                              * handshake (0 unless asked for) */
	int keep_buffers;            /* record buffers kept between records
	                              * (mtls_keep_buffers) */
	/* The last error, allocated at the first one (ctx_err): a proxy
	 * holds thousands of idle connections, and 772 bytes each that
	 * almost never say anything were 3% of an idle connection. */
	struct mtls_error *err;
	int err_nomem;               /* ... and that allocation failed */
	char *reject;                /* why the peer was refused, in words */
	enum mtls_reject_code reject_code; /* and as a code (core/reason.h) */
	char *servername;            /* client: what we asked for */
	char alpn[32];               /* the protocol agreed, "" for none */

	/* Facts the info callback records (cheap: a few integer stores). */
	int alert_sent;              /* alert description, -1 when none */
	int alert_received;
	int cert_requested;          /* client: the server sent CertReq */
	int cert_sent;               /* client: we answered with a cert */
	int anon_refused;            /* server: optional client auth, but the
	                                rules admit no client without a cert */

	/* Client: the server's verification result, in words, when it did
	 * not verify (noverifycert lets the handshake go on). */
	char *verify_problem;
	enum mtls_reject_code verify_code;
	/* Client: a failure that is not about certificates, from OpenSSL's
	 * reason code (NOT_TLS, VERSION), or NONE. */
	enum mtls_reject_code protocol_code;

	struct tls_peer *peer;
	/* Server: the chain (leaf excluded) a stateless ticket carried, for
	 * a resumed session, whose client sends no certificates again. */
	STACK_OF(X509) *ticket_chain;

	mtls_trace_fn trace_fn;
	void *trace_arg;
};

/* The access rules (src/lib/policy.c). */
struct policy_rule {
	enum mtls_rule_kind kind;
	char *value;                 /* normalised text of the rule */
	unsigned char fp[32];        /* MTLS_ALLOW_FINGERPRINT */
};

struct mtls_policy {
	int refs;                    /* atomic */
	struct policy_rule *rules;
	size_t n, cap;
};

/* tls_config.c */
SSL_CTX *tls_config_ctx(struct mtls_config *cfg, enum tls_role role,
    struct mtls_error *err);
void tls_config_ref(struct mtls_config *cfg);
/* The policy of cfg, referenced (drop with mtls_policy_free), or NULL. */
struct mtls_policy *tls_config_policy(struct mtls_config *cfg);
/* Client: a session for servername from the pool, referenced, or NULL.
 * A TLS 1.3 session is taken out (single-use); a TLS 1.2 one stays. */
SSL_SESSION *tls_config_client_session(struct mtls_config *cfg,
    const char *servername);
int tls_config_ex_index(void);
/* Server SSL_CTX: its session id context (TLS_SID_LEN bytes, a digest of
 * the trust material, rules and client-auth mode), or NULL. */
#define TLS_SID_LEN 32
const unsigned char *tls_config_sid_ctx(SSL_CTX *sctx);
/* Client SSL_CTX new-session callback: puts the session in the pool. */
int tls_client_new_session(SSL *ssl, SSL_SESSION *sess);

/* tls_verify.c: the callbacks installed on every SSL_CTX. */
int tls_verify_cb(int preverify_ok, X509_STORE_CTX *x);
int tls_cert_verify_cb(X509_STORE_CTX *x, void *arg);
int tls_servername_cb(SSL *ssl, int *alert, void *arg);
int tls_client_hello_cb(SSL *ssl, int *alert, void *arg);
void tls_info_cb(const SSL *ssl, int where, int ret);
/* "access_denied" for an alert description. */
const char *tls_alert_name(int desc);
/* Records why the peer was refused, as a code of the reason table and in
 * words (the first reason wins). */
void tls_set_reject(struct mtls *ctx, enum mtls_reject_code code,
    const char *fmt, ...) MTLS_PRINTF(3, 4);

/* tls_verify_cache.c: the client's cache of verified server chains.
 * One entry: the SHA-256 of the chain as received and of the name it was
 * checked for, and when the entry stops being valid. */
struct tls_verified {
	unsigned char key[32];
	time_t until;
	unsigned long seq;           /* newer is larger */
};
/* 1 when the chain of x was verified for this name already (and is still
 * valid), else 0; key receives the chain's key either way.  -1 on an
 * error (the caller verifies in full). */
int tls_verify_cache_lookup(struct mtls *ctx, X509_STORE_CTX *x,
    unsigned char key[32]);
/* Records a chain X509_verify_cert() accepted. */
void tls_verify_cache_add(struct mtls *ctx, X509_STORE_CTX *x,
    const unsigned char key[32]);

/* tls_peer.c */
void tls_peer_free(struct tls_peer *p);
/* Server: the certificates the client sent beyond its leaf, in TLS order
 * (for a session resumed from a stateless ticket, those of the full
 * handshake, which the ticket carries).  Owned by the connection; NULL
 * when none. */
STACK_OF(X509) *tls_peer_sent_chain(struct mtls *ctx);
/* Stateless tickets carry that chain as their application data (OpenSSL
 * keeps only the leaf in a session it serializes):
 * SSL_CTX_set_session_ticket_cb()'s two callbacks. */
int tls_ticket_gen_cb(SSL *ssl, void *arg);
SSL_TICKET_RETURN tls_ticket_dec_cb(SSL *ssl, SSL_SESSION *ss,
    const unsigned char *keyname, size_t keyname_len,
    SSL_TICKET_STATUS status, void *arg);

/* policy.c */
void policy_ref(struct mtls_policy *pol);
/* 1 allowed, 0 denied (why says which identity no rule allowed). */
int policy_check_cert(const struct mtls_policy *pol, X509 *leaf, char *why,
    size_t whylen);
/* 1 when the rules admit a client without a certificate (an "any" rule;
 * only under optional client authentication). */
int policy_allows_anonymous(const struct mtls_policy *pol);
#define TLS_NO_CERT_NO_RULE \
	"no client certificate, and no rule admits clients without one"
/* Feeds a canonical form of the rules to a digest (session id context). */
int policy_digest_update(const struct mtls_policy *pol, EVP_MD_CTX *md);

/* trace.c: the message callback (client facts, and the trace when one is
 * set), and the description of one handshake message or alert. */
void trace_attach(struct mtls *ctx);
/* One line for a record seen by SSL_set_msg_callback(); ssl may be NULL
 * (cipher suites are then shown by number).  Returns 0 when the record is
 * not worth a line (record headers, TLS 1.3 compatibility CCS). */
int trace_describe(SSL *ssl, int write_p, int content_type,
    const unsigned char *buf, size_t len, int we_are_server, char *out,
    size_t outlen);

#endif
