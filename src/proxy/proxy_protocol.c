/*
 * proxy_protocol.c - PROXY protocol version 2, the binary header that tells
 * the backend who the client is (HAProxy's doc/proxy-protocol.txt, 2.2):
 *
 *   12-byte signature, version/command, family/transport, 16-bit length,
 *   the addresses, then TLVs.  PP2_TYPE_SSL (0x20) holds a client flags
 *   byte, a 32-bit verify result (0 = the client certificate verified) and
 *   sub-TLVs: version 0x21, CN 0x22, cipher 0x23, signature algorithm 0x24
 *   and key algorithm 0x25 (the last two describe the certificate the
 *   proxy presented, as the specification says).
 *
 * Both directions go through a cursor over a bounded buffer: the writer
 * cuts strings that do not fit, the reader never takes a length from the
 * wire without checking it against what is left.
 */
#include <arpa/inet.h>
#include <string.h>

#include "bytes.h"
#include "proxy_int.h"

static const unsigned char pp2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

#define PP2_HDR_LEN 16
#define PP2_CMD_LOCAL 0x20
#define PP2_CMD_PROXY 0x21
#define PP2_FAM_UNSPEC 0x00
#define PP2_FAM_TCP4 0x11
#define PP2_FAM_TCP6 0x21
/* A TLV's value is at most this long: 16-bit length. */
#define PP2_TLV_MAX 0xffff

/* A bounded writer: bytes beyond cap are never written, and ok drops to 0
 * so that the caller knows something was cut. */
struct wcur {
	unsigned char *p;
	size_t cap, len;
};

static int
w_room(const struct wcur *w, size_t n)
{
	return w->cap - w->len >= n;
}

static void
w_put(struct wcur *w, const void *v, size_t n)
{
	if (!w_room(w, n))
		return;
	memcpy(w->p + w->len, v, n);
	w->len += n;
}

static void
w_u8(struct wcur *w, unsigned v)
{
	unsigned char b = (unsigned char)v;
	w_put(w, &b, 1);
}

static void
w_u16(struct wcur *w, unsigned v)
{
	unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };
	w_put(w, b, 2);
}

static void
w_u16_at(struct wcur *w, size_t at, size_t v)
{
	w->p[at] = (unsigned char)(v >> 8);
	w->p[at + 1] = (unsigned char)v;
}

/* A string sub-TLV, cut to what is left (keeping room for the TLV head). */
static void
w_tlv_str(struct wcur *w, unsigned type, const char *s)
{
	size_t n;

	if (s == NULL || !w_room(w, 3))
		return;
	n = strlen(s);
	if (n > w->cap - w->len - 3)
		n = w->cap - w->len - 3;
	if (n > PP2_TLV_MAX)
		n = PP2_TLV_MAX;
	w_u8(w, type);
	w_u16(w, (unsigned)n);
	w_put(w, s, n);
}

/* The IPv4 form of an IPv4-mapped IPv6 address (a dual-stack listener
 * sees IPv4 clients that way). */
static int
pp2_family(const struct sockaddr *sa, socklen_t len, struct sockaddr_in *v4)
{
	if (sa == NULL || len < sizeof(sa->sa_family))
		return AF_UNSPEC;
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		memcpy(v4, sa, sizeof(*v4));
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			memset(v4, 0, sizeof(*v4));
			v4->sin_family = AF_INET;
			memcpy(&v4->sin_addr, &in6->sin6_addr.s6_addr[12], 4);
			v4->sin_port = in6->sin6_port;
			return AF_INET;
		}
		return AF_INET6;
	}
	return AF_UNSPEC;
}

