/*
 * conn.c - one proxied connection: a struct holding both sides, an
 * explicit state, and one teardown (conn_close) that every path reaches.
 *
 * A connection has a TLS side (tfd, tls) and a plain side (pfd).  In serve
 * mode the accepted client is the TLS side and the backend the plain side;
 * in tunnel mode the accepted client is the plain side and the TLS side is
 * the mTLS connection we open to the upstream.  The relay does not care
 * which is which.
 *
 *   serve:  HANDSHAKE -> CONNECTING (backend) -> RELAY, or LINGER
 *   HTTP mode: HANDSHAKE -> HTTP (http_conn.c: requests one by one, the
 *           backend connected for the first) -> RELAY after a 101, or
 *           LINGER after a refusal
 *   tunnel: CONNECTING (upstream) -> HANDSHAKE -> RELAY
 *
 *   HANDSHAKE   TLS handshake; the library verifies the peer's chain (and,
 *               serving, the CRLs and the access rules).  In serve mode
 *               nothing touches the backend yet; in tunnel mode nothing of
 *               the client's is read, so nothing reaches the upstream
 *               before the upstream is verified.
 *   CONNECTING  non-blocking connect to the backend or the upstream.
 *   RELAY       bytes both ways, with half-close and backpressure.
 *   LINGER      a refused client (serve): the alert is out and our side
 *               shut; the client's last bytes are read and dropped for a
 *               moment so that the close does not become a reset that
 *               destroys the alert.
 *
 * Each operation that would block remembers what it waits for (tls_rd,
 * tls_wr, p_rd, p_wr: 0 = may be tried, else EV_READ/EV_WRITE on its fd;
 * SSL_read may need to write and SSL_write to read), and the watchers ask
 * the loop for exactly those events.  A direction holds a buffer only
 * while the other side has not taken its bytes; while it does, that
 * direction stops reading (backpressure), and an idle connection holds no
 * buffer at all.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"

static void conn_pump(struct conn *c);
static void conn_connect_start(struct conn *c);
static void conn_connected(struct conn *c);
static void conn_handshake(struct conn *c);

static int
conn_tunnel(const struct conn *c)
{
	return c->gen->svc->opt.mode == PROXY_TUNNEL;
}

/* The reason is made when there is one (out of memory: none). */
static void
conn_vreason(struct conn *c, const char *fmt, va_list ap)
{
	free(c->reason);
	c->reason = NULL;
	if (fmt != NULL && vasprintf(&c->reason, fmt, ap) == -1)
		c->reason = NULL;
}

void
conn_outcome(struct conn *c, const char *outcome, const char *fmt, ...)
{
	va_list ap;

	c->outcome = outcome;
	va_start(ap, fmt);
	conn_vreason(c, fmt, ap);
	va_end(ap);
}

/* Asks the loop for events on one side; only touches the loop when the
 * set changes. */
void
conn_watch(struct conn *c, ev_io *io, int events)
{
	struct ev_loop *loop = c->w->loop;

	if (ev_is_active(io) && (io->events & (EV_READ | EV_WRITE)) == events)
		return;
	ev_io_stop(loop, io);
	if (events != 0) {
		ev_io_modify(io, events);
		ev_io_start(loop, io);
	}
}

/* "DNS:a,URI:spiffe://x" for the log, cut to fit. */
static void
conn_sans(struct mtls *tls, char *buf, size_t cap)
{
	static const char *const prefix[] = {
		[MTLS_SAN_DNS] = "DNS", [MTLS_SAN_IP] = "IP",
		[MTLS_SAN_URI] = "URI", [MTLS_SAN_EMAIL] = "email",
		[MTLS_SAN_OTHER] = "other",
	};
	size_t len = 0, n = mtls_peer_san_count(tls);

	buf[0] = '\0';
	for (size_t i = 0; i < n && len < cap; i++) {
		enum mtls_san_type type;
		const char *v = mtls_peer_san(tls, i, &type);
		int k;

		if (v == NULL)
			break;
		if ((unsigned)type >= sizeof(prefix) / sizeof(prefix[0]) ||
		    prefix[type] == NULL)
			type = MTLS_SAN_OTHER;
		k = snprintf(buf + len, cap - len, "%s%s:%s", i ? "," : "",
		    prefix[type], v);
		if (k < 0)
			break;
		len += (size_t)k;
	}
}

