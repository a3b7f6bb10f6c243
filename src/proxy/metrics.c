/*
 * metrics.c - the proxy's counters and the metrics listener: Prometheus
 * text format 0.0.4 on GET /metrics, "ok" on GET /healthz, the status page
 * on GET / and its data on GET /status.json (status.c).  Workers count
 * into their own struct proxy_stats with relaxed atomics; the page sums
 * them in the main thread, so no lock is taken on the connection path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "proxy_int.h"

const char *
hs_reason_name(int r)
{
	if (r == HS_TIMEOUT)
		return "timeout";
	return mtls_reject_code_name((enum mtls_reject_code)r);
}

/* Upper bounds of the handshake latency buckets, in seconds. */
static const double hs_bounds[HS_LATENCY_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1.0, 2.5,
};

void
stats_hs_latency(struct proxy_stats *st, double seconds)
{
	size_t i;

	for (i = 0; i < HS_LATENCY_BUCKETS; i++)
		if (seconds <= hs_bounds[i])
			break;
	STAT_ADD(st->hs_latency[i], 1);
	STAT_ADD(st->hs_latency_sum_us, (uint64_t)(seconds * 1e6));
}

void
page_printf(struct page *pg, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (pg->len >= pg->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(pg->p + pg->len, pg->cap - pg->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	pg->len += (size_t)n < pg->cap - pg->len ? (size_t)n :
	    pg->cap - pg->len - 1;
}

#define SUM(field) ({ \
	uint64_t s_ = 0; \
	for (size_t i_ = 0; i_ < nst; i_++) \
		s_ += STAT_GET(st[i_]->field); \
	s_; })

/* "# HELP" and "# TYPE" of one metric family, named after the command
 * ("mtls_serve_...", "mtls_tunnel_..."). */
static void
page_family(struct page *pg, const char *pfx, const char *name,
    const char *type, const char *help)
{
	page_printf(pg, "# HELP %s_%s %s\n# TYPE %s_%s %s\n", pfx, name, help,
	    pfx, name, type);
}