size_t
pp2_encode(unsigned char *buf, size_t cap, const struct pp2_info *in)
{
	struct wcur w = { buf, cap, 0 };
	struct sockaddr_in s4, d4;
	int sf = pp2_family(in->src, in->srclen, &s4);
	int df = pp2_family(in->dst, in->dstlen, &d4);
	size_t lenpos, sslpos;
	uint32_t verify;
	unsigned client;

	/* The header's length field is 16 bits: never write more than it can
	 * describe. */
	if (w.cap > PP2_HDR_LEN + PP2_TLV_MAX)
		w.cap = PP2_HDR_LEN + PP2_TLV_MAX;
	if (cap < PP2_HDR_LEN)
		return 0;
	w_put(&w, pp2_sig, sizeof(pp2_sig));
	w_u8(&w, PP2_CMD_PROXY);
	/* Both ends in one family, or no addresses at all (UNSPEC: the
	 * receiver then uses the connection's own addresses). */
	if (sf == AF_INET && df == AF_INET) {
		w_u8(&w, PP2_FAM_TCP4);
	} else if (sf == AF_INET6 && df == AF_INET6) {
		w_u8(&w, PP2_FAM_TCP6);
	} else {
		sf = AF_UNSPEC;
		w_u8(&w, PP2_FAM_UNSPEC);
	}
	lenpos = w.len;
	w_u16(&w, 0);
	/* Addresses cut in half would make the header invalid: without room
	 * for them there is no header at all. */
	if (!w_room(&w, sf == AF_INET ? 12 : sf == AF_INET6 ? 36 : 0))
		return 0;
	if (sf == AF_INET) {
		w_put(&w, &s4.sin_addr, 4);
		w_put(&w, &d4.sin_addr, 4);
		w_put(&w, &s4.sin_port, 2);
		w_put(&w, &d4.sin_port, 2);
	} else if (sf == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)in->src;
		const struct sockaddr_in6 *d6 = (const void *)in->dst;
		w_put(&w, &s6->sin6_addr, 16);
		w_put(&w, &d6->sin6_addr, 16);
		w_put(&w, &s6->sin6_port, 2);
		w_put(&w, &d6->sin6_port, 2);
	}

	/* PP2_TYPE_SSL: the value's length is patched in once the sub-TLVs
	 * are written. */
	if (w_room(&w, 3 + 5)) {
		client = PP2_CLIENT_SSL;
		if (in->cert_conn)
			client |= PP2_CLIENT_CERT_CONN;
		if (in->cert_sess)
			client |= PP2_CLIENT_CERT_SESS;
		verify = (in->cert_conn || in->cert_sess) && in->verified ?
		    0 : 1;
		w_u8(&w, PP2_TYPE_SSL);
		sslpos = w.len;
		w_u16(&w, 0);
		w_u8(&w, client);
		w_u8(&w, verify >> 24);
		w_u8(&w, verify >> 16);
		w_u8(&w, verify >> 8);
		w_u8(&w, verify);
		w_tlv_str(&w, PP2_SUBTYPE_SSL_VERSION, in->version);
		w_tlv_str(&w, PP2_SUBTYPE_SSL_CN, in->cn);
		w_tlv_str(&w, PP2_SUBTYPE_SSL_CIPHER, in->cipher);
		w_tlv_str(&w, PP2_SUBTYPE_SSL_SIG_ALG, in->sig_alg);
		w_tlv_str(&w, PP2_SUBTYPE_SSL_KEY_ALG, in->key_alg);
		w_u16_at(&w, sslpos, w.len - sslpos - 2);
	}
	w_u16_at(&w, lenpos, w.len - PP2_HDR_LEN);
	return w.len;
}

/* Copies a TLV value as a string: refused if it holds a NUL or does not
 * fit, so that a parsed name is never silently different. */
