/*
 * http_conn.c - serve's HTTP mode: a verified client's connection carrying
 * HTTP/1.1, each request parsed (src/lib/http, llhttp strict), checked,
 * rewritten with the client's identity, and forwarded to the backend over
 * one keep-alive connection of its own.
 *
 *   HEAD  --request head-->  BODY  --body framed by us-->  WAIT
 *    ^                                                      |
 *    +------ the answer is complete, both sides keep-alive --+
 *
 *   any state  --refusal (400 414 431 421 405 417 501 505 502 504)-->
 *              the answer, Connection: close, close_notify, conn's LINGER
 *   WAIT + the backend's 101 to an Upgrade  -->  conn's RELAY (raw)
 *
 * One request at a time: pipelined requests wait, unread, until the answer
 * to the one before is complete, so answers go back in order and a refusal
 * can never land in the middle of another answer.  The backend receives
 * only what the proxy wrote: the head from http_forward_head() and the
 * body as parsed (Content-Length bytes counted, chunked re-framed chunk by
 * chunk, extensions and trailers dropped), so bytes the parser did not
 * take as this request's can never reach the backend as another.  Answers
 * are passed through byte for byte, parsed only to find where each ends.
 * A request that finds its reused backend connection closed before any
 * answer is sent once more on a new one when that is safe
 * (http_retry_safe()).
 *
 * The connection's raw bytes wait in conn's relay buffers (t2p: from the
 * client, not parsed yet; p2t: from the backend, not parsed yet), so that
 * after a 101 the raw relay starts with whatever is left.  Output waits in
 * two growable buffers; reading stops while either is full
 * (backpressure).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "http.h"

/* Output held before reading stops. */
#define HTTP_HIGH_WATER (64 * 1024)

enum http_state {
	H_HEAD,                      /* waiting for a request head */
	H_BODY,                      /* forwarding its body */
	H_WAIT,                      /* the request is out: the answer */
	H_CLOSING,                   /* the last answer goes out, then close */
};

struct http_conn {
	enum http_state state;
	struct http_parser *req, *resp;
	struct http_buf to_b, to_c;  /* for the backend, for the client */
	struct http_buf add;         /* identity and X-Forwarded-*, made once */
	struct http_buf again;       /* the request as sent, for one retry */
	int add_done;
	unsigned identity;           /* HTTP_ID_* */
	unsigned connecting : 1;     /* the backend's connect is under way */
	unsigned c_eof : 1;          /* the client's stream ended */
	unsigned req_done : 1;       /* this exchange's request is out */
	unsigned resp_done : 1;      /* ... and its answer */
	unsigned resp_started : 1;   /* answer bytes went to the client */
	unsigned keep : 1;           /* both sides allow another request */
	unsigned upgrade : 1;        /* the request asked for an upgrade */
	unsigned switching : 1;      /* the backend said 101 */
	unsigned chunked : 1;        /* the request body is re-framed */
	unsigned refused : 1;        /* H_CLOSING after our own answer */
	unsigned reused : 1;         /* the backend connection has carried
	                              * an exchange before this one */
	unsigned retry_ok : 1;       /* this request may be sent again */
	unsigned retried : 1;        /* ... and was */
	ev_tstamp t_req, t_connect;  /* request head in; connect started */
	double upstream;             /* seconds to the answer's head, or -1 */
	char client[ADDR_STRLEN];    /* the client's address, for the log */
	char method[24];
	char path[512];
	int status;
	uint64_t req_bytes, resp_bytes;
	char why[200];
};

static void http_pump(struct conn *c);
static void http_arm_timer(struct conn *c);

static struct http_limits
http_limits_of(const struct proxy_options *o)
{
	struct http_limits l = { HTTP_MAX_LINE, HTTP_MAX_HEAD,
	    HTTP_MAX_FIELDS };

	if (o->http_max_line)
		l.max_line = o->http_max_line;
	if (o->http_max_head)
		l.max_head = o->http_max_head;
	if (o->http_max_fields)
		l.max_fields = o->http_max_fields;
	return l;
}

int
proxy_check_http_identity(const char *list, char *err, size_t errlen)
{
	unsigned f;

	return http_identity_parse(list, &f, err, errlen);
}

