/*
 * test_http.c - the llhttp glue (src/lib/http): pipelined requests come out
 * one event at a time whatever the read boundaries, a chunked body
 * de-chunked; every refusal RFC 9112 asks of a proxy gets its status; the
 * forwarded head drops identity headers in every spelling, hop-by-hop ones
 * and the names Connection lists, and frames the body itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "http/http.h"

/* Parses s fed step bytes at a time; returns a summary of the events:
 * "H:GET /a;B:5;E;" and, on error, "X:400". */
static const char *
summarize(const char *s, size_t step, char *out, size_t cap)
{
	struct http_parser *p = http_parser_new(HTTP_KIND_REQUEST, NULL);
	size_t len = strlen(s), off = 0, avail = 0, o = 0;
	struct http_ev ev;

	assert_non_null(p);
	out[0] = '\0';
	/* Until MORE with nothing left: a message that ends the input
	 * still gives its END. */
	for (;;) {
		if (avail == 0) {
			avail = len - off < step ? len - off : step;
		}
		size_t n = http_parse(p, s + off, avail, &ev);
		off += n;
		avail -= n;
		switch (ev.type) {
		case HTTP_EV_MORE:
			if (avail == 0 && off < len)
				avail = len - off < step ? len - off : step;
			else if (avail > 0 && n == 0)
				goto done;   /* upgrade: the rest is not HTTP */
			else if (off >= len)
				goto done;
			break;
		case HTTP_EV_HEAD: {
			const struct http_head *h = http_parser_head(p);
			o += (size_t)snprintf(out + o, cap - o, "H:%s %s;",
			    h->method_name, h->target);
			break;
		}
		case HTTP_EV_BODY:
			o += (size_t)snprintf(out + o, cap - o, "B:%zu;",
			    ev.len);
			break;
		case HTTP_EV_END:
			o += (size_t)snprintf(out + o, cap - o, "E;");
			break;
		case HTTP_EV_ERROR:
			o += (size_t)snprintf(out + o, cap - o, "X:%d",
			    ev.status);
			goto done;
		}
	}
done:
	http_parser_free(p);
	return out;
}

static void
test_pipelined(void **state)
{
	(void)state;
	const char *in = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
	    "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
	    "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3;ext=1\r\nabc\r\n0\r\nTrailer: t\r\n\r\n";
	char a[512], b[512];

	summarize(in, 1 << 20, a, sizeof(a));
	summarize(in, 1, b, sizeof(b));
	/* Byte by byte the body arrives in one-byte spans; the messages are
	 * the same. */
	assert_non_null(strstr(a, "H:GET /a;E;H:POST /b;B:5;E;H:POST /c;B:3;E;"));
	assert_non_null(strstr(b, "H:GET /a;E;H:POST /b;"));
	assert_non_null(strstr(b, "H:POST /c;"));
	assert_null(strstr(b, "X:"));
}

/* An answer whose fields are checked but not kept (serve --http passes
 * answers on as they are): the same refusals as when they are kept, in
 * reads of any size. */
static void
test_skip_fields(void **state)
{
	(void)state;
	static const struct {
		const char *msg;
		int ok;
	} cases[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
		  "Content-Length: 2\r\n\r\nok", 1 },
		{ "HTTP/1.1 200 OK\r\nServer : x\r\nContent-Length: 2\r\n"
		  "\r\nok", 0 },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nA\tB: x\r\n"
		  "\r\nok", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *m = cases[i].msg;
		size_t len = strlen(m);

		for (int kept = 0; kept < 2; kept++)
		for (size_t step = 1; step <= len; step += len - 1) {
			struct http_parser *p = http_parser_new(
			    HTTP_KIND_RESPONSE, NULL);
			size_t off = 0, end = 0;
			int heads = 0, ends = 0, errors = 0;
			struct http_ev ev;

			assert_non_null(p);
			if (!kept)
				http_parser_skip_fields(p);
			for (int guard = 0; guard < 1000 && !errors; guard++) {
				if (off == end && end < len)
					end = end + step < len ? end + step :
					    len;
				off += http_parse(p, m + off, end - off, &ev);
				if (ev.type == HTTP_EV_HEAD) {
					const struct http_head *h =
					    http_parser_head(p);
					heads++;
					assert_int_equal(h->status, 200);
					assert_int_equal(h->nfields,
					    kept ? 2 : 0);
					assert_true(h->has_length);
				}
				ends += ev.type == HTTP_EV_END;
				errors += ev.type == HTTP_EV_ERROR;
				if (ev.type == HTTP_EV_MORE && off == len)
					break;
			}
			if (cases[i].ok)
				assert_true(heads == 1 && ends == 1);
			else
				assert_true(errors == 1 && heads == 0);
			http_parser_free(p);
		}
	}
}