static void
conn_target_name(struct conn *c, char *buf, size_t cap)
{
	const struct proxy_addr *a = &c->gen->svc->target[c->target];

	addr_format(&a->u.sa, a->len, buf, cap);
}

static void
conn_log(struct conn *c)
{
	struct proxy_service *px = c->gen->svc;
	struct conn_record r = { 0 };
	char client[ADDR_STRLEN], upstream[ADDR_STRLEN], sans[1024];
	char line[4096];
	size_t n;

	addr_format((struct sockaddr *)&c->peer, c->peerlen, client,
	    sizeof(client));
	/* A refused connection's time and duration end with the refusal, not
	 * with the drain after it. */
	r.time = c->refused != 0 ? c->refused : ev_time();
	r.duration = r.time - c->start;
	r.client = client;
	/* Services have names once a configuration file gives them. */
	if (c->w->px->file != NULL)
		r.service = px->st->name;
	if (conn_tunnel(c)) {
		conn_target_name(c, upstream, sizeof(upstream));
		r.upstream = upstream;
	}
	if (c->tls != NULL && mtls_peer_cert_provided(c->tls)) {
		r.subject = mtls_peer_cert_subject(c->tls);
		conn_sans(c->tls, sans, sizeof(sans));
		r.sans = sans;
	}
	if (c->tls != NULL)
		r.sni = mtls_conn_servername(c->tls);
	if (c->hs_done) {
		r.version = mtls_conn_version(c->tls);
		r.cipher = mtls_conn_cipher(c->tls);
		r.resumed = mtls_conn_session_resumed(c->tls);
	}
	if (c->ktls & MTLS_KTLS_SEND)
		r.ktls = c->ktls & MTLS_KTLS_RECV ? "txrx" : "tx";
	r.bytes_in = c->bytes_in;
	r.bytes_out = c->bytes_out;
	r.outcome = c->outcome != NULL ? c->outcome : "closed";
	r.reason = c->reason != NULL && c->reason[0] != '\0' ? c->reason :
	    NULL;
	n = log_format_conn(line, sizeof(line), px->opt.log_format, &r);
	log_write(line, n);
}

/* The one teardown: every path ends here, and everything the connection
 * holds is released exactly once. */
void
conn_close(struct conn *c)
{
	struct worker *w = c->w;

	conn_log(c);
	http_conn_free(c);
	ev_io_stop(w->loop, &c->tio);
	ev_io_stop(w->loop, &c->pio);
	ev_timer_stop(w->loop, &c->timer);
	mtls_free(c->tls);
	if (c->tfd != -1)
		close(c->tfd);
	if (c->pfd != -1)
		close(c->pfd);
	relay_buf_put(&w->pool, c->t2p);
	relay_buf_put(&w->pool, c->p2t);
	splice_end(c);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->nconns--;
	STAT_ADD(CONN_STATS(c)->active, -1);
	__atomic_fetch_sub(&c->gen->svc->st->active, 1, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&w->px->active, 1, __ATOMIC_RELAXED);
	gen_unref(c->gen);
	free(c->reason);
	free(c);
	if (w->stopping && w->nconns == 0)
		ev_break(w->loop, EVBREAK_ALL);
}

/* Records why and closes; returns -1 for the callers' convenience. */
int
conn_fail(struct conn *c, const char *outcome, const char *fmt, ...)
{
	va_list ap;

	c->outcome = outcome;
	va_start(ap, fmt);
	conn_vreason(c, fmt, ap);
	va_end(ap);
	conn_close(c);
	return -1;
}

/* An I/O failure on one side: "client_error", "backend_error" or
 * "upstream_error", after the side it happened on.  Failures of the side we
 * connected to count as backend errors in the metrics. */
int
conn_side_fail(struct conn *c, int tls_side, const char *what)
{
	struct proxy_service *px = c->gen->svc;
	const char *side = tls_side ? px->tls_side : px->plain_side;

	/* The side we connected to is the TLS side in a tunnel, the plain
	 * side (the backend) when serving. */
	if (tls_side == conn_tunnel(c))
		STAT_ADD(CONN_STATS(c)->backend_errors, 1);
	if (strcmp(side, "client") == 0)
		return conn_fail(c, "client_error", "%s", what);
	if (strcmp(side, "upstream") == 0)
		return conn_fail(c, "upstream_error", "%s", what);
	return conn_fail(c, "backend_error", "%s", what);
}

