/*
 * tls.c - TLS contexts: a client, a server, and the connections a server
 * accepts; the non-blocking handshake, read, write and close; and the facts
 * about a connection (version, cipher, group, resumption, alerts).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls/tls_internal.h"
#include "x509/text.h"

/*
 * A socket BIO that never raises SIGPIPE: OpenSSL's writes to a socket the
 * peer has closed would kill a host program that did not ignore the signal.
 * It is OpenSSL's socket BIO with its write done by send(MSG_NOSIGNAL); the
 * rest (reads, EOF tracking, controls) is OpenSSL's own.
 */
static BIO_METHOD *nosigpipe_method;
static pthread_once_t nosigpipe_once = PTHREAD_ONCE_INIT;

static int
nosigpipe_write(BIO *b, const char *buf, int len)
{
	int fd = -1;

	BIO_get_fd(b, &fd);
	errno = 0;
	ssize_t n = send(fd, buf, (size_t)(len > 0 ? len : 0), MSG_NOSIGNAL);
	BIO_clear_retry_flags(b);
	if (n <= 0 && BIO_sock_should_retry((int)n))
		BIO_set_retry_write(b);
	return (int)n;
}

static void
nosigpipe_init(void)
{
	const BIO_METHOD *sock = BIO_s_socket();
	BIO_METHOD *m = BIO_meth_new(BIO_TYPE_SOCKET, "mtls socket");

	if (m == NULL)
		return;
	if (!BIO_meth_set_write(m, nosigpipe_write) ||
	    !BIO_meth_set_read(m, BIO_meth_get_read(sock)) ||
	    !BIO_meth_set_puts(m, BIO_meth_get_puts(sock)) ||
	    !BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(sock)) ||
	    !BIO_meth_set_create(m, BIO_meth_get_create(sock)) ||
	    !BIO_meth_set_destroy(m, BIO_meth_get_destroy(sock))) {
		BIO_meth_free(m);
		return;
	}
	nosigpipe_method = m;
}

/* SSL_set_fd(), with the BIO above.  A server that asked for kernel TLS
 * keeps OpenSSL's own socket BIO: once the kernel encrypts, records that
 * are not application data (session tickets, alerts, close_notify) must be
 * written with their type in a control message, which only OpenSSL's
 * socket write knows how to do (the caller ignores SIGPIPE, see
 * mtls_config_enable_ktls()). */
static int
tls_set_fd(SSL *ssl, int fd, int ktls)
{
	pthread_once(&nosigpipe_once, nosigpipe_init);
	if (nosigpipe_method == NULL || ktls)
		return SSL_set_fd(ssl, fd);
	BIO *bio = BIO_new(nosigpipe_method);
	if (bio == NULL)
		return 0;
	BIO_set_fd(bio, fd, BIO_NOCLOSE);
	SSL_set_bio(ssl, bio, bio);
	return 1;
}

static struct mtls *
tls_new(enum tls_role role)
{
	struct mtls *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL)
		return NULL;
	ctx->role = role;
	ctx->fd = -1;
	ctx->alert_sent = ctx->alert_received = -1;
	return ctx;
}

/*
 * Where an error of ctx is written: allocated at the first one.  Should
 * that allocation fail, the message goes to a scratch buffer of the thread
 * and mtls_error() says "out of memory".
 */
static struct mtls_error *
ctx_err(struct mtls *ctx)
{
	static _Thread_local struct mtls_error scratch;

	if (ctx->err == NULL &&
	    (ctx->err = calloc(1, sizeof(*ctx->err))) == NULL) {
		ctx->err_nomem = 1;
		return &scratch;
	}
	return ctx->err;
}

struct mtls *
mtls_client(void)
{
	return tls_new(TLS_ROLE_CLIENT);
}

struct mtls *
mtls_server(void)
{
	return tls_new(TLS_ROLE_SERVER);
}

const char *
mtls_error(struct mtls *ctx)
{
	if (ctx == NULL)
		return "no TLS context";
	if (ctx->err == NULL)
		return ctx->err_nomem ? "out of memory" : NULL;
	return ctx->err->msg[0] != '\0' ? ctx->err->msg : NULL;
}