size_t
metrics_render(char *buf, size_t cap, struct proxy_stats *const *st,
    size_t nst, const struct metrics_gauges *g, time_t now)
{
	struct page pg = { buf, cap, 0 };
	const char *p = g->tunnel ? "mtls_tunnel" : "mtls_serve";
	const char *target = g->tunnel ? "upstream" : "backend";
	uint64_t cum = 0, count = 0;
	int64_t active = 0;

	if (cap == 0)
		return 0;
	buf[0] = '\0';
	for (size_t i = 0; i < nst; i++)
		active += STAT_GET(st[i]->active);

	page_family(&pg, p, "connections_accepted_total", "counter",
	    "Client connections accepted.");
	page_printf(&pg, "%s_connections_accepted_total %llu\n", p,
	    (unsigned long long)SUM(conns_accepted));
	page_family(&pg, p, "connections_refused_total", "counter",
	    "Client connections closed at once because the connection limit "
	    "was reached.");
	page_printf(&pg, "%s_connections_refused_total %llu\n", p,
	    (unsigned long long)SUM(conns_refused_limit));
	page_family(&pg, p, "active_connections", "gauge",
	    "Open client connections.");
	page_printf(&pg, "%s_active_connections %lld\n", p, (long long)active);

	page_family(&pg, p, "handshakes_total", "counter", g->tunnel ?
	    "TLS handshakes with the upstream by outcome and reason." :
	    "TLS handshakes by outcome and reason.");
	for (int r = 0; r < HS_NREASONS; r++) {
		uint64_t v = SUM(handshakes[r]);
		if (r == HS_OK)
			page_printf(&pg, "%s_handshakes_total"
			    "{outcome=\"ok\",reason=\"\"} %llu\n", p,
			    (unsigned long long)v);
		else
			page_printf(&pg, "%s_handshakes_total"
			    "{outcome=\"rejected\",reason=\"%s\"} %llu\n", p,
			    hs_reason_name(r),
			    (unsigned long long)v);
	}

	page_family(&pg, p, "handshake_duration_seconds", "histogram",
	    g->tunnel ? "Time from accept to a completed handshake with the "
	    "upstream." : "Time from accept to a completed and authorized "
	    "handshake.");
	for (size_t b = 0; b <= HS_LATENCY_BUCKETS; b++) {
		cum += SUM(hs_latency[b]);
		if (b < HS_LATENCY_BUCKETS)
			page_printf(&pg, "%s_handshake_duration_seconds"
			    "_bucket{le=\"%g\"} %llu\n", p, hs_bounds[b],
			    (unsigned long long)cum);
	}
	count = cum;
	page_printf(&pg, "%s_handshake_duration_seconds_bucket"
	    "{le=\"+Inf\"} %llu\n"
	    "%s_handshake_duration_seconds_sum %.6f\n"
	    "%s_handshake_duration_seconds_count %llu\n",
	    p, (unsigned long long)count, p,
	    (double)SUM(hs_latency_sum_us) / 1e6, p,
	    (unsigned long long)count);

	page_family(&pg, p, "bytes_total", "counter", g->tunnel ?
	    "Bytes relayed, in: client to upstream, out: upstream to "
	    "client." : "Bytes relayed, in: client to backend, out: backend "
	    "to client.");
	page_printf(&pg, "%s_bytes_total{direction=\"in\"} %llu\n"
	    "%s_bytes_total{direction=\"out\"} %llu\n",
	    p, (unsigned long long)SUM(bytes_in),
	    p, (unsigned long long)SUM(bytes_out));
	page_printf(&pg, "# HELP %s_%s_errors_total Connections closed because "
	    "the %s refused, timed out or failed.\n"
	    "# TYPE %s_%s_errors_total counter\n"
	    "%s_%s_errors_total %llu\n", p, target, target, p, target, p,
	    target, (unsigned long long)SUM(backend_errors));
	if (!g->tunnel) {
		page_family(&pg, p, "ktls_send_connections_total", "counter",
		    "Connections whose records to the client the kernel "
		    "encrypted (Linux kernel TLS send).");
		page_printf(&pg, "%s_ktls_send_connections_total %llu\n", p,
		    (unsigned long long)SUM(ktls_tx));
		page_family(&pg, p, "http_requests_total", "counter",
		    "HTTP mode: requests answered, by status class.");
		for (int k = 0; k < 5; k++)
			page_printf(&pg, "%s_http_requests_total{class=\"%dxx\"} "
			    "%llu\n", p, k + 1,
			    (unsigned long long)SUM(http_requests[k]));
		page_family(&pg, p, "http_retries_total", "counter",
		    "HTTP mode: requests sent again on a new backend "
		    "connection after a reused one closed before answering.");
		page_printf(&pg, "%s_http_retries_total %llu\n", p,
		    (unsigned long long)SUM(http_retries));
	}
	page_family(&pg, p, "reloads_total", "counter",
	    "Configuration reloads by result.");
	page_printf(&pg, "%s_reloads_total{result=\"ok\"} %llu\n"
	    "%s_reloads_total{result=\"failed\"} %llu\n",
	    p, (unsigned long long)g->reloads_ok,
	    p, (unsigned long long)g->reloads_failed);
	if (g->cert_not_after != 0) {
		page_family(&pg, p, "certificate_expiry_seconds", "gauge",
		    g->tunnel ? "Seconds until the client certificate "
		    "expires." : "Seconds until the server certificate "
		    "expires.");
		page_printf(&pg, "%s_certificate_expiry_seconds %lld\n", p,
		    (long long)(g->cert_not_after - now));
	}
	if (g->crl_next_update != 0) {
		page_family(&pg, p, "crl_expiry_seconds", "gauge",
		    "Seconds until the CRL's nextUpdate.");
		page_printf(&pg, "%s_crl_expiry_seconds %lld\n", p,
		    (long long)(g->crl_next_update - now));
	}
	return pg.len;
}

/* The families with a service label.  Failures are counted by the
 * reason table's labels; the expiry of each service's own certificate,
 * its CA (the first anchor to expire) and its CRL (nextUpdate) as Unix
 * times, the form alerting rules compare with time(). */
size_t
metrics_render_services(char *buf, size_t cap,
    struct proxy_service *const *svcs, size_t n, time_t now)
{
	struct page pg = { buf, cap, 0 };

