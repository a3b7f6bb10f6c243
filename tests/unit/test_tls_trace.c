/*
 * test_tls_trace.c - the handshake trace's reading of messages from the
 * wire: the facts it pulls out of well-formed messages, and that every
 * truncation, lying length and random byte string is read within bounds
 * (run under valgrind or ASan to see an overread).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tls/tls_internal.h"

struct buf {
	unsigned char b[4096];
	size_t n;
};

static void
put(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void
put_u(struct buf *b, size_t v, size_t width)
{
	for (size_t i = width; i > 0; i--) {
		unsigned char c = (unsigned char)(v >> (8 * (i - 1)));
		put(b, &c, 1);
	}
}

/* Wraps body as a handshake message of type t. */
static void
handshake_msg(struct buf *out, int t, const struct buf *body)
{
	out->n = 0;
	put_u(out, (size_t)t, 1);
	put_u(out, body->n, 3);
	put(out, body->b, body->n);
}

static void
client_hello(struct buf *msg)
{
	struct buf body = { .n = 0 }, ext = { .n = 0 };
	unsigned char random[32] = { 1 };

	put_u(&body, 0x0303, 2);
	put(&body, random, 32);
	put_u(&body, 0, 1);                 /* session id */
	put_u(&body, 4, 2);                 /* two suites */
	put_u(&body, 0x1301, 2);
	put_u(&body, 0x1302, 2);
	put_u(&body, 1, 1);                 /* compression: null */
	put_u(&body, 0, 1);
	/* server_name: example.com */
	put_u(&ext, 0x0000, 2);
	put_u(&ext, 16, 2);
	put_u(&ext, 14, 2);
	put_u(&ext, 0, 1);
	put_u(&ext, 11, 2);
	put(&ext, "example.com", 11);
	/* supported_versions: GREASE, 1.3, 1.2 */
	put_u(&ext, 0x002b, 2);
	put_u(&ext, 7, 2);
	put_u(&ext, 6, 1);
	put_u(&ext, 0x0a0a, 2);
	put_u(&ext, 0x0304, 2);
	put_u(&ext, 0x0303, 2);
	/* key_share: X25519 */
	unsigned char key[32] = { 9 };
	put_u(&ext, 0x0033, 2);
	put_u(&ext, 2 + 4 + 32, 2);
	put_u(&ext, 4 + 32, 2);
	put_u(&ext, 0x001d, 2);
	put_u(&ext, 32, 2);
	put(&ext, key, 32);
	put_u(&body, ext.n, 2);
	put(&body, ext.b, ext.n);
	handshake_msg(msg, 1, &body);
}

static void
test_client_hello_facts(void **state)
{
	(void)state;
	struct buf msg;
	char line[512];

	client_hello(&msg);
	assert_int_equal(trace_describe(NULL, 1, SSL3_RT_HANDSHAKE, msg.b,
	    msg.n, 0, line, sizeof(line)), 1);
	assert_string_equal(line, "-> ClientHello: offers TLS 1.3, TLS 1.2; "
	    "2 cipher suites; key share X25519; SNI example.com");
	assert_int_equal(trace_describe(NULL, 0, SSL3_RT_HANDSHAKE, msg.b,
	    msg.n, 1, line, sizeof(line)), 1);
	assert_int_equal(strncmp(line, "<- ClientHello", 14), 0);
}

/* Every prefix of a valid message, and the same with its length fields
 * left claiming the full size. */
static void
test_truncations(void **state)
{
	(void)state;
	struct buf msg;
	char line[512];

	client_hello(&msg);
	for (size_t n = 0; n < msg.n; n++) {
		unsigned char *copy = malloc(n ? n : 1);
		memcpy(copy, msg.b, n);
		trace_describe(NULL, 1, SSL3_RT_HANDSHAKE, copy, n, 0, line,
		    sizeof(line));
		assert_true(strlen(line) < sizeof(line));
		free(copy);
	}
	/* A handshake length larger than what arrived. */
	unsigned char lie[8] = { 1, 0xff, 0xff, 0xff, 3, 3, 0, 0 };
	assert_int_equal(trace_describe(NULL, 1, SSL3_RT_HANDSHAKE, lie,
	    sizeof(lie), 0, line, sizeof(line)), 1);
	assert_string_equal(line, "-> (truncated handshake message)");
}

static void
test_certificate_request_ca_names(void **state)
{
	(void)state;
	struct buf body = { .n = 0 }, msg;
	X509_NAME *name = X509_NAME_new();
	unsigned char *der = NULL;
	char line[512];

	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"Test CA", -1, -1, 0);
	int dlen = i2d_X509_NAME(name, &der);
	assert_true(dlen > 0);
	/* TLS 1.2: types, signature algorithms, certificate_authorities */
	put_u(&body, 1, 1);
	put_u(&body, 64, 1);
	put_u(&body, 2, 2);
	put_u(&body, 0x0403, 2);
	put_u(&body, (size_t)dlen + 2, 2);
	put_u(&body, (size_t)dlen, 2);
	put(&body, der, (size_t)dlen);
	handshake_msg(&msg, 13, &body);
	assert_int_equal(trace_describe(NULL, 0, SSL3_RT_HANDSHAKE, msg.b,
	    msg.n, 0, line, sizeof(line)), 1);
	assert_string_equal(line, "<- CertificateRequest: the server asks "
	    "for a client certificate; CA names: CN=Test CA");

	/* A DN length pointing past the list. */
	body.n = 0;
	put_u(&body, 1, 1);
	put_u(&body, 64, 1);
	put_u(&body, 2, 2);
	put_u(&body, 0x0403, 2);
	put_u(&body, 4, 2);
	put_u(&body, 200, 2);
	put_u(&body, 0x3000, 2);
	handshake_msg(&msg, 13, &body);
	trace_describe(NULL, 0, SSL3_RT_HANDSHAKE, msg.b, msg.n, 0, line,
	    sizeof(line));
	assert_non_null(strstr(line, "CertificateRequest"));
	OPENSSL_free(der);
	X509_NAME_free(name);
}