int
mtls_configure(struct mtls *ctx, struct mtls_config *cfg)
{
	SSL_CTX *sctx;

	if (cfg == NULL)
		return err_set(ctx_err(ctx), MTLS_ERR_USAGE, "no configuration");
	if (ctx->role == TLS_ROLE_SERVER_CONN)
		return err_set(ctx_err(ctx), MTLS_ERR_USAGE, "an accepted "
		    "connection takes its server's configuration");
	if ((sctx = tls_config_ctx(cfg, ctx->role, ctx_err(ctx))) == NULL) {
		/* Leave the reason on the config too: it is the config's. */
		cfg->err = *ctx_err(ctx);
		return -1;
	}
	tls_config_ref(cfg);
	SSL_CTX_free(ctx->ssl_ctx);
	mtls_config_free(ctx->cfg);
	ctx->ssl_ctx = sctx;
	ctx->cfg = cfg;
	return 0;
}

void
mtls_set_trace(struct mtls *ctx, mtls_trace_fn fn, void *arg)
{
	if (ctx == NULL)
		return;
	ctx->trace_fn = fn;
	ctx->trace_arg = arg;
	if (ctx->ssl != NULL)
		trace_attach(ctx);
}

/*
 * OpenSSL drops the session of a connection freed before it sent
 * close_notify, as TLS 1.0 required.  Since TLS 1.1 (RFC 4346 7.2.1) a
 * connection that just went away may still be resumed, and a proxy sees
 * that all the time (clients that close the socket, idle timeouts).  So a
 * connection whose handshake completed and that ended without a fatal
 * error keeps its session; after a fatal alert OpenSSL has already made
 * the session unusable.
 */
static void
keep_session(struct mtls *ctx)
{
	if (ctx->ssl != NULL && ctx->handshake_done && !ctx->io_failed)
		SSL_set_shutdown(ctx->ssl, SSL_get_shutdown(ctx->ssl) |
		    SSL_SENT_SHUTDOWN);
}

/* Forgets the previous connection of a client context, so that the same
 * context can connect again (and resume the session it made). */
static void
conn_reset(struct mtls *ctx)
{
	keep_session(ctx);
	SSL_free(ctx->ssl);
	ctx->ssl = NULL;
	ctx->fd = -1;
	ctx->handshake_done = ctx->handshake_failed = 0;
	ctx->io_failed = ctx->io_dead = 0;
	if (ctx->err != NULL)
		err_clear(ctx->err);
	ctx->err_nomem = 0;
	free(ctx->reject);
	ctx->reject = NULL;
	free(ctx->servername);
	ctx->servername = NULL;
	free(ctx->verify_problem);
	ctx->verify_problem = NULL;
	ctx->alert_sent = ctx->alert_received = -1;
	ctx->cert_requested = ctx->cert_sent = 0;
	ctx->anon_refused = 0;
	tls_peer_free(ctx->peer);
	ctx->peer = NULL;
	sk_X509_pop_free(ctx->ticket_chain, X509_free);
	ctx->ticket_chain = NULL;
}

static int
is_ip_literal(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1;
}

int
mtls_connect_socket(struct mtls *ctx, int fd, const char *servername)
{
	SSL *ssl = NULL;

	if (ctx->role != TLS_ROLE_CLIENT)
		return err_set(ctx_err(ctx), MTLS_ERR_USAGE, "not a client "
		    "context");
	if (ctx->ssl_ctx == NULL)
		return err_set(ctx_err(ctx), MTLS_ERR_USAGE, "the context is not "
		    "configured");
	if (ctx->ssl != NULL)
		conn_reset(ctx);
	if (servername != NULL && *servername == '\0')
		servername = NULL;
	if (servername == NULL && !ctx->cfg->noverifyname &&
	    !ctx->cfg->noverifycert)
		return err_set(ctx_err(ctx), MTLS_ERR_USAGE, "a server name is "
		    "needed to verify the server's certificate");
	if (servername != NULL &&
	    (ctx->servername = strdup(servername)) == NULL)
		return err_set(ctx_err(ctx), MTLS_ERR_NOMEM, "out of memory");

	if ((ssl = SSL_new(ctx->ssl_ctx)) == NULL)
		goto ssl_fail;
	SSL_set_app_data(ssl, ctx);
	if (!tls_set_fd(ssl, fd, 0))
		goto ssl_fail;
	if (servername != NULL) {
		X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
		int ip = is_ip_literal(servername);
		/* RFC 6066 section 3: no IP literals in SNI. */
		if (!ip && !SSL_set_tlsext_host_name(ssl, servername))
			goto ssl_fail;
		if (!ctx->cfg->noverifyname) {
			int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param,
			    servername) : X509_VERIFY_PARAM_set1_host(param,
			    servername, 0);
			if (!ok) {
				SSL_free(ssl);
				return err_set_ssl(ctx_err(ctx), MTLS_ERR_USAGE,
				    "%s: not a usable server name", servername);
			}
		}
	}
	if (!ctx->cfg->no_resumption) {
		SSL_SESSION *sess = tls_config_client_session(ctx->cfg,
		    servername);
		if (sess != NULL) {
			SSL_set_session(ssl, sess);
			SSL_SESSION_free(sess);
		}
	}
	SSL_set_connect_state(ssl);
	ctx->ssl = ssl;
	ctx->fd = fd;
	trace_attach(ctx);
	return 0;
