/*
 * log.c - the proxy's log: one line per connection, in text (key=value) or
 * JSON, written to stderr in whole lines, at most PIPE_BUF bytes per
 * write(2), so that lines from several workers never interleave.
 *
 * A record is described once, as a list of fields; one writer turns the list
 * into either format, so the two cannot drift apart.  Every string goes
 * through one escaper: a peer's bytes (subject, SANs, SNI, request path) can
 * neither forge a line nor make the JSON invalid (RFC 8259 section 8.1: JSON
 * text is UTF-8).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "mtls_tools.h"
#include "proxy_int.h"

/* Room kept at the end of a line for the marker of a cut line. */
#define LINE_RESERVE 24
/* A string value longer than this (escaped) is cut, so that one huge
 * subject does not push the counters off the line. */
#define VALUE_MAX 1024

/* A bounded line: appends past cap are dropped and counted as overflow. */
struct line {
	char *p;
	size_t cap, len;
	int over;
};

static void
l_putc(struct line *l, char c)
{
	if (l->len < l->cap)
		l->p[l->len++] = c;
	else
		l->over = 1;
}

/* n bytes as they are: what fits, the rest counted as overflow. */
static void
l_put(struct line *l, const char *s, size_t n)
{
	size_t room = l->cap - l->len;

	if (n > room) {
		n = room;
		l->over = 1;
	}
	memcpy(l->p + l->len, s, n);
	l->len += n;
}

static void
l_puts(struct line *l, const char *s)
{
	l_put(l, s, strlen(s));
}

static void PROXY_PRINTF(2, 3)
l_printf(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len >= l->cap) {
		l->over = 1;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(l->p + l->len, l->cap - l->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= l->cap - l->len) {
		l->over = 1;
		l->len = l->cap;
	} else {
		l->len += (size_t)n;
	}
}

/*
 * s escaped for fmt by the one escaper (mtls_escape_next): the same
 * characters in both formats, well-formed UTF-8 kept, a byte that is not
 * UTF-8 "\xNN" in text and U+FFFD in JSON.  In text, a bare word
 * (ESC_WORD) has its spaces escaped too, so that it stays one word, and a
 * message (ESC_MESSAGE, unquoted) keeps its quotes.  Cut, with "...", past
 * VALUE_MAX bytes.
 */
enum esc { ESC_QUOTED, ESC_WORD, ESC_MESSAGE };

static void
l_escaped(struct line *l, const char *s, enum proxy_log_format fmt,
    enum esc how)
{
	char one[MTLS_ESCAPE_MAX];
	size_t start = l->len, n;
	int flags = 0;

	if (fmt == PROXY_LOG_JSON)
		flags = MTLS_ESC_JSON;
	else if (how == ESC_WORD)
		flags = MTLS_ESC_SPACE;
	else if (how == ESC_MESSAGE)
		flags = MTLS_ESC_KEEP_QUOTE;
	for (;;) {
		/* A run of printable ASCII bytes the escaper would leave as
		 * they are goes in at once (a request line's path and the
		 * identity were a tenth of HTTP mode's work byte by
		 * byte); the same bytes and the same cut as the escaper's
		 * one at a time. */
		size_t run = mtls_escape_plain(s, flags), room;

		if (run > 0) {
			if (l->len - start >= VALUE_MAX) {
				l_puts(l, "...");
				return;
			}
			room = VALUE_MAX - (l->len - start);
			n = run < room ? run : room;
			l_put(l, s, n);
			s += n;
			continue;
		}
		if ((n = mtls_escape_next(s, flags, one)) == 0)
			break;
		if (l->len - start >= VALUE_MAX) {
			l_puts(l, "...");
			return;
		}
		l_puts(l, one);
		s += n;
	}
}

static void
l_json_str(struct line *l, const char *s)
{
	if (s == NULL) {
		l_puts(l, "null");
		return;
	}
	l_putc(l, '"');
	l_escaped(l, s, PROXY_LOG_JSON, ESC_QUOTED);
	l_putc(l, '"');
}