	if (cap == 0)
		return 0;
	buf[0] = '\0';
	page_printf(&pg, "# HELP mtls_handshake_failures_total Handshakes "
	    "refused or failed, by service and reason.\n"
	    "# TYPE mtls_handshake_failures_total counter\n");
	for (size_t k = 0; k < n; k++) {
		struct svc_state *st = svcs[k]->st;
		for (int r = 1; r < HS_NREASONS; r++) {
			uint64_t v = 0;
			for (int i = 0; i < st->nworkers; i++)
				v += STAT_GET(st->stats[i].handshakes[r]);
			page_printf(&pg, "mtls_handshake_failures_total"
			    "{service=\"%s\",reason=\"%s\"} %llu\n", st->name,
			    hs_reason_name(r),
			    (unsigned long long)v);
		}
	}
	page_printf(&pg, "# HELP mtls_handshakes_total Completed handshakes "
	    "by service, full or resumed.\n"
	    "# TYPE mtls_handshakes_total counter\n");
	for (size_t k = 0; k < n; k++) {
		struct svc_state *st = svcs[k]->st;
		uint64_t ok = 0, res = 0;
		for (int i = 0; i < st->nworkers; i++) {
			ok += STAT_GET(st->stats[i].handshakes[HS_OK]);
			res += STAT_GET(st->stats[i].handshakes_resumed);
		}
		page_printf(&pg, "mtls_handshakes_total{service=\"%s\","
		    "kind=\"full\"} %llu\n"
		    "mtls_handshakes_total{service=\"%s\",kind=\"resumed\"} "
		    "%llu\n", st->name, (unsigned long long)(ok - res),
		    st->name, (unsigned long long)res);
	}
	page_printf(&pg, "# HELP mtls_active_connections Open connections by "
	    "service.\n# TYPE mtls_active_connections gauge\n");
	for (size_t k = 0; k < n; k++) {
		struct svc_state *st = svcs[k]->st;
		page_printf(&pg, "mtls_active_connections{service=\"%s\"} "
		    "%lld\n", st->name, (long long)__atomic_load_n(&st->active,
		    __ATOMIC_RELAXED));
	}
	page_printf(&pg, "# HELP mtls_certificate_expiration_timestamp_seconds "
	    "When the service's certificate (server), CA (ca) and CRL "
	    "(crl: nextUpdate) expire.\n"
	    "# TYPE mtls_certificate_expiration_timestamp_seconds gauge\n");
	for (size_t k = 0; k < n; k++) {
		struct svc_state *st = svcs[k]->st;
		struct metrics_gauges g;
		pthread_mutex_lock(&st->lock);
		g = st->gauges;
		pthread_mutex_unlock(&st->lock);
		if (g.cert_not_after != 0)
			page_printf(&pg, "mtls_certificate_expiration_"
			    "timestamp_seconds{service=\"%s\",role=\"%s\"} "
			    "%lld\n", st->name, g.tunnel ? "client" : "server",
			    (long long)g.cert_not_after);
		if (g.ca_not_after != 0)
			page_printf(&pg, "mtls_certificate_expiration_"
			    "timestamp_seconds{service=\"%s\",role=\"ca\"} "
			    "%lld\n", st->name, (long long)g.ca_not_after);
		if (g.crl_next_update != 0)
			page_printf(&pg, "mtls_certificate_expiration_"
			    "timestamp_seconds{service=\"%s\",role=\"crl\"} "
			    "%lld\n", st->name, (long long)g.crl_next_update);
	}
	page_printf(&pg, "# HELP mtls_certificate_renewals_total Renewals of "
	    "the service's certificate from its EST server, by outcome.\n"
	    "# TYPE mtls_certificate_renewals_total counter\n");
	for (size_t k = 0; k < n; k++) {
		struct svc_state *st = svcs[k]->st;
		struct metrics_gauges g;
		if (svcs[k]->opt.renew_from == NULL)
			continue;
		pthread_mutex_lock(&st->lock);
		g = st->gauges;
		pthread_mutex_unlock(&st->lock);
		page_printf(&pg, "mtls_certificate_renewals_total{service=\"%s\","
		    "outcome=\"ok\"} %llu\n"
		    "mtls_certificate_renewals_total{service=\"%s\","
		    "outcome=\"failed\"} %llu\n", st->name,
		    (unsigned long long)g.renewals_ok, st->name,
		    (unsigned long long)g.renewals_failed);
	}
	(void)now;
	return pg.len;
}

