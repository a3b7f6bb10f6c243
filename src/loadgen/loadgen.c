/*
 * loadgen.c - the load engine of "mtls bench" (see loadgen.h).
 *
 * One libev loop, one thread, N slots.  A slot is one client connection at a
 * time, driven through the library's public non-blocking API (mtls_client,
 * mtls_connect_socket, mtls_handshake/read/write/close and their
 * MTLS_WANT_POLLIN/POLLOUT answers), with one io watcher and one timer.
 * Every error path of a slot ends in slot_fail(), which counts the failure,
 * tears the connection down in slot_reset() and starts again.  Nothing is
 * allocated per operation but what the TLS library itself needs.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <llhttp.h>
#include <poll.h>

#include "loadgen.h"
#include "mtls_tools.h"

/* ---- names ---------------------------------------------------------- */

static const char *const mode_names[] = {
	[LOADGEN_HANDSHAKE] = "handshake",
	[LOADGEN_RESUME] = "resume",
	[LOADGEN_RR] = "rr",
	[LOADGEN_BULK] = "bulk",
	[LOADGEN_IDLE] = "idle",
};

int
loadgen_mode_parse(const char *name, enum loadgen_mode *mode)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]);
	    i++) {
		if (strcmp(name, mode_names[i]) == 0) {
			*mode = (enum loadgen_mode)i;
			return 0;
		}
	}
	return -1;
}

const char *
loadgen_mode_name(enum loadgen_mode mode)
{
	if ((size_t)mode >= sizeof(mode_names) / sizeof(mode_names[0]))
		return "unknown";
	return mode_names[mode];
}

static const char *const err_names[LOADGEN_ERR_COUNT] = {
	[LOADGEN_ERR_CONNECT_REFUSED] = "connect_refused",
	[LOADGEN_ERR_CONNECT] = "connect_failed",
	[LOADGEN_ERR_TIMEOUT] = "timeout",
	[LOADGEN_ERR_HANDSHAKE] = "handshake_failed",
	[LOADGEN_ERR_CLOSED] = "closed_by_peer",
	[LOADGEN_ERR_SHORT_READ] = "short_read",
	[LOADGEN_ERR_IO] = "io_error",
	[LOADGEN_ERR_BAD_DATA] = "bad_data",
	[LOADGEN_ERR_HTTP_STATUS] = "http_error",
};

const char *
loadgen_err_name(enum loadgen_err e)
{
	if ((unsigned)e >= LOADGEN_ERR_COUNT)
		return "unknown";
	return err_names[e];
}

uint64_t
loadgen_stats_errors(const struct loadgen_stats *s)
{
	uint64_t n = 0;

	for (int i = 0; i < LOADGEN_ERR_COUNT; i++)
		n += s->errors[i];
	return n;
}

/* ---- histogram ------------------------------------------------------ */

/* Bucket of v: values below LOADGEN_SUB map to themselves; above, the
 * magnitude (position of the top bit beyond the sub-bucket bits) picks a
 * row of LOADGEN_SUB buckets and the next LOADGEN_SUB_BITS bits the column. */
static size_t
hist_index(uint64_t v)
{
	if (v < LOADGEN_SUB)
		return (size_t)v;
	int top = 63 - __builtin_clzll(v);          /* >= LOADGEN_SUB_BITS */
	unsigned mag = (unsigned)(top - LOADGEN_SUB_BITS + 1);
	if (mag >= LOADGEN_MAG)
		return LOADGEN_BUCKETS - 1;
	uint64_t sub = (v >> (mag - 1)) & (LOADGEN_SUB - 1);
	return (size_t)mag * LOADGEN_SUB + (size_t)sub;
}

/* The largest value that falls in bucket i. */
static uint64_t
hist_upper(size_t i)
{
	size_t mag = i / LOADGEN_SUB, sub = i % LOADGEN_SUB;

	if (mag == 0)
		return sub;
	return (((uint64_t)(LOADGEN_SUB + sub) + 1) << (mag - 1)) - 1;
}

void
loadgen_hist_add(struct loadgen_hist *h, uint64_t us)
{
	h->count[hist_index(us)]++;
	h->n++;
	h->sum += us;
	if (us > h->max)
		h->max = us;
}

