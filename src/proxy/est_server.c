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
 *   READ       the request, parsed by llhttp (strict); a body beyond
 *              MTLS_EST_MAX_BODY is answered 413 as soon as it is seen.
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

#include <llhttp.h>

#include "proxy_int.h"

#define ESTC_READ_BUF 16384
#define ESTC_URL_MAX 1024
#define ESTC_HDR_MAX 1024
#define ESTC_DRAIN_TIME 2.0
#define EST_METRICS_MAX 16384

enum estc_state {
	ESTC_HANDSHAKE,
	ESTC_READ,
	ESTC_WRITE,
	ESTC_DRAIN,
};

/* The header whose value is being read. */
enum estc_hdr {
	H_NONE,
	H_CONTENT_TYPE,
	H_AUTHORIZATION,
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
	llhttp_t parser;
	char url[ESTC_URL_MAX];
	size_t url_len;
	char field[64];
	size_t field_len;
	enum estc_hdr hdr;
	char content_type[256];
	size_t ct_len;
	char authorization[ESTC_HDR_MAX];
	size_t auth_len;
	unsigned header_overflow : 1;
	unsigned too_large : 1;
	unsigned complete : 1;
	unsigned closed : 1;         /* close_notify sent */
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

static llhttp_settings_t estc_settings;

static void estc_close(struct estc *c);
static void estc_step(struct estc *c);

static void
estc_log(struct estc *c)
{
	struct est_record r = { 0 };
	char line[4096];
	size_t n;
	const char *method = "-";

	if (c->state >= ESTC_READ && c->url_len > 0)
		method = llhttp_method_name((llhttp_method_t)
		    llhttp_get_method(&c->parser));
	r.time = ev_time();
	r.duration = r.time - c->start;
	r.client = c->client;
	r.method = method;
	r.path = c->url_len > 0 ? c->url : "-";
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

	estc_log(c);
	ev_io_stop(s->loop, &c->io);
	ev_timer_stop(s->loop, &c->timer);
	mtls_free(c->tls);
	close(c->fd);
	free(c->body);
	free(c->out);
	mtls_cleanse(c->authorization, sizeof(c->authorization));
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

/* ---- llhttp callbacks: bounded copies of what the request says ---- */

static int
append(char *dst, size_t *len, size_t cap, const char *at, size_t n)
{
	if (*len + n >= cap)
		return -1;
	memcpy(dst + *len, at, n);
	*len += n;
	dst[*len] = '\0';
	return 0;
}

static int
on_url(llhttp_t *p, const char *at, size_t n)
{
	struct estc *c = p->data;

	if (append(c->url, &c->url_len, sizeof(c->url), at, n) == -1) {
		c->header_overflow = 1;
		return -1;
	}
	return 0;
}

static int
on_header_field(llhttp_t *p, const char *at, size_t n)
{
	struct estc *c = p->data;

	/* Names we do not keep may be long; only ours need to fit. */
	if (c->field_len + n >= sizeof(c->field))
		c->field_len = sizeof(c->field) - 1;
	else
		(void)append(c->field, &c->field_len, sizeof(c->field), at, n);
	return 0;
}

static int
on_header_field_complete(llhttp_t *p)
{
	struct estc *c = p->data;

	c->field[c->field_len] = '\0';
	if (strcasecmp(c->field, "content-type") == 0)
		c->hdr = H_CONTENT_TYPE;
	else if (strcasecmp(c->field, "authorization") == 0)
		c->hdr = H_AUTHORIZATION;
	else
		c->hdr = H_NONE;
	c->field_len = 0;
	/* A repeated header: the first wins, the second is an error. */
	if ((c->hdr == H_CONTENT_TYPE && c->ct_len > 0) ||
	    (c->hdr == H_AUTHORIZATION && c->auth_len > 0)) {
		c->header_overflow = 1;
		return -1;
	}
	return 0;
}

static int
on_header_value(llhttp_t *p, const char *at, size_t n)
{
	struct estc *c = p->data;
	int r = 0;

	if (c->hdr == H_CONTENT_TYPE)
		r = append(c->content_type, &c->ct_len,
		    sizeof(c->content_type), at, n);
	else if (c->hdr == H_AUTHORIZATION)
		r = append(c->authorization, &c->auth_len,
		    sizeof(c->authorization), at, n);
	if (r == -1)
		c->header_overflow = 1;
	return r;
}

static int
on_headers_complete(llhttp_t *p)
{
	struct estc *c = p->data;

	/* A declared length past the limit is refused before the body. */
	if ((p->flags & F_CONTENT_LENGTH) &&
	    p->content_length > MTLS_EST_MAX_BODY) {
		c->too_large = 1;
		return -1;
	}
	return 0;
}

static int
on_body(llhttp_t *p, const char *at, size_t n)
{
	struct estc *c = p->data;
	char *b;

	if (c->body_len + n > MTLS_EST_MAX_BODY) {
		c->too_large = 1;
		return -1;
	}
	if ((b = realloc(c->body, c->body_len + n + 1)) == NULL)
		return -1;
	c->body = b;
	memcpy(c->body + c->body_len, at, n);
	c->body_len += n;
	return 0;
}

static int
on_message_complete(llhttp_t *p)
{
	struct estc *c = p->data;

	c->complete = 1;
	/* One request per connection: anything after it is not read. */
	return HPE_PAUSED;
}

/* ---- answers ------------------------------------------------------ */

static const char *
status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

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
	    resp->status, status_text(resp->status),
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
	const char *method;

	c->s->requests++;
	if (c->too_large) {
		mtls_est_refuse(c->s->opt->est, 413, &resp);
	} else if (!c->complete) {
		mtls_est_refuse(c->s->opt->est, 400, &resp);
	} else {
		method = llhttp_method_name((llhttp_method_t)
		    llhttp_get_method(&c->parser));
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
			req.content_type = c->ct_len > 0 ? c->content_type :
			    NULL;
			req.authorization = c->auth_len > 0 ?
			    c->authorization : NULL;
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
	llhttp_init(&c->parser, HTTP_REQUEST, &estc_settings);
	c->parser.data = c;
	estc_step(c);
}

static void
estc_read(struct estc *c)
{
	char buf[ESTC_READ_BUF];

	for (;;) {
		ssize_t n = mtls_read(c->tls, buf, sizeof(buf));
		llhttp_errno_t e;

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
		e = n == 0 ? llhttp_finish(&c->parser) :
		    llhttp_execute(&c->parser, buf, (size_t)n);
		if (c->complete || c->too_large || (e != HPE_OK &&
		    e != HPE_PAUSED)) {
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
	estc_step(io->data);
}

static void
estc_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
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
	ev_break(loop, EVBREAK_ALL);
}

static void
est_settings_init(void)
{
	llhttp_settings_init(&estc_settings);
	estc_settings.on_url = on_url;
	estc_settings.on_header_field = on_header_field;
	estc_settings.on_header_field_complete = on_header_field_complete;
	estc_settings.on_header_value = on_header_value;
	estc_settings.on_headers_complete = on_headers_complete;
	estc_settings.on_body = on_body;
	estc_settings.on_message_complete = on_message_complete;
}

int
est_serve(const struct est_server_options *opt_in, struct mtls_config *cfg,
    char *err, size_t errlen)
{
	struct est_server_options opt = *opt_in;
	struct proxy_addr a[ADDR_MAX];
	struct est_srv s;
	char why[512];
	int n, ret = -1;

	memset(&s, 0, sizeof(s));
	if (opt.handshake_timeout <= 0)
		opt.handshake_timeout = PROXY_HANDSHAKE_TIMEOUT;
	if (opt.request_timeout <= 0)
		opt.request_timeout = 30;
	if (opt.crl_check <= 0)
		opt.crl_check = 5;
	s.opt = &opt;
	est_settings_init();
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
		snprintf(err, errlen, "--listen %s", why);
		goto out;
	}
	if ((s.loop = ev_default_loop(EVFLAG_AUTO)) == NULL) {
		snprintf(err, errlen, "cannot create the event loop");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		int fd = listener_open(&a[i], why, sizeof(why));
		if (fd == -1) {
			snprintf(err, errlen, "--listen %s", why);
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