static int
r_str(const unsigned char *v, size_t n, char *dst, size_t cap)
{
	if (n >= cap || memchr(v, '\0', n) != NULL)
		return -1;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

static int
pp2_parse_ssl(const unsigned char *v, size_t n, struct pp2_parsed *out)
{
	struct byte_reader r;
	const unsigned char *val;
	unsigned type, len;

	br_init(&r, v, n);
	if (br_u8(&r, &type) == -1 || br_u32(&r, &out->verify) == -1)
		return -1;
	out->has_ssl = 1;
	out->client = (uint8_t)type;
	while (br_left(&r) > 0) {
		char *dst = NULL;
		size_t cap = 0;

		if (br_u8(&r, &type) == -1 || br_u16(&r, &len) == -1 ||
		    br_take(&r, len, &val) == -1)
			return -1;
		switch (type) {
		case PP2_SUBTYPE_SSL_VERSION:
			dst = out->version; cap = sizeof(out->version); break;
		case PP2_SUBTYPE_SSL_CN:
			dst = out->cn; cap = sizeof(out->cn); break;
		case PP2_SUBTYPE_SSL_CIPHER:
			dst = out->cipher; cap = sizeof(out->cipher); break;
		case PP2_SUBTYPE_SSL_SIG_ALG:
			dst = out->sig_alg; cap = sizeof(out->sig_alg); break;
		case PP2_SUBTYPE_SSL_KEY_ALG:
			dst = out->key_alg; cap = sizeof(out->key_alg); break;
		default:
			break;
		}
		if (dst != NULL && r_str(val, len, dst, cap) == -1)
			return -1;
	}
	return 0;
}

ssize_t
pp2_parse(const unsigned char *buf, size_t len, struct pp2_parsed *out)
{
	struct byte_reader hdr, r;
	const unsigned char *b, *val;
	unsigned cmd, fam, blen, type, tlen;
	struct sockaddr_in s4, d4;
	struct sockaddr_in6 s6, d6;
	size_t need, end;

	memset(out, 0, sizeof(*out));
	/* A prefix of the signature needs more bytes; anything else is not
	 * a PROXY v2 header. */
	need = len < sizeof(pp2_sig) ? len : sizeof(pp2_sig);
	if (memcmp(buf, pp2_sig, need) != 0)
		return -1;
	if (len < PP2_HDR_LEN)
		return 0;
	br_init(&hdr, buf, len);
	if (br_skip(&hdr, sizeof(pp2_sig)) == -1 || br_u8(&hdr, &cmd) == -1 ||
	    br_u8(&hdr, &fam) == -1 || br_u16(&hdr, &blen) == -1)
		return -1;
	if (cmd != PP2_CMD_LOCAL && cmd != PP2_CMD_PROXY)
		return -1;
	/* The addresses and TLVs: blen bytes, or wait for more. */
	if (br_sub(&hdr, blen, &r) == -1)
		return 0;
	end = PP2_HDR_LEN + (size_t)blen;
	out->local = cmd == PP2_CMD_LOCAL;
	out->family = AF_UNSPEC;
	if (fam == PP2_FAM_TCP4) {
		if (br_take(&r, 12, &b) == -1)
			return -1;
		memset(&s4, 0, sizeof(s4));
		memset(&d4, 0, sizeof(d4));
		s4.sin_family = d4.sin_family = AF_INET;
		memcpy(&s4.sin_addr, b, 4);
		memcpy(&d4.sin_addr, b + 4, 4);
		memcpy(&s4.sin_port, b + 8, 2);
		memcpy(&d4.sin_port, b + 10, 2);
		addr_format((struct sockaddr *)&s4, sizeof(s4), out->src,
		    sizeof(out->src));
		addr_format((struct sockaddr *)&d4, sizeof(d4), out->dst,
		    sizeof(out->dst));
		out->family = AF_INET;
	} else if (fam == PP2_FAM_TCP6) {
		if (br_take(&r, 36, &b) == -1)
			return -1;
		memset(&s6, 0, sizeof(s6));
		memset(&d6, 0, sizeof(d6));
		s6.sin6_family = d6.sin6_family = AF_INET6;
		memcpy(&s6.sin6_addr, b, 16);
		memcpy(&d6.sin6_addr, b + 16, 16);
		memcpy(&s6.sin6_port, b + 32, 2);
		memcpy(&d6.sin6_port, b + 34, 2);
		addr_format((struct sockaddr *)&s6, sizeof(s6), out->src,
		    sizeof(out->src));
		addr_format((struct sockaddr *)&d6, sizeof(d6), out->dst,
		    sizeof(out->dst));
		out->family = AF_INET6;
	} else if (fam != PP2_FAM_UNSPEC) {
		/* Unix and UDP families are valid PROXY v2 but never
		 * produced by this proxy; their addresses are skipped. */
		if (fam == 0x31 || fam == 0x32) {
			if (br_take(&r, 216, &b) == -1)
				return -1;
		} else if (fam == 0x12) {
			if (br_take(&r, 12, &b) == -1)
				return -1;
		} else if (fam == 0x22) {
			if (br_take(&r, 36, &b) == -1)
				return -1;
		} else {
			return -1;
		}
	}
	while (br_left(&r) > 0) {
		if (br_u8(&r, &type) == -1 || br_u16(&r, &tlen) == -1 ||
		    br_take(&r, tlen, &val) == -1)
			return -1;
		if (type == PP2_TYPE_SSL && pp2_parse_ssl(val, tlen, out) == -1)
			return -1;
	}
	return (ssize_t)end;
}
