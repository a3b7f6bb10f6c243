/*
 * est_server.c - `mtls ca serve`: EST (RFC 7030) over mTLS on one libev
 * loop.  The CA signs in this thread, one request at a time: a signature
 * and an inventory commit take milliseconds, and SQLite serializes writers
 * anyway.  Each connection carries one request (the answer says
 * "Connection: close").  Shaped like conn.c: one struct, one state, one
 * teardown (estc_close) that every path reaches.
 *
 *   HANDSHAKE -> READ -> WRITE -> DRAIN
 *
 *   HANDSHAKE  TLS; a client certificate is asked for, not required (a
 *              token enrollment has none); one that is sent is verified
 *              against the CA (and the bootstrap CAs).
 *   READ       the request, parsed by the HTTP glue of src/lib/http
 *              (llhttp, strict); a body beyond MTLS_EST_MAX_BODY is
 *              answered 413 as soon as it is seen.
 *   WRITE      the answer, then close_notify.
 *   DRAIN      our side shut; what the client still sends is read and
 *              dropped for a moment, so that closing with unread bytes
 *              does not reset the connection before the client has read
 *              the answer (a 413 while the body is still coming).
 *
 * GET /metrics and /healthz are answered here (the counters of
 * mtls_est_metrics() and the connections'), for a scraper that trusts the
 * server's CA.  A timer remakes the CRL before its nextUpdate.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "mtls_tools.h"
#include "proxy_int.h"

#define ESTC_READ_BUF 16384
#define ESTC_URL_MAX 1024
#define ESTC_DRAIN_TIME 2.0
#define EST_METRICS_MAX 16384

enum estc_state {
	ESTC_HANDSHAKE,
	ESTC_READ,
	ESTC_WRITE,
	ESTC_DRAIN,
};

struct est_srv;

struct estc {
	struct estc *prev, *next;
	struct est_srv *s;
	enum estc_state state;
	int fd;
	struct mtls *tls;
	ev_io io;
	ev_timer timer;
	double start;
	char client[ADDR_STRLEN];
	struct http_parser *parser;
	char method[16];
	char url[ESTC_URL_MAX];
	char *content_type;          /* copies of the head's fields */
	char *authorization;
	int http_status;             /* the parser refused: 400, 414, 431 */
	unsigned too_large : 1;
	unsigned complete : 1;
	unsigned closed : 1;         /* close_notify sent */
	unsigned logged : 1;         /* the request's line is out */
	char *body;
	size_t body_len;
	char *out;                   /* the whole answer */
	size_t out_len, out_off;
	/* for the log line */
	int status;
	char identity[256];
	const char *outcome;
	char reason[256];
	char serial[64];
};

struct est_srv {
	const struct est_server_options *opt;
	struct ev_loop *loop;
	struct mtls *server;
	int fd[ADDR_MAX];
	ev_io lio[ADDR_MAX];
	size_t nlisten;
	ev_signal term, intr;
	ev_timer crl;
	struct estc *conns;
	unsigned long long handshakes_failed, requests;
	time_t crl_next;
	int crl_warned;
};

static void estc_close(struct estc *c);
static void estc_step(struct estc *c);

static void
estc_log(struct estc *c)
{
	struct est_record r = { 0 };
	char line[4096];
	size_t n;
	r.time = ev_time();
	r.duration = r.time - c->start;
	r.client = c->client;
	r.method = c->method[0] != '\0' ? c->method : "-";
	r.path = c->url[0] != '\0' ? c->url : "-";
	r.status = c->status;
	r.identity = c->identity[0] != '\0' ? c->identity : "-";
	r.outcome = c->outcome != NULL ? c->outcome : "closed";
	r.reason = c->reason[0] != '\0' ? c->reason : NULL;
	r.serial = c->serial[0] != '\0' ? c->serial : NULL;
	n = log_format_est(line, sizeof(line), c->s->opt->log_format, &r);
	log_write(line, n);
}

/* The one teardown. */
static void
estc_close(struct estc *c)
{
	struct est_srv *s = c->s;

	if (!c->logged)
		estc_log(c);
	ev_io_stop(s->loop, &c->io);
	ev_timer_stop(s->loop, &c->timer);
	mtls_free(c->tls);
	close(c->fd);
	http_parser_free(c->parser);
	free(c->body);
	free(c->out);
	free(c->content_type);
	if (c->authorization != NULL) {
		mtls_cleanse(c->authorization, strlen(c->authorization));
		free(c->authorization);
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c);
}

