/*
 * fuzz_proxy_v2 - the PROXY protocol v2 codec of src/proxy/proxy_protocol.c
 * (HAProxy's doc/proxy-protocol.txt, section 2.2).
 *
 * 1. The raw input is parsed as a header (pp2_parse: the demo backend's
 *    reader): the length it returns is within the input.
 * 2. The input is also read as the writer's inputs: odd socket addresses
 *    (any family, any length, short ones included), strings up to 70000
 *    bytes (a certificate's CN has no useful bound), and an output buffer
 *    of any size.  The header written must fit the buffer exactly as
 *    allocated (ASan watches its end), and, when the buffer holds the
 *    whole SSL TLV, parse back to the same length, addresses and strings
 *    (cut strings being prefixes of what was given).
 */
#include "fuzz.h"

#include <arpa/inet.h>

#include "proxy_int.h"

#define STR_MAX 70000
/* The largest header: a 16-bit length after the 16-byte head. */
#define HDR_MAX (16 + 0xffff)

struct in {
	const uint8_t *p;
	size_t len, off;
};

static unsigned
take_u8(struct in *in)
{
	return in->off < in->len ? in->p[in->off++] : 0;
}

static unsigned
take_u16(struct in *in)
{
	unsigned lo = take_u8(in);
	return lo | take_u8(in) << 8;
}

/* A socket address of the chosen family and exactly the chosen length,
 * on the heap so that reading past it is caught; NULL for "none". */
static struct sockaddr *
take_addr(struct in *in, socklen_t *len)
{
	static const sa_family_t fams[] = { AF_INET, AF_INET6, AF_UNIX,
	    AF_UNSPEC };
	unsigned sel = take_u8(in), n = take_u8(in);
	struct sockaddr_storage ss;
	struct sockaddr *sa;

	if (sel % 5 == 4)
		return NULL;
	if (n > sizeof(ss))
		n = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	for (unsigned i = 0; i < n; i++)
		((uint8_t *)&ss)[i] = (uint8_t)take_u8(in);
	ss.ss_family = fams[sel % 4];
	if ((sa = malloc(n ? n : 1)) == NULL)
		abort();
	memcpy(sa, &ss, n);
	*len = (socklen_t)n;
	return sa;
}

static char *
take_str(struct in *in)
{
	size_t n = take_u16(in) + (take_u8(in) & 1) * 0x10000, i;
	char *s;

	if (n > STR_MAX)
		n = STR_MAX;
	if ((s = malloc(n + 1)) == NULL)
		abort();
	for (i = 0; i < n; i++) {
		/* Padding makes long strings cheap to ask for. */
		unsigned c = in->off < in->len ? take_u8(in) : 'A';
		s[i] = (char)(c ? c : 'A');
	}
	s[n] = '\0';
	return s;
}

/* want was given; got came back: equal, or a prefix when cut. */
static void
check_str(const char *want, const char *got, int cut)
{
	if (want == NULL) {
		FUZZ_ASSERT(got[0] == '\0');
		return;
	}
	size_t n = strlen(got);
	FUZZ_ASSERT(strncmp(want, got, n) == 0);
	if (!cut)
		FUZZ_ASSERT(want[n] == '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size, 0 };
	struct pp2_parsed parsed;
	struct pp2_info info;
	char *strs[5];
	unsigned flags;
	size_t cap, n, slen = 0;
	unsigned char *buf;
	ssize_t r;

	/* 1: the raw bytes as a header. */
	r = pp2_parse(data, size, &parsed);
	FUZZ_ASSERT(r >= -1 && r <= (ssize_t)size);
	if (r > 0)
		FUZZ_ASSERT(r >= 16);

	/* 2: the bytes as the writer's inputs. */
	memset(&info, 0, sizeof(info));
	flags = take_u8(&in);
	cap = take_u16(&in) % (HDR_MAX + 1);
	info.cert_conn = flags & 1;
	info.cert_sess = (flags >> 1) & 1;
	info.verified = (flags >> 2) & 1;
	info.src = take_addr(&in, &info.srclen);
	info.dst = take_addr(&in, &info.dstlen);
	for (int i = 0; i < 5; i++) {
		strs[i] = (flags >> (3 + i)) & 1 ? take_str(&in) : NULL;
		slen += strs[i] ? strlen(strs[i]) : 0;
	}
	info.version = strs[0];
	info.cn = strs[1];
	info.cipher = strs[2];
	info.sig_alg = strs[3];
	info.key_alg = strs[4];

	if ((buf = malloc(cap ? cap : 1)) == NULL)
		abort();
	n = pp2_encode(buf, cap, &info);
	FUZZ_ASSERT(n <= cap);
	if (n > 0) {
		r = pp2_parse(buf, n, &parsed);
		/* The parser refuses strings longer than its buffers; the
		 * writer's output must otherwise be a valid header. */
		int fits = (!strs[0] || strlen(strs[0]) < sizeof(parsed.version)) &&
		    (!strs[1] || strlen(strs[1]) < sizeof(parsed.cn)) &&
		    (!strs[2] || strlen(strs[2]) < sizeof(parsed.cipher)) &&
		    (!strs[3] || strlen(strs[3]) < sizeof(parsed.sig_alg)) &&
		    (!strs[4] || strlen(strs[4]) < sizeof(parsed.key_alg));
		if (fits)
			FUZZ_ASSERT(r == (ssize_t)n);
		if (r > 0) {
			FUZZ_ASSERT(!parsed.local);
			/* Maybe cut when the buffer was too small for all of
			 * it: head, addresses (at most 36), SSL TLV head, and
			 * each string with its own. */
			int cut = 16 + 36 + 8 + 5 * 3 + slen > cap;
			if (parsed.has_ssl) {
				check_str(info.version, parsed.version, cut);
				check_str(info.cn, parsed.cn, cut);
				check_str(info.cipher, parsed.cipher, cut);
				check_str(info.sig_alg, parsed.sig_alg, cut);
				check_str(info.key_alg, parsed.key_alg, cut);
				FUZZ_ASSERT(parsed.verify == ((info.cert_conn ||
				    info.cert_sess) && info.verified ? 0u : 1u));
			}
			if (parsed.family == AF_INET || parsed.family ==
			    AF_INET6)
				FUZZ_ASSERT(info.src != NULL && info.dst != NULL);
		}
	}
	free(buf);
	for (int i = 0; i < 5; i++)
		free(strs[i]);
	free((void *)info.src);
	free((void *)info.dst);
	return 0;
}