void
http_conn_start(struct conn *c)
{
	struct proxy_service *px = c->gen->svc;
	struct http_limits lim = http_limits_of(&px->opt);
	struct http_conn *h = calloc(1, sizeof(*h));
	char err[128];

	if (h == NULL || (h->req = http_parser_new(HTTP_KIND_REQUEST,
	    &lim)) == NULL || (h->resp = http_parser_new(HTTP_KIND_RESPONSE,
	    NULL)) == NULL) {
		c->http = h;
		conn_fail(c, "error", "out of memory");
		return;
	}
	c->http = h;
	/* Answers go to the client as they came: their fields are only
	 * checked. */
	http_parser_skip_fields(h->resp);
	/* Without spares (out of memory) the parser just allocates. */
	if (c->w->http_spares == NULL)
		c->w->http_spares = http_spares_new();
	http_parser_use_spares(h->req, c->w->http_spares);
	h->identity = HTTP_ID_DEFAULT;
	if (px->opt.http_identity != NULL &&
	    http_identity_parse(px->opt.http_identity, &h->identity, err,
	    sizeof(err)) == -1)
		h->identity = HTTP_ID_DEFAULT; /* checked at start already */
	h->upstream = -1;
	c->state = CONN_HTTP;
	c->last = ev_now(c->w->loop);
	c->tls_rd = c->tls_wr = c->p_rd = c->p_wr = 0;
	ev_timer_stop(c->w->loop, &c->timer);
	ev_timer_set(&c->timer, px->opt.idle_timeout, 0);
	ev_timer_start(c->w->loop, &c->timer);
	http_pump(c);
}

void
http_conn_free(struct conn *c)
{
	struct http_conn *h = c->http;

	if (h == NULL)
		return;
	http_parser_free(h->req);
	http_parser_free(h->resp);
	http_buf_free(&h->to_b);
	http_buf_free(&h->to_c);
	http_buf_free(&h->add);
	http_buf_free(&h->again);
	free(h);
	c->http = NULL;
}

void
http_worker_clear(struct worker *w)
{
	http_spares_free(w->http_spares);
	w->http_spares = NULL;
}

/* The client's address without its port, for X-Forwarded-For. */
static void
http_client_ip(const struct conn *c, char *buf, size_t cap, int *v6)
{
	const struct sockaddr *sa = (const struct sockaddr *)&c->peer;

	*v6 = 0;
	snprintf(buf, cap, "unknown");
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)
		    sa)->sin_addr, buf, (socklen_t)cap);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &c->peer.sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			inet_ntop(AF_INET, &a->s6_addr[12], buf,
			    (socklen_t)cap);
		} else {
			inet_ntop(AF_INET6, a, buf, (socklen_t)cap);
			*v6 = 1;
		}
	}
}

/* What the proxy adds to every request of the connection: the same each
 * time (no renegotiation), so it is made once. */
static int
http_make_add(struct conn *c)
{
	struct http_conn *h = c->http;
	char ip[INET6_ADDRSTRLEN + 8];
	int v6;

	if (h->add_done)
		return h->add.failed ? -1 : 0;
	h->add_done = 1;
	if (http_identity_headers(c->tls, h->identity, c->gen->by_uri,
	    &h->add) == -1)
		return -1;
	http_client_ip(c, ip, sizeof(ip), &v6);
	http_buf_printf(&h->add, "X-Forwarded-For: %s\r\n"
	    "X-Forwarded-Proto: https\r\n", ip);
	/* RFC 7239 6: an IPv6 node is a quoted, bracketed string. */
	if (v6)
		http_buf_printf(&h->add, "Forwarded: for=\"[%s]\";proto=https"
		    "\r\n", ip);
	else
		http_buf_printf(&h->add, "Forwarded: for=%s;proto=https\r\n",
		    ip);
	return h->add.failed ? -1 : 0;
}

static void
http_log_request(struct conn *c, const char *reason)
{
	struct http_conn *h = c->http;
	struct request_record r = { 0 };
	char line[2048];
	size_t n;
	int k = h->status / 100 - 1;

	/* Formatted once per connection. */
	if (h->client[0] == '\0')
		addr_format((struct sockaddr *)&c->peer, c->peerlen,
		    h->client, sizeof(h->client));
	r.time = ev_time();
	r.client = h->client;
	r.method = h->method[0] ? h->method : "-";
	r.path = h->path[0] ? h->path : "-";
	r.status = h->status;
	r.bytes_in = h->req_bytes;
	r.bytes_out = h->resp_bytes;
	r.subject = mtls_peer_cert_provided(c->tls) ?
	    mtls_peer_cert_subject(c->tls) : NULL;
	r.upstream = h->upstream;
	r.reason = reason;
	n = log_format_request(line, sizeof(line), c->gen->svc->opt.log_format,
	    &r);
	log_write(line, n);
	if (k >= 0 && k < 5)
		STAT_ADD(CONN_STATS(c)->http_requests[k], 1);
}