/* Counts relayed bytes; in: from the accepted client. */
void
conn_count(struct conn *c, int from_tls, size_t n)
{
	c->w->relayed++;
	if (from_tls == !conn_tunnel(c)) {
		c->bytes_in += n;
		STAT_ADD(CONN_STATS(c)->bytes_in, (uint64_t)n);
	} else {
		c->bytes_out += n;
		STAT_ADD(CONN_STATS(c)->bytes_out, (uint64_t)n);
	}
}

void
conn_linger(struct conn *c)
{
	c->state = CONN_LINGER;
	c->refused = ev_time();
	(void)shutdown(c->tfd, SHUT_WR);
	conn_watch(c, &c->tio, EV_READ);
	ev_timer_stop(c->w->loop, &c->timer);
	ev_timer_set(&c->timer, LINGER_TIME, 0);
	ev_timer_start(c->w->loop, &c->timer);
}

static int
conn_proxy_header(struct conn *c)
{
	struct proxy_gen *g = c->gen;
	struct sockaddr_in6 local;
	socklen_t llen = sizeof(local);
	struct pp2_info in = { 0 };
	struct relay_buf *b;
	int cert = mtls_peer_cert_provided(c->tls);

	if ((b = relay_buf_get(&c->w->pool)) == NULL)
		return -1;
	if (getsockname(c->tfd, (struct sockaddr *)&local, &llen) == -1 ||
	    llen > sizeof(local))
		llen = 0;
	in.src = (struct sockaddr *)&c->peer;
	in.srclen = c->peerlen;
	in.dst = llen ? (struct sockaddr *)&local : NULL;
	in.dstlen = llen;
	/* A resumed session carries the certificate verified when it was
	 * made (PP2_CLIENT_CERT_SESS). */
	in.cert_conn = cert && !mtls_conn_session_resumed(c->tls);
	in.cert_sess = cert;
	in.verified = cert;
	in.version = mtls_conn_version(c->tls);
	in.cn = cert ? mtls_peer_cert_common_name(c->tls) : NULL;
	in.cipher = mtls_conn_cipher(c->tls);
	in.sig_alg = g->sig_alg[0] ? g->sig_alg : NULL;
	in.key_alg = g->key_alg[0] ? g->key_alg : NULL;
	b->len = pp2_encode(b->data, sizeof(b->data), &in);
	c->t2p = b;
	return 0;
}

/* The connect to the backend (serve) or to the upstream (tunnel) failed
 * with e: the upstream's next address is tried, else the connection
 * ends. */
static void
conn_connect_failed(struct conn *c, int e, const char *what)
{
	struct proxy_service *px = c->gen->svc;
	char name[ADDR_STRLEN];

	conn_target_name(c, name, sizeof(name));
	if (conn_tunnel(c) && (size_t)c->tries + 1 < px->ntarget) {
		log_msg(px->opt.log_format, "warning", "upstream %s: %s; "
		    "trying its next address", name, what != NULL ? what :
		    strerror(e));
		ev_io_stop(c->w->loop, &c->tio);
		close(c->tfd);
		c->tfd = -1;
		c->tries++;
		c->target = (unsigned char)((c->target + 1) % px->ntarget);
		conn_connect_start(c);
		return;
	}
	STAT_ADD(CONN_STATS(c)->backend_errors, 1);
	if (what != NULL)
		conn_fail(c, conn_tunnel(c) ? "upstream_error" :
		    "backend_error", "%s %s: %s", px->target_side, name, what);
	else
		conn_fail(c, conn_tunnel(c) ? "upstream_error" :
		    "backend_error", "%s %s: %s", px->target_side, name,
		    strerror(e));
}

/* Serve: the backend.  Tunnel: the upstream. */
static void
conn_connect_start(struct conn *c)
{
	struct proxy_service *px = c->gen->svc;
	struct ev_loop *loop = c->w->loop;
	ev_io *io = conn_tunnel(c) ? &c->tio : &c->pio;
	int done, fd;

	c->state = CONN_CONNECTING;
	fd = backend_connect(&px->target[c->target], &done);
	if (fd == -1) {
		conn_connect_failed(c, errno, NULL);
		return;
	}
	if (conn_tunnel(c))
		c->tfd = fd;
	else
		c->pfd = fd;
	ev_io_stop(loop, io);
	ev_io_set(io, fd, EV_WRITE);
	if (done) {
		conn_connected(c);
		return;
	}
	ev_io_start(loop, io);
	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, px->opt.backend_timeout, 0);
	ev_timer_start(loop, &c->timer);
}

