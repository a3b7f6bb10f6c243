/*
 * test_proxy_pp2.c - the PROXY v2 encoder and parser: round trips for IPv4,
 * IPv6 and IPv4-mapped clients, the SSL TLV, names cut to fit a small
 * buffer without overflow, and malformed or short input refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "proxy_int.h"

static struct sockaddr_in
v4(const char *ip, unsigned port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	inet_pton(AF_INET, ip, &a.sin_addr);
	a.sin_port = htons((uint16_t)port);
	return a;
}

static struct sockaddr_in6
v6(const char *ip, unsigned port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 };
	inet_pton(AF_INET6, ip, &a.sin6_addr);
	a.sin6_port = htons((uint16_t)port);
	return a;
}

static void
test_roundtrip_v4(void **state)
{
	(void)state;
	struct sockaddr_in s = v4("192.0.2.7", 51000), d = v4("127.0.0.1", 443);
	struct pp2_info in = {
		.src = (struct sockaddr *)&s, .srclen = sizeof(s),
		.dst = (struct sockaddr *)&d, .dstlen = sizeof(d),
		.cert_conn = 1, .cert_sess = 1, .verified = 1,
		.version = "TLSv1.3", .cn = "client", .cipher =
		"TLS_AES_128_GCM_SHA256", .sig_alg = "ecdsa-with-SHA256",
		.key_alg = "EC256",
	};
	unsigned char buf[512];
	struct pp2_parsed p;
	size_t n = pp2_encode(buf, sizeof(buf), &in);

	assert_true(n > 16);
	/* Signature, version 2 / PROXY, TCP over IPv4. */
	assert_memory_equal(buf, "\r\n\r\n\0\r\nQUIT\n", 12);
	assert_int_equal(buf[12], 0x21);
	assert_int_equal(buf[13], 0x11);
	assert_int_equal((size_t)(buf[14] << 8 | buf[15]), n - 16);
	assert_int_equal(pp2_parse(buf, n, &p), (ssize_t)n);
	assert_string_equal(p.src, "192.0.2.7:51000");
	assert_string_equal(p.dst, "127.0.0.1:443");
	assert_true(p.has_ssl);
	assert_int_equal(p.client, PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN |
	    PP2_CLIENT_CERT_SESS);
	assert_int_equal(p.verify, 0);
	assert_string_equal(p.cn, "client");
	assert_string_equal(p.version, "TLSv1.3");
	assert_string_equal(p.cipher, "TLS_AES_128_GCM_SHA256");
	assert_string_equal(p.sig_alg, "ecdsa-with-SHA256");
	assert_string_equal(p.key_alg, "EC256");
}

static void
test_roundtrip_v6_and_mapped(void **state)
{
	(void)state;
	struct sockaddr_in6 s = v6("2001:db8::1", 4000), d = v6("::1", 443);
	struct sockaddr_in6 ms = v6("::ffff:10.1.2.3", 5000);
	struct sockaddr_in6 md = v6("::ffff:127.0.0.1", 8443);
	struct pp2_info in = {
		.src = (struct sockaddr *)&s, .srclen = sizeof(s),
		.dst = (struct sockaddr *)&d, .dstlen = sizeof(d),
	};
	unsigned char buf[256];
	struct pp2_parsed p;
	size_t n = pp2_encode(buf, sizeof(buf), &in);

	assert_int_equal(buf[13], 0x21);
	assert_int_equal(pp2_parse(buf, n, &p), (ssize_t)n);
	assert_string_equal(p.src, "[2001:db8::1]:4000");
	assert_string_equal(p.dst, "[::1]:443");
	/* No certificate: verify is non-zero, flags say SSL only. */
	assert_int_equal(p.client, PP2_CLIENT_SSL);
	assert_int_not_equal(p.verify, 0);
	assert_string_equal(p.cn, "");

	/* A dual-stack listener's IPv4 clients go out as TCP4. */
	in.src = (struct sockaddr *)&ms;
	in.dst = (struct sockaddr *)&md;
	n = pp2_encode(buf, sizeof(buf), &in);
	assert_int_equal(buf[13], 0x11);
	assert_int_equal(pp2_parse(buf, n, &p), (ssize_t)n);
	assert_string_equal(p.src, "10.1.2.3:5000");
	assert_string_equal(p.dst, "127.0.0.1:8443");
}

