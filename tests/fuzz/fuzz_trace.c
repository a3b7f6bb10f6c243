/*
 * fuzz_trace - the handshake trace of `mtls connect --trace` and `mtls
 * doctor` (src/lib/tls/trace.c): one line for each handshake message or alert
 * the peer sends, parsed from the raw message bytes OpenSSL's message
 * callback hands over, before any of it is authenticated.
 *
 * The first input byte picks the record type, the direction, and whether a
 * connection object is passed (cipher suites are then named); the second
 * the size of the line buffer; the rest is the message.  The line must
 * stay within its buffer, whatever its size.
 */
#include "fuzz.h"

#include <openssl/ssl.h>

#include "tls/tls_internal.h"

static SSL *ssl;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_method());

	(void)argc;
	(void)argv;
	if (ctx == NULL || (ssl = SSL_new(ctx)) == NULL)
		abort();
	SSL_CTX_free(ctx); /* ssl keeps its reference */
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int types[] = { SSL3_RT_HANDSHAKE, SSL3_RT_ALERT,
	    SSL3_RT_CHANGE_CIPHER_SPEC, SSL3_RT_HEADER,
	    SSL3_RT_INNER_CONTENT_TYPE };
	char *out;
	size_t outlen;

	if (size < 2)
		return 0;
	/* Both the trace's usual line size and a tiny one. */
	outlen = data[1] & 1 ? 1024 : (size_t)(data[1] >> 1) % 40;
	if ((out = malloc(outlen ? outlen : 1)) == NULL)
		abort();
	(void)trace_describe(data[0] & 0x20 ? ssl : NULL, data[0] & 1,
	    types[(data[0] >> 1) % 5], data + 2, size - 2, (data[0] >> 4) & 1,
	    out, outlen);
	if (outlen > 0)
		FUZZ_ASSERT(memchr(out, '\0', outlen) != NULL);
	free(out);
	return 0;
}