/* Our own answer to the current request, then the end of the connection
 * (RFC 9112 9.6: after an error the framing cannot be trusted).  When
 * part of the backend's answer already went out, nothing can be said: the
 * connection just ends. */
static int
http_refuse(struct conn *c, int status, const char *why)
{
	struct http_conn *h = c->http;

	if (h->resp_started)
		return conn_fail(c, "backend_error", "%s (in the middle of "
		    "an answer)", why);
	h->to_c.off = h->to_c.len = 0;
	http_refusal(&h->to_c, status);
	h->status = status;
	h->resp_bytes = http_buf_pending(&h->to_c);
	http_log_request(c, why);
	conn_outcome(c, status == 502 || status == 504 ? "backend_error" :
	    "http_refused", "%d %s", status, why);
	if (status == 502 || status == 504)
		STAT_ADD(CONN_STATS(c)->backend_errors, 1);
	h->state = H_CLOSING;
	h->refused = 1;
	h->keep = 0;
	if (c->pfd != -1) {
		ev_io_stop(c->w->loop, &c->pio);
		close(c->pfd);
		c->pfd = -1;
		c->p_rd = c->p_wr = 0;
		h->connecting = 0;
	}
	return 0;
}

static void
http_backend_close(struct conn *c)
{
	if (c->pfd == -1)
		return;
	ev_io_stop(c->w->loop, &c->pio);
	close(c->pfd);
	c->pfd = -1;
	c->p_rd = c->p_wr = 0;
	c->http->connecting = 0;
	relay_buf_put(&c->w->pool, c->p2t);
	c->p2t = NULL;
	c->http->reused = 0;
	http_parser_free(c->http->resp);
	c->http->resp = http_parser_new(HTTP_KIND_RESPONSE, NULL);
	if (c->http->resp != NULL)
		http_parser_skip_fields(c->http->resp);
}

static int
http_backend_connect(struct conn *c)
{
	struct http_conn *h = c->http;
	struct proxy_service *px = c->gen->svc;
	int done, fd;

	fd = backend_connect(&px->target[0], &done);
	if (fd == -1) {
		char name[ADDR_STRLEN], why[ADDR_STRLEN + 96];
		addr_format(&px->target[0].u.sa, px->target[0].len, name,
		    sizeof(name));
		snprintf(why, sizeof(why), "backend %s: %s", name,
		    strerror(errno));
		return http_refuse(c, 502, why) == -1 ? -1 : 1;
	}
	c->pfd = fd;
	h->reused = 0;
	ev_io_stop(c->w->loop, &c->pio);
	ev_io_set(&c->pio, fd, EV_WRITE);
	h->connecting = !done;
	h->t_connect = ev_now(c->w->loop);
	c->p_wr = done ? 0 : EV_WRITE;
	c->p_rd = 0;
	return 0;
}

/* A request that may be sent again on a fresh connection when a reused
 * one turns out to be closed before any answer came (the backend closed
 * it while idle, and the close crossed our request): idempotent (RFC 9110
 * 9.2.2: a proxy must not retry other methods by itself) and without a
 * body, so that the whole request is the head we keep. */
static int
http_retry_safe(const struct http_head *hd)
{
	switch (hd->method) {
	case HTTP_GET:
	case HTTP_HEAD:
	case HTTP_OPTIONS:
	case HTTP_TRACE:
	case HTTP_PUT:
	case HTTP_DELETE:
		break;
	default:
		return 0;
	}
	return !hd->chunked && hd->content_length == 0;
}

/* The reused backend connection failed before any byte of the answer:
 * send the request once more, on a new connection.  1 when it was sent
 * again (or refused: the connection is then closing), 0 when no retry
 * applies, -1 when the connection was closed. */
static int
http_retry(struct conn *c)
{
	struct http_conn *h = c->http;
	int r;

	if (!h->retry_ok || h->retried || h->resp_started ||
	    (h->state != H_BODY && h->state != H_WAIT))
		return 0;
	h->retried = 1;
	http_backend_close(c);
	if (h->resp == NULL)
		return conn_fail(c, "error", "out of memory");
	if (strcmp(h->method, "HEAD") == 0)
		http_parser_no_body(h->resp);
	http_buf_reset(&h->to_b);
	http_buf_add(&h->to_b, h->again.data + h->again.off,
	    http_buf_pending(&h->again));
	if (h->to_b.failed)
		return conn_fail(c, "error", "out of memory");
	STAT_ADD(CONN_STATS(c)->http_retries, 1);
	if ((r = http_backend_connect(c)) != 0)
		return h->state == H_CLOSING ? 1 : -1;
	http_arm_timer(c);
	return 1;
}

