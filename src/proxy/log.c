/*
 * log.c - the proxy's log: one line per connection, in text (key=value) or
 * JSON, written to stderr in whole lines, at most PIPE_BUF bytes per
 * write(2), so that lines from several workers never interleave.  Everything that comes from the peer (subject,
 * SANs) is escaped: a certificate must not be able to forge a log line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "proxy_int.h"

/* A bounded line: appends past cap are dropped and the line stays a
 * line (the caller reserves room for the newline). */
struct line {
	char *p;
	size_t cap, len;
};

static void
l_putc(struct line *l, char c)
{
	if (l->len < l->cap)
		l->p[l->len++] = c;
}

static void
l_puts(struct line *l, const char *s)
{
	while (*s != '\0')
		l_putc(l, *s++);
}

static void PROXY_PRINTF(2, 3)
l_printf(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len >= l->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->p + l->len, l->cap - l->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	l->len += (size_t)n < l->cap - l->len ? (size_t)n : l->cap - l->len;
}

/*
 * A quoted string with '"' and '\\' escaped and every byte outside printable
 * ASCII written as esc followed by two hex digits, so that a certificate
 * cannot forge a log line: "\\x" for text lines, "\\u00" for JSON (RFC 8259
 * section 7, valid JSON whatever the certificate held).
 */
static void
l_quoted(struct line *l, const char *s, const char *esc)
{
	static const char hex[] = "0123456789abcdef";

	l_putc(l, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			l_putc(l, '\\');
			l_putc(l, (char)*p);
		} else if (*p < 0x20 || *p >= 0x7f) {
			l_puts(l, esc);
			l_putc(l, hex[*p >> 4]);
			l_putc(l, hex[*p & 15]);
		} else {
			l_putc(l, (char)*p);
		}
	}
	l_putc(l, '"');
}

static void
l_text_str(struct line *l, const char *s)
{
	l_quoted(l, s, "\\x");
}

static void
l_json_str(struct line *l, const char *s)
{
	if (s == NULL)
		l_puts(l, "null");
	else
		l_quoted(l, s, "\\u00");
}

size_t
log_json_quote(char *buf, size_t cap, const char *s)
{
	struct line l = { buf, cap, 0 };

	l_json_str(&l, s);
	return l.len;
}