uint64_t
loadgen_hist_quantile(const struct loadgen_hist *h, double q)
{
	if (h->n == 0)
		return 0;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	/* The rank of the wanted value, 1-based, rounded up. */
	uint64_t rank = (uint64_t)(q * (double)h->n);
	if ((double)rank < q * (double)h->n)
		rank++;
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (size_t i = 0; i < LOADGEN_BUCKETS; i++) {
		seen += h->count[i];
		if (seen >= rank) {
			/* The last bucket also holds everything beyond the
			 * range: only max is known there. */
			uint64_t v = i == LOADGEN_BUCKETS - 1 ? h->max :
			    hist_upper(i);
			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

/* ---- the engine ----------------------------------------------------- */

enum slot_state {
	S_CLOSED = 0,  /* nothing open (before the start, after the end) */
	S_BACKOFF,   /* waiting a moment after a failed connect */
	S_CONNECT,   /* non-blocking connect() in progress */
	S_HANDSHAKE,
	S_CLOSE,     /* sending close_notify */
	S_DRAIN,     /* reading until the server closes */
	S_REQUEST,   /* rr: writing the request */
	S_RESPONSE,  /* rr: reading the response */
	S_BULK,      /* bulk: writing and reading one block */
	S_HOLD,      /* idle: open, nothing to say, waiting for the end */
};

struct engine;

struct slot {
	struct engine *eng;
	ev_io io;
	ev_timer timer;
	int fd;
	int events;                    /* what io is armed for, 0 if stopped */
	enum slot_state state;
	struct mtls *tls;
	uint64_t op_start;             /* us, monotonic */
	size_t sent;                   /* bytes of the request/block written */
	size_t got;                    /* bytes of the response/block read */
	int resumed;
	llhttp_t http;                 /* opt->http: the response parser */
	int http_done;                 /* it saw the end of a response */
	int raw;                       /* this response is not HTTP: an echo
	                                  of exactly response_bytes */
};

/* Bulk data: a fixed pseudo-random pattern; byte i of a block is
 * pattern[i % PATTERN_LEN], so an echo is checked without keeping a copy. */
#define PATTERN_LEN 16384
#define READ_LEN 16384

#define IDLE_OPENING 128

struct engine {
	struct ev_loop *loop;
	const struct loadgen_options *opt;
	struct loadgen_stats *st;
	struct slot *slots;
	ev_timer end;
	ev_timer tick;
	uint64_t start_us;
	int running;
	int fatal;                     /* a setup error stopped the run */
	int next_slot;                 /* idle: the first not yet opened */
	struct mtls_error *err;
	unsigned char pattern[PATTERN_LEN];
	unsigned char rbuf[READ_LEN];
	llhttp_settings_t http_settings;
};

/* llhttp: a response is complete; stop there (a byte after it, before
 * the next request, is not part of it). */
static int
http_message_complete(llhttp_t *p)
{
	struct slot *s = p->data;

	s->http_done = 1;
	return HPE_PAUSED;
}

static void
http_start(struct slot *s)
{
	s->raw = 0;
	llhttp_init(&s->http, HTTP_RESPONSE, &s->eng->http_settings);
	s->http.data = s;
	s->http_done = 0;
}

static void slot_fail(struct slot *s, enum loadgen_err e, const char *why);
static void slot_op_done(struct slot *s);
static void slot_hold(struct slot *s);
static void slot_closed_ok(struct slot *s);

/* rr with HTTP: feeds n bytes of the response to the parser.  1 when the
 * response is complete and fine, 0 when more is needed, -1 after counting
 * the failure (not HTTP, an error status, another length than expected). */
static int
http_feed(struct slot *s, const unsigned char *p, size_t n)
{
	const struct loadgen_options *opt = s->eng->opt;
	char why[160];
	llhttp_errno_t e = llhttp_execute(&s->http, (const char *)p, n);

	if (e != HPE_OK && !(e == HPE_PAUSED && s->http_done)) {
		snprintf(why, sizeof(why), "not an HTTP/1.1 response: %s",
		    llhttp_get_error_reason(&s->http));
		slot_fail(s, LOADGEN_ERR_BAD_DATA, why);
		return -1;
	}
	if (!s->http_done)
		return 0;
	if (e == HPE_PAUSED && llhttp_get_error_pos(&s->http) !=
	    (const char *)p + n) {
		slot_fail(s, LOADGEN_ERR_BAD_DATA, "bytes after the response");
		return -1;
	}
	if (opt->response_bytes != 0 && s->got != opt->response_bytes) {
		snprintf(why, sizeof(why), "a response of %zu bytes, not the "
		    "%zu expected", s->got, opt->response_bytes);
		slot_fail(s, LOADGEN_ERR_BAD_DATA, why);
		return -1;
	}
	if (llhttp_get_status_code(&s->http) >= 400) {
		snprintf(why, sizeof(why), "HTTP status %d",
		    llhttp_get_status_code(&s->http));
		slot_fail(s, LOADGEN_ERR_HTTP_STATUS, why);
		return -1;
	}
	return 1;
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void slot_start(struct slot *s);
static void slot_step(struct slot *s);

/* Arms the io watcher for events (EV_READ/EV_WRITE), touching libev only
 * when something changes. */
static void
slot_wait(struct slot *s, int events)
{
	if (s->events == events)
		return;
	struct ev_loop *loop = s->eng->loop;
	if (s->events != 0)
		ev_io_stop(loop, &s->io);
	s->events = events;
	if (events != 0) {
		ev_io_set(&s->io, s->fd, events);
		ev_io_start(loop, &s->io);
	}
}

/* Waits for what the TLS library asked for. */
static void
slot_want(struct slot *s, ssize_t r)
{
	slot_wait(s, r == MTLS_WANT_POLLOUT ? EV_WRITE : EV_READ);
}

/* Closes the connection, if any.  The socket is closed with SO_LINGER 0
 * (an RST): the exchange is over by then, and it keeps thousands of
 * TIME_WAIT sockets a second from exhausting the loopback's ports. */
static void
slot_reset(struct slot *s)
{
	slot_wait(s, 0);
	if (s->tls != NULL) {
		mtls_free(s->tls);
		s->tls = NULL;
	}
	if (s->fd != -1) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		(void)setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg,
		    sizeof(lg));
		close(s->fd);
		s->fd = -1;
	}
	s->state = S_CLOSED;
}

/* Stops the run because of an error that every operation would meet. */
static void
engine_fatal(struct engine *e, const char *what, const char *why)
{
	if (!e->fatal) {
		e->fatal = 1;
		snprintf(e->err->msg, sizeof(e->err->msg), "%s: %s", what,
		    why != NULL ? why : "unknown error");
		e->err->code = MTLS_ERR_TLS;
	}
	e->running = 0;
	ev_break(e->loop, EVBREAK_ALL);
}

/* Counts a refused handshake by its reason code; the words of the first
 * one of each code are kept to show.  (The words name certificates and
 * vary between connections: they are for people, not for grouping.) */
static void
stats_reason(struct loadgen_stats *st, enum mtls_reject_code code,
    const char *why)
{
	if (why == NULL || *why == '\0')
		why = "no reason given";
	for (size_t i = 0; i < st->nreasons; i++) {
		if (st->reasons[i].code == code) {
			st->reasons[i].count++;
			return;
		}
	}
	if (st->nreasons == LOADGEN_REASONS) {
		st->reasons_other++;
		return;
	}
	struct loadgen_reason *r = &st->reasons[st->nreasons++];
	r->code = code;
	snprintf(r->text, sizeof(r->text), "%s", why);
	r->count = 1;
}

/* The TLS library's text for the last failure of s. */
static const char *
slot_why(struct slot *s)
{
	const char *why = s->tls != NULL ? mtls_conn_reject_reason(s->tls) :
	    NULL;
	if (why == NULL && s->tls != NULL)
		why = mtls_error(s->tls);
	return why;
}

/* A read or write failed after the handshake.  In TLS 1.3 the client ends
 * its handshake before the server has checked the client certificate, so a
 * refusal (certificate_required, unknown_ca...) arrives here, as an alert:
 * that is a handshake failure, not an I/O error. */
static enum loadgen_err
classify_late(struct slot *s)
{
	if (s->tls != NULL && mtls_conn_alert_received(s->tls) != NULL)
		return LOADGEN_ERR_HANDSHAKE;
	return LOADGEN_ERR_IO;
}

static void slot_fail(struct slot *s, enum loadgen_err e, const char *why);

/* A write failed after the handshake.  When the server refused us it sent
 * an alert before closing, and the write may have hit the closed socket
 * first: read once more to find the alert, so the failure is counted as
 * the refusal it is. */
static void
slot_fail_write(struct slot *s)
{
	char first[LOADGEN_REASON_LEN];
	const char *why = slot_why(s);

	snprintf(first, sizeof(first), "%s", why != NULL ? why : "");
	if (classify_late(s) != LOADGEN_ERR_HANDSHAKE) {
		ssize_t r = mtls_read(s->tls, s->eng->rbuf,
		    sizeof(s->eng->rbuf));
		if (r == -1 && classify_late(s) == LOADGEN_ERR_HANDSHAKE) {
			slot_fail(s, LOADGEN_ERR_HANDSHAKE, slot_why(s));
			return;
		}
	}
	slot_fail(s, classify_late(s), first);
}

/* Counts a failure of kind e and starts over.  A failed connect waits a
 * moment first, so that a server that is down is not hammered in a loop. */
static void
slot_fail(struct slot *s, enum loadgen_err e, const char *why)
{
	struct engine *eng = s->eng;

	if (!eng->running)
		return;
	eng->st->errors[e]++;
	if (e == LOADGEN_ERR_HANDSHAKE)
		stats_reason(eng->st, s->tls != NULL ?
		    mtls_conn_reject_code(s->tls) : MTLS_REJECT_NONE, why);
	slot_reset(s);
	if (e == LOADGEN_ERR_CONNECT_REFUSED || e == LOADGEN_ERR_CONNECT) {
		s->state = S_BACKOFF;
		s->timer.repeat = 0.05;
		ev_timer_again(eng->loop, &s->timer);
		return;
	}
	slot_start(s);
}

/* One operation fully succeeded. */
static void
slot_op_done(struct slot *s)
{
	struct engine *eng = s->eng;
	uint64_t t = now_us();

	eng->st->ops++;
	if (s->resumed)
		eng->st->resumed++;
	loadgen_hist_add(&eng->st->latency, t - s->op_start);
	s->op_start = t;
	/* The next operation has its own deadline. */
	s->timer.repeat = eng->opt->timeout;
	ev_timer_again(eng->loop, &s->timer);
}

/* Opens a new connection and starts the first operation on it. */
static void
slot_start(struct slot *s)
{
	struct engine *eng = s->eng;
	const struct loadgen_options *opt = eng->opt;

	if (!eng->running)
		return;
	s->op_start = now_us();
	s->sent = s->got = 0;
	s->resumed = 0;
	s->timer.repeat = opt->timeout;
	ev_timer_again(eng->loop, &s->timer);

	s->fd = socket(opt->addr.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd == -1) {
		slot_fail(s, LOADGEN_ERR_CONNECT, strerror(errno));
		return;
	}
	int one = 1;
	(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(s->fd, (const struct sockaddr *)&opt->addr,
	    opt->addrlen) == -1 && errno != EINPROGRESS) {
		slot_fail(s, errno == ECONNREFUSED ?
		    LOADGEN_ERR_CONNECT_REFUSED : LOADGEN_ERR_CONNECT,
		    strerror(errno));
		return;
	}
	s->state = S_CONNECT;
	slot_wait(s, EV_WRITE);
}

/* The connect finished: set up TLS on the socket. */
static int
slot_connected(struct slot *s)
{
	struct engine *eng = s->eng;
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		soerr = errno;
	if (soerr != 0) {
		slot_fail(s, soerr == ECONNREFUSED ?
		    LOADGEN_ERR_CONNECT_REFUSED : LOADGEN_ERR_CONNECT,
		    strerror(soerr));
		return -1;
	}
	s->tls = mtls_client();
	if (s->tls == NULL) {
		engine_fatal(eng, "mtls_client", "out of memory");
		return -1;
	}
	struct mtls_config *cfg = eng->opt->slot_cfg != NULL ?
	    eng->opt->slot_cfg[s - eng->slots] : eng->opt->cfg;
	if (mtls_configure(s->tls, cfg) == -1) {
		engine_fatal(eng, "client configuration", mtls_error(s->tls));
		return -1;
	}
	if (mtls_connect_socket(s->tls, s->fd, eng->opt->servername) == -1) {
		engine_fatal(eng, "client connection", mtls_error(s->tls));
		return -1;
	}
	s->state = S_HANDSHAKE;
	return 0;
}

/* Idle mode: held until the end, with no deadline; the latency is the
 * time to establish the connection (and make the one exchange). */
static void
slot_hold(struct slot *s)
{
	struct engine *eng = s->eng;

	ev_timer_stop(eng->loop, &s->timer);
	loadgen_hist_add(&eng->st->latency, now_us() - s->op_start);
	s->state = S_HOLD;
	if (eng->next_slot < eng->opt->conns)
		slot_start(&eng->slots[eng->next_slot++]);
}

/* The handshake is done: on to what the mode does with the connection. */
static void
slot_handshaken(struct slot *s)
{
	struct engine *eng = s->eng;

	eng->st->handshakes++;
	s->resumed = mtls_conn_session_resumed(s->tls) == 1;
	switch (eng->opt->mode) {
	case LOADGEN_HANDSHAKE:
	case LOADGEN_RESUME:
		s->state = S_CLOSE;
		break;
	case LOADGEN_RR:
		/* The handshake is not part of a request's time. */
		s->op_start = now_us();
		s->state = S_REQUEST;
		if (eng->opt->http)
			http_start(s);
		break;
	case LOADGEN_BULK:
		s->op_start = now_us();
		s->state = S_BULK;
		break;
	case LOADGEN_IDLE:
		/* With a request: one exchange first, so that the server
		 * holds a connection that has carried traffic. */
		if (eng->opt->request != NULL) {
			s->state = S_REQUEST;
			if (eng->opt->http)
				http_start(s);
			break;
		}
		slot_hold(s);
		break;
	}
}

/* Handshake and resume modes: the server closed after our close_notify
 * without an alert, so it accepted us.  (In resume mode the session it
 * issued is already kept by the configuration, for the next connection.) */
static void
slot_closed_ok(struct slot *s)
{
	slot_op_done(s);
	slot_reset(s);
	slot_start(s);
}

/* Checks echoed bytes against the pattern from block offset off. */
static int
bulk_check(const struct engine *e, size_t off, const unsigned char *p,
    size_t n)
{
	while (n > 0) {
		size_t at = off % PATTERN_LEN;
		size_t k = PATTERN_LEN - at;
		if (k > n)
			k = n;
		if (memcmp(p, e->pattern + at, k) != 0)
			return -1;
		p += k;
		off += k;
		n -= k;
	}
	return 0;
}

/* Bulk: moves one block out and back.  Writing and reading go on together
 * so that neither side's buffers fill up and stall the echo. */
static void
slot_bulk(struct slot *s)
{
	struct engine *eng = s->eng;
	size_t size = eng->opt->block_size;

	for (;;) {
		int want = 0;
		int progress = 0;

		if (s->sent < size) {
			size_t at = s->sent % PATTERN_LEN;
			size_t n = PATTERN_LEN - at;
			if (n > size - s->sent)
				n = size - s->sent;
			ssize_t w = mtls_write(s->tls, eng->pattern + at, n);
			if (w > 0) {
				s->sent += (size_t)w;
				eng->st->bytes_out += (uint64_t)w;
				progress = 1;
			} else if (w == MTLS_WANT_POLLIN) {
				want |= EV_READ;
			} else if (w == MTLS_WANT_POLLOUT) {
				want |= EV_WRITE;
			} else {
				slot_fail_write(s);
				return;
			}
		}
		ssize_t r = mtls_read(s->tls, eng->rbuf, sizeof(eng->rbuf));
		if (r > 0) {
			if (s->got + (size_t)r > s->sent ||
			    bulk_check(eng, s->got, eng->rbuf, (size_t)r)) {
				slot_fail(s, LOADGEN_ERR_BAD_DATA,
				    "echo differs");
				return;
			}
			s->got += (size_t)r;
			eng->st->bytes_in += (uint64_t)r;
			progress = 1;
			if (s->got == size) {
				slot_op_done(s);
				s->sent = s->got = 0;
				continue;
			}
		} else if (r == 0) {
			slot_fail(s, s->got > 0 || s->sent > 0 ?
			    LOADGEN_ERR_SHORT_READ : LOADGEN_ERR_CLOSED,
			    "closed");
			return;
		} else if (r == MTLS_WANT_POLLIN) {
			want |= EV_READ;
		} else if (r == MTLS_WANT_POLLOUT) {
			want |= EV_WRITE;
		} else {
			slot_fail(s, classify_late(s), slot_why(s));
			return;
		}
		if (!progress) {
			slot_wait(s, want != 0 ? want : EV_READ);
			return;
		}
	}
}

/* Runs the state machine of s until it has to wait. */
static void
slot_step(struct slot *s)
{
	struct engine *eng = s->eng;
	const struct loadgen_options *opt = eng->opt;
	ssize_t r;

	while (eng->running) {
		switch (s->state) {
		case S_CLOSED:
		case S_BACKOFF:
			return;
		case S_CONNECT:
			if (slot_connected(s) == -1)
				return;
			break;
		case S_HANDSHAKE:
			r = mtls_handshake(s->tls);
			if (r == MTLS_WANT_POLLIN || r == MTLS_WANT_POLLOUT) {
				slot_want(s, r);
				return;
			}
			if (r != 0) {
				slot_fail(s, LOADGEN_ERR_HANDSHAKE,
				    slot_why(s));
				return;
			}
			slot_handshaken(s);
			break;
		case S_CLOSE:
			r = mtls_close(s->tls);
			if (r == MTLS_WANT_POLLIN || r == MTLS_WANT_POLLOUT) {
				slot_want(s, r);
				return;
			}
			/* Even when close_notify could not be sent (the
			 * server has gone), its alert may be waiting. */
			s->state = S_DRAIN;
			break;
		case S_DRAIN:
			r = mtls_read(s->tls, eng->rbuf, sizeof(eng->rbuf));
			if (r > 0) {
				eng->st->bytes_in += (uint64_t)r;
				break;
			}
			if (r == MTLS_WANT_POLLIN || r == MTLS_WANT_POLLOUT) {
				slot_want(s, r);
				return;
			}
			if (r < 0) {
				/* An alert is a refusal; a close without
				 * close_notify after a good handshake is the
				 * server's manners, not a failure. */
				if (classify_late(s) ==
				    LOADGEN_ERR_HANDSHAKE) {
					slot_fail(s, LOADGEN_ERR_HANDSHAKE,
					    slot_why(s));
					return;
				}
			}
			slot_closed_ok(s);
			return;
		case S_REQUEST:
			r = mtls_write(s->tls, opt->request + s->sent,
			    opt->request_len - s->sent);
			if (r > 0) {
				s->sent += (size_t)r;
				eng->st->bytes_out += (uint64_t)r;
				if (s->sent == opt->request_len) {
					s->got = 0;
					s->state = S_RESPONSE;
				}
				break;
			}
			if (r == MTLS_WANT_POLLIN || r == MTLS_WANT_POLLOUT) {
				slot_want(s, r);
				return;
			}
			slot_fail_write(s);
			return;
		case S_RESPONSE: {
			size_t left = opt->response_bytes - s->got;
			int http = opt->http && !s->raw;
			r = mtls_read(s->tls, eng->rbuf, http ||
			    left > sizeof(eng->rbuf) ? sizeof(eng->rbuf) :
			    left);
			/* An HTTP request answered by other than HTTP (an
			 * echo service) with a length given: that length. */
			if (r > 0 && http && s->got == 0 &&
			    opt->response_bytes != 0 && memcmp(eng->rbuf,
			    "HTTP/", (size_t)r < 5 ? (size_t)r : 5) != 0) {
				s->raw = 1;
				http = 0;
				if ((size_t)r > opt->response_bytes) {
					slot_fail(s, LOADGEN_ERR_BAD_DATA,
					    "a response longer than expected");
					return;
				}
			}
			if (r > 0 && http) {
				s->got += (size_t)r;
				eng->st->bytes_in += (uint64_t)r;
				int done = http_feed(s, eng->rbuf, (size_t)r);
				if (done == -1)
					return;
				if (done == 0)
					break;
				if (opt->mode == LOADGEN_IDLE) {
					slot_hold(s);
					break;
				}
				/* "Connection: close" (nginx, after
				 * keepalive_requests): a new connection. */
				if (!llhttp_should_keep_alive(&s->http)) {
					slot_closed_ok(s);
					return;
				}
				slot_op_done(s);
				http_start(s);
				s->sent = 0;
				s->state = S_REQUEST;
				break;
			}
			if (r > 0) {
				s->got += (size_t)r;
				eng->st->bytes_in += (uint64_t)r;
				if (s->got == opt->response_bytes &&
				    opt->mode == LOADGEN_IDLE) {
					slot_hold(s);
					break;
				}
				if (s->got == opt->response_bytes) {
					slot_op_done(s);
					s->sent = 0;
					s->state = S_REQUEST;
					if (opt->http)
						http_start(s);
				}
				break;
			}
			if (r == MTLS_WANT_POLLIN || r == MTLS_WANT_POLLOUT) {
				slot_want(s, r);
				return;
			}
			if (r == 0) {
				slot_fail(s, s->got > 0 ?
				    LOADGEN_ERR_SHORT_READ :
				    LOADGEN_ERR_CLOSED, "closed");
				return;
			}
			slot_fail(s, classify_late(s), slot_why(s));
			return;
		}
		case S_BULK:
			slot_bulk(s);
			return;
		case S_HOLD:
			/* Only the server speaks now: a ticket, or its
			 * refusal or close, which ends the hold. */
			r = mtls_read(s->tls, eng->rbuf, sizeof(eng->rbuf));
			if (r > 0) {
				eng->st->bytes_in += (uint64_t)r;
				break;
			}
			if (r == MTLS_WANT_POLLIN || r == MTLS_WANT_POLLOUT) {
				slot_want(s, r);
				return;
			}
			slot_fail(s, r == 0 ? LOADGEN_ERR_CLOSED :
			    classify_late(s), r == 0 ? "closed" : slot_why(s));
			return;
		}
	}
}

static void
slot_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	slot_step((struct slot *)w->data);
}

static void
slot_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct slot *s = w->data;

	(void)loop;
	(void)revents;
	ev_timer_stop(loop, w);
	if (s->state == S_BACKOFF) {
		s->state = S_CLOSED;
		slot_start(s);
		return;
	}
	slot_fail(s, LOADGEN_ERR_TIMEOUT, "timed out");
}