/* A request head is in: check it, write what goes to the backend.  -1:
 * the connection was closed. */
static int
http_on_head(struct conn *c)
{
	struct http_conn *h = c->http;
	struct proxy_service *px = c->gen->svc;
	const struct http_head *hd = http_parser_head(h->req);
	const struct http_field *ex;
	struct http_forward fw = { px->opt.strip_prefix,
	    px->opt.nstrip_prefix, mtls_conn_servername(c->tls) };
	char why[200];
	size_t n;
	int status;

	n = strlen(hd->method_name);
	n = n < sizeof(h->method) - 1 ? n : sizeof(h->method) - 1;
	memcpy(h->method, hd->method_name, n);
	h->method[n] = '\0';
	n = hd->target_len < sizeof(h->path) - 1 ? hd->target_len :
	    sizeof(h->path) - 1;
	memcpy(h->path, hd->target, n);
	h->path[n] = '\0';
	h->t_req = ev_now(c->w->loop);
	h->req_bytes = h->resp_bytes = 0;
	h->upstream = -1;
	h->status = 0;
	h->req_done = h->resp_done = h->resp_started = 0;
	h->switching = 0;
	if (hd->method == HTTP_CONNECT)
		return http_refuse(c, 405, "CONNECT is not proxied");
	if (http_make_add(c) == -1)
		return http_refuse(c, 500, "out of memory");
	status = http_forward_head(hd, &fw, h->add.data + h->add.off,
	    http_buf_pending(&h->add), &h->to_b, why, sizeof(why));
	if (status != 0)
		return http_refuse(c, status, why);
	h->keep = hd->keep_alive;
	h->upgrade = hd->upgrade;
	h->chunked = hd->chunked;
	h->retried = 0;
	h->retry_ok = 0;
	http_buf_reset(&h->again);
	if (c->pfd != -1 && h->reused && http_retry_safe(hd)) {
		/* Kept whole (the head is all there is) in case the reused
		 * connection turns out to be closed. */
		http_buf_add(&h->again, h->to_b.data + h->to_b.off,
		    http_buf_pending(&h->to_b));
		h->retry_ok = !h->again.failed;
	}
	if (hd->method == HTTP_HEAD)
		http_parser_no_body(h->resp);
	/* RFC 9110 10.1.1: the proxy answers 100 itself (the backend is
	 * not asked) once it is ready for the body; only HTTP/1.1 clients
	 * may get it. */
	ex = http_head_find(hd, "expect", NULL);
	if (ex != NULL && hd->minor == 1 && (hd->chunked ||
	    hd->content_length > 0))
		http_buf_adds(&h->to_c, "HTTP/1.1 100 Continue\r\n\r\n");
	h->state = H_BODY;
	if (c->pfd == -1 && http_backend_connect(c) != 0)
		return c->http->state == H_CLOSING ? 0 : -1;
	http_arm_timer(c);
	return 0;
}

/* One step of the request parser over the client's bytes; 1 when it did
 * something, -1 when the connection was closed. */
static int
http_client_step(struct conn *c)
{
	struct http_conn *h = c->http;
	struct relay_buf *b = c->t2p;
	struct http_ev ev;
	size_t n;

	if (b == NULL || b->off == b->len) {
		/* A body that ended with the last bytes read still owes its
		 * end. */
		if (h->state != H_BODY)
			return 0;
		n = http_parse(h->req, "", 0, &ev);
		if (ev.type == HTTP_EV_MORE)
			return 0;
	} else {
		n = http_parse(h->req, (const char *)b->data + b->off,
		    b->len - b->off, &ev);
		b->off += n;
	}
	switch (ev.type) {
	case HTTP_EV_MORE:
		break;
	case HTTP_EV_HEAD:
		if (http_on_head(c) == -1)
			return -1;
		break;
	case HTTP_EV_BODY:
		h->req_bytes += ev.len;
		if (h->chunked) {
			http_buf_printf(&h->to_b, "%zx\r\n", ev.len);
			http_buf_add(&h->to_b, ev.data, ev.len);
			http_buf_adds(&h->to_b, "\r\n");
		} else {
			http_buf_add(&h->to_b, ev.data, ev.len);
		}
		break;
	case HTTP_EV_END:
		if (h->chunked)
			http_buf_adds(&h->to_b, "0\r\n\r\n");
		h->req_done = 1;
		h->state = H_WAIT;
		break;
	case HTTP_EV_ERROR:
		if (http_refuse(c, ev.status, http_parser_error(h->req)) == -1)
			return -1;
		break;
	}
	if (b != NULL && b->off == b->len) {
		relay_buf_put(&c->w->pool, b);
		c->t2p = NULL;
	}
	if (h->to_b.failed)
		return conn_fail(c, "error", "out of memory");
	return n > 0 || ev.type != HTTP_EV_MORE;
}