ssl_fail:
	SSL_free(ssl);
	return err_set_ssl(ctx_err(ctx), MTLS_ERR_CRYPTO, "cannot start a TLS "
	    "connection");
}

/*
 * Several threads may accept on one server context, which is only read
 * once configured: a failure is kept in the new connection's own object
 * (libtls's rule: the error lives in the object), never in the shared
 * server context nor in a thread-local that another call could clear.
 */
int
mtls_accept_socket(struct mtls *server, struct mtls **out, int fd)
{
	struct mtls *conn;

	*out = NULL;
	if (server == NULL || server->role != TLS_ROLE_SERVER)
		return server == NULL ? -1 : err_set(ctx_err(server),
		    MTLS_ERR_USAGE, "not a server context");
	if ((conn = tls_new(TLS_ROLE_SERVER_CONN)) == NULL)
		return -1; /* out of memory: the one failure without a conn */
	*out = conn;
	conn->handshake_failed = 1; /* until it is set up */
	if (fd < 0)
		return err_set(ctx_err(conn), MTLS_ERR_USAGE, "socket %d is not "
		    "a valid descriptor", fd);
	if (server->ssl_ctx == NULL)
		return err_set(ctx_err(conn), MTLS_ERR_USAGE, "the server is not "
		    "configured");
	if ((conn->ssl = SSL_new(server->ssl_ctx)) == NULL)
		return err_set_ssl(ctx_err(conn), MTLS_ERR_CRYPTO, "cannot "
		    "start a TLS connection");
	SSL_set_app_data(conn->ssl, conn);
	if (!tls_set_fd(conn->ssl, fd, server->cfg->ktls)) {
		SSL_free(conn->ssl);
		conn->ssl = NULL;
		return err_set_ssl(ctx_err(conn), MTLS_ERR_IO, "cannot use "
		    "socket %d", fd);
	}
	conn->handshake_failed = 0;
	SSL_set_accept_state(conn->ssl);
	SSL_CTX_up_ref(server->ssl_ctx);
	conn->ssl_ctx = server->ssl_ctx;
	tls_config_ref(server->cfg);
	conn->cfg = server->cfg;
	conn->fd = fd;
	conn->trace_fn = server->trace_fn;
	conn->trace_arg = server->trace_arg;
	trace_attach(conn);
	*out = conn;
	return 0;
}

/* What OpenSSL's reason for a failed handshake says about the peer when
 * it is not about certificates: it does not speak TLS (what it sent is no
 * TLS record), or it shares no version with us. */
static enum mtls_reject_code
protocol_code(unsigned long e)
{
	if (e == 0 || ERR_GET_LIB(e) != ERR_LIB_SSL)
		return MTLS_REJECT_NONE;
	switch (ERR_GET_REASON(e)) {
	case SSL_R_WRONG_VERSION_NUMBER:
		return MTLS_REJECT_NOT_TLS;
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
		return MTLS_REJECT_VERSION;
	default:
		return MTLS_REJECT_NONE;
	}
}

/* The one place a failed handshake becomes a message: the refusal in
 * words when we have one, OpenSSL's reason, and the alerts. */