size_t
log_json_quote(char *buf, size_t cap, const char *s)
{
	struct line l = { buf, cap, 0, 0 };

	l_json_str(&l, s);
	return l.len;
}

static void
l_time(struct line *l, double t)
{
	/* A busy worker logs many lines within a second: the date and time
	 * are formatted once per second and thread, the milliseconds each
	 * time (printf and strftime were a fifth of a request's log line). */
	static __thread time_t last = (time_t)-1;
	static __thread char date[32];
	time_t sec = (time_t)t;
	int ms = (int)((t - (double)sec) * 1000) % 1000;

	if (sec != last) {
		struct tm tm;

		gmtime_r(&sec, &tm);
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
		last = sec;
	}
	l_puts(l, date);
	l_putc(l, '.');
	l_putc(l, (char)('0' + ms / 100));
	l_putc(l, (char)('0' + ms / 10 % 10));
	l_putc(l, (char)('0' + ms % 10));
	l_putc(l, 'Z');
}

/* An unsigned decimal, without printf. */
static void
l_u64(struct line *l, unsigned long long v)
{
	char d[24];
	size_t n = 0;

	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	while (n > 0)
		l_putc(l, d[--n]);
}

/* Seconds (>= 0) with three decimals, as "%.3f" writes them. */
static void
l_ms(struct line *l, double d)
{
	unsigned long long ms;

	if (!(d < 1e15)) {
		l_printf(l, "%.3f", d);
		return;
	}
	ms = (unsigned long long)(d * 1000.0 + 0.5);
	l_u64(l, ms / 1000);
	l_putc(l, '.');
	l_putc(l, (char)('0' + ms / 100 % 10));
	l_putc(l, (char)('0' + ms / 10 % 10));
	l_putc(l, (char)('0' + ms % 10));
}

/* ------------------------------------------------------------------ */
/* Records as fields                                                  */
/* ------------------------------------------------------------------ */

enum field_kind {
	F_TIME,          /* d: epoch seconds; RFC 3339 UTC, first in text */
	F_STR,           /* s: quoted in text */
	F_WORD,          /* s: bare in text (our own words, addresses) */
	F_INT,           /* i */
	F_U64,           /* u */
	F_SECS,          /* d: seconds; text adds "s"; < 0: none */
	F_NUM,           /* d: seconds without unit; < 0: none */
	F_BOOL,          /* i: true/false, yes/no */
};

/* Absent values: JSON writes null unless F_OPTIONAL, text leaves the field
 * out. */
#define F_OPTIONAL 1     /* absent: left out of JSON too */
#define F_NONEMPTY 2     /* "" counts as absent in text */

struct field {
	const char *json;    /* the key in JSON */
	const char *text;    /* the key in text; NULL: not in text */
	enum field_kind kind;
	int flags;
	const char *s;
	long long i;
	uint64_t u;
	double d;
};

static int
field_absent(const struct field *f, int json)
{
	switch (f->kind) {
	case F_STR:
	case F_WORD:
		return f->s == NULL ||
		    (!json && (f->flags & F_NONEMPTY) && f->s[0] == '\0');
	case F_SECS:
	case F_NUM:
		return f->d < 0;
	default:
		return 0;
	}
}

static void
field_write(struct line *l, enum proxy_log_format fmt, const struct field *f,
    int first)
{
	int json = fmt == PROXY_LOG_JSON;

	if (json) {
		l_puts(l, first ? "{\"" : ",\"");
		l_puts(l, f->json);
		l_puts(l, "\":");
	} else if (f->kind != F_TIME) {
		if (!first)
			l_putc(l, ' ');
		l_puts(l, f->text);
		l_putc(l, '=');
	}
	if (field_absent(f, json)) {
		l_puts(l, "null");
		return;
	}
	switch (f->kind) {
	case F_TIME:
		if (json)
			l_putc(l, '"');
		l_time(l, f->d);
		if (json)
			l_putc(l, '"');
		break;
	case F_STR:
	case F_WORD:
		if (json || f->kind == F_STR)
			l_putc(l, '"');
		l_escaped(l, f->s, fmt, f->kind == F_WORD ? ESC_WORD :
		    ESC_QUOTED);
		if (json || f->kind == F_STR)
			l_putc(l, '"');
		break;
	case F_INT:
		if (f->i < 0) {
			l_putc(l, '-');
			l_u64(l, 0ULL - (unsigned long long)f->i);
		} else {
			l_u64(l, (unsigned long long)f->i);
		}
		break;
	case F_U64:
		l_u64(l, (unsigned long long)f->u);
		break;
	case F_SECS:
	case F_NUM:
		l_ms(l, f->d);
		if (f->kind == F_SECS && !json)
			l_putc(l, 's');
		break;
	case F_BOOL:
		l_puts(l, json ? (f->i ? "true" : "false") :
		    (f->i ? "yes" : "no"));
		break;
	}
}