/* One step of the answer's parser over the backend's bytes: the bytes it
 * took go to the client as they are.  1 when it did something. */
static int
http_backend_step(struct conn *c)
{
	struct http_conn *h = c->http;
	struct relay_buf *b = c->p2t;
	const struct http_head *hd;
	struct http_ev ev;
	size_t n;

	if (h->switching)
		return 0;
	if (b == NULL || b->off == b->len) {
		if (!http_parser_busy(h->resp) || h->resp_done)
			return 0;
		n = http_parse(h->resp, "", 0, &ev);
		if (ev.type == HTTP_EV_MORE)
			return 0;
	} else {
		if (h->state != H_BODY && h->state != H_WAIT) {
			/* Bytes nobody asked for: the backend is not
			 * speaking HTTP to us.  Drop it; the next request
			 * connects again. */
			http_backend_close(c);
			return 1;
		}
		n = http_parse(h->resp, (const char *)b->data + b->off,
		    b->len - b->off, &ev);
		http_buf_add(&h->to_c, b->data + b->off, n);
		h->resp_bytes += n;
		if (n > 0)
			h->resp_started = 1;
		b->off += n;
	}
	switch (ev.type) {
	case HTTP_EV_MORE:
	case HTTP_EV_BODY:
		break;
	case HTTP_EV_HEAD:
		hd = http_parser_head(h->resp);
		h->resp_started = 1;
		if (h->upstream < 0)
			h->upstream = ev_now(c->w->loop) - h->t_req;
		h->status = hd->status;
		if (hd->status >= 200 && !hd->keep_alive)
			h->keep = 0;
		break;
	case HTTP_EV_END:
		hd = http_parser_head(h->resp);
		if (hd->status == 101) {
			if (!h->upgrade) {
				conn_fail(c, "backend_error", "the backend "
				    "switched protocols unasked");
				return -1;
			}
			h->switching = 1;
			h->resp_done = 1;
		} else if (hd->status >= 200) {
			h->resp_done = 1;
		}
		break;
	case HTTP_EV_ERROR:
		if (h->resp_started) {
			conn_fail(c, "backend_error", "the backend's answer: "
			    "%s", http_parser_error(h->resp));
			return -1;
		}
		snprintf(h->why, sizeof(h->why), "the backend's answer: %s",
		    http_parser_error(h->resp));
		return http_refuse(c, 502, h->why) == -1 ? -1 : 1;
	}
	if (b != NULL && b->off == b->len) {
		relay_buf_put(&c->w->pool, b);
		c->p2t = NULL;
	}
	return n > 0 || ev.type != HTTP_EV_MORE;
}

/* The backend closed its side. */
static int
http_backend_eof(struct conn *c)
{
	struct http_conn *h = c->http;
	struct http_ev ev;
	int r;

	if (h->state != H_BODY && h->state != H_WAIT) {
		/* A keep-alive connection the backend let go: the next
		 * request opens another. */
		http_backend_close(c);
		return 0;
	}
	http_parse_eof(h->resp, &ev);
	if (ev.type == HTTP_EV_END && h->resp_started) {
		h->resp_done = 1;
		h->keep = 0;
		http_backend_close(c);
		return 0;
	}
	if (h->resp_started) {
		conn_fail(c, "backend_error", "the backend closed in the "
		    "middle of an answer");
		return -1;
	}
	if ((r = http_retry(c)) != 0)
		return r == -1 ? -1 : 0;
	return http_refuse(c, 502, "the backend closed the connection "
	    "before answering");
}

/* After a 101: the raw relay, starting with what both sides have sent
 * beyond the handshake. */
static void
http_switch(struct conn *c)
{
	struct http_conn *h = c->http;

	http_log_request(c, NULL);
	http_conn_free(c);
	(void)h;
	conn_relay_start(c);
}