/* Tunnel: the TCP connection to the upstream is up; TLS over it. */
static void
conn_tls_start(struct conn *c)
{
	struct proxy_service *px = c->gen->svc;
	struct ev_loop *loop = c->w->loop;

	c->state = CONN_HANDSHAKE;
	if ((c->tls = mtls_client()) == NULL) {
		conn_fail(c, "error", "out of memory");
		return;
	}
	/* The generation's configuration: its TLS context is built already,
	 * and it keeps the session to offer for resumption. */
	if (mtls_configure(c->tls, c->gen->cfg) == -1 ||
	    mtls_connect_socket(c->tls, c->tfd, px->servername) == -1) {
		conn_fail(c, "error", "%s", mtls_error(c->tls));
		return;
	}
	ev_io_stop(loop, &c->tio);
	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, px->opt.handshake_timeout, 0);
	ev_timer_start(loop, &c->timer);
	conn_handshake(c);
}

static void
conn_connected(struct conn *c)
{
	/* New connections start with the upstream address that answered
	 * last, rather than each trying a dead one first. */
	if (c->tries > 0)
		__atomic_store_n(&c->gen->svc->target_first, c->target,
		    __ATOMIC_RELAXED);
	if (conn_tunnel(c))
		conn_tls_start(c);
	else
		conn_relay_start(c);
}

/* Serve: the client is verified and authorized; now the backend. */
static void
conn_backend_start(struct conn *c)
{
	/* HTTP mode connects to the backend for the first request. */
	if (c->gen->svc->opt.http) {
		http_conn_start(c);
		return;
	}
	ev_io_stop(c->w->loop, &c->tio);
	if (c->gen->svc->opt.proxy_protocol && conn_proxy_header(c) == -1) {
		conn_fail(c, "error", "out of memory");
		return;
	}
	conn_connect_start(c);
}

/* Who the peer is, for the status page: its certificate's subject, or
 * its address when it sent none. */
static void
conn_identity(struct conn *c, char *buf, size_t cap)
{
	if (c->tls != NULL && mtls_peer_cert_provided(c->tls) &&
	    mtls_peer_cert_subject(c->tls) != NULL) {
		snprintf(buf, cap, "%s", mtls_peer_cert_subject(c->tls));
		return;
	}
	addr_format((struct sockaddr *)&c->peer, c->peerlen, buf, cap);
}

/* Serve: a refused or failed handshake with the client. */
static void
conn_serve_refused(struct conn *c)
{
	char who[128];
	const char *why = mtls_conn_reject_reason(c->tls);
	int hr;

	if (why != NULL) {
		hr = (int)mtls_conn_reject_code(c->tls);
		conn_outcome(c, "rejected", "%s", why);
	} else {
		hr = (int)MTLS_REJECT_PROTOCOL;
		conn_outcome(c, "handshake_failed", "%s", mtls_error(c->tls));
	}
	STAT_ADD(CONN_STATS(c)->handshakes[hr], 1);
	conn_identity(c, who, sizeof(who));
	svc_state_refused(c->gen->svc->st, hr, who, c->reason != NULL ?
	    c->reason : "");
	conn_linger(c);
}

/* Tunnel: the upstream handshake failed.  Either we refused the server
 * (its certificate did not verify, or not for the name), or it refused us
 * (an alert), or the connection broke.  The client's connection is closed;
 * nothing of it was read. */
static void
conn_tunnel_refused(struct conn *c)
{
	const char *why = mtls_error(c->tls);
	const char *outcome = "handshake_failed";
	int hr = (int)MTLS_REJECT_PROTOCOL;

	if (mtls_conn_verify_problem(c->tls) != NULL) {
		outcome = "rejected";
		hr = (int)mtls_conn_reject_code(c->tls);
	} else if (mtls_conn_alert_received(c->tls) != NULL) {
		outcome = "refused";
		hr = (int)mtls_conn_reject_code(c->tls);
	}
	STAT_ADD(CONN_STATS(c)->handshakes[hr], 1);
	conn_fail(c, outcome, "%s", why != NULL ? why : "handshake failed");
}

/* Serve: whether the client has sent anything yet.  A load balancer's
 * health check connects and closes without a byte; that is not a failed
 * handshake.  1: go on; 0: wait; -1: the connection was closed. */