static void
estc_watch(struct estc *c, int events)
{
	if (ev_is_active(&c->io) && (c->io.events & (EV_READ | EV_WRITE)) ==
	    events)
		return;
	ev_io_stop(c->s->loop, &c->io);
	if (events != 0) {
		ev_io_modify(&c->io, events);
		ev_io_start(c->s->loop, &c->io);
	}
}

/* ---- the request ------------------------------------------------ */

/* A field's value as a heap string, or NULL when absent.  A repeated
 * Content-Type or Authorization is an error (-1). */
static int
head_field(const struct http_head *h, const char *name, char **out)
{
	size_t from = 0;
	const struct http_field *f = http_head_find(h, name, &from);

	*out = NULL;
	if (f == NULL)
		return 0;
	if (http_head_find(h, name, &from) != NULL)
		return -1;
	if ((*out = strndup(f->value, f->value_len)) == NULL)
		return -1;
	return 0;
}

/* The head: what the EST decision needs, and the body limit before any
 * body byte.  0 to read on, -1 when the request is refused. */
static int
estc_head(struct estc *c)
{
	const struct http_head *h = http_parser_head(c->parser);

	snprintf(c->method, sizeof(c->method), "%s", h->method_name);
	if (h->target_len >= sizeof(c->url)) {
		c->http_status = 414;
		return -1;
	}
	memcpy(c->url, h->target, h->target_len);
	c->url[h->target_len] = '\0';
	if (head_field(h, "Content-Type", &c->content_type) == -1 ||
	    head_field(h, "Authorization", &c->authorization) == -1) {
		c->http_status = 400;
		return -1;
	}
	if (h->has_length && h->content_length > MTLS_EST_MAX_BODY) {
		c->too_large = 1;
		return -1;
	}
	return 0;
}

static int
estc_body(struct estc *c, const char *data, size_t n)
{
	char *b;

	if (c->body_len + n > MTLS_EST_MAX_BODY) {
		c->too_large = 1;
		return -1;
	}
	if ((b = realloc(c->body, c->body_len + n + 1)) == NULL) {
		c->http_status = 500;
		return -1;
	}
	c->body = b;
	memcpy(c->body + c->body_len, data, n);
	c->body_len += n;
	return 0;
}

/* Feeds bytes to the parser: 1 when the request is complete or refused
 * (dispatch it), 0 to read on. */
static int
estc_feed(struct estc *c, const char *data, size_t len, int eof)
{
	struct http_ev ev;

	for (;;) {
		if (eof) {
			http_parse_eof(c->parser, &ev);
		} else {
			size_t used = http_parse(c->parser, data, len, &ev);
			data += used;
			len -= used;
		}
		switch (ev.type) {
		case HTTP_EV_MORE:
			return eof;
		case HTTP_EV_HEAD:
			if (estc_head(c) == -1)
				return 1;
			break;
		case HTTP_EV_BODY:
			if (estc_body(c, ev.data, ev.len) == -1)
				return 1;
			break;
		case HTTP_EV_END:
			/* One request per connection: what follows is not
			 * read. */
			c->complete = 1;
			return 1;
		case HTTP_EV_ERROR:
			c->http_status = ev.status != 0 ? ev.status : 400;
			snprintf(c->reason, sizeof(c->reason), "%s",
			    http_parser_error(c->parser));
			return 1;
		}
	}
}

/* ---- answers ------------------------------------------------------ */

/* Puts resp on the wire (head and body in one buffer) and goes on to
 * WRITE. */
static void
estc_answer(struct estc *c, const struct mtls_est_response *resp)
{
	char head[512];
	int n;

	c->status = resp->status;
	c->outcome = resp->outcome;
	snprintf(c->identity, sizeof(c->identity), "%s", resp->identity);
	snprintf(c->reason, sizeof(c->reason), "%s", resp->reason);
	snprintf(c->serial, sizeof(c->serial), "%s", resp->serial);
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n%s%s"
	    "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
	    resp->status, http_status_text(resp->status),
	    resp->content_type != NULL ? resp->content_type : "text/plain",
	    resp->body_len, resp->authenticate ?
	    "WWW-Authenticate: Basic realm=\"mtls EST\", charset=\"UTF-8\"\r\n"
	    : "", resp->retry_after > 0 ? "Retry-After: 60\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head) ||
	    (c->out = malloc((size_t)n + resp->body_len)) == NULL) {
		c->outcome = "error";
		snprintf(c->reason, sizeof(c->reason), "out of memory");
		estc_close(c);
		return;
	}
	memcpy(c->out, head, (size_t)n);
	if (resp->body_len > 0)
		memcpy(c->out + n, resp->body, resp->body_len);
	c->out_len = (size_t)n + resp->body_len;
	c->out_off = 0;
	/* Logged as decided, before the client can read the answer. */
	estc_log(c);
	c->logged = 1;
	c->state = ESTC_WRITE;
	estc_step(c);
}