/* The exchange is complete. */
static void
http_exchange_done(struct conn *c)
{
	struct http_conn *h = c->http;

	http_log_request(c, NULL);
	h->req_done = h->resp_done = h->resp_started = 0;
	h->method[0] = h->path[0] = '\0';
	/* Bytes after the answer were asked for by nobody: they must not
	 * become the answer to the next request. */
	if (c->p2t != NULL)
		http_backend_close(c);
	if (c->pfd != -1)
		h->reused = 1;
	if (!h->keep) {
		h->state = H_CLOSING;
		return;
	}
	if (h->upgrade)
		http_parser_upgrade_refused(h->req);
	h->upgrade = 0;
	h->state = H_HEAD;
	http_parser_shrink(h->req);
}

/* Sends what waits for the client.  -1: the connection was closed. */
static int
http_flush_client(struct conn *c, int *progress)
{
	struct http_conn *h = c->http;

	while (http_buf_pending(&h->to_c) > 0 && !c->tls_wr) {
		ssize_t n = mtls_write(c->tls, h->to_c.data + h->to_c.off,
		    http_buf_pending(&h->to_c));
		if (n > 0) {
			conn_count(c, 0, (size_t)n);
			http_buf_consume(&h->to_c, (size_t)n);
			*progress = 1;
			continue;
		}
		if (n == MTLS_WANT_POLLIN)
			c->tls_wr = EV_READ;
		else if (n == MTLS_WANT_POLLOUT)
			c->tls_wr = EV_WRITE;
		else
			return conn_fail(c, "client_error", "%s",
			    mtls_error(c->tls));
	}
	return 0;
}

static int
http_flush_backend(struct conn *c, int *progress)
{
	struct http_conn *h = c->http;

	while (http_buf_pending(&h->to_b) > 0 && c->pfd != -1 &&
	    !h->connecting && !c->p_wr) {
		ssize_t n = send(c->pfd, h->to_b.data + h->to_b.off,
		    http_buf_pending(&h->to_b), MSG_NOSIGNAL);
		if (n > 0) {
			http_buf_consume(&h->to_b, (size_t)n);
			*progress = 1;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->p_wr = EV_WRITE;
			break;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (h->resp_started)
			return conn_fail(c, "backend_error", "backend write: "
			    "%s", strerror(errno));
		/* The backend may have answered and closed already (an
		 * early refusal): its answer, or its end, is read next, and
		 * what it would not take is dropped. */
		h->to_b.off = h->to_b.len = 0;
		*progress = 1;
	}
	return 0;
}

/* Reads from the client into t2p.  -1: closed. */
static int
http_read_client(struct conn *c, int *progress)
{
	struct http_conn *h = c->http;
	struct relay_buf *b;
	ssize_t n;

	if (c->tls_rd || h->c_eof || c->t2p != NULL)
		return 0;
	if ((b = relay_buf_get(&c->w->pool)) == NULL)
		return conn_fail(c, "error", "out of memory");
	n = mtls_read(c->tls, b->data, sizeof(b->data));
	if (n > 0) {
		b->len = (size_t)n;
		c->t2p = b;
		conn_count(c, 1, (size_t)n);
		conn_tls_active(c);
		*progress = 1;
		/* A short read emptied the socket (most likely) and the
		 * library holds nothing more: the loop says when more comes,
		 * instead of a read that says EAGAIN (as conn.c does). */
		if ((size_t)n < sizeof(b->data) && !mtls_pending(c->tls))
			c->tls_rd = EV_READ;
		return 0;
	}
	relay_buf_put(&c->w->pool, b);
	if (n == MTLS_WANT_POLLIN) {
		c->tls_rd = EV_READ;
		return 0;
	}
	if (n == MTLS_WANT_POLLOUT) {
		c->tls_rd = EV_WRITE;
		return 0;
	}
	if (n == 0 || c->t_closed) {
		h->c_eof = 1;
		*progress = 1;
		return 0;
	}
	return conn_fail(c, "client_error", "%s", mtls_error(c->tls));
}

static int
http_read_backend(struct conn *c, int *progress)
{
	struct relay_buf *b;
	ssize_t n;

	if (c->pfd == -1 || c->http->connecting || c->p_rd ||
	    c->p2t != NULL)
		return 0;
	if ((b = relay_buf_get(&c->w->pool)) == NULL)
		return conn_fail(c, "error", "out of memory");
	n = recv(c->pfd, b->data, sizeof(b->data), 0);
	if (n > 0) {
		b->len = (size_t)n;
		c->p2t = b;
		c->last = ev_now(c->w->loop);
		*progress = 1;
		/* The same for the backend: after a short read, wait for the
		 * loop. */
		if ((size_t)n < sizeof(b->data))
			c->p_rd = EV_READ;
		return 0;
	}
	relay_buf_put(&c->w->pool, b);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		c->p_rd = EV_READ;
		return 0;
	}
	if (n < 0 && errno == EINTR)
		return 0;
	*progress = 1;
	if (n < 0 && !c->http->resp_started && c->http->state != H_HEAD) {
		snprintf(c->http->why, sizeof(c->http->why), "backend read: "
		    "%s", strerror(errno));
		int r = http_retry(c);
		if (r != 0)
			return r == -1 ? -1 : 0;
		return http_refuse(c, 502, c->http->why);
	}
	return http_backend_eof(c);
}