static void
end_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct engine *e = w->data;

	(void)revents;
	e->running = 0;
	ev_break(loop, EVBREAK_ALL);
}

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct engine *e = w->data;

	(void)loop;
	(void)revents;
	if (e->opt->progress != NULL)
		e->opt->progress(e->st,
		    (double)(now_us() - e->start_us) / 1e6,
		    e->opt->progress_arg);
}

/* Fills the bulk pattern from a small xorshift generator: the bytes only
 * need to differ from position to position so that a misplaced echo shows. */
static void
pattern_fill(unsigned char *p, size_t n)
{
	uint64_t x = 0x9e3779b97f4a7c15u;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)(x >> 32);
	}
}

/*
 * Sets up one client context with cfg on one end of a socketpair, without
 * a byte of TLS: the library builds the configuration's SSL_CTX here
 * (so not inside the measured run) and reports what every connection would
 * meet (a key that does not match the certificate, an unusable server
 * name) once, before any load.
 */
static int
probe_config(struct mtls_config *cfg, const char *servername,
    struct mtls_error *err)
{
	struct mtls *tls = mtls_client();
	int sv[2] = { -1, -1 };
	int ret = -1;

	if (tls == NULL) {
		err->code = MTLS_ERR_NOMEM;
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -1;
	}
	if (mtls_configure(tls, cfg) == -1) {
		err->code = MTLS_ERR_TLS;
		snprintf(err->msg, sizeof(err->msg), "client configuration: %s",
		    mtls_error(tls));
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		err->code = MTLS_ERR_IO;
		snprintf(err->msg, sizeof(err->msg), "socketpair: %s",
		    strerror(errno));
		goto out;
	}
	if (mtls_connect_socket(tls, sv[0], servername) == -1) {
		err->code = MTLS_ERR_TLS;
		snprintf(err->msg, sizeof(err->msg), "%s", mtls_error(tls));
		goto out;
	}
	ret = 0;
out:
	mtls_free(tls);
	if (sv[0] != -1) {
		close(sv[0]);
		close(sv[1]);
	}
	return ret;
}

