/*
 * http_buf.c - the growable buffer that forwarded heads, re-framed bodies
 * and refusals are written into.  Appends never overflow: one that cannot
 * be done (out of memory, or past the buffer's max) marks the buffer
 * failed and changes nothing, so a writer checks once at the end.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

static int
buf_room(struct http_buf *b, size_t n)
{
	size_t cap;
	char *d;

	if (b->failed)
		return 0;
	if (b->off > 0 && b->off == b->len)
		b->off = b->len = 0;
	if (n > SIZE_MAX / 2 - b->len || (b->max != 0 && b->len - b->off + n >
	    b->max)) {
		b->failed = 1;
		return 0;
	}
	if (b->len + n <= b->cap)
		return 1;
	if (b->off > 0) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->len + n <= b->cap)
			return 1;
	}
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n)
		cap *= 2;
	if ((d = realloc(b->data, cap)) == NULL) {
		b->failed = 1;
		return 0;
	}
	b->data = d;
	b->cap = cap;
	return 1;
}

void
http_buf_add(struct http_buf *b, const void *p, size_t n)
{
	if (n == 0 || !buf_room(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void
http_buf_adds(struct http_buf *b, const char *s)
{
	http_buf_add(b, s, strlen(s));
}

void
http_buf_printf(struct http_buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		http_buf_add(b, small, (size_t)n);
		return;
	}
	if (!buf_room(b, (size_t)n + 1))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
http_buf_consume(struct http_buf *b, size_t n)
{
	if (n > b->len - b->off)
		n = b->len - b->off;
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

void
http_buf_reset(struct http_buf *b)
{
	b->off = b->len = 0;
	b->failed = 0;
}

void
http_buf_free(struct http_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
	b->failed = 0;
}