/* ---- the HTTP side ---------------------------------------------- */

#define METRICS_REQ_MAX 2048
#define METRICS_PAGE_MAX (256 * 1024)
#define METRICS_CLIENT_TIMEOUT 5.0

struct metrics_client {
	struct metrics_server *m;
	int fd;
	ev_io io;
	ev_timer timer;
	size_t rlen;
	char req[METRICS_REQ_MAX];
	char *resp;
	size_t resp_len, resp_off;
};

struct metrics_server {
	struct proxy *px;
	struct ev_loop *loop;
	ev_timer tick;               /* the status page's rates */
	int fd[ADDR_MAX];
	ev_io io[ADDR_MAX];
	size_t n;
};

static void
mclient_free(struct metrics_client *c)
{
	ev_io_stop(c->m->loop, &c->io);
	ev_timer_stop(c->m->loop, &c->timer);
	close(c->fd);
	free(c->resp);
	free(c);
}

static void
mclient_respond(struct metrics_client *c, const char *status,
    const char *type, const char *body, size_t blen)
{
	char head[256];
	int hl = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", status, type, blen);

	c->resp = malloc((size_t)hl + blen);
	if (c->resp == NULL) {
		mclient_free(c);
		return;
	}
	memcpy(c->resp, head, (size_t)hl);
	memcpy(c->resp + hl, body, blen);
	c->resp_len = (size_t)hl + blen;
	c->resp_off = 0;
	ev_io_stop(c->m->loop, &c->io);
	ev_io_set(&c->io, c->fd, EV_WRITE);
	ev_io_start(c->m->loop, &c->io);
}

/* The Prometheus page: the totals over every service (the families a
 * single service has always had), then the per-service families. */
static void
mclient_metrics(struct metrics_client *c)
{
	struct proxy *px = c->m->px;
	struct proxy_stats **st = NULL;
	struct metrics_gauges g = { 0 };
	size_t n = 0, nst = 0;
	char *page;

	if ((page = malloc(METRICS_PAGE_MAX)) == NULL ||
	    (st = calloc(px->nsvcs * (size_t)px->nworkers + 1,
	    sizeof(*st))) == NULL) {
		free(page);
		mclient_free(c);
		return;
	}
	for (size_t k = 0; k < px->nsvcs; k++)
		for (int i = 0; i < px->nworkers; i++)
			st[nst++] = &px->svcs[k]->st->stats[i];
	if (px->nsvcs > 0) {
		struct svc_state *s0 = px->svcs[0]->st;
		pthread_mutex_lock(&s0->lock);
		g = s0->gauges;
		pthread_mutex_unlock(&s0->lock);
	}
	pthread_mutex_lock(&px->svcs_lock);
	g.reloads_ok = px->reloads_ok;
	g.reloads_failed = px->reloads_failed;
	pthread_mutex_unlock(&px->svcs_lock);
	g.tunnel = px->plan.mode == PROXY_TUNNEL;
	n = metrics_render(page, METRICS_PAGE_MAX, st, nst, &g, time(NULL));
	n += metrics_render_services(page + n, METRICS_PAGE_MAX - n,
	    px->svcs, px->nsvcs, time(NULL));
	mclient_respond(c, "200 OK", "text/plain; version=0.0.4", page, n);
	free(st);
	free(page);
}

static int
req_is(const char *req, const char *path)
{
	size_t n = strlen(path);

	return strncmp(req, "GET ", 4) == 0 && strncmp(req + 4, path, n) ==
	    0 && (req[4 + n] == ' ' || req[4 + n] == '?');
}