int
loadgen_run(const struct loadgen_options *opt, struct loadgen_stats *st,
    struct mtls_error *err)
{
	struct engine *e = NULL;
	int ret = -1;

	memset(st, 0, sizeof(*st));
	err->code = MTLS_OK;
	err->msg[0] = '\0';
	if (opt->conns < 1 || opt->duration <= 0 || opt->timeout <= 0 ||
	    opt->cfg == NULL ||
	    ((opt->mode == LOADGEN_RR || (opt->mode == LOADGEN_IDLE &&
	    opt->request != NULL)) && (opt->request_len == 0 ||
	    (opt->response_bytes == 0 && !opt->http))) ||
	    (opt->mode == LOADGEN_BULK && opt->block_size == 0)) {
		err->code = MTLS_ERR_USAGE;
		snprintf(err->msg, sizeof(err->msg),
		    "load generator: invalid options");
		return -1;
	}
	if (probe_config(opt->cfg, opt->servername, err) == -1)
		return -1;
	for (int i = 0; opt->slot_cfg != NULL && i < opt->conns; i++)
		if (probe_config(opt->slot_cfg[i], opt->servername, err) == -1)
			return -1;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		goto nomem;
	e->slots = calloc((size_t)opt->conns, sizeof(*e->slots));
	if (e->slots == NULL)
		goto nomem;
	e->loop = ev_loop_new(EVFLAG_AUTO);
	if (e->loop == NULL) {
		err->code = MTLS_ERR_IO;
		snprintf(err->msg, sizeof(err->msg),
		    "load generator: cannot create an event loop");
		goto out;
	}
	e->opt = opt;
	e->st = st;
	e->err = err;
	pattern_fill(e->pattern, sizeof(e->pattern));
	llhttp_settings_init(&e->http_settings);
	e->http_settings.on_message_complete = http_message_complete;