static int
conn_first_bytes(struct conn *c)
{
	char b;
	ssize_t n = recv(c->tfd, &b, 1, MSG_PEEK);

	if (n > 0) {
		c->hs_started = 1;
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR)) {
		conn_watch(c, &c->tio, EV_READ);
		return 0;
	}
	conn_fail(c, "closed_before_handshake", n == 0 ? "the client closed "
	    "the connection without sending anything" : "%s",
	    strerror(errno));
	return -1;
}

static void
conn_handshake(struct conn *c)
{
	int r;

	if (!conn_tunnel(c) && !c->hs_started && conn_first_bytes(c) != 1)
		return;
	r = mtls_handshake(c->tls);
	if (r == MTLS_WANT_POLLIN) {
		conn_watch(c, &c->tio, EV_READ);
		return;
	}
	if (r == MTLS_WANT_POLLOUT) {
		conn_watch(c, &c->tio, EV_WRITE);
		return;
	}
	if (r != 0) {
		if (conn_tunnel(c))
			conn_tunnel_refused(c);
		else
			conn_serve_refused(c);
		return;
	}
	/* Serving, the library has applied the rules inside the handshake,
	 * including to a client without a certificate when client
	 * authentication is optional (admitted only by a rule allowing any). */
	c->hs_done = 1;
	STAT_ADD(CONN_STATS(c)->handshakes[HS_OK], 1);
	if (mtls_conn_session_resumed(c->tls))
		STAT_ADD(CONN_STATS(c)->handshakes_resumed, 1);
	stats_hs_latency(CONN_STATS(c), ev_time() - c->start);
	if (!conn_tunnel(c)) {
		char who[128];
		conn_identity(c, who, sizeof(who));
		svc_state_client(c->gen->svc->st, who);
	}
	if (conn_tunnel(c))
		conn_relay_start(c);
	else
		conn_backend_start(c);
}

void
conn_relay_start(struct conn *c)
{
	struct proxy_service *px = c->gen->svc;
	struct ev_loop *loop = c->w->loop;

	c->state = CONN_RELAY;
	c->last = ev_now(loop);
	/* The TLS side is tried at once: a client may have sent data with
	 * its last handshake flight, which the library already holds.  A
	 * backend that has just accepted has rarely spoken yet: wait for it
	 * to; a tunnel's client may have written while we connected. */
	c->tls_rd = c->tls_wr = c->p_wr = 0;
	c->p_rd = conn_tunnel(c) ? 0 : EV_READ;
	if (px->opt.ktls && !conn_tunnel(c))
		splice_start(c);
	ev_io_stop(loop, &c->pio);
	ev_io_set(&c->pio, c->pfd, EV_READ);
	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, px->opt.idle_timeout, 0);
	ev_timer_start(loop, &c->timer);
	conn_pump(c);
}

/* TLS side to plain side.  Returns -1 when the connection was closed. */
static int
conn_flow_t2p(struct conn *c)
{
	struct worker *w = c->w;
	int budget = RELAY_BUDGET, drained = 0;
	char what[256];

	for (;;) {
		struct relay_buf *b = c->t2p;
		ssize_t n;

		if (b != NULL) {
			if (c->p_wr)
				return 0;
			n = send(c->pfd, b->data + b->off, b->len - b->off,
			    MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK) {
					c->p_wr = EV_WRITE;
					return 0;
				}
				if (errno == EINTR)
					continue;
				snprintf(what, sizeof(what), "%s write: %s",
				    c->gen->svc->plain_side, strerror(errno));
				return conn_side_fail(c, 0, what);
			}
			b->off += (size_t)n;
			if (b->off < b->len)
				continue;
			relay_buf_put(&w->pool, b);
			c->t2p = NULL;
			continue;
		}
		if (c->t_eof) {
			if (!c->p_shut) {
				(void)shutdown(c->pfd, SHUT_WR);
				c->p_shut = 1;
			}
			return 0;
		}
		if (c->tls_rd)
			return 0;
		if (drained) {
			/* A short read emptied the socket (most likely) and
			 * the library holds nothing more: the loop says when
			 * more comes, instead of a read that says EAGAIN. */
			c->tls_rd = EV_READ;
			return 0;
		}
		if (budget-- == 0) {
			c->t_again = 1;
			return 0;
		}
		if ((b = relay_buf_get(&w->pool)) == NULL)
			return conn_fail(c, "error", "out of memory");
		n = mtls_read(c->tls, b->data, sizeof(b->data));
		if (n > 0) {
			b->len = (size_t)n;
			c->t2p = b;
			conn_count(c, 1, (size_t)n);
			conn_tls_active(c);
			drained = (size_t)n < sizeof(b->data) &&
			    !mtls_pending(c->tls);
			continue;
		}
		relay_buf_put(&w->pool, b);
		if (n == MTLS_WANT_POLLIN) {
			c->tls_rd = EV_READ;
			return 0;
		}
		if (n == MTLS_WANT_POLLOUT) {
			c->tls_rd = EV_WRITE;
			return 0;
		}
		if (n == 0) {
			c->t_eof = 1;
			continue;
		}
		/* After our close_notify, a peer that just closes its socket
		 * is done, not failed: most do that. */
		if (c->t_closed) {
			c->t_eof = 1;
			continue;
		}
		snprintf(what, sizeof(what), "%s", mtls_error(c->tls));
		return conn_side_fail(c, 1, what);
	}
}

