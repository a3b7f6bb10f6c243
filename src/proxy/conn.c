/*
 * conn.c - one proxied connection: a struct holding both sides, an
 * explicit state, and one teardown (conn_close) that every path reaches.
 *
 *   HANDSHAKE   TLS handshake; the library verifies the chain, the CRLs and
 *               the access rules.  Nothing touches the backend yet.
 *   CONNECTING  authorized: non-blocking connect to the backend.
 *   RELAY       bytes both ways, with half-close and backpressure.
 *   LINGER      refused: the alert is out and our side shut; the client's
 *               last bytes are read and dropped for a moment so that the
 *               close does not become a reset that destroys the alert.
 *
 * Each operation that would block remembers what it waits for (tls_rd,
 * tls_wr, b_rd, b_wr: 0 = may be tried, else EV_READ/EV_WRITE on its fd;
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

#include "proxy_int.h"

enum conn_state {
	CONN_HANDSHAKE,
	CONN_CONNECTING,
	CONN_RELAY,
	CONN_LINGER,
};

/* Reads per direction before giving other connections a turn. */
#define RELAY_BUDGET 16
/* How long a refused client's last bytes are drained. */
#define LINGER_TIME 2.0

struct conn {
	struct conn *prev, *next;
	struct worker *w;
	struct proxy_gen *gen;
	enum conn_state state;
	int cfd, bfd;
	struct mtls *tls;
	ev_io cio, bio;
	ev_timer timer;
	ev_tstamp start, last;
	ev_tstamp refused;           /* when a refused client was told */
	unsigned char tls_rd, tls_wr, b_rd, b_wr;
	unsigned c_eof : 1;          /* the client's stream ended */
	unsigned b_shut : 1;         /* ... and we passed it on */
	unsigned b_eof : 1;          /* the backend's stream ended */
	unsigned c_closed : 1;       /* ... and we sent close_notify */
	unsigned hs_done : 1;
	unsigned c_again : 1;        /* a direction used up its turn with */
	unsigned b_again : 1;        /* ... more to read: run again soon */
	struct relay_buf *c2b, *b2c;
	uint64_t bytes_in, bytes_out;
	struct sockaddr_in6 peer;    /* fits a sockaddr_in too */
	socklen_t peerlen;
	const char *outcome;
	char reason[256];
};

static void conn_close(struct conn *c);
static void conn_pump(struct conn *c);

static void PROXY_PRINTF(3, 4)
conn_outcome(struct conn *c, const char *outcome, const char *fmt, ...)
{
	va_list ap;

	c->outcome = outcome;
	if (fmt == NULL) {
		c->reason[0] = '\0';
		return;
	}
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
}

/* Asks the loop for events on one side; only touches the loop when the
 * set changes. */
static void
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
conn_log(struct conn *c)
{
	struct proxy *px = c->w->px;
	struct conn_record r = { 0 };
	char client[ADDR_STRLEN], sans[1024], line[4096];
	size_t n;

	addr_format((struct sockaddr *)&c->peer, c->peerlen, client,
	    sizeof(client));
	/* A refused connection's time and duration end with the refusal, not
	 * with the drain after it. */
	r.time = c->refused != 0 ? c->refused : ev_time();
	r.duration = r.time - c->start;
	r.client = client;
	if (c->tls != NULL && mtls_peer_cert_provided(c->tls)) {
		r.subject = mtls_peer_cert_subject(c->tls);
		conn_sans(c->tls, sans, sizeof(sans));
		r.sans = sans;
	}
	if (c->hs_done) {
		r.version = mtls_conn_version(c->tls);
		r.cipher = mtls_conn_cipher(c->tls);
		r.resumed = mtls_conn_session_resumed(c->tls);
	}
	r.bytes_in = c->bytes_in;
	r.bytes_out = c->bytes_out;
	r.outcome = c->outcome != NULL ? c->outcome : "closed";
	r.reason = c->reason[0] != '\0' ? c->reason : NULL;
	n = log_format_conn(line, sizeof(line), px->opt.log_format, &r);
	log_write(line, n);
}

/* The one teardown: every path ends here, and everything the connection
 * holds is released exactly once. */