static void
l_time(struct line *l, double t)
{
	struct tm tm;
	time_t sec = (time_t)t;
	char buf[32];

	gmtime_r(&sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	l_printf(l, "%s.%03dZ", buf, (int)((t - (double)sec) * 1000) % 1000);
}

size_t
log_format_conn(char *buf, size_t cap, enum proxy_log_format fmt,
    const struct conn_record *r)
{
	struct line l = { buf, cap > 0 ? cap - 1 : 0, 0 };

	if (cap == 0)
		return 0;
	if (fmt == PROXY_LOG_JSON) {
		l_puts(&l, "{\"time\":\"");
		l_time(&l, r->time);
		l_puts(&l, "\",\"client\":");
		l_json_str(&l, r->client);
		if (r->service != NULL) {
			l_puts(&l, ",\"service\":");
			l_json_str(&l, r->service);
		}
		if (r->upstream != NULL) {
			l_puts(&l, ",\"upstream\":");
			l_json_str(&l, r->upstream);
		}
		l_puts(&l, ",\"outcome\":");
		l_json_str(&l, r->outcome);
		l_puts(&l, ",\"reason\":");
		l_json_str(&l, r->reason);
		l_puts(&l, ",\"subject\":");
		l_json_str(&l, r->subject);
		l_puts(&l, ",\"sans\":");
		l_json_str(&l, r->sans);
		l_puts(&l, ",\"tls_version\":");
		l_json_str(&l, r->version);
		l_puts(&l, ",\"cipher\":");
		l_json_str(&l, r->cipher);
		l_printf(&l, ",\"resumed\":%s,\"bytes_in\":%llu,"
		    "\"bytes_out\":%llu,\"duration\":%.3f}",
		    r->resumed ? "true" : "false",
		    (unsigned long long)r->bytes_in,
		    (unsigned long long)r->bytes_out, r->duration);
		/* A cut line is still valid JSON only if it closes; a line
		 * this long means a huge subject, which the cut keeps
		 * readable but the closing brace is forced. */
		if (l.len == l.cap && l.cap > 0)
			l.p[l.len - 1] = '}';
	} else {
		l_time(&l, r->time);
		if (r->service != NULL) {
			l_puts(&l, " service=");
			l_puts(&l, r->service);
		}
		l_puts(&l, " client=");
		l_puts(&l, r->client);
		if (r->upstream != NULL) {
			l_puts(&l, " upstream=");
			l_puts(&l, r->upstream);
		}
		l_puts(&l, " outcome=");
		l_puts(&l, r->outcome);
		if (r->reason != NULL) {
			l_puts(&l, " reason=");
			l_text_str(&l, r->reason);
		}
		if (r->subject != NULL) {
			l_puts(&l, " subject=");
			l_text_str(&l, r->subject);
		}
		if (r->sans != NULL && r->sans[0] != '\0') {
			l_puts(&l, " sans=");
			l_text_str(&l, r->sans);
		}
		if (r->version != NULL)
			l_printf(&l, " tls=%s", r->version);
		if (r->cipher != NULL)
			l_printf(&l, " cipher=%s", r->cipher);
		if (r->version != NULL)
			l_printf(&l, " resumed=%s", r->resumed ? "yes" : "no");
		l_printf(&l, " in=%llu out=%llu duration=%.3fs",
		    (unsigned long long)r->bytes_in,
		    (unsigned long long)r->bytes_out, r->duration);
	}
	l.p[l.len++] = '\n';
	return l.len;
}

size_t
log_format_request(char *buf, size_t cap, enum proxy_log_format fmt,
    const struct request_record *r)
{
	struct line l = { buf, cap > 0 ? cap - 1 : 0, 0 };

	if (cap == 0)
		return 0;
	if (fmt == PROXY_LOG_JSON) {
		l_puts(&l, "{\"time\":\"");
		l_time(&l, r->time);
		l_puts(&l, "\",\"client\":");
		l_json_str(&l, r->client);
		l_puts(&l, ",\"request\":");
		l_json_str(&l, r->method);
		l_puts(&l, ",\"path\":");
		l_json_str(&l, r->path);
		l_printf(&l, ",\"status\":%d,\"bytes_in\":%llu,"
		    "\"bytes_out\":%llu,\"identity\":", r->status,
		    (unsigned long long)r->bytes_in,
		    (unsigned long long)r->bytes_out);
		l_json_str(&l, r->subject);
		if (r->upstream >= 0)
			l_printf(&l, ",\"upstream_time\":%.3f", r->upstream);
		else
			l_puts(&l, ",\"upstream_time\":null");
		l_puts(&l, ",\"reason\":");
		l_json_str(&l, r->reason);
		l_putc(&l, '}');
		if (l.len == l.cap && l.cap > 0)
			l.p[l.len - 1] = '}';
	} else {
		l_time(&l, r->time);
		l_puts(&l, " client=");
		l_puts(&l, r->client);
		l_puts(&l, " request=");
		l_puts(&l, r->method);
		l_puts(&l, " path=");
		l_text_str(&l, r->path);
		l_printf(&l, " status=%d bytes_in=%llu bytes_out=%llu",
		    r->status, (unsigned long long)r->bytes_in,
		    (unsigned long long)r->bytes_out);
		if (r->subject != NULL) {
			l_puts(&l, " identity=");
			l_text_str(&l, r->subject);
		}
		if (r->upstream >= 0)
			l_printf(&l, " upstream_time=%.3f", r->upstream);
		if (r->reason != NULL) {
			l_puts(&l, " reason=");
			l_text_str(&l, r->reason);
		}
	}
	buf[l.len++] = '\n';
	return l.len;
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

void
log_msg(enum proxy_log_format fmt, const char *level, const char *fmt_, ...)
{
	char buf[2048], text[1536];
	struct line l = { buf, sizeof(buf) - 1, 0 };
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
		l_puts(&l, ",\"message\":");
		l_json_str(&l, text);
		l_putc(&l, '}');
	} else {
		l_time(&l, (double)tv.tv_sec + tv.tv_usec / 1e6);
		l_printf(&l, " %s: %s", level, text);
	}
	l.p[l.len++] = '\n';
	log_write(buf, l.len);
}

size_t
log_format_est(char *buf, size_t cap, enum proxy_log_format fmt,
    const struct est_record *r)
{
	struct line l = { buf, cap > 0 ? cap - 1 : 0, 0 };

	if (cap == 0)
		return 0;
	if (fmt == PROXY_LOG_JSON) {
		l_puts(&l, "{\"time\":\"");
		l_time(&l, r->time);
		l_puts(&l, "\",\"client\":");
		l_json_str(&l, r->client);
		l_puts(&l, ",\"method\":");
		l_json_str(&l, r->method);
		l_puts(&l, ",\"path\":");
		l_json_str(&l, r->path);
		l_printf(&l, ",\"status\":%d,\"identity\":", r->status);
		l_json_str(&l, r->identity);
		l_puts(&l, ",\"outcome\":");
		l_json_str(&l, r->outcome);
		l_puts(&l, ",\"reason\":");
		l_json_str(&l, r->reason);
		l_puts(&l, ",\"serial\":");
		l_json_str(&l, r->serial);
		l_printf(&l, ",\"duration\":%.3f}", r->duration);
		if (l.len == l.cap && l.cap > 0)
			l.p[l.len - 1] = '}';
	} else {
		l_time(&l, r->time);
		l_puts(&l, " client=");
		l_puts(&l, r->client);
		l_puts(&l, " request=");
		l_text_str(&l, r->method);
		l_puts(&l, " path=");
		l_text_str(&l, r->path);
		l_printf(&l, " status=%d identity=", r->status);
		l_text_str(&l, r->identity);
		l_puts(&l, " outcome=");
		l_puts(&l, r->outcome);
		if (r->reason != NULL) {
			l_puts(&l, " reason=");
			l_text_str(&l, r->reason);
		}
		if (r->serial != NULL)
			l_printf(&l, " serial=%s", r->serial);
		l_printf(&l, " duration=%.3fs", r->duration);
	}
	l.p[l.len++] = '\n';
	return l.len;
}