	for (int i = 0; i < opt->conns; i++) {
		struct slot *s = &e->slots[i];
		s->eng = e;
		s->fd = -1;
		ev_init(&s->io, slot_io_cb);
		s->io.data = s;
		ev_init(&s->timer, slot_timer_cb);
		s->timer.data = s;
	}
	ev_timer_init(&e->end, end_cb, opt->duration, 0.);
	e->end.data = e;
	ev_timer_start(e->loop, &e->end);
	ev_timer_init(&e->tick, tick_cb, 1., 1.);
	e->tick.data = e;
	ev_timer_start(e->loop, &e->tick);

	ev_now_update(e->loop);
	e->start_us = now_us();
	e->running = 1;
	/* Idle mode opens at most IDLE_OPENING connections at a time, each
	 * held one making room for the next: thousands of handshakes begun
	 * at once on a busy server all ran past the server's handshake
	 * timeout, and their retries kept it that way (9,000 connections
	 * never settled). */
	e->next_slot = opt->mode == LOADGEN_IDLE && opt->conns > IDLE_OPENING ?
	    IDLE_OPENING : opt->conns;
	for (int i = 0; i < e->next_slot && e->running; i++)
		slot_start(&e->slots[i]);
	if (e->running)
		ev_run(e->loop, 0);
	st->elapsed = (double)(now_us() - e->start_us) / 1e6;
	e->running = 0;
	if (opt->mode == LOADGEN_IDLE) {
		for (int i = 0; i < opt->conns; i++)
			if (e->slots[i].state == S_HOLD)
				st->ops++;
	}