static void
conn_close(struct conn *c)
{
	struct worker *w = c->w;

	conn_log(c);
	ev_io_stop(w->loop, &c->cio);
	ev_io_stop(w->loop, &c->bio);
	ev_timer_stop(w->loop, &c->timer);
	mtls_free(c->tls);
	close(c->cfd);
	if (c->bfd != -1)
		close(c->bfd);
	relay_buf_put(&w->pool, c->c2b);
	relay_buf_put(&w->pool, c->b2c);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->nconns--;
	STAT_ADD(w->stats.active, -1);
	__atomic_fetch_sub(&w->px->active, 1, __ATOMIC_RELAXED);
	worker_gen_unref(w, c->gen);
	free(c);
	if (w->stopping && w->nconns == 0)
		ev_break(w->loop, EVBREAK_ALL);
}

/* Records why and closes; returns -1 for the callers' convenience. */
static int PROXY_PRINTF(3, 4)
conn_fail(struct conn *c, const char *outcome, const char *fmt, ...)
{
	va_list ap;

	c->outcome = outcome;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	conn_close(c);
	return -1;
}

static void
conn_linger(struct conn *c)
{
	c->state = CONN_LINGER;
	c->refused = ev_time();
	(void)shutdown(c->cfd, SHUT_WR);
	conn_watch(c, &c->cio, EV_READ);
	ev_timer_stop(c->w->loop, &c->timer);
	ev_timer_set(&c->timer, LINGER_TIME, 0);
	ev_timer_start(c->w->loop, &c->timer);
}

static void
conn_relay_start(struct conn *c)
{
	struct proxy *px = c->w->px;
	struct ev_loop *loop = c->w->loop;

	c->state = CONN_RELAY;
	c->last = ev_now(loop);
	/* The client side is tried at once: it may have sent data with its
	 * last handshake flight, which the library already holds.  A backend
	 * that has just accepted has rarely spoken yet: wait for it to. */
	c->tls_rd = c->tls_wr = c->b_wr = 0;
	c->b_rd = EV_READ;
	ev_io_stop(loop, &c->bio);
	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, px->opt.idle_timeout, 0);
	ev_timer_start(loop, &c->timer);
	conn_pump(c);
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
	if (getsockname(c->cfd, (struct sockaddr *)&local, &llen) == -1)
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
	c->c2b = b;
	return 0;
}

static void
conn_backend_start(struct conn *c)
{
	struct proxy *px = c->w->px;
	struct ev_loop *loop = c->w->loop;
	char name[ADDR_STRLEN];
	int done, fd;

	c->state = CONN_CONNECTING;
	if (px->opt.proxy_protocol && conn_proxy_header(c) == -1) {
		conn_fail(c, "error", "out of memory");
		return;
	}
	fd = backend_connect(&px->backend, &done);
	if (fd == -1) {
		STAT_ADD(c->w->stats.backend_errors, 1);
		addr_format(&px->backend.u.sa, px->backend.len, name,
		    sizeof(name));
		conn_fail(c, "backend_error", "backend %s: %s", name,
		    strerror(errno));
		return;
	}
	c->bfd = fd;
	ev_io_set(&c->bio, fd, EV_WRITE);
	ev_io_stop(loop, &c->cio);
	if (done) {
		conn_relay_start(c);
		return;
	}
	ev_io_start(loop, &c->bio);
	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, px->opt.backend_timeout, 0);
	ev_timer_start(loop, &c->timer);
}

static void
conn_handshake(struct conn *c)
{
	struct worker *w = c->w;
	const char *why;
	int r = mtls_handshake(c->tls);

	if (r == MTLS_WANT_POLLIN) {
		conn_watch(c, &c->cio, EV_READ);
		return;
	}
	if (r == MTLS_WANT_POLLOUT) {
		conn_watch(c, &c->cio, EV_WRITE);
		return;
	}
	if (r != 0) {
		enum hs_reason hr;

		why = mtls_conn_reject_reason(c->tls);
		if (why != NULL) {
			hr = hs_reason_classify(why);
			conn_outcome(c, "rejected", "%s", why);
		} else {
			hr = HS_PROTOCOL;
			conn_outcome(c, "handshake_failed", "%s",
			    mtls_error(c->tls));
		}
		STAT_ADD(w->stats.handshakes[hr], 1);
		conn_linger(c);
		return;
	}
	/* The library applies the rules to the certificates it verifies; a
	 * client that sent none (--client-auth optional) is refused here
	 * unless --allow-any admits it, before the backend is touched.  The
	 * handshake is over, so no alert can say why: the client gets
	 * close_notify, the log gets the reason. */
	if (!mtls_peer_cert_provided(c->tls) && !w->px->opt.allow_anonymous) {
		STAT_ADD(w->stats.handshakes[HS_NO_CERT], 1);
		conn_outcome(c, "rejected", "no client certificate, and no "
		    "rule allows a client without one");
		(void)mtls_close(c->tls);
		conn_linger(c);
		return;
	}
	c->hs_done = 1;
	STAT_ADD(w->stats.handshakes[HS_OK], 1);
	stats_hs_latency(&w->stats, ev_time() - c->start);
	conn_backend_start(c);
}