static void
estc_metrics(struct estc *c, struct mtls_est_response *resp)
{
	struct est_srv *s = c->s;
	char *page = malloc(EST_METRICS_MAX);
	size_t n;

	memset(resp, 0, sizeof(*resp));
	snprintf(resp->identity, sizeof(resp->identity), "-");
	resp->outcome = "served";
	if (page == NULL) {
		resp->status = 500;
		return;
	}
	n = mtls_est_metrics(s->opt->est, page, EST_METRICS_MAX, time(NULL));
	n += (size_t)snprintf(page + n, EST_METRICS_MAX - n,
	    "# HELP mtls_ca_requests_total HTTP requests answered.\n"
	    "# TYPE mtls_ca_requests_total counter\n"
	    "mtls_ca_requests_total %llu\n"
	    "# HELP mtls_ca_handshakes_failed_total TLS handshakes that "
	    "failed or were refused.\n"
	    "# TYPE mtls_ca_handshakes_failed_total counter\n"
	    "mtls_ca_handshakes_failed_total %llu\n", s->requests,
	    s->handshakes_failed);
	if (n >= EST_METRICS_MAX)
		n = EST_METRICS_MAX - 1;
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4";
	resp->body = page;
	resp->body_len = n;
}

/* The request is complete (or refused by the framing): decide, answer. */
static void
estc_dispatch(struct estc *c)
{
	struct mtls_est_response resp;
	struct mtls_est_request req = { 0 };
	const char *method = c->method;

	c->s->requests++;
	if (c->too_large) {
		mtls_est_refuse(c->s->opt->est, 413, &resp);
	} else if (!c->complete) {
		char why[256];

		snprintf(why, sizeof(why), "%s", c->reason);
		mtls_est_refuse(c->s->opt->est, c->http_status != 0 ?
		    c->http_status : 400, &resp);
		if (why[0] != '\0')
			snprintf(resp.reason, sizeof(resp.reason), "%s", why);
	} else {
		if (strcmp(method, "GET") == 0 &&
		    (strcmp(c->url, "/metrics") == 0 ||
		    strcmp(c->url, "/healthz") == 0)) {
			if (strcmp(c->url, "/metrics") == 0) {
				estc_metrics(c, &resp);
			} else {
				memset(&resp, 0, sizeof(resp));
				resp.status = 200;
				resp.outcome = "served";
				resp.content_type = "text/plain";
				resp.body = strdup("ok\n");
				resp.body_len = resp.body != NULL ? 3 : 0;
			}
		} else {
			req.method = method;
			req.path = c->url;
			req.content_type = c->content_type;
			req.authorization = c->authorization;
			req.body = c->body != NULL ? c->body : "";
			req.body_len = c->body_len;
			req.conn = c->tls;
			req.client = c->client;
			(void)mtls_est_handle(c->s->opt->est, &req, &resp);
		}
	}
	estc_answer(c, &resp);
	mtls_est_response_clear(&resp);
}

/* ---- the state machine -------------------------------------------- */

static void
estc_drain(struct estc *c)
{
	char drop[4096];
	ssize_t n;

	c->state = ESTC_DRAIN;
	(void)shutdown(c->fd, SHUT_WR);
	do {
		n = recv(c->fd, drop, sizeof(drop), 0);
	} while (n > 0);
	if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		estc_close(c);
		return;
	}
	estc_watch(c, EV_READ);
	ev_timer_stop(c->s->loop, &c->timer);
	ev_timer_set(&c->timer, ESTC_DRAIN_TIME, 0);
	ev_timer_start(c->s->loop, &c->timer);
}