/*
 * One line from n fields, with '\n', into buf; returns its length.  A field
 * that does not fit is left out whole, with the ones after it, and the line
 * says so ("truncated"): a cut line is still one line and still JSON.
 */
static size_t
log_format(char *buf, size_t cap, enum proxy_log_format fmt,
    const struct field *f, size_t n)
{
	int json = fmt == PROXY_LOG_JSON, first = 1, cut = 0;
	size_t reserve = cap > 2 * LINE_RESERVE ? LINE_RESERVE : 0;
	struct line l = { buf, cap > reserve ? cap - 1 - reserve : 0, 0, 0 };

	if (cap == 0)
		return 0;
	for (size_t i = 0; i < n && !cut; i++) {
		size_t before = l.len;

		if (json ? (field_absent(&f[i], 1) &&
		    (f[i].flags & F_OPTIONAL)) :
		    (f[i].text == NULL || field_absent(&f[i], 0)))
			continue;
		field_write(&l, fmt, &f[i], first);
		if (l.over) {
			l.len = before;
			cut = 1;
		} else {
			first = 0;
		}
	}
	l.cap += reserve;
	l.over = 0;
	if (cut)
		l_puts(&l, json ? (first ? "{\"truncated\":true" :
		    ",\"truncated\":true") : (first ? "truncated=yes" :
		    " truncated=yes"));
	if (json && first && !cut)
		l_putc(&l, '{');
	if (json)
		l_putc(&l, '}');
	l.p[l.len++] = '\n';
	return l.len;
}

size_t
log_format_conn(char *buf, size_t cap, enum proxy_log_format fmt,
    const struct conn_record *r)
{
	const int tls = r->version != NULL;
	const struct field f[] = {
		{ "time", "", F_TIME, 0, .d = r->time },
		{ "service", "service", F_WORD, F_OPTIONAL, .s = r->service },
		{ "client", "client", F_WORD, 0, .s = r->client },
		{ "upstream", "upstream", F_WORD, F_OPTIONAL,
		    .s = r->upstream },
		{ "outcome", "outcome", F_WORD, 0, .s = r->outcome },
		{ "reason", "reason", F_STR, 0, .s = r->reason },
		{ "subject", "subject", F_STR, 0, .s = r->subject },
		{ "sans", "sans", F_STR, F_NONEMPTY, .s = r->sans },
		{ "sni", "sni", F_STR, 0, .s = r->sni },
		{ "tls_version", "tls", F_WORD, 0, .s = r->version },
		{ "cipher", "cipher", F_WORD, 0, .s = r->cipher },
		{ "resumed", tls ? "resumed" : NULL, F_BOOL, 0,
		    .i = r->resumed },
		{ "ktls", "ktls", F_WORD, F_OPTIONAL, .s = r->ktls },
		{ "bytes_in", "in", F_U64, 0, .u = r->bytes_in },
		{ "bytes_out", "out", F_U64, 0, .u = r->bytes_out },
		{ "duration", "duration", F_SECS, 0, .d = r->duration },
	};

	return log_format(buf, cap, fmt, f, sizeof(f) / sizeof(f[0]));
}