static void
mclient_route(struct metrics_client *c)
{
	if (req_is(c->req, "/healthz")) {
		mclient_respond(c, "200 OK", "text/plain", "ok\n", 3);
		return;
	}
	if (req_is(c->req, "/metrics")) {
		mclient_metrics(c);
		return;
	}
	if (req_is(c->req, "/") || req_is(c->req, "/status.json")) {
		int json = req_is(c->req, "/status.json");
		char *page = malloc(METRICS_PAGE_MAX);
		size_t n;

		if (page == NULL) {
			mclient_free(c);
			return;
		}
		n = json ? status_render_json(c->m->px, page, METRICS_PAGE_MAX,
		    time(NULL)) : status_render_html(c->m->px, page,
		    METRICS_PAGE_MAX, time(NULL));
		mclient_respond(c, "200 OK", json ? "application/json" :
		    "text/html; charset=utf-8", page, n);
		free(page);
		return;
	}
	mclient_respond(c, "404 Not Found", "text/plain",
	    "not found: try /, /status.json, /metrics or /healthz\n", 53);
}

static void
mclient_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	(void)revents;
	struct metrics_client *c = io->data;
	ssize_t n;

	if (c->resp != NULL) {
		n = write(c->fd, c->resp + c->resp_off,
		    c->resp_len - c->resp_off);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			mclient_free(c);
			return;
		}
		c->resp_off += (size_t)n;
		if (c->resp_off == c->resp_len)
			mclient_free(c);
		return;
	}
	n = read(c->fd, c->req + c->rlen, sizeof(c->req) - 1 - c->rlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		mclient_free(c);
		return;
	}
	c->rlen += (size_t)n;
	c->req[c->rlen] = '\0';
	if (strstr(c->req, "\r\n\r\n") != NULL ||
	    strstr(c->req, "\n\n") != NULL) {
		mclient_route(c);
		return;
	}
	if (c->rlen == sizeof(c->req) - 1)
		mclient_respond(c, "431 Request Header Fields Too Large",
		    "text/plain", "request too large\n", 18);
}

static void
mclient_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	mclient_free(t->data);
}

static void
metrics_accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)revents;
	struct metrics_server *m = io->data;

	for (;;) {
		int fd = accept4(io->fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct metrics_client *c;

		if (fd == -1)
			return; /* EAGAIN, or a transient error */
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			return;
		}
		c->m = m;
		c->fd = fd;
		ev_io_init(&c->io, mclient_cb, fd, EV_READ);
		c->io.data = c;
		ev_timer_init(&c->timer, mclient_timeout,
		    METRICS_CLIENT_TIMEOUT, 0);
		c->timer.data = c;
		ev_io_start(loop, &c->io);
		ev_timer_start(loop, &c->timer);
	}
}

static void
metrics_tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)revents;
	struct metrics_server *m = t->data;

	status_tick(m->px, ev_now(loop));
}

struct metrics_server *
metrics_server_new(struct proxy *px, struct ev_loop *loop, char *err,
    size_t errlen)
{
	struct proxy_addr a[ADDR_MAX];
	struct metrics_server *m;
	char why[512];
	int n;

	n = addr_parse(px->plan.metrics, ADDR_LISTEN, a, ADDR_MAX, why,
	    sizeof(why));
	if (n < 0) {
		snprintf(err, errlen, "%s", why);
		return NULL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->px = px;
	m->loop = loop;
	ev_timer_init(&m->tick, metrics_tick_cb, 1.0, 1.0);
	m->tick.data = m;
	ev_timer_start(loop, &m->tick);
	for (int i = 0; i < n; i++) {
		int fd = listener_open(&a[i], LISTEN_ALONE, why,
		    sizeof(why));
		if (fd == -1) {
			snprintf(err, errlen, "%s", why);
			metrics_server_free(m);
			return NULL;
		}
		m->fd[m->n] = fd;
		ev_io_init(&m->io[m->n], metrics_accept_cb, fd, EV_READ);
		m->io[m->n].data = m;
		ev_io_start(loop, &m->io[m->n]);
		m->n++;
	}
	return m;
}

void
metrics_server_free(struct metrics_server *m)
{
	if (m == NULL)
		return;
	ev_timer_stop(m->loop, &m->tick);
	for (size_t i = 0; i < m->n; i++) {
		ev_io_stop(m->loop, &m->io[i]);
		close(m->fd[i]);
	}
	free(m);
}