/* The last answer is out: close_notify, then conn's linger so that a
 * client still sending does not turn the close into a reset. */
static void
http_finish(struct conn *c)
{
	struct http_conn *h = c->http;

	if (!h->refused && c->outcome == NULL)
		conn_outcome(c, "ok", NULL);
	(void)mtls_close(c->tls);
	c->t_closed = 1;
	if (h->refused || c->t2p != NULL || !h->c_eof) {
		http_backend_close(c);
		conn_linger(c);
		return;
	}
	conn_close(c);
}

/* Below the high-water marks: room to take more from either side. */
static int
http_room(const struct http_conn *h)
{
	return http_buf_pending(&h->to_b) < HTTP_HIGH_WATER &&
	    http_buf_pending(&h->to_c) < HTTP_HIGH_WATER;
}

/* Parses what the client sent as far as it goes: a head and the body
 * bytes after it end up in to_b together, and go out in one send.  1 when
 * something happened, -1 when the connection was closed. */
static int
http_client_steps(struct conn *c)
{
	struct http_conn *h = c->http;
	int r, any = 0;

	while ((h->state == H_HEAD || h->state == H_BODY) && http_room(h)) {
		if ((r = http_client_step(c)) == -1)
			return -1;
		if (r == 0)
			break;
		any = 1;
	}
	return any;
}

/* The same for the backend's answer, up to its end: a head and its body
 * go to the client in one TLS record (sent apart, the client's delayed
 * ACK and the sender's Nagle can hold the second for 40 ms). */
static int
http_backend_steps(struct conn *c)
{
	struct http_conn *h = c->http;
	int r, any = 0;

	while (h->state != H_CLOSING && c->pfd != -1 && !h->resp_done &&
	    http_buf_pending(&h->to_c) < HTTP_HIGH_WATER) {
		if ((r = http_backend_step(c)) == -1)
			return -1;
		if (r == 0)
			break;
		any = 1;
	}
	return any;
}

/* Reads, parses and writes until nothing moves.  Both sides are parsed
 * as far as their bytes go before anything is sent, so that what one
 * read brought leaves in one write. */
static void
http_pump(struct conn *c)
{
	struct http_conn *h = c->http;
	int progress, tev = 0, pev = 0, r;

	for (int rounds = 0; rounds < 64; rounds++) {
		progress = 0;
		if (h->state == H_CLOSING) {
			if (http_buf_pending(&h->to_c) == 0) {
				http_finish(c);
				return;
			}
		} else if (h->switching && h->req_done) {
			if (http_buf_pending(&h->to_c) == 0 &&
			    http_buf_pending(&h->to_b) == 0) {
				http_switch(c);
				return;
			}
		} else if (h->req_done && h->resp_done) {
			http_exchange_done(c);
			progress = 1;
		}
		if ((r = http_client_steps(c)) == -1)
			return;
		if (r)
			progress = 1;
		/* The client is read while its answer is awaited too (one
		 * buffer ahead, parsed after the answer): its watcher then
		 * stays as it is between requests. */
		if (h->state != H_CLOSING && c->t2p == NULL &&
		    http_buf_pending(&h->to_b) < HTTP_HIGH_WATER &&
		    http_read_client(c, &progress) == -1)
			return;
		if ((r = http_backend_steps(c)) == -1)
			return;
		if (r)
			progress = 1;
		if (h->state != H_CLOSING && c->pfd != -1 && c->p2t == NULL &&
		    http_buf_pending(&h->to_c) < HTTP_HIGH_WATER &&
		    http_read_backend(c, &progress) == -1)
			return;
		if (http_flush_backend(c, &progress) == -1 ||
		    http_flush_client(c, &progress) == -1)
			return;
		/* The client's stream ended. */
		if (h->c_eof && c->t2p == NULL && h->state != H_CLOSING) {
			if (h->state == H_HEAD && !http_parser_busy(h->req)) {
				h->state = H_CLOSING;
				progress = 1;
			} else if (h->state != H_WAIT) {
				conn_fail(c, "client_error", "the client "
				    "closed in the middle of a request");
				return;
			}
		}
		if (!progress)
			break;
	}
	/* What to wait for. */
	if (h->state != H_CLOSING && c->t2p == NULL && !h->c_eof &&
	    http_buf_pending(&h->to_b) < HTTP_HIGH_WATER)
		tev |= c->tls_rd;
	if (http_buf_pending(&h->to_c) > 0)
		tev |= c->tls_wr;
	if (c->pfd != -1) {
		if (h->connecting)
			pev |= EV_WRITE;
		else {
			if (c->p2t == NULL &&
			    http_buf_pending(&h->to_c) < HTTP_HIGH_WATER)
				pev |= c->p_rd;
			if (http_buf_pending(&h->to_b) > 0)
				pev |= c->p_wr;
		}
	}
	conn_watch(c, &c->tio, tev);
	conn_watch(c, &c->pio, pev);
	/* Work left for lack of rounds runs on the loop's next turn. */
	if (progress)
		ev_feed_event(c->w->loop, &c->tio, EV_CUSTOM);
}