/* The plain side has ended and everything it sent is out: close_notify
 * once, then our half of the TCP stream. */
void
conn_tls_shut(struct conn *c)
{
	int r;

	if (c->t_closed || c->tls_wr)
		return;
	r = mtls_close(c->tls);
	if (r == MTLS_WANT_POLLIN) {
		c->tls_wr = EV_READ;
		return;
	}
	if (r == MTLS_WANT_POLLOUT) {
		c->tls_wr = EV_WRITE;
		return;
	}
	/* close_notify is out (or could not be sent); the peer may go on
	 * sending. */
	c->t_closed = 1;
	(void)shutdown(c->tfd, SHUT_WR);
}

int
conn_plain_nodata(struct conn *c, ssize_t n)
{
	char what[256];

	if (n == 0) {
		c->p_eof = 1;
		c->p_eof_first = !c->t_eof;
		return 1;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		c->p_rd = EV_READ;
		return 0;
	}
	if (errno == EINTR)
		return 1;
	snprintf(what, sizeof(what), "%s read: %s", c->gen->svc->plain_side,
	    strerror(errno));
	return conn_side_fail(c, 0, what);
}

/* Plain side to TLS side.  Returns -1 when the connection was closed. */
static int
conn_flow_p2t(struct conn *c)
{
	struct worker *w = c->w;
	int budget = RELAY_BUDGET, drained = 0, r;
	char what[256];

	for (;;) {
		struct relay_buf *b = c->p2t;
		ssize_t n;

		if (b != NULL) {
			if (c->tls_wr)
				return 0;
			/* A retried write passes the same bytes again, as
			 * SSL_write requires. */
			n = mtls_write(c->tls, b->data + b->off,
			    b->len - b->off);
			if (n > 0) {
				b->off += (size_t)n;
				conn_count(c, 0, (size_t)n);
				if (b->off < b->len)
					continue;
				relay_buf_put(&w->pool, b);
				c->p2t = NULL;
				continue;
			}
			if (n == MTLS_WANT_POLLIN) {
				c->tls_wr = EV_READ;
				return 0;
			}
			if (n == MTLS_WANT_POLLOUT) {
				c->tls_wr = EV_WRITE;
				return 0;
			}
			snprintf(what, sizeof(what), "%s", mtls_error(c->tls));
			return conn_side_fail(c, 1, what);
		}
		if (c->p_eof) {
			conn_tls_shut(c);
			return 0;
		}
		if (c->p_rd)
			return 0;
		if (drained) {
			/* As in conn_flow_t2p: the loop (level-triggered)
			 * reports the next bytes, or the end of the stream. */
			c->p_rd = EV_READ;
			return 0;
		}
		if (budget-- == 0) {
			c->p_again = 1;
			return 0;
		}
		if ((b = relay_buf_get(&w->pool)) == NULL)
			return conn_fail(c, "error", "out of memory");
		n = recv(c->pfd, b->data, sizeof(b->data), 0);
		if (n > 0) {
			b->len = (size_t)n;
			c->p2t = b;
			c->p_data = 1;
			c->last = ev_now(w->loop);
			drained = (size_t)n < sizeof(b->data);
			continue;
		}
		relay_buf_put(&w->pool, b);
		if ((r = conn_plain_nodata(c, n)) != 1)
			return r;
	}
}