/* Client to backend.  Returns -1 when the connection was closed. */
static int
conn_flow_c2b(struct conn *c)
{
	struct worker *w = c->w;
	int budget = RELAY_BUDGET;

	for (;;) {
		struct relay_buf *b = c->c2b;
		ssize_t n;

		if (b != NULL) {
			if (c->b_wr)
				return 0;
			n = send(c->bfd, b->data + b->off, b->len - b->off,
			    MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK) {
					c->b_wr = EV_WRITE;
					return 0;
				}
				if (errno == EINTR)
					continue;
				STAT_ADD(w->stats.backend_errors, 1);
				return conn_fail(c, "backend_error",
				    "backend write: %s", strerror(errno));
			}
			b->off += (size_t)n;
			if (b->off < b->len)
				continue;
			relay_buf_put(&w->pool, b);
			c->c2b = NULL;
			continue;
		}
		if (c->c_eof) {
			if (!c->b_shut) {
				(void)shutdown(c->bfd, SHUT_WR);
				c->b_shut = 1;
			}
			return 0;
		}
		if (c->tls_rd)
			return 0;
		if (budget-- == 0) {
			c->c_again = 1;
			return 0;
		}
		if ((b = relay_buf_get(&w->pool)) == NULL)
			return conn_fail(c, "error", "out of memory");
		n = mtls_read(c->tls, b->data, sizeof(b->data));
		if (n > 0) {
			b->len = (size_t)n;
			c->c2b = b;
			c->bytes_in += (uint64_t)n;
			STAT_ADD(w->stats.bytes_in, (uint64_t)n);
			c->last = ev_now(w->loop);
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
			c->c_eof = 1;
			continue;
		}
		/* After our close_notify, a client that just closes its
		 * socket is done, not failed: most do that. */
		if (c->c_closed) {
			c->c_eof = 1;
			continue;
		}
		return conn_fail(c, "client_error", "%s", mtls_error(c->tls));
	}
}

/* Backend to client.  Returns -1 when the connection was closed. */
static int
conn_flow_b2c(struct conn *c)
{
	struct worker *w = c->w;
	int budget = RELAY_BUDGET;

	for (;;) {
		struct relay_buf *b = c->b2c;
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
				c->bytes_out += (uint64_t)n;
				STAT_ADD(w->stats.bytes_out, (uint64_t)n);
				if (b->off < b->len)
					continue;
				relay_buf_put(&w->pool, b);
				c->b2c = NULL;
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
			return conn_fail(c, "client_error", "%s",
			    mtls_error(c->tls));
		}
		if (c->b_eof) {
			if (!c->c_closed) {
				int r;

				if (c->tls_wr)
					return 0;
				r = mtls_close(c->tls);
				if (r == MTLS_WANT_POLLIN) {
					c->tls_wr = EV_READ;
					return 0;
				}
				if (r == MTLS_WANT_POLLOUT) {
					c->tls_wr = EV_WRITE;
					return 0;
				}
				/* close_notify is out (or could not be sent);
				 * the client may go on sending. */
				c->c_closed = 1;
				(void)shutdown(c->cfd, SHUT_WR);
			}
			return 0;
		}
		if (c->b_rd)
			return 0;
		if (budget-- == 0) {
			c->b_again = 1;
			return 0;
		}
		if ((b = relay_buf_get(&w->pool)) == NULL)
			return conn_fail(c, "error", "out of memory");
		n = recv(c->bfd, b->data, sizeof(b->data), 0);
		if (n > 0) {
			b->len = (size_t)n;
			c->b2c = b;
			c->last = ev_now(w->loop);
			continue;
		}
		relay_buf_put(&w->pool, b);
		if (n == 0) {
			c->b_eof = 1;
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			c->b_rd = EV_READ;
			return 0;
		}
		if (errno == EINTR)
			continue;
		STAT_ADD(w->stats.backend_errors, 1);
		return conn_fail(c, "backend_error", "backend read: %s",
		    strerror(errno));
	}
}

