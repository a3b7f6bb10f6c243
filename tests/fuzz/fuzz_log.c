/*
 * fuzz_log - a peer's bytes through the proxy's log lines
 * (src/proxy/log.c) and the one escaper every --json output shares
 * (mtls_escape_next): a certificate subject, SANs, a server name and a
 * request path made of any bytes.
 *
 * Input: the first byte picks a line size (so that lines get cut), the
 * rest is the peer's text (up to a NUL; what follows is a second value).
 * Properties: a line is exactly one line (one newline, at its end, within
 * the buffer) with no other control byte; a JSON line is valid UTF-8,
 * starts with '{' and ends with "}\n"; the escaper alone gives valid UTF-8
 * without control bytes in JSON mode and consumes its input exactly.
 */
#include "fuzz.h"

#include "mtls_tools.h"
#include "proxy_int.h"

/* RFC 3629 well-formedness, written apart from the escaper's own. */
static int
valid_utf8(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i], need, min, cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, min = 0x80, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, min = 0x800, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, min = 0x10000, cp = c & 0x07;
		else
			return 0;
		for (unsigned k = 1; k <= need; k++) {
			if (i + k >= n || (p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

static void
check_line(const char *buf, size_t n, size_t cap, int json)
{
	FUZZ_ASSERT(n > 0 && n <= cap);
	FUZZ_ASSERT(buf[n - 1] == '\n');
	for (size_t i = 0; i + 1 < n; i++)
		FUZZ_ASSERT((unsigned char)buf[i] >= 0x20);
	if (json) {
		FUZZ_ASSERT(valid_utf8((const unsigned char *)buf, n));
		if (cap > 64) {
			FUZZ_ASSERT(buf[0] == '{');
			FUZZ_ASSERT(n >= 2 && buf[n - 2] == '}');
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *second, out[MTLS_ESCAPE_MAX], line[4096];
	size_t cap, n, used = 0, len;

	if (size < 1)
		return 0;
	cap = 16 + (size_t)data[0] * 16;
	if (cap > sizeof(line))
		cap = sizeof(line);
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	s[size] = '\0';
	len = strlen(s);
	second = s + len + (len < size - 1 ? 1 : 0);

	/* The escaper alone: every byte consumed, JSON output clean. */
	for (const char *p = s; (n = mtls_escape_next(p, MTLS_ESC_JSON,
	    out)) > 0; p += n) {
		FUZZ_ASSERT(n <= 4 && strlen(out) < MTLS_ESCAPE_MAX);
		FUZZ_ASSERT(valid_utf8((const unsigned char *)out,
		    strlen(out)));
		for (const char *q = out; *q; q++)
			FUZZ_ASSERT((unsigned char)*q >= 0x20);
		used += n;
	}
	FUZZ_ASSERT(used == len);

	/* The plain run a writer copies at once is what the escaper gives
	 * back unchanged byte by byte, under every flag it is used with. */
	static const int flag_sets[] = { 0, MTLS_ESC_JSON, MTLS_ESC_SPACE,
	    MTLS_ESC_KEEP_QUOTE };
	for (size_t f = 0; f < sizeof(flag_sets) / sizeof(flag_sets[0]); f++) {
		const char *p = s;
		size_t run = mtls_escape_plain(p, flag_sets[f]);

		for (size_t k = 0; k <= run && p[k] != '\0'; k++) {
			n = mtls_escape_next(p + k, flag_sets[f], out);
			FUZZ_ASSERT((k < run) == (n == 1 && out[0] == p[k] &&
			    out[1] == '\0' && (unsigned char)p[k] < 0x80));
		}
	}

	struct conn_record r = {
		.time = 1795000000.25, .client = "127.0.0.1:5000",
		.subject = s, .sans = second, .sni = second,
		.version = "TLSv1.3", .cipher = "TLS_AES_128_GCM_SHA256",
		.outcome = "rejected", .reason = s, .duration = 0.5,
	};
	struct request_record q = {
		.time = 1795000000.25, .client = "127.0.0.1:5000",
		.method = "GET", .path = s, .status = 200, .subject = second,
		.upstream = -1, .reason = NULL,
	};
	for (int json = 0; json <= 1; json++) {
		enum proxy_log_format f = json ? PROXY_LOG_JSON :
		    PROXY_LOG_TEXT;

		n = log_format_conn(line, cap, f, &r);
		check_line(line, n, cap, json);
		n = log_format_request(line, cap, f, &q);
		check_line(line, n, cap, json);
	}
	free(s);
	return 0;
}