static void
conn_pump(struct conn *c)
{
	int tev = 0, pev = 0;

	if (conn_flow_t2p(c) == -1 || (c->splicing ?
	    conn_flow_splice(c) : conn_flow_p2t(c)) == -1)
		return;
	if (c->t_eof && c->p_shut && c->p_eof && c->t_closed &&
	    c->t2p == NULL && !CONN_P2T_HELD(c)) {
		/* A backend that closes without a word, on its own or after
		 * the client's request, is a failure the client only sees as
		 * silence: say so (a client that leaves without asking
		 * anything is not one). */
		if (!conn_tunnel(c) && !c->p_data &&
		    (c->p_eof_first || c->bytes_in > 0)) {
			STAT_ADD(CONN_STATS(c)->backend_errors, 1);
			conn_outcome(c, "backend_closed", "the backend "
			    "closed the connection without sending a byte "
			    "(the client had sent %llu)",
			    (unsigned long long)c->bytes_in);
		} else
			conn_outcome(c, "ok", NULL);
		conn_close(c);
		return;
	}
	if (!c->t_eof && c->t2p == NULL)
		tev |= c->tls_rd;
	if (CONN_P2T_HELD(c) || (c->p_eof && !c->t_closed))
		tev |= c->tls_wr;
	if (!c->p_eof && !CONN_P2T_HELD(c))
		pev |= c->p_rd;
	if (c->t2p != NULL)
		pev |= c->p_wr;
	conn_watch(c, &c->tio, tev);
	conn_watch(c, &c->pio, pev);
	/* A direction that stopped for fairness, not because it would block,
	 * is run again on the loop's next turn (after the watcher changes
	 * above, which would otherwise drop the fed event). */
	if (c->t_again) {
		c->t_again = 0;
		ev_feed_event(c->w->loop, &c->tio, EV_CUSTOM);
	}
	if (c->p_again) {
		c->p_again = 0;
		ev_feed_event(c->w->loop, &c->pio, EV_CUSTOM);
	}
}

/* The connect in progress became writable. */
static void
conn_connect_done(struct conn *c)
{
	int fd = conn_tunnel(c) ? c->tfd : c->pfd;
	int e = backend_connect_result(fd);

	if (e != 0) {
		conn_connect_failed(c, e, NULL);
		return;
	}
	conn_connected(c);
}

static void
conn_tls_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	struct conn *c = io->data;
	char drop[4096];
	ssize_t n;

	switch (c->state) {
	case CONN_HANDSHAKE:
		conn_handshake(c);
		break;
	case CONN_RELAY:
		if (c->tls_rd & revents)
			c->tls_rd = 0;
		if (c->tls_wr & revents)
			c->tls_wr = 0;
		conn_pump(c);
		break;
	case CONN_LINGER:
		do {
			n = recv(c->tfd, drop, sizeof(drop), 0);
		} while (n > 0);
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			conn_close(c);
		break;
	case CONN_CONNECTING:
		if (conn_tunnel(c))
			conn_connect_done(c);
		break;
	case CONN_HTTP:
		http_conn_io(c, 1, revents);
		break;
	}
}

static void
conn_plain_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	struct conn *c = io->data;

	switch (c->state) {
	case CONN_CONNECTING:
		if (!conn_tunnel(c))
			conn_connect_done(c);
		break;
	case CONN_RELAY:
		if (c->p_rd & revents)
			c->p_rd = 0;
		if (c->p_wr & revents)
			c->p_wr = 0;
		conn_pump(c);
		break;
	case CONN_HTTP:
		http_conn_io(c, 0, revents);
		break;
	case CONN_HANDSHAKE:
	case CONN_LINGER:
		break;
	}
}

static void
conn_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)revents;
	struct conn *c = t->data;
	struct proxy_service *px = c->gen->svc;
	char what[64];
	double left;

	switch (c->state) {
	case CONN_HANDSHAKE:
		STAT_ADD(CONN_STATS(c)->handshakes[HS_TIMEOUT], 1);
		if (conn_tunnel(c)) {
			char name[ADDR_STRLEN];
			conn_target_name(c, name, sizeof(name));
			conn_fail(c, "handshake_timeout", "upstream %s: no "
			    "complete handshake within %gs", name,
			    px->opt.handshake_timeout);
		} else {
			char who[128], why[64];
			conn_identity(c, who, sizeof(who));
			snprintf(why, sizeof(why), "no complete handshake "
			    "within %gs", px->opt.handshake_timeout);
			svc_state_refused(px->st, HS_TIMEOUT, who, why);
			conn_fail(c, "handshake_timeout", "%s", why);
		}
		break;
	case CONN_CONNECTING:
		snprintf(what, sizeof(what), "no answer within %gs",
		    px->opt.backend_timeout);
		conn_connect_failed(c, ETIMEDOUT, what);
		break;
	case CONN_RELAY:
		/* The timer is not pushed on every read; it checks when it
		 * fires and sleeps again for what is left. */
		left = c->last + px->opt.idle_timeout - ev_now(loop);
		if (left > 0.001) {
			ev_timer_set(t, left, 0);
			ev_timer_start(loop, t);
			break;
		}
		conn_fail(c, "idle_timeout", "no data either way for %gs",
		    px->opt.idle_timeout);
		break;
	case CONN_LINGER:
		conn_close(c);
		break;
	case CONN_HTTP:
		http_conn_timer(c);
		break;
	}
}