/* END comes as soon as a message is complete, whatever the read
 * boundaries: a caller that stops at MORE once every byte was taken has
 * already seen END (the EST server answers one request per connection
 * and never gets the bytes of a next one). */
static void
test_end_at_completion(void **state)
{
	(void)state;
	static const struct {
		enum http_kind kind;
		const char *msg;
		const char *want;
	} cases[] = {
		{ HTTP_KIND_REQUEST, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
		  "HE" },
		{ HTTP_KIND_REQUEST, "GET /a HTTP/1.0\r\n\r\n", "HE" },
		{ HTTP_KIND_REQUEST, "POST /b HTTP/1.1\r\nHost: x\r\n"
		  "Content-Length: 0\r\n\r\n", "HE" },
		{ HTTP_KIND_REQUEST, "POST /b HTTP/1.1\r\nHost: x\r\n"
		  "Content-Length: 5\r\n\r\nhello", "HBE" },
		{ HTTP_KIND_REQUEST, "POST /c HTTP/1.1\r\nHost: x\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		  "HBE" },
		{ HTTP_KIND_REQUEST, "POST /c HTTP/1.1\r\nHost: x\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n0\r\nT: 1\r\n\r\n", "HE" },
		{ HTTP_KIND_RESPONSE, "HTTP/1.1 200 OK\r\nContent-Length: 2"
		  "\r\n\r\nok", "HBE" },
		{ HTTP_KIND_RESPONSE, "HTTP/1.1 204 No Content\r\n\r\n", "HE" },
		{ HTTP_KIND_RESPONSE, "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
		  "chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", "HBE" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *m = cases[i].msg;
		size_t len = strlen(m);

		for (size_t step = 1; step <= len; step++) {
			struct http_parser *p = http_parser_new(cases[i].kind,
			    NULL);
			size_t off = 0, end = 0, o = 0;
			char got[64];
			struct http_ev ev;

			assert_non_null(p);
			got[0] = '\0';
			for (int guard = 0; guard < 1000; guard++) {
				size_t n;

				if (off == end && end < len)
					end = end + step < len ? end + step :
					    len;
				n = http_parse(p, m + off, end - off, &ev);
				off += n;
				if (ev.type == HTTP_EV_MORE && off == len)
					break;
				if (ev.type == HTTP_EV_MORE ||
				    o + 1 >= sizeof(got))
					continue;
				/* Body spans merge: "B" once per run. */
				if (ev.type == HTTP_EV_BODY && o > 0 &&
				    got[o - 1] == 'B')
					continue;
				got[o++] = "MHBEX"[ev.type];
				got[o] = '\0';
			}
			if (strcmp(got, cases[i].want) != 0)
				fail_msg("case %zu, reads of %zu bytes: got "
				    "'%s', want '%s'", i, step, got,
				    cases[i].want);
			assert_false(http_parser_busy(p));
			http_parser_free(p);
		}
	}
}

static void
test_refusals(void **state)
{
	(void)state;
	static const struct {
		const char *req;
		const char *want;
	} cases[] = {
		{ "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", "X:400" },
		{ "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", "X:400" },
		{ "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", "X:400" },
		{ "GET / HTTP/1.1\r\nHost : a\r\n\r\n", "X:400" },
		{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "X:400" },
		{ "GET / HTTP/1.1\r\n\r\n", "X:400" },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "X:400" },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n",
		  "X:400" },
		{ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
		  "X:400" },
		{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked"
		  "\r\n\r\n", "X:400" },
		{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, "
		  "chunked\r\n\r\n", "X:501" },
		{ "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "0\r\n\r\n", "X:400" },
		{ "GET / HTTP/1.2\r\nHost: a\r\n\r\n", "X:400" },
		/* HTTP/2's preface, and PRI in an HTTP/1.1 head: refused
		 * with the head (llhttp would wait past it for the rest of
		 * the preface). */
		{ "PRI * HTTP/2.0\r\n\r\n", "X:400" },
		{ "PRI http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", "X:400" },
		/* Absolute-form: http(s) only, no userinfo, no empty host,
		 * a port of digits, no fragment; other forms refused. */
		{ "GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", "X:400" },
		{ "GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", "X:400" },
		{ "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", "X:400" },
		{ "GET http://:80/ HTTP/1.1\r\nHost: a\r\n\r\n", "X:400" },
		{ "GET http://a:8x/ HTTP/1.1\r\nHost: a\r\n\r\n", "X:400" },
		{ "GET http://[::1/ HTTP/1.1\r\nHost: a\r\n\r\n", "X:400" },
		{ "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", "X:400" },
		/* Host is still required in HTTP/1.1 (RFC 9112 3.2). */
		{ "GET http://a/ HTTP/1.1\r\n\r\n", "X:400" },
		{ "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", "H:GET "
		  "http://a/;E;" },
		{ "GET HTTPS://a:8443?q HTTP/1.0\r\n\r\n", "H:GET "
		  "HTTPS://a:8443?q;E;" },
		{ "GET http://[::1]:8443/x HTTP/1.1\r\nHost: a\r\n\r\n",
		  "H:GET http://[::1]:8443/x;E;" },
		{ "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked"
		  "\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n", "X:400" },
	};
	char out[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		summarize(cases[i].req, 1 << 20, out, sizeof(out));
		if (strstr(out, cases[i].want) == NULL)
			fail_msg("case %zu: got '%s', want '%s'", i, out,
			    cases[i].want);
	}
}

/* A Transfer-Encoding llhttp does not read as chunked is refused before
 * its head is reported (a head with no framing, forwarded, would be a
 * complete request to the backend); one it does read so frames the body. */
static void
test_chunked_spellings(void **state)
{
	(void)state;
	static const struct {
		const char *te;
		const char *want;
	} cases[] = {
		{ "chunked", "H:POST /;B:3;E;" },
		{ "CHUNKED", "H:POST /;B:3;E;" },
		{ "chunked ", "H:POST /;B:3;E;" },
		{ "chunked\t", "X:400" },
		{ "\tchunked", "H:POST /;B:3;E;" },
		{ "chunked\t ", "X:400" },
		{ "chunked \t", "X:400" },
		{ " \tchunked \t", "X:400" },
	};
	char req[256], out[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(req, sizeof(req), "POST / HTTP/1.1\r\nHost: a\r\n"
		    "Transfer-Encoding: %s\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		    cases[i].te);
		summarize(req, sizeof(req), out, sizeof(out));
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, out,
			    cases[i].want);
		/* A byte at a time, a refusal still comes first. */
		summarize(req, 1, out, sizeof(out));
		if (strncmp(out, cases[i].want, 2) != 0)
			fail_msg("case %zu a byte at a time: got '%s'", i,
			    out);
	}
}

static void
test_limits(void **state)
{
	(void)state;
	char req[70000], out[256];
	size_t n;

	n = (size_t)snprintf(req, sizeof(req), "GET /");
	memset(req + n, 'a', 9000);
	snprintf(req + n + 9000, sizeof(req) - n - 9000, " HTTP/1.1\r\n\r\n");
	assert_string_equal(summarize(req, 4096, out, sizeof(out)), "X:414");

	n = (size_t)snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: a\r\n");
	for (int i = 0; i < 101; i++)
		n += (size_t)snprintf(req + n, sizeof(req) - n, "X-%d: v\r\n",
		    i);
	snprintf(req + n, sizeof(req) - n, "\r\n");
	assert_string_equal(summarize(req, 4096, out, sizeof(out)), "X:431");

	n = (size_t)snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nX: ");
	memset(req + n, 'v', 50000);
	snprintf(req + n + 50000, sizeof(req) - n - 50000, "\r\n\r\n");
	assert_string_equal(summarize(req, 4096, out, sizeof(out)), "X:431");
}

static void
test_forward(void **state)
{
	(void)state;
	const char *in = "POST /p HTTP/1.1\r\nHost: localhost:8443\r\n"
	    "X-Forwarded-Client-Cert: spoof\r\nx_forwarded_client_cert: s2\r\n"
	    "CLIENT-CERT: :AAAA:\r\nX-SSL-Client: legacy\r\n"
	    "Connection: keep-alive, X-Drop-Me\r\nX-Drop-Me: 1\r\n"
	    "X-Keep: yes\r\nTransfer-Encoding: chunked\r\n"
	    "Forwarded: for=evil\r\nX_Forwarded_For: 6.6.6.6\r\n\r\n";
	const char *strip[] = { "X-SSL-" };
	struct http_forward fw = { strip, 1, "localhost" };
	struct http_parser *p = http_parser_new(HTTP_KIND_REQUEST, NULL);
	struct http_buf out = { 0 };
	struct http_ev ev;
	char why[128], *s;
	const char add[] = "X-Forwarded-Client-Cert: Hash=ab\r\n";

	assert_true(http_parse(p, in, strlen(in), &ev) > 0);
	assert_int_equal(ev.type, HTTP_EV_HEAD);
	assert_int_equal(http_forward_head(http_parser_head(p), &fw, add,
	    sizeof(add) - 1, &out, why, sizeof(why)), 0);
	http_buf_add(&out, "", 1);
	s = out.data;
	assert_non_null(strstr(s, "POST /p HTTP/1.1\r\nHost: localhost:8443\r\n"
	    "X-Keep: yes\r\nTransfer-Encoding: chunked\r\n"
	    "X-Forwarded-Client-Cert: Hash=ab\r\n\r\n"));
	assert_null(strstr(s, "spoof"));
	assert_null(strstr(s, "s2"));
	assert_null(strstr(s, "AAAA"));
	assert_null(strstr(s, "legacy"));
	assert_null(strstr(s, "X-Drop-Me"));
	assert_null(strstr(s, "evil"));
	assert_null(strstr(s, "6.6.6.6"));

	/* Another server's name in Host: 421. */
	fw.sni = "other.example";
	http_buf_reset(&out);
	assert_int_equal(http_forward_head(http_parser_head(p), &fw, "", 0,
	    &out, why, sizeof(why)), 421);
	http_buf_free(&out);
	http_parser_free(p);

	/* Absolute-form (RFC 9112 3.2.2): the authority replaces every
	 * Host, the backend gets the origin-form, and the authority is what
	 * must name the SNI's server. */
	p = http_parser_new(HTTP_KIND_REQUEST, NULL);
	in = "GET http://LOCALHOST:8443?x=1 HTTP/1.1\r\nHost: evil\r\n"
	    "X-A: 1\r\n\r\n";
	assert_true(http_parse(p, in, strlen(in), &ev) > 0);
	assert_int_equal(ev.type, HTTP_EV_HEAD);
	fw.sni = "localhost";
	http_buf_reset(&out);
	assert_int_equal(http_forward_head(http_parser_head(p), &fw, "", 0,
	    &out, why, sizeof(why)), 0);
	http_buf_add(&out, "", 1);
	assert_string_equal(out.data, "GET /?x=1 HTTP/1.1\r\n"
	    "Host: LOCALHOST:8443\r\nX-A: 1\r\n\r\n");
	fw.sni = "evil";
	http_buf_reset(&out);
	assert_int_equal(http_forward_head(http_parser_head(p), &fw, "", 0,
	    &out, why, sizeof(why)), 421);
	http_buf_free(&out);
	http_parser_free(p);

	/* Client-Cert twice, in two spellings: 400. */
	p = http_parser_new(HTTP_KIND_REQUEST, NULL);
	in = "GET / HTTP/1.1\r\nHost: a\r\nClient-Cert: :AA:\r\n"
	    "client_cert: :BB:\r\n\r\n";
	assert_true(http_parse(p, in, strlen(in), &ev) > 0);
	assert_int_equal(ev.type, HTTP_EV_HEAD);
	fw.sni = NULL;
	assert_int_equal(http_forward_head(http_parser_head(p), &fw, "", 0,
	    &out, why, sizeof(why)), 400);
	http_buf_free(&out);
	http_parser_free(p);
}

static void
test_refusal_text(void **state)
{
	(void)state;
	struct http_buf out = { 0 };

	http_refusal(&out, 431);
	http_buf_add(&out, "", 1);
	assert_string_equal(out.data, "HTTP/1.1 431 Request Header Fields Too "
	    "Large\r\nContent-Type: text/plain\r\nContent-Length: 36\r\n"
	    "Connection: close\r\n\r\n431 Request Header Fields Too Large\n");
	http_buf_free(&out);
}

static void
test_identity_list(void **state)
{
	(void)state;
	unsigned f;
	char err[128];

	assert_int_equal(http_identity_parse("xfcc,client-cert-chain", &f,
	    err, sizeof(err)), 0);
	assert_int_equal(f, HTTP_ID_XFCC | HTTP_ID_CLIENT_CHAIN);
	assert_int_equal(http_identity_parse("xfcc,bogus", &f, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "'bogus'"));
	assert_true(http_name_is_identity("X_FORWARDED_client-CERT", 23));
	assert_false(http_name_is_identity("X-Forwarded-Client", 18));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_end_at_completion),
		cmocka_unit_test(test_skip_fields),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_chunked_spellings),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_forward),
		cmocka_unit_test(test_refusal_text),
		cmocka_unit_test(test_identity_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