static int
handshake_error(struct mtls *ctx, int sslerr, int saved_errno)
{
	char reason[256] = "";
	unsigned long e = ERR_peek_last_error();
	int server = ctx->role == TLS_ROLE_SERVER_CONN;
	const char *r;

	ctx->handshake_failed = 1;
	if (server && ctx->reject == NULL && e != 0 &&
	    ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    ERR_GET_REASON(e) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
		tls_set_reject(ctx, MTLS_REJECT_NO_CERT, "%s",
		    ctx->anon_refused ?
		    TLS_NO_CERT_NO_RULE : "no client certificate");
	if (!server)
		ctx->protocol_code = protocol_code(e);
	if ((r = err_ssl_reason(reason, sizeof(reason))) == NULL) {
		if (sslerr == SSL_ERROR_SYSCALL && saved_errno != 0)
			snprintf(reason, sizeof(reason), "%s",
			    strerror(saved_errno));
		else
			snprintf(reason, sizeof(reason), "the peer closed the "
			    "connection");
	}

	char alerts[96] = "";
	if (ctx->alert_sent >= 0)
		snprintf(alerts, sizeof(alerts), "; alert sent: %s",
		    tls_alert_name(ctx->alert_sent));
	else if (ctx->alert_received >= 0)
		snprintf(alerts, sizeof(alerts), "; alert received: %s",
		    tls_alert_name(ctx->alert_received));

	if (server && ctx->reject != NULL)
		return err_set(ctx_err(ctx), MTLS_ERR_TLS, "client refused: %s%s",
		    ctx->reject, alerts);
	if (!server && ctx->verify_problem != NULL)
		return err_set(ctx_err(ctx), MTLS_ERR_VERIFY, "%s%s%s",
		    strncmp(ctx->verify_problem, "server ", 7) == 0 ? "" :
		    "server certificate not accepted: ", ctx->verify_problem,
		    alerts);
	if (!server && ctx->alert_received >= 0)
		return err_set(ctx_err(ctx), MTLS_ERR_TLS, "the server refused "
		    "the handshake: %s alert (%s)",
		    tls_alert_name(ctx->alert_received), reason);
	return err_set(ctx_err(ctx), MTLS_ERR_TLS, "TLS handshake failed: %s%s",
	    reason, alerts);
}

/* OpenSSL's own answer, once the handshake is done: it set the kernel
 * up, or silently did not (no tls ULP, a suite the kernel lacks, TLS 1.3
 * receive in OpenSSL 3.0). */
static int
tls_ktls_probe(SSL *ssl)
{
	int r = 0;

	if (BIO_get_ktls_send(SSL_get_wbio(ssl)))
		r |= MTLS_KTLS_SEND;
	if (BIO_get_ktls_recv(SSL_get_rbio(ssl)))
		r |= MTLS_KTLS_RECV;
	return r;
}

int
mtls_handshake(struct mtls *ctx)
{
	if (ctx->ssl == NULL)
		return err_set(ctx_err(ctx), MTLS_ERR_USAGE, "no connection");
	if (ctx->handshake_done)
		return 0;
	if (ctx->handshake_failed)
		return -1;
	ERR_clear_error();
	errno = 0;
	int r = SSL_do_handshake(ctx->ssl);
	int saved_errno = errno;
	if (r == 1) {
		ctx->handshake_done = 1;
		ctx->ktls = ctx->cfg != NULL && ctx->cfg->ktls ?
		    tls_ktls_probe(ctx->ssl) : 0;
		return 0;
	}
	int e = SSL_get_error(ctx->ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		return MTLS_WANT_POLLIN;
	if (e == SSL_ERROR_WANT_WRITE)
		return MTLS_WANT_POLLOUT;
	return handshake_error(ctx, e, saved_errno);
}

/* SSL_get_error() needs an empty error queue before the call it judges.
 * Clearing an empty queue costs OpenSSL 3 about 800 instructions (it
 * wipes all its slots); looking costs a tenth of that, and a read and a
 * write per request made it 4% of the HTTP proxy's work. */
static void
err_queue_clear(void)
{
	if (ERR_peek_error() != 0)
		ERR_clear_error();
}

/* After the handshake: SSL_get_error() of a read/write/shutdown. */
static ssize_t
io_error(struct mtls *ctx, int r, int saved_errno, const char *what)
{
	int e = SSL_get_error(ctx->ssl, r);
	char reason[256];

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return MTLS_WANT_POLLIN;
	case SSL_ERROR_WANT_WRITE:
		return MTLS_WANT_POLLOUT;
	case SSL_ERROR_ZERO_RETURN:
		return 0; /* close_notify: a clean end of stream */
	case SSL_ERROR_SYSCALL:
		/* The socket failed: no more I/O (not even close_notify),
		 * but the session itself is sound (RFC 4346 7.2.1). */
		ctx->io_dead = 1;
		ERR_clear_error();
		if (saved_errno == 0)
			return err_set(ctx_err(ctx), MTLS_ERR_TLS, "%s: the peer "
			    "closed the connection without close_notify",
			    what);
		return err_set(ctx_err(ctx), MTLS_ERR_IO, "%s: %s", what,
		    strerror(saved_errno));
	default:
		break;
	}
	/* A fatal error: the session must not be resumed. */
	ctx->io_failed = 1;
	unsigned long le = ERR_peek_last_error();
	if (ERR_GET_LIB(le) == ERR_LIB_SSL &&
	    ERR_GET_REASON(le) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		ERR_clear_error();
		return err_set(ctx_err(ctx), MTLS_ERR_TLS, "%s: the peer closed "
		    "the connection without close_notify", what);
	}
	if (ctx->alert_received >= 0) {
		const char *r2 = err_ssl_reason(reason, sizeof(reason));
		return err_set(ctx_err(ctx), MTLS_ERR_TLS, "%s: the peer sent the "
		    "alert %s (%s)", what, tls_alert_name(ctx->alert_received),
		    r2 != NULL ? r2 : "connection closed");
	}
	return err_set_ssl(ctx_err(ctx), MTLS_ERR_TLS, "%s failed", what);
}

/*
 * The peer asked for a TLS 1.3 key update (RFC 8446 4.6.3), which means we
 * must send with a new key.  OpenSSL 3.0 would derive it in user space
 * while the kernel (Linux 6.1 has no rekey of a kTLS send key) went on
 * with the old one, so the peer would fail on our next record, or, when
 * nothing more is written through OpenSSL, never see our KeyUpdate.  The
 * connection ends here instead, with a reason, before anything else is
 * sent; no close_notify, since our answer would be owed first.
 */
static ssize_t
ktls_no_rekey(struct mtls *ctx)
{
	ctx->io_failed = 1;
	return err_set(ctx_err(ctx), MTLS_ERR_TLS, "TLS read: the peer asked "
	    "for a key update, which kernel TLS cannot do (the kernel's send "
	    "key cannot be changed)");
}

ssize_t
mtls_read(struct mtls *ctx, void *buf, size_t len)
{
	size_t n = 0;

	if (!ctx->handshake_done) {
		int r = mtls_handshake(ctx);
		if (r != 0)
			return r;
	}
	err_queue_clear();
	errno = 0;
	int r = SSL_read_ex(ctx->ssl, buf, len, &n);
	int saved_errno = errno;
	/* A KeyUpdate may come alone (the read then wants more) or with
	 * data: either way nothing more is passed on. */
	if ((ctx->ktls & MTLS_KTLS_SEND) && SSL_get_key_update_type(ctx->ssl) !=
	    SSL_KEY_UPDATE_NONE)
		return ktls_no_rekey(ctx);
	if (r == 1)
		return (ssize_t)n;
	return io_error(ctx, r, saved_errno, "TLS read");
}

int
mtls_pending(struct mtls *ctx)
{
	return ctx != NULL && ctx->ssl != NULL && SSL_has_pending(ctx->ssl);
}

ssize_t
mtls_write(struct mtls *ctx, const void *buf, size_t len)
{
	size_t n = 0;

	if (!ctx->handshake_done) {
		int r = mtls_handshake(ctx);
		if (r != 0)
			return r;
	}
	if (len == 0)
		return 0;
	err_queue_clear();
	errno = 0;
	int r = SSL_write_ex(ctx->ssl, buf, len, &n);
	int saved_errno = errno;
	if (r == 1)
		return (ssize_t)n;
	ssize_t rc = io_error(ctx, r, saved_errno, "TLS write");
	if (rc == 0)
		return err_set(ctx_err(ctx), MTLS_ERR_TLS, "TLS write: the peer "
		    "has closed the connection");
	return rc;
}

/*
 * Record buffers (about 17 KiB each way).  The contexts give them back
 * after every record (SSL_MODE_RELEASE_BUFFERS), which keeps an idle
 * connection small but costs two allocations and frees per request and
 * response.  A caller that watches its connections lets a busy one keep
 * them, and frees them once it is idle.  OpenSSL before 3.0.14 could free
 * a buffer a record was still being read into (CVE-2024-4741): there the
 * connection goes on giving them back after every record.
 */
#define FREE_BUFFERS_FIXED 0x300000e0UL /* 3.0.14 */

void
mtls_keep_buffers(struct mtls *ctx)
{
	if (ctx == NULL || ctx->ssl == NULL || ctx->keep_buffers ||
	    OpenSSL_version_num() < FREE_BUFFERS_FIXED)
		return;
	SSL_clear_mode(ctx->ssl, SSL_MODE_RELEASE_BUFFERS);
	ctx->keep_buffers = 1;
}

int
mtls_release_buffers(struct mtls *ctx)
{
	if (ctx == NULL || !ctx->keep_buffers)
		return 0;
	/* Bytes that still wait in a buffer keep it (OpenSSL refuses to
	 * free it); the mode frees it once they are gone. */
	SSL_set_mode(ctx->ssl, SSL_MODE_RELEASE_BUFFERS);
	(void)SSL_free_buffers(ctx->ssl);
	ctx->keep_buffers = 0;
	return 1;
}

int
mtls_close(struct mtls *ctx)
{
	/* After a failed handshake or a fatal error OpenSSL has already sent
	 * its alert: there is nothing left to close. */
	if (ctx == NULL || ctx->ssl == NULL || !ctx->handshake_done ||
	    ctx->io_failed || ctx->io_dead)
		return 0;
	ERR_clear_error();
	errno = 0;
	int r = SSL_shutdown(ctx->ssl);
	int saved_errno = errno;
	if (r >= 0)
		return 0; /* close_notify sent; the peer's is not awaited */
	int e = SSL_get_error(ctx->ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		return MTLS_WANT_POLLIN;
	if (e == SSL_ERROR_WANT_WRITE)
		return MTLS_WANT_POLLOUT;
	if (e == SSL_ERROR_SYSCALL && (saved_errno == EPIPE ||
	    saved_errno == ECONNRESET || saved_errno == 0)) {
		ERR_clear_error();
		return 0; /* the peer is gone: nothing left to tell it */
	}
	return err_set_ssl(ctx_err(ctx), MTLS_ERR_TLS, "TLS close failed");
}

void
mtls_free(struct mtls *ctx)
{
	if (ctx == NULL)
		return;
	conn_reset(ctx);
	SSL_CTX_free(ctx->ssl_ctx);
	mtls_config_free(ctx->cfg);
	free(ctx->err);
	free(ctx);
}

/* ---- facts about the connection ---------------------------------- */

const char *
mtls_conn_version(struct mtls *ctx)
{
	if (ctx == NULL || ctx->ssl == NULL || !ctx->handshake_done)
		return NULL;
	return SSL_get_version(ctx->ssl);
}

const char *
mtls_conn_cipher(struct mtls *ctx)
{
	const SSL_CIPHER *c;

	if (ctx == NULL || ctx->ssl == NULL ||
	    (c = SSL_get_current_cipher(ctx->ssl)) == NULL)
		return NULL;
	return SSL_CIPHER_standard_name(c);
}

/* "X25519", "P-256": the names DESIGN.md and the options use. */
const char *
mtls_conn_group(struct mtls *ctx)
{
	if (ctx == NULL || ctx->ssl == NULL || !ctx->handshake_done)
		return NULL;
	int nid = SSL_get_negotiated_group(ctx->ssl);
	if (nid <= 0 || (nid & TLSEXT_nid_unknown) != 0)
		return NULL;
	const char *nist = EC_curve_nid2nist(nid);
	return nist != NULL ? nist : OBJ_nid2sn(nid);
}

const char *
mtls_conn_servername(struct mtls *ctx)
{
	if (ctx == NULL || ctx->ssl == NULL)
		return NULL;
	if (ctx->role == TLS_ROLE_CLIENT)
		return ctx->servername;
	return SSL_get_servername(ctx->ssl, TLSEXT_NAMETYPE_host_name);
}

int
mtls_conn_ktls(struct mtls *ctx)
{
	return ctx != NULL ? ctx->ktls : 0;
}

int
mtls_conn_session_resumed(struct mtls *ctx)
{
	if (ctx == NULL || ctx->ssl == NULL || !ctx->handshake_done)
		return 0;
	return SSL_session_reused(ctx->ssl);
}

const char *
mtls_conn_reject_reason(struct mtls *ctx)
{
	return ctx != NULL ? ctx->reject : NULL;
}

enum mtls_reject_code
mtls_conn_reject_code(struct mtls *ctx)
{
	enum mtls_reject_code code = MTLS_REJECT_NONE;

	if (ctx == NULL)
		return MTLS_REJECT_NONE;
	if (ctx->role != TLS_ROLE_CLIENT)
		return ctx->reject != NULL ? ctx->reject_code :
		    MTLS_REJECT_NONE;
	if (ctx->verify_problem != NULL)
		return ctx->verify_code;
	if (ctx->alert_received >= 0)
		(void)reason_from_alert(tls_alert_name(ctx->alert_received),
		    &code, NULL, NULL);
	if ((code == MTLS_REJECT_NONE || code == MTLS_REJECT_OTHER) &&
	    ctx->protocol_code != MTLS_REJECT_NONE)
		code = ctx->protocol_code;
	return code;
}

const char *
mtls_conn_alert_sent(struct mtls *ctx)
{
	if (ctx == NULL || ctx->alert_sent < 0)
		return NULL;
	return tls_alert_name(ctx->alert_sent);
}

const char *
mtls_conn_alert_received(struct mtls *ctx)
{
	if (ctx == NULL || ctx->alert_received < 0)
		return NULL;
	return tls_alert_name(ctx->alert_received);
}

int
mtls_conn_cert_requested(struct mtls *ctx)
{
	return ctx != NULL && ctx->cert_requested;
}

int
mtls_conn_cert_sent(struct mtls *ctx)
{
	return ctx != NULL && ctx->cert_sent;
}

size_t
mtls_conn_ca_name_count(struct mtls *ctx)
{
	STACK_OF(X509_NAME) *names;

	if (ctx == NULL || ctx->ssl == NULL || ctx->role != TLS_ROLE_CLIENT ||
	    (names = SSL_get_client_CA_list(ctx->ssl)) == NULL)
		return 0;
	return (size_t)sk_X509_NAME_num(names);
}

const char *
mtls_conn_ca_name(struct mtls *ctx, size_t i, char *buf, size_t len)
{
	STACK_OF(X509_NAME) *names;

	if (i >= mtls_conn_ca_name_count(ctx) || len == 0)
		return NULL;
	names = SSL_get_client_CA_list(ctx->ssl);
	char *s = x509_name_line(sk_X509_NAME_value(names, (int)i));
	if (s == NULL)
		return NULL;
	snprintf(buf, len, "%s", s);
	free(s);
	return buf;
}

/* Whether the chain we sent (leaf, then what followed it in the file)
 * leads to a CA the server named: an issuer name of one of its
 * certificates is on the list.  Names are all a CertificateRequest gives,
 * so a different CA with the same name passes (an HTTP refusal may still
 * tell, see mtls_http_cert_refusal()). */
int
mtls_conn_cert_reaches_ca_names(struct mtls *ctx)
{
	STACK_OF(X509_NAME) *names;
	STACK_OF(X509) *chain = NULL;
	X509 *leaf;

	if (ctx == NULL || ctx->ssl == NULL || ctx->role != TLS_ROLE_CLIENT ||
	    (names = SSL_get_client_CA_list(ctx->ssl)) == NULL ||
	    sk_X509_NAME_num(names) == 0)
		return 1;
	if ((leaf = SSL_get_certificate(ctx->ssl)) == NULL)
		return 0;
	(void)SSL_get0_chain_certs(ctx->ssl, &chain);
	if (chain == NULL)
		chain = ctx->cfg->chain;
	for (int i = -1; i < (chain ? sk_X509_num(chain) : 0); i++) {
		X509 *c = i < 0 ? leaf : sk_X509_value(chain, i);
		for (int j = 0; j < sk_X509_NAME_num(names); j++)
			if (X509_NAME_cmp(X509_get_issuer_name(c),
			    sk_X509_NAME_value(names, j)) == 0 ||
			    (i >= 0 && X509_NAME_cmp(X509_get_subject_name(c),
			    sk_X509_NAME_value(names, j)) == 0))
				return 1;
	}
	return 0;
}

const char *
mtls_conn_alpn(struct mtls *ctx)
{
	const unsigned char *p = NULL;
	unsigned int len = 0;

	if (ctx == NULL || ctx->ssl == NULL)
		return NULL;
	SSL_get0_alpn_selected(ctx->ssl, &p, &len);
	if (p == NULL || len == 0 || len >= sizeof(ctx->alpn))
		return NULL;
	memcpy(ctx->alpn, p, len);
	ctx->alpn[len] = '\0';
	return ctx->alpn;
}

const char *
mtls_conn_verify_problem(struct mtls *ctx)
{
	return ctx != NULL ? ctx->verify_problem : NULL;
}