static void
test_server_hello_and_hrr(void **state)
{
	(void)state;
	static const unsigned char hrr[32] = {
		0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d,
		0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16,
		0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8,
		0x33, 0x9c,
	};
	struct buf body = { .n = 0 }, msg;
	char line[512];

	put_u(&body, 0x0303, 2);
	put(&body, hrr, 32);
	put_u(&body, 0, 1);
	put_u(&body, 0x1301, 2);
	put_u(&body, 0, 1);
	put_u(&body, 12, 2);
	put_u(&body, 0x002b, 2);
	put_u(&body, 2, 2);
	put_u(&body, 0x0304, 2);
	put_u(&body, 0x0033, 2);
	put_u(&body, 2, 2);
	put_u(&body, 0x0017, 2);
	handshake_msg(&msg, 2, &body);
	trace_describe(NULL, 0, SSL3_RT_HANDSHAKE, msg.b, msg.n, 0, line,
	    sizeof(line));
	assert_string_equal(line, "<- HelloRetryRequest: the server wants a "
	    "key share for P-256");

	body.b[2] ^= 0xff; /* an ordinary random */
	handshake_msg(&msg, 2, &body);
	trace_describe(NULL, 0, SSL3_RT_HANDSHAKE, msg.b, msg.n, 0, line,
	    sizeof(line));
	assert_string_equal(line, "<- ServerHello: TLS 1.3, cipher suite "
	    "0x1301, key share P-256");
}

static void
test_alerts_and_others(void **state)
{
	(void)state;
	unsigned char alert[2] = { 2, 49 };
	unsigned char hdr[5] = { 20, 3, 3, 0, 1 };
	unsigned char fin[4] = { 20, 0, 0, 0 };
	char line[256];

	assert_int_equal(trace_describe(NULL, 0, SSL3_RT_ALERT, alert, 2, 0,
	    line, sizeof(line)), 1);
	assert_string_equal(line, "<- Alert from the server: fatal "
	    "access_denied");
	assert_int_equal(trace_describe(NULL, 1, SSL3_RT_ALERT, alert, 2, 1,
	    line, sizeof(line)), 1);
	assert_string_equal(line, "-> Alert from the server: fatal "
	    "access_denied");
	assert_int_equal(trace_describe(NULL, 0, SSL3_RT_ALERT, alert, 1, 0,
	    line, sizeof(line)), 0);
	assert_int_equal(trace_describe(NULL, 0, SSL3_RT_HEADER, hdr, 5, 0,
	    line, sizeof(line)), 1);
	assert_string_equal(line, "<- ChangeCipherSpec");
	hdr[0] = 22;
	assert_int_equal(trace_describe(NULL, 0, SSL3_RT_HEADER, hdr, 5, 0,
	    line, sizeof(line)), 0);
	assert_int_equal(trace_describe(NULL, 1, SSL3_RT_HANDSHAKE, fin, 4, 0,
	    line, sizeof(line)), 1);
	assert_string_equal(line, "-> Finished");
	/* A tiny output buffer is never overrun. */
	char small[8];
	trace_describe(NULL, 0, SSL3_RT_ALERT, alert, 2, 0, small,
	    sizeof(small));
	assert_int_equal(strlen(small), 7);
}

/* Random bytes of random lengths as every message type. */
static void
test_random_input(void **state)
{
	(void)state;
	unsigned char data[600];
	char line[512];
	unsigned seed = 12345;

	for (int i = 0; i < 5000; i++) {
		size_t n = (size_t)(rand_r(&seed) % (int)sizeof(data));
		for (size_t j = 0; j < n; j++)
			data[j] = (unsigned char)rand_r(&seed);
		if (n >= 4) {
			static const int types[] = { 1, 2, 4, 8, 11, 12, 13,
			    15, 20 };
			data[0] = (unsigned char)types[i % 9];
			/* Mostly honest lengths, so parsing goes deep. */
			if (i % 3 != 0) {
				data[1] = 0;
				data[2] = (unsigned char)((n - 4) >> 8);
				data[3] = (unsigned char)(n - 4);
			}
		}
		trace_describe(NULL, i & 1, SSL3_RT_HANDSHAKE, data, n, i & 2,
		    line, sizeof(line));
		assert_true(strlen(line) < sizeof(line));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_hello_facts),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_certificate_request_ca_names),
		cmocka_unit_test(test_server_hello_and_hrr),
		cmocka_unit_test(test_alerts_and_others),
		cmocka_unit_test(test_random_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