void
conn_accept(struct worker *w, struct proxy_gen *g, int fd,
    const struct sockaddr *peer, socklen_t peerlen)
{
	struct proxy_service *px = g->svc;
	int tunnel = px->opt.mode == PROXY_TUNNEL;
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL || (!tunnel && mtls_accept_socket(g->tls, &c->tls,
	    fd) == -1)) {
		char name[ADDR_STRLEN];
		addr_format(peer, peerlen, name, sizeof(name));
		log_msg(px->opt.log_format, "error", "%s: cannot take the "
		    "connection: %s", name, c == NULL || c->tls == NULL ?
		    "out of memory" : mtls_error(c->tls));
		if (c != NULL)
			mtls_free(c->tls);
		free(c);
		close(fd);
		__atomic_fetch_sub(&px->st->active, 1, __ATOMIC_RELAXED);
		__atomic_fetch_sub(&w->px->active, 1, __ATOMIC_RELAXED);
		return;
	}
	c->w = w;
	c->gen = g;
	gen_ref(g);
	c->tfd = tunnel ? -1 : fd;
	c->pfd = tunnel ? fd : -1;
	/* A unix peer is shown as "unix:" (its address is rarely bound, and
	 * would not fit). */
	if (peerlen > sizeof(c->peer) || peer->sa_family == AF_UNIX)
		peerlen = peer->sa_family == AF_UNIX ? sizeof(sa_family_t) :
		    sizeof(c->peer);
	memcpy(&c->peer, peer, peerlen);
	c->peerlen = peerlen;
	c->start = ev_time();
	ev_io_init(&c->tio, conn_tls_cb, c->tfd, EV_READ);
	c->tio.data = c;
	ev_io_init(&c->pio, conn_plain_cb, c->pfd, EV_READ);
	c->pio.data = c;
	ev_timer_init(&c->timer, conn_timer_cb, px->opt.handshake_timeout, 0);
	c->timer.data = c;
	ev_timer_start(w->loop, &c->timer);
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	STAT_ADD(CONN_STATS(c)->active, 1);
	if (tunnel) {
		c->target = (unsigned char)__atomic_load_n(&px->target_first,
		    __ATOMIC_RELAXED);
		conn_connect_start(c);
		return;
	}
	/* The ClientHello is usually there already: try at once. */
	c->state = CONN_HANDSHAKE;
	conn_handshake(c);
}

/*
 * The TLS side sent bytes.  A connection that does so twice within a tick
 * of its worker is busy: it keeps its TLS record buffers between records
 * (two allocations and frees fewer per request and response) until a tick
 * finds it idle (conn_release_idle).  One that sends now and then, or once
 * and then holds, gives them back after each record as before, so a burst
 * of new connections costs no more memory than it did.
 */
void
conn_tls_active(struct conn *c)
{
	c->last = ev_now(c->w->loop);
	if (c->tls_reads < 2 && ++c->tls_reads == 2)
		mtls_keep_buffers(c->tls);
}

size_t
conn_release_idle(struct worker *w, ev_tstamp idle_since)
{
	size_t n = 0;

	for (struct conn *c = w->conns; c != NULL; c = c->next) {
		c->tls_reads = 0;
		if ((c->state == CONN_RELAY || c->state == CONN_HTTP) &&
		    c->last <= idle_since && mtls_release_buffers(c->tls))
			n++;
	}
	return n;
}

void
conn_close_all(struct worker *w, const char *why)
{
	while (w->conns != NULL) {
		struct conn *c = w->conns;
		if (c->outcome == NULL || c->state != CONN_LINGER)
			conn_outcome(c, "shutdown", "%s", why);
		conn_close(c);
	}
}