void
http_conn_io(struct conn *c, int tls_side, int revents)
{
	struct http_conn *h = c->http;

	if (tls_side) {
		if (c->tls_rd & revents)
			c->tls_rd = 0;
		if (c->tls_wr & revents)
			c->tls_wr = 0;
	} else if (h->connecting) {
		int e = backend_connect_result(c->pfd);
		if (e != 0) {
			char name[ADDR_STRLEN], why[ADDR_STRLEN + 96];
			const struct proxy_addr *a = &c->gen->svc->target[0];
			addr_format(&a->u.sa, a->len, name, sizeof(name));
			snprintf(why, sizeof(why), "backend %s: %s", name,
			    strerror(e));
			if (http_refuse(c, 502, why) == -1)
				return;
		} else {
			h->connecting = 0;
			c->p_wr = 0;
		}
	} else {
		if (c->p_rd & revents)
			c->p_rd = 0;
		if (c->p_wr & revents)
			c->p_wr = 0;
	}
	http_pump(c);
}

/* The connection's one timer, set for the nearest of: the backend's
 * connect, the backend's answer, the idle limit. */
static void
http_arm_timer(struct conn *c)
{
	struct http_conn *h = c->http;
	struct proxy_service *px = c->gen->svc;
	double now = ev_now(c->w->loop);
	double answer = px->opt.http_timeout > 0 ? px->opt.http_timeout :
	    PROXY_HTTP_TIMEOUT;
	double left = c->last + px->opt.idle_timeout - now;

	if ((h->state == H_BODY || h->state == H_WAIT) && !h->resp_started &&
	    h->t_req + answer - now < left)
		left = h->t_req + answer - now;
	if (h->connecting && h->t_connect + px->opt.backend_timeout - now <
	    left)
		left = h->t_connect + px->opt.backend_timeout - now;
	if (left < 0.01)
		left = 0.01;
	ev_timer_stop(c->w->loop, &c->timer);
	ev_timer_set(&c->timer, left, 0);
	ev_timer_start(c->w->loop, &c->timer);
}

void
http_conn_timer(struct conn *c)
{
	struct http_conn *h = c->http;
	struct proxy_service *px = c->gen->svc;
	double now = ev_now(c->w->loop);
	double answer = px->opt.http_timeout > 0 ? px->opt.http_timeout :
	    PROXY_HTTP_TIMEOUT;
	int r = 0;

	if (h->state == H_CLOSING) {
		r = conn_fail(c, "idle_timeout", "the client took no answer "
		    "for %gs", px->opt.idle_timeout);
	} else if (h->connecting && now - h->t_connect >=
	    px->opt.backend_timeout - 0.001) {
		snprintf(h->why, sizeof(h->why), "the backend did not accept "
		    "within %gs", px->opt.backend_timeout);
		r = http_refuse(c, 504, h->why);
	} else if ((h->state == H_BODY || h->state == H_WAIT) &&
	    !h->resp_started && now - h->t_req >= answer - 0.001) {
		snprintf(h->why, sizeof(h->why), "no answer from the backend "
		    "within %gs", answer);
		r = http_refuse(c, 504, h->why);
	} else if (c->last + px->opt.idle_timeout - now <= 0.001) {
		r = conn_fail(c, "idle_timeout", "no data either way for %gs",
		    px->opt.idle_timeout);
	}
	if (r == -1)
		return;
	http_arm_timer(c);
	http_pump(c);
}