size_t
log_format_request(char *buf, size_t cap, enum proxy_log_format fmt,
    const struct request_record *r)
{
	const struct field f[] = {
		{ "time", "", F_TIME, 0, .d = r->time },
		{ "client", "client", F_WORD, 0, .s = r->client },
		{ "request", "request", F_WORD, 0, .s = r->method },
		{ "path", "path", F_STR, 0, .s = r->path },
		{ "status", "status", F_INT, 0, .i = r->status },
		{ "bytes_in", "bytes_in", F_U64, 0, .u = r->bytes_in },
		{ "bytes_out", "bytes_out", F_U64, 0, .u = r->bytes_out },
		{ "identity", "identity", F_STR, 0, .s = r->subject },
		{ "upstream_time", "upstream_time", F_NUM, 0,
		    .d = r->upstream },
		{ "reason", "reason", F_STR, 0, .s = r->reason },
	};

	return log_format(buf, cap, fmt, f, sizeof(f) / sizeof(f[0]));
}

size_t
log_format_est(char *buf, size_t cap, enum proxy_log_format fmt,
    const struct est_record *r)
{
	const struct field f[] = {
		{ "time", "", F_TIME, 0, .d = r->time },
		{ "client", "client", F_WORD, 0, .s = r->client },
		{ "method", "request", F_STR, 0, .s = r->method },
		{ "path", "path", F_STR, 0, .s = r->path },
		{ "status", "status", F_INT, 0, .i = r->status },
		{ "identity", "identity", F_STR, 0, .s = r->identity },
		{ "outcome", "outcome", F_WORD, 0, .s = r->outcome },
		{ "reason", "reason", F_STR, 0, .s = r->reason },
		{ "serial", "serial", F_WORD, 0, .s = r->serial },
		{ "duration", "duration", F_SECS, 0, .d = r->duration },
	};

	return log_format(buf, cap, fmt, f, sizeof(f) / sizeof(f[0]));
}

static void
log_write_now(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* A worker's lines wait in its thread's batch until its loop is about to
 * wait (log_flush()), so that a busy worker writes once per turn of its
 * loop rather than once per request.  A batch stays within PIPE_BUF:
 * one write(2) of whole lines, which lines of other workers cannot split,
 * to a pipe as to a file. */
#define LOG_BATCH 4096
static __thread char log_batch[LOG_BATCH];
static __thread size_t log_batch_len;
static __thread int log_batching;

void
log_batch_begin(void)
{
	log_batching = 1;
}

void
log_flush(void)
{
	if (log_batch_len > 0)
		log_write_now(log_batch, log_batch_len);
	log_batch_len = 0;
}

void
log_write(const char *buf, size_t len)
{
	if (!log_batching) {
		log_write_now(buf, len);
		return;
	}
	if (log_batch_len + len > LOG_BATCH)
		log_flush();
	if (len > LOG_BATCH) {
		log_write_now(buf, len);
		return;
	}
	memcpy(log_batch + log_batch_len, buf, len);
	log_batch_len += len;
}

/* An engine message; its text may quote a peer or a file, so it is escaped
 * like any field (in text without quotes: spaces stay). */
void
log_msg(enum proxy_log_format fmt, const char *level, const char *fmt_, ...)
{
	char buf[2048], text[1536];
	struct line l = { buf, sizeof(buf) - 2, 0, 0 };
	struct timeval tv;
	va_list ap;

	va_start(ap, fmt_);
	vsnprintf(text, sizeof(text), fmt_, ap);
	va_end(ap);
	gettimeofday(&tv, NULL);
	if (fmt == PROXY_LOG_JSON) {
		l_puts(&l, "{\"time\":\"");
		l_time(&l, (double)tv.tv_sec + tv.tv_usec / 1e6);
		l_puts(&l, "\",\"level\":");
		l_json_str(&l, level);
		l_puts(&l, ",\"message\":\"");
		l_escaped(&l, text, fmt, ESC_MESSAGE);
		l_puts(&l, "\"}");
	} else {
		l_time(&l, (double)tv.tv_sec + tv.tv_usec / 1e6);
		l_printf(&l, " %s: ", level);
		l_escaped(&l, text, fmt, ESC_MESSAGE);
	}
	l.p[l.len++] = '\n';
	log_write(buf, l.len);
}