	for (int i = 0; i < opt->conns; i++) {
		struct slot *s = &e->slots[i];
		ev_timer_stop(e->loop, &s->timer);
		slot_reset(s);
	}
	ev_timer_stop(e->loop, &e->end);
	ev_timer_stop(e->loop, &e->tick);
	ret = e->fatal ? -1 : 0;
	goto out;
nomem:
	err->code = MTLS_ERR_NOMEM;
	snprintf(err->msg, sizeof(err->msg), "load generator: out of memory");
out:
	if (e != NULL) {
		if (e->loop != NULL)
			ev_loop_destroy(e->loop);
		free(e->slots);
		free(e);
	}
	return ret;
}

/* ------------------------------------------------------------------ */
/* The check before a run                                             */
/* ------------------------------------------------------------------ */

/* Waits for fd until deadline (us, monotonic); 0 ready, -1 not. */
static int
preflight_wait(int fd, int want, uint64_t deadline)
{
	struct pollfd pfd = { fd, want == MTLS_WANT_POLLOUT ? POLLOUT : POLLIN,
	    0 };
	uint64_t now = now_us();

	if (now >= deadline)
		return -1;
	return poll(&pfd, 1, (int)((deadline - now) / 1000) + 1) > 0 ? 0 : -1;
}

int
loadgen_preflight(const struct loadgen_options *opt, struct mtls_error *err)
{
	uint64_t deadline = now_us() + (uint64_t)(opt->timeout * 1e6);
	struct mtls *tls = NULL;
	char buf[4096], req[512];
	size_t got = 0, off = 0;
	int fd, rc, ret = 0;
	ssize_t n;

	fd = socket(opt->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return 0;
	if ((connect(fd, (const struct sockaddr *)&opt->addr,
	    opt->addrlen) == -1 && (errno != EINPROGRESS ||
	    preflight_wait(fd, MTLS_WANT_POLLOUT, deadline) == -1)) ||
	    (tls = mtls_client()) == NULL || mtls_configure(tls, opt->cfg) ||
	    mtls_connect_socket(tls, fd, opt->servername) != 0)
		goto out; /* the run reports it */
	while ((rc = mtls_handshake(tls)) != 0)
		if (rc == -1 || preflight_wait(fd, rc, deadline) == -1)
			goto out;
	/* TLS 1.3: a refusal comes after our Finished; a short wait. */
	uint64_t verdict = now_us() + 500000;
	for (;;) {
		n = mtls_read(tls, buf, sizeof(buf));
		if (n >= 0 || n == -1)
			break;
		if (preflight_wait(fd, (int)n, verdict < deadline ? verdict :
		    deadline) == -1)
			break;
	}
	if (n == -1 && mtls_conn_alert_received(tls) != NULL)
		goto out; /* refused in TLS: the run counts it */
	if (mtls_conn_cert_sent(tls) && !mtls_conn_cert_reaches_ca_names(tls)) {
		err->code = MTLS_ERR_VERIFY;
		snprintf(err->msg, sizeof(err->msg), "the server accepts client "
		    "certificates from CAs that our chain does not lead to");
		ret = -1;
		goto out;
	}
	if (!opt->http && (mtls_conn_alpn(tls) == NULL ||
	    strcmp(mtls_conn_alpn(tls), "http/1.1") != 0))
		goto out;
	rc = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\n"
	    "Connection: close\r\n\r\n", opt->servername);
	if (rc < 0 || (size_t)rc >= sizeof(req))
		goto out;
	while (off < (size_t)rc) {
		n = mtls_write(tls, req + off, (size_t)rc - off);
		if (n > 0)
			off += (size_t)n;
		else if (n == -1 || preflight_wait(fd, (int)n, deadline) == -1)
			goto out;
	}
	/* A plain TCP backend (echo, rr) answers but never closes: stop as
	 * soon as the answer is not HTTP or says enough, and otherwise once
	 * it has been quiet for a moment (it used to wait out the whole
	 * timeout here before every run). */
	while (got < sizeof(buf) - 1) {
		n = mtls_read(tls, buf + got, sizeof(buf) - 1 - got);
		if (n > 0) {
			got += (size_t)n;
			if ((got >= 7 && strncmp(buf, "HTTP/1.", 7) != 0) ||
			    mtls_http_cert_refusal(buf, got) != NULL)
				break;
			uint64_t quiet = now_us() + 500000;
			if (quiet < deadline)
				deadline = quiet;
		} else if (n == 0 || n == -1 || preflight_wait(fd, (int)n,
		    deadline) == -1)
			break;
	}
	const char *why = mtls_http_cert_refusal(buf, got);
	if (why != NULL) {
		err->code = MTLS_ERR_VERIFY;
		snprintf(err->msg, sizeof(err->msg), "the server refused our "
		    "certificate: %s", why);
		ret = -1;
	}
out:
	mtls_free(tls);
	close(fd);
	return ret;
}