static void
estc_handshake(struct estc *c)
{
	int r = mtls_handshake(c->tls);

	if (r == MTLS_WANT_POLLIN || r == MTLS_WANT_POLLOUT) {
		estc_watch(c, r == MTLS_WANT_POLLIN ? EV_READ : EV_WRITE);
		return;
	}
	if (r != 0) {
		const char *why = mtls_conn_reject_reason(c->tls);
		c->s->handshakes_failed++;
		c->outcome = why != NULL ? "rejected" : "handshake_failed";
		snprintf(c->reason, sizeof(c->reason), "%s", why != NULL ?
		    why : mtls_error(c->tls));
		if (mtls_peer_cert_provided(c->tls))
			snprintf(c->identity, sizeof(c->identity), "%s",
			    mtls_peer_cert_subject(c->tls));
		estc_close(c);
		return;
	}
	c->state = ESTC_READ;
	if ((c->parser = http_parser_new(HTTP_KIND_REQUEST, NULL)) == NULL) {
		c->outcome = "error";
		snprintf(c->reason, sizeof(c->reason), "out of memory");
		estc_close(c);
		return;
	}
	estc_step(c);
}

static void
estc_read(struct estc *c)
{
	char buf[ESTC_READ_BUF];

	for (;;) {
		ssize_t n = mtls_read(c->tls, buf, sizeof(buf));

		if (n == MTLS_WANT_POLLIN || n == MTLS_WANT_POLLOUT) {
			estc_watch(c, n == MTLS_WANT_POLLIN ? EV_READ :
			    EV_WRITE);
			return;
		}
		if (n < 0) {
			c->outcome = "client_error";
			snprintf(c->reason, sizeof(c->reason), "%s",
			    mtls_error(c->tls));
			estc_close(c);
			return;
		}
		if (n == 0 && !http_parser_busy(c->parser)) {
			c->outcome = "closed";
			snprintf(c->reason, sizeof(c->reason), "the client "
			    "closed without a request");
			estc_close(c);
			return;
		}
		if (estc_feed(c, buf, (size_t)n, n == 0)) {
			estc_dispatch(c);
			return;
		}
		if (n == 0) {
			c->outcome = "closed";
			snprintf(c->reason, sizeof(c->reason), "the client "
			    "closed before a whole request");
			estc_close(c);
			return;
		}
	}
}

static void
estc_write(struct estc *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = mtls_write(c->tls, c->out + c->out_off,
		    c->out_len - c->out_off);
		if (n == MTLS_WANT_POLLIN || n == MTLS_WANT_POLLOUT) {
			estc_watch(c, n == MTLS_WANT_POLLIN ? EV_READ :
			    EV_WRITE);
			return;
		}
		if (n <= 0) {
			snprintf(c->reason, sizeof(c->reason), "writing the "
			    "answer: %s", mtls_error(c->tls));
			estc_close(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	if (!c->closed) {
		int r = mtls_close(c->tls);
		if (r == MTLS_WANT_POLLIN || r == MTLS_WANT_POLLOUT) {
			estc_watch(c, r == MTLS_WANT_POLLIN ? EV_READ :
			    EV_WRITE);
			return;
		}
		c->closed = 1;
	}
	estc_drain(c);
}

static void
estc_step(struct estc *c)
{
	switch (c->state) {
	case ESTC_HANDSHAKE:
		estc_handshake(c);
		break;
	case ESTC_READ:
		estc_read(c);
		break;
	case ESTC_WRITE:
		estc_write(c);
		break;
	case ESTC_DRAIN:
		estc_drain(c);
		break;
	}
}

static void
estc_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	(void)revents;
	estc_step(io->data);
}

static void
estc_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	struct estc *c = t->data;

	if (c->state != ESTC_DRAIN) {
		c->outcome = c->state == ESTC_HANDSHAKE ?
		    "handshake_timeout" : "timeout";
		snprintf(c->reason, sizeof(c->reason), "no complete %s in "
		    "time", c->state == ESTC_HANDSHAKE ? "handshake" :
		    "request");
	}
	estc_close(c);
}

static void
est_accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)revents;
	struct est_srv *s = io->data;

	for (;;) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(io->fd, (struct sockaddr *)&peer, &plen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct estc *c;

		if (fd == -1)
			return; /* EAGAIN, or a transient error */
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->s = s;
		c->fd = fd;
		c->start = ev_time();
		addr_format((struct sockaddr *)&peer, plen, c->client,
		    sizeof(c->client));
		c->next = s->conns;
		if (s->conns != NULL)
			s->conns->prev = c;
		s->conns = c;
		ev_io_init(&c->io, estc_io_cb, fd, EV_READ);
		c->io.data = c;
		ev_timer_init(&c->timer, estc_timer_cb,
		    s->opt->handshake_timeout + s->opt->request_timeout, 0);
		c->timer.data = c;
		ev_timer_start(loop, &c->timer);
		if (mtls_accept_socket(s->server, &c->tls, fd) == -1) {
			c->outcome = "error";
			snprintf(c->reason, sizeof(c->reason), "%s",
			    mtls_error(s->server));
			estc_close(c);
			continue;
		}
		c->state = ESTC_HANDSHAKE;
		estc_step(c);
	}
}

