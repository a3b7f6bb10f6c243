/*
 * bytes.h - the bounded byte reader: every parser of untrusted bytes (the
 * TLS trace decoder, PROXY protocol v2, and the HTTP and EST code to come)
 * reads through it, after s2n-tls's stuffer, never by pointer arithmetic
 * on the input.
 *
 * A reader is a view of len bytes at p with a cursor off (0 <= off <= len,
 * always).  Every read checks what is left first and, when there is not
 * enough, returns -1 and leaves the cursor where it was; a successful read
 * returns 0 and moves past what it read.  Nothing is copied and nothing is
 * allocated: a sub-reader (br_sub, br_vec) is a view of the same bytes, so
 * the input must outlive the readers made over it.  Integers are
 * big-endian (network order), as in TLS (RFC 8446 section 3.3) and PROXY
 * v2.  A length read from the wire is only ever used through br_vec or
 * br_take, which check it against what is left.
 *
 *     struct byte_reader r, list;
 *     unsigned type;
 *
 *     br_init(&r, buf, len);
 *     if (br_u8(&r, &type) != 0 || br_vec(&r, 2, &list) != 0)
 *             return -1;           // short or malformed input
 *     while (br_left(&list) > 0) ...
 *
 * Header-only, so that the proxy (which sees only this header of the
 * library's core) and the fuzz targets use the very same code.
 */
#ifndef MTLS_BYTES_H
#define MTLS_BYTES_H

#include <stddef.h>
#include <stdint.h>

struct byte_reader {
	const unsigned char *p;
	size_t len, off;
};

static inline void
br_init(struct byte_reader *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
}

/* Bytes not read yet. */
static inline size_t
br_left(const struct byte_reader *r)
{
	return r->len - r->off;
}

/* The next n bytes, in place. */
static inline int
br_take(struct byte_reader *r, size_t n, const unsigned char **out)
{
	if (br_left(r) < n)
		return -1;
	*out = r->p + r->off;
	r->off += n;
	return 0;
}

static inline int
br_skip(struct byte_reader *r, size_t n)
{
	const unsigned char *unused;

	return br_take(r, n, &unused);
}

/* An unsigned big-endian integer of n bytes (1 to 4). */
static inline int
br_uint(struct byte_reader *r, size_t n, size_t *out)
{
	const unsigned char *b;
	size_t v = 0;

	if (n == 0 || n > 4 || br_take(r, n, &b) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | b[i];
	*out = v;
	return 0;
}

static inline int
br_u8(struct byte_reader *r, unsigned *out)
{
	size_t v;

	if (br_uint(r, 1, &v) != 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static inline int
br_u16(struct byte_reader *r, unsigned *out)
{
	size_t v;

	if (br_uint(r, 2, &v) != 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static inline int
br_u32(struct byte_reader *r, uint32_t *out)
{
	size_t v;

	if (br_uint(r, 4, &v) != 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* The next n bytes as a reader of their own. */
static inline int
br_sub(struct byte_reader *r, size_t n, struct byte_reader *sub)
{
	const unsigned char *b;

	if (br_take(r, n, &b) != 0)
		return -1;
	br_init(sub, b, n);
	return 0;
}

/* A vector with an n-byte length prefix (TLS's <0..2^8-1> and the like,
 * RFC 8446 section 3.4), as a reader of its own.  On failure neither the
 * prefix nor the body is consumed. */
static inline int
br_vec(struct byte_reader *r, size_t n, struct byte_reader *sub)
{
	size_t at = r->off, len;

	if (br_uint(r, n, &len) != 0)
		return -1;
	if (br_sub(r, len, sub) != 0) {
		r->off = at;
		return -1;
	}
	return 0;
}

#endif