static void
test_long_names_bounded(void **state)
{
	(void)state;
	struct sockaddr_in s = v4("192.0.2.7", 1), d = v4("127.0.0.1", 2);
	char cn[5000];
	unsigned char buf[200 + 16];
	struct pp2_info in = {
		.src = (struct sockaddr *)&s, .srclen = sizeof(s),
		.dst = (struct sockaddr *)&d, .dstlen = sizeof(d),
		.cert_conn = 1, .verified = 1, .version = "TLSv1.2",
		.cn = cn, .cipher = "X",
	};
	struct pp2_parsed p;
	size_t n;

	memset(cn, 'a', sizeof(cn) - 1);
	cn[sizeof(cn) - 1] = '\0';
	memset(buf, 0xEE, sizeof(buf));
	n = pp2_encode(buf, 200, &in);
	assert_true(n <= 200);
	/* Nothing written past the limit. */
	for (size_t i = 200; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xEE);
	/* What was written is a valid header whose CN is a prefix. */
	memset(&p, 0, sizeof(p));
	assert_int_equal(pp2_parse(buf, n, &p), (ssize_t)n);
	assert_true(strlen(p.cn) > 0 && strlen(p.cn) < 200);
	assert_int_equal(strspn(p.cn, "a"), strlen(p.cn));
	/* A buffer too small for the fixed header, or for the addresses,
	 * writes no header rather than a broken one. */
	assert_int_equal(pp2_encode(buf, 10, &in), 0);
	assert_int_equal(pp2_encode(buf, 20, &in), 0);
	/* Just the addresses: a valid header without the SSL TLV. */
	n = pp2_encode(buf, 28, &in);
	assert_int_equal(n, 28);
	assert_int_equal(pp2_parse(buf, n, &p), 28);
	assert_false(p.has_ssl);
}

static void
test_parse_rejects(void **state)
{
	(void)state;
	struct sockaddr_in s = v4("192.0.2.7", 1), d = v4("127.0.0.1", 2);
	struct pp2_info in = {
		.src = (struct sockaddr *)&s, .srclen = sizeof(s),
		.dst = (struct sockaddr *)&d, .dstlen = sizeof(d),
		.cert_conn = 1, .verified = 1, .cn = "client",
	};
	unsigned char buf[256], bad[256];
	struct pp2_parsed p;
	size_t n = pp2_encode(buf, sizeof(buf), &in);

	/* Every prefix asks for more bytes, never more than it has. */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(pp2_parse(buf, i, &p), 0);
	assert_int_equal(pp2_parse((const unsigned char *)"GET / HTTP/1.1\r\n",
	    16, &p), -1);
	/* Bad command. */
	memcpy(bad, buf, n);
	bad[12] = 0x22;
	assert_int_equal(pp2_parse(bad, n, &p), -1);
	/* A TLV whose length runs past the header. */
	memcpy(bad, buf, n);
	bad[16 + 12 + 1] = 0xff;
	assert_int_equal(pp2_parse(bad, n, &p), -1);
	/* A length too short for the IPv4 addresses. */
	memcpy(bad, buf, n);
	bad[14] = 0;
	bad[15] = 4;
	assert_int_equal(pp2_parse(bad, n, &p), -1);
	/* A CN with a NUL inside is refused, not cut. */
	memcpy(bad, buf, n);
	for (size_t i = 16; i + 6 <= n; i++)
		if (memcmp(bad + i, "client", 6) == 0)
			bad[i + 2] = '\0';
	assert_int_equal(pp2_parse(bad, n, &p), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_v4),
		cmocka_unit_test(test_roundtrip_v6_and_mapped),
		cmocka_unit_test(test_long_names_bounded),
		cmocka_unit_test(test_parse_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