static void
conn_pump(struct conn *c)
{
	int cev = 0, bev = 0;

	if (conn_flow_c2b(c) == -1 || conn_flow_b2c(c) == -1)
		return;
	if (c->c_eof && c->b_shut && c->b_eof && c->c_closed &&
	    c->c2b == NULL && c->b2c == NULL) {
		conn_outcome(c, "ok", NULL);
		conn_close(c);
		return;
	}
	if (!c->c_eof && c->c2b == NULL)
		cev |= c->tls_rd;
	if (c->b2c != NULL || (c->b_eof && !c->c_closed))
		cev |= c->tls_wr;
	if (!c->b_eof && c->b2c == NULL)
		bev |= c->b_rd;
	if (c->c2b != NULL)
		bev |= c->b_wr;
	conn_watch(c, &c->cio, cev);
	conn_watch(c, &c->bio, bev);
	/* A direction that stopped for fairness, not because it would block,
	 * is run again on the loop's next turn (after the watcher changes
	 * above, which would otherwise drop the fed event). */
	if (c->c_again) {
		c->c_again = 0;
		ev_feed_event(c->w->loop, &c->cio, EV_CUSTOM);
	}
	if (c->b_again) {
		c->b_again = 0;
		ev_feed_event(c->w->loop, &c->bio, EV_CUSTOM);
	}
}

static void
conn_client_cb(struct ev_loop *loop, ev_io *io, int revents)
{
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
			n = recv(c->cfd, drop, sizeof(drop), 0);
		} while (n > 0);
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			conn_close(c);
		break;
	case CONN_CONNECTING:
		break;
	}
}

static void
conn_backend_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = io->data;
	struct proxy *px = c->w->px;
	char name[ADDR_STRLEN];
	int e;

	if (c->state == CONN_CONNECTING) {
		if ((e = backend_connect_result(c->bfd)) != 0) {
			STAT_ADD(c->w->stats.backend_errors, 1);
			addr_format(&px->backend.u.sa, px->backend.len, name,
			    sizeof(name));
			conn_fail(c, "backend_error", "backend %s: %s", name,
			    strerror(e));
			return;
		}
		conn_relay_start(c);
		return;
	}
	if (c->b_rd & revents)
		c->b_rd = 0;
	if (c->b_wr & revents)
		c->b_wr = 0;
	conn_pump(c);
}

static void
conn_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn *c = t->data;
	struct proxy *px = c->w->px;
	char name[ADDR_STRLEN];
	double left;

	switch (c->state) {
	case CONN_HANDSHAKE:
		STAT_ADD(c->w->stats.handshakes[HS_TIMEOUT], 1);
		conn_fail(c, "handshake_timeout", "no complete handshake "
		    "within %gs", px->opt.handshake_timeout);
		break;
	case CONN_CONNECTING:
		STAT_ADD(c->w->stats.backend_errors, 1);
		addr_format(&px->backend.u.sa, px->backend.len, name,
		    sizeof(name));
		conn_fail(c, "backend_error", "backend %s: no answer within "
		    "%gs", name, px->opt.backend_timeout);
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
	}
}

void
conn_accept(struct worker *w, int fd, const struct sockaddr *peer,
    socklen_t peerlen)
{
	struct proxy *px = w->px;
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL || mtls_accept_socket(w->gen->server, &c->tls, fd) ==
	    -1) {
		char name[ADDR_STRLEN];
		addr_format(peer, peerlen, name, sizeof(name));
		log_msg(px->opt.log_format, "error", "%s: cannot take the "
		    "connection: %s", name, c == NULL ? "out of memory" :
		    mtls_error(w->gen->server));
		free(c);
		close(fd);
		__atomic_fetch_sub(&px->active, 1, __ATOMIC_RELAXED);
		return;
	}
	c->w = w;
	c->gen = w->gen;
	c->gen->refs++;
	c->state = CONN_HANDSHAKE;
	c->cfd = fd;
	c->bfd = -1;
	if (peerlen > sizeof(c->peer))
		peerlen = sizeof(c->peer);
	memcpy(&c->peer, peer, peerlen);
	c->peerlen = peerlen;
	c->start = ev_time();
	ev_io_init(&c->cio, conn_client_cb, fd, EV_READ);
	c->cio.data = c;
	ev_io_init(&c->bio, conn_backend_cb, -1, EV_WRITE);
	c->bio.data = c;
	ev_timer_init(&c->timer, conn_timer_cb, px->opt.handshake_timeout, 0);
	c->timer.data = c;
	ev_timer_start(w->loop, &c->timer);
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	STAT_ADD(w->stats.active, 1);
	/* The ClientHello is usually there already: try at once. */
	conn_handshake(c);
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