/* ---- the loop ----------------------------------------------------- */

static void
est_crl_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	struct est_srv *s = t->data;
	struct mtls_error e = { 0 };
	time_t now = time(NULL), next = 0;
	int r = mtls_est_crl_refresh(s->opt->est, now, &next, &e);

	if (r == 1) {
		char when[32];
		struct tm tm;

		gmtime_r(&next, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		log_msg(s->opt->log_format, "info", "CRL remade, valid until "
		    "%s", when);
		s->crl_warned = 0;
	} else if (r == -1) {
		log_msg(s->opt->log_format, next != 0 && next - now < 3600 ?
		    "warning" : "error", "cannot remake the CRL: %s%s", e.msg,
		    next != 0 && next <= now ? " (the CRL served has "
		    "expired: relying parties that check it refuse every "
		    "client)" : "");
	}
	s->crl_next = next;
}

static void
est_stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

int
est_serve(const struct est_server_options *opt_in, struct mtls_config *cfg,
    enum proxy_part *part, char *err, size_t errlen)
{
	struct est_server_options opt = *opt_in;
	struct proxy_addr a[ADDR_MAX];
	struct est_srv s;
	char why[512];
	int n, ret = -1;

	*part = PROXY_PART_NONE;
	memset(&s, 0, sizeof(s));
	if (opt.handshake_timeout <= 0)
		opt.handshake_timeout = PROXY_HANDSHAKE_TIMEOUT;
	if (opt.request_timeout <= 0)
		opt.request_timeout = 30;
	if (opt.crl_check <= 0)
		opt.crl_check = 5;
	s.opt = &opt;
	signal(SIGPIPE, SIG_IGN);
	if ((s.server = mtls_server()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (mtls_configure(s.server, cfg) == -1) {
		snprintf(err, errlen, "%s", mtls_error(s.server));
		goto out;
	}
	n = addr_parse(opt.listen, ADDR_LISTEN, a, ADDR_MAX, why, sizeof(why));
	if (n < 0) {
		*part = PROXY_PART_LISTEN;
		snprintf(err, errlen, "%s", why);
		goto out;
	}
	if ((s.loop = ev_default_loop(EVFLAG_AUTO)) == NULL) {
		snprintf(err, errlen, "cannot create the event loop");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		int fd = listener_open(&a[i], LISTEN_ALONE, why,
		    sizeof(why));
		if (fd == -1) {
			*part = PROXY_PART_LISTEN;
			snprintf(err, errlen, "%s", why);
			goto out;
		}
		s.fd[s.nlisten] = fd;
		ev_io_init(&s.lio[s.nlisten], est_accept_cb, fd, EV_READ);
		s.lio[s.nlisten].data = &s;
		ev_io_start(s.loop, &s.lio[s.nlisten]);
		s.nlisten++;
	}
	ev_signal_init(&s.term, est_stop_cb, SIGTERM);
	ev_signal_start(s.loop, &s.term);
	ev_signal_init(&s.intr, est_stop_cb, SIGINT);
	ev_signal_start(s.loop, &s.intr);
	/* The CRL now (so that /crl answers from the start), then on a
	 * timer. */
	ev_timer_init(&s.crl, est_crl_cb, opt.crl_check, opt.crl_check);
	s.crl.data = &s;
	est_crl_cb(s.loop, &s.crl, 0);
	ev_timer_start(s.loop, &s.crl);
	log_msg(opt.log_format, "info", "EST server listening on %s",
	    opt.listen);
	ev_run(s.loop, 0);
	log_msg(opt.log_format, "info", "stopped");
	ret = 0;
out:
	while (s.conns != NULL) {
		s.conns->outcome = "shutdown";
		estc_close(s.conns);
	}
	if (s.loop != NULL) {
		for (size_t i = 0; i < s.nlisten; i++)
			ev_io_stop(s.loop, &s.lio[i]);
		ev_signal_stop(s.loop, &s.term);
		ev_signal_stop(s.loop, &s.intr);
		ev_timer_stop(s.loop, &s.crl);
		ev_loop_destroy(s.loop);
	}
	for (size_t i = 0; i < s.nlisten; i++)
		close(s.fd[i]);
	mtls_free(s.server);
	mtls_config_free(cfg);
	return ret;
}
