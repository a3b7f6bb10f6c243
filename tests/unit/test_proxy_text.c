/*
 * test_proxy_text.c - the proxy's text: address forms and the loopback
 * rule, log lines (escaping of what comes from the peer, JSON validity),
 * the metrics page and the reason labels.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "proxy_int.h"

static void
test_addr_forms(void **state)
{
	(void)state;
	struct proxy_addr a[ADDR_MAX];
	char err[256], s[ADDR_STRLEN];

	assert_int_equal(addr_parse("127.0.0.1:8443", 0, a, ADDR_MAX, err,
	    sizeof(err)), 1);
	addr_format(&a[0].u.sa, a[0].len, s, sizeof(s));
	assert_string_equal(s, "127.0.0.1:8443");
	assert_true(addr_is_local(&a[0]));
	assert_int_equal(addr_parse("[::1]:443", 0, a, ADDR_MAX, err,
	    sizeof(err)), 1);
	addr_format(&a[0].u.sa, a[0].len, s, sizeof(s));
	assert_string_equal(s, "[::1]:443");
	assert_true(addr_is_local(&a[0]));
	assert_int_equal(addr_parse(":443", ADDR_LISTEN, a, ADDR_MAX, err,
	    sizeof(err)), 1);
	assert_int_equal(a[0].u.sa.sa_family, AF_INET6);
	assert_int_equal(addr_parse("unix:/run/app.sock", ADDR_UNIX, a,
	    ADDR_MAX, err, sizeof(err)), 1);
	assert_true(addr_is_local(&a[0]));
	addr_format(&a[0].u.sa, a[0].len, s, sizeof(s));
	assert_string_equal(s, "unix:/run/app.sock");
	assert_int_equal(addr_parse("192.0.2.1:80", 0, a, ADDR_MAX, err,
	    sizeof(err)), 1);
	assert_false(addr_is_local(&a[0]));
	assert_int_equal(addr_parse("[::ffff:127.0.0.2]:80", 0, a, ADDR_MAX,
	    err, sizeof(err)), 1);
	assert_true(addr_is_local(&a[0]));
}

static void
test_addr_errors(void **state)
{
	(void)state;
	struct proxy_addr a[ADDR_MAX];
	char err[256];

	assert_int_equal(addr_parse("127.0.0.1", 0, a, ADDR_MAX, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "HOST:PORT"));
	assert_int_equal(addr_parse("127.0.0.1:0", 0, a, ADDR_MAX, err,
	    sizeof(err)), -1);
	assert_int_equal(addr_parse("127.0.0.1:65536", 0, a, ADDR_MAX, err,
	    sizeof(err)), -1);
	assert_int_equal(addr_parse("127.0.0.1:80x", 0, a, ADDR_MAX, err,
	    sizeof(err)), -1);
	assert_int_equal(addr_parse("::1:80", 0, a, ADDR_MAX, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "brackets"));
	assert_int_equal(addr_parse("[::1:80", 0, a, ADDR_MAX, err,
	    sizeof(err)), -1);
	assert_int_equal(addr_parse(":80", 0, a, ADDR_MAX, err, sizeof(err)),
	    -1);
	assert_int_equal(addr_parse("unix:/x", 0, a, ADDR_MAX, err,
	    sizeof(err)), -1);
	assert_int_equal(addr_parse("unix:relative", ADDR_UNIX, a, ADDR_MAX,
	    err, sizeof(err)), -1);
	/* Not local: its own result, so that the command line can name
	 * the option that allows it; the message names none. */
	assert_int_equal(proxy_check_backend("192.0.2.1:80", 0, err,
	    sizeof(err)), PROXY_ADDR_NOT_LOCAL);
	assert_non_null(strstr(err, "plaintext would cross the network"));
	assert_null(strstr(err, "--"));
	assert_int_equal(proxy_check_backend("192.0.2.1:80", 1, err,
	    sizeof(err)), 0);
	assert_int_equal(proxy_check_backend("unix:/run/x", 0, err,
	    sizeof(err)), 0);
}

static void
test_log_escapes(void **state)
{
	(void)state;
	struct conn_record r = {
		.time = 1795000000.25, .client = "127.0.0.1:5000",
		.subject = "CN=evil\" outcome=ok\nforged",
		.sans = "DNS:a\\b", .version = "TLSv1.3",
		.cipher = "TLS_AES_128_GCM_SHA256", .resumed = 1,
		.bytes_in = 10, .bytes_out = 20, .duration = 1.5,
		.outcome = "rejected", .reason = "no rule allows CN=evil",
	};
	char buf[1024];
	size_t n = log_format_conn(buf, sizeof(buf), PROXY_LOG_TEXT, &r);

	assert_true(n > 0 && buf[n - 1] == '\n');
	buf[n] = '\0';
	/* One line, the quote escaped, the newline shown as \x0a. */
	assert_ptr_equal(strchr(buf, '\n'), buf + n - 1);
	assert_non_null(strstr(buf, "subject=\"CN=evil\\\" outcome=ok\\x0aforged\""));
	assert_non_null(strstr(buf, "outcome=rejected reason=\"no rule allows CN=evil\""));
	assert_non_null(strstr(buf, "resumed=yes in=10 out=20"));
	assert_non_null(strstr(buf, "2026-11-18T11:06:40.250Z client=127.0.0.1:5000 "));

	n = log_format_conn(buf, sizeof(buf), PROXY_LOG_JSON, &r);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\"subject\":\"CN=evil\\\" outcome=ok\\nforged\""));
	assert_non_null(strstr(buf, "\"sans\":\"DNS:a\\\\b\""));
	assert_non_null(strstr(buf, "\"resumed\":true"));
	assert_int_equal(buf[n - 2], '}');

	/* A tiny buffer: cut, but still one line, no overflow. */
	n = log_format_conn(buf, 16, PROXY_LOG_TEXT, &r);
	assert_true(n > 0 && n <= 16);
	assert_int_equal(buf[n - 1], '\n');
	assert_ptr_equal(memchr(buf, '\n', n), buf + n - 1);
}

/* A record formatted into buf, as a string. */
static const char *
log_line(char *buf, size_t cap, enum proxy_log_format f,
    const struct conn_record *r)
{
	size_t n = log_format_conn(buf, cap, f, r);

	buf[n] = '\0';
	return buf;
}

/* The ktls field: only when the kernel did something, in both formats
 * (absent from JSON too, not null). */
static void
test_log_ktls(void **state)
{
	(void)state;
	struct conn_record r = {
		.time = 1795000000.25, .client = "127.0.0.1:5000",
		.version = "TLSv1.2", .cipher = "x", .bytes_in = 1,
		.bytes_out = 2, .outcome = "ok",
	};
	char buf[1024];

	assert_null(strstr(log_line(buf, sizeof(buf), PROXY_LOG_TEXT, &r),
	    "ktls"));
	assert_null(strstr(log_line(buf, sizeof(buf), PROXY_LOG_JSON, &r),
	    "ktls"));
	r.ktls = "txrx";
	assert_non_null(strstr(log_line(buf, sizeof(buf), PROXY_LOG_TEXT, &r),
	    "resumed=no ktls=txrx in=1 out=2"));
	assert_non_null(strstr(log_line(buf, sizeof(buf), PROXY_LOG_JSON, &r),
	    "\"ktls\":\"txrx\",\"bytes_in\":1"));
}

/* UTF-8: well-formed kept as it is in both formats; a byte that is not
 * UTF-8 is \xNN in text and U+FFFD in JSON; C1 controls and U+2028 are
 * escaped; a line cut for room is still one line and still closes. */
static void
test_log_utf8(void **state)
{
	(void)state;
	struct conn_record r = {
		.time = 1795000000.25, .client = "127.0.0.1:5000",
		.subject = "CN=caf\xc3\xa9 \xff\xc3(\xed\xa0\x80\xc2\x85"
		    "\xe2\x80\xa8\x7f",
		.sni = "a\"b\\c\x01\xfe", .outcome = "rejected",
		.reason = "x",
	};
	char buf[4096], big[3000];
	size_t n = log_format_conn(buf, sizeof(buf), PROXY_LOG_TEXT, &r);

	buf[n] = '\0';
	assert_non_null(strstr(buf, "subject=\"CN=caf\xc3\xa9 \\xff\\xc3("
	    "\\xed\\xa0\\x80\\x85\\u2028\\x7f\""));
	assert_non_null(strstr(buf, " sni=\"a\\\"b\\\\c\\x01\\xfe\""));
	n = log_format_conn(buf, sizeof(buf), PROXY_LOG_JSON, &r);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\"subject\":\"CN=caf\xc3\xa9 \\ufffd"
	    "\\ufffd(\\ufffd\\ufffd\\ufffd\\u0085\\u2028\\u007f\""));
	assert_non_null(strstr(buf, "\"sni\":\"a\\\"b\\\\c\\u0001\\ufffd\""));
	for (size_t i = 0; i < n; i++)
		assert_true((unsigned char)buf[i] >= 0x20 || buf[i] == '\n');

	/* A subject longer than a value may be: cut with "...", and the
	 * counters after it still on the line. */
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	r.subject = big;
	r.bytes_out = 77;
	n = log_format_conn(buf, sizeof(buf), PROXY_LOG_JSON, &r);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "AAA...\""));
	assert_non_null(strstr(buf, "\"bytes_out\":77,"));
	assert_int_equal(buf[n - 2], '}');
	/* No room for everything: the line says it was cut, and closes. */
	n = log_format_conn(buf, 200, PROXY_LOG_JSON, &r);
	buf[n] = '\0';
	assert_true(n <= 200);
	assert_non_null(strstr(buf, ",\"truncated\":true}\n"));
	assert_null(strstr(buf, "AAA"));
	n = log_format_conn(buf, 200, PROXY_LOG_TEXT, &r);
	buf[n] = '\0';
	assert_non_null(strstr(buf, " truncated=yes\n"));
}

/* The tunnel's lines name the upstream; serve's have no such field. */
static void
test_log_upstream(void **state)
{
	(void)state;
	struct conn_record r = {
		.time = 1795000000.25, .client = "unix:",
		.upstream = "192.0.2.7:443", .subject = "CN=api",
		.version = "TLSv1.3", .cipher = "TLS_AES_128_GCM_SHA256",
		.outcome = "ok",
	};
	char buf[1024];
	size_t n = log_format_conn(buf, sizeof(buf), PROXY_LOG_TEXT, &r);

	buf[n] = '\0';
	assert_non_null(strstr(buf, " client=unix: upstream=192.0.2.7:443 "
	    "outcome=ok subject=\"CN=api\""));
	n = log_format_conn(buf, sizeof(buf), PROXY_LOG_JSON, &r);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\"client\":\"unix:\",\"upstream\":"
	    "\"192.0.2.7:443\",\"outcome\":\"ok\""));
	r.upstream = NULL;
	n = log_format_conn(buf, sizeof(buf), PROXY_LOG_TEXT, &r);
	buf[n] = '\0';
	assert_null(strstr(buf, "upstream"));
}

/* The tunnel's listener takes plaintext: loopback or unix only, unless
 * unsafe; its upstream is checked for form, not resolved. */
static void
test_tunnel_addrs(void **state)
{
	(void)state;
	char err[512];

	assert_int_equal(proxy_check_tunnel_listen("127.0.0.1:8080", 0, err,
	    sizeof(err)), 0);
	assert_int_equal(proxy_check_tunnel_listen("[::1]:8080", 0, err,
	    sizeof(err)), 0);
	assert_int_equal(proxy_check_tunnel_listen("unix:/run/t.sock", 0, err,
	    sizeof(err)), 0);
	assert_int_equal(proxy_check_tunnel_listen(":8080", 0, err,
	    sizeof(err)), PROXY_ADDR_NOT_LOCAL);
	assert_non_null(strstr(err, "every address"));
	assert_null(strstr(err, "--"));
	assert_int_equal(proxy_check_tunnel_listen("192.0.2.1:8080", 0, err,
	    sizeof(err)), PROXY_ADDR_NOT_LOCAL);
	assert_int_equal(proxy_check_tunnel_listen("192.0.2.1:8080", 1, err,
	    sizeof(err)), 0);
	assert_int_equal(proxy_check_tunnel_listen("unix:rel", 0, err,
	    sizeof(err)), -1);
	assert_int_equal(proxy_check_connect("api.example.invalid:443", err,
	    sizeof(err)), 0);
	assert_int_equal(proxy_check_connect("[2001:db8::1]:443", err,
	    sizeof(err)), 0);
	assert_int_equal(proxy_check_connect("api:0", err, sizeof(err)), -1);
	assert_int_equal(proxy_check_connect(":443", err, sizeof(err)), -1);
	assert_int_equal(proxy_check_connect("unix:/x", err, sizeof(err)), -1);
}

static void
test_metrics_page(void **state)
{
	(void)state;
	struct proxy_stats a = { 0 }, b = { 0 };
	struct proxy_stats *st[2] = { &a, &b };
	struct metrics_gauges g = { .cert_not_after = 2000, .crl_next_update =
	    1500, .reloads_ok = 3 };
	char page[16384];

	a.handshakes[HS_OK] = 2;
	b.handshakes[HS_OK] = 3;
	b.handshakes[MTLS_REJECT_REVOKED] = 1;
	a.active = 4;
	b.bytes_in = 100;
	stats_hs_latency(&a, 0.0007);
	stats_hs_latency(&b, 0.3);
	stats_hs_latency(&b, 99);
	metrics_render(page, sizeof(page), st, 2, &g, 1000);
	assert_non_null(strstr(page, "mtls_serve_handshakes_total{outcome=\"ok\",reason=\"\"} 5\n"));
	assert_non_null(strstr(page, "{outcome=\"rejected\",reason=\"certificate_revoked\"} 1\n"));
	assert_non_null(strstr(page, "mtls_serve_active_connections 4\n"));
	assert_non_null(strstr(page, "mtls_serve_bytes_total{direction=\"in\"} 100\n"));
	assert_non_null(strstr(page, "_bucket{le=\"0.0005\"} 0\n"));
	assert_non_null(strstr(page, "_bucket{le=\"0.001\"} 1\n"));
	assert_non_null(strstr(page, "_bucket{le=\"0.5\"} 2\n"));
	assert_non_null(strstr(page, "_bucket{le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(page, "mtls_serve_certificate_expiry_seconds 1000\n"));
	assert_non_null(strstr(page, "mtls_serve_crl_expiry_seconds 500\n"));
	assert_non_null(strstr(page, "mtls_serve_reloads_total{result=\"ok\"} 3\n"));
	assert_non_null(strstr(page, "# TYPE mtls_serve_backend_errors_total counter\n"));
	assert_null(strstr(page, "mtls_tunnel"));

	/* The tunnel's page: its own names, the upstream's errors. */
	g.tunnel = 1;
	metrics_render(page, sizeof(page), st, 2, &g, 1000);
	assert_non_null(strstr(page, "# TYPE mtls_tunnel_handshakes_total counter\n"));
	assert_non_null(strstr(page, "mtls_tunnel_handshakes_total{outcome=\"ok\",reason=\"\"} 5\n"));
	assert_non_null(strstr(page, "mtls_tunnel_upstream_errors_total 0\n"));
	assert_non_null(strstr(page, "mtls_tunnel_handshake_duration_seconds_count 3\n"));
	assert_null(strstr(page, "mtls_serve"));
}

/* The labels come from the library's reason codes, never from the words
 * of a refusal (which hold the client's name). */
static void
test_reason_labels(void **state)
{
	(void)state;
	assert_string_equal(hs_reason_name(MTLS_REJECT_NO_CERT),
	    "no_certificate");
	assert_string_equal(hs_reason_name(MTLS_REJECT_REVOKED),
	    "certificate_revoked");
	assert_string_equal(hs_reason_name(MTLS_REJECT_CRL), "crl_unavailable");
	assert_string_equal(hs_reason_name(MTLS_REJECT_EXPIRED),
	    "certificate_expired");
	assert_string_equal(hs_reason_name(MTLS_REJECT_NOT_YET_VALID),
	    "certificate_not_yet_valid");
	assert_string_equal(hs_reason_name(MTLS_REJECT_RULES), "access_denied");
	assert_string_equal(hs_reason_name(MTLS_REJECT_UNKNOWN_CA),
	    "unknown_ca");
	assert_string_equal(hs_reason_name(MTLS_REJECT_PROTOCOL),
	    "protocol_error");
	assert_string_equal(hs_reason_name(MTLS_REJECT_OTHER), "other");
	assert_string_equal(hs_reason_name(HS_TIMEOUT), "timeout");
	assert_string_equal(hs_reason_name(MTLS_REJECT_USAGE),
	    "unsupported_certificate");
	/* Every slot has a label of its own. */
	for (int i = 0; i < HS_NREASONS; i++)
		for (int j = i + 1; j < HS_NREASONS; j++)
			assert_string_not_equal(hs_reason_name(i),
			    hs_reason_name(j));
}

static void
test_relay_pool(void **state)
{
	(void)state;
	struct relay_pool pool = { 0 };
	struct relay_buf *b[RELAY_POOL_MAX + 4];

	for (size_t i = 0; i < RELAY_POOL_MAX + 4; i++)
		assert_non_null(b[i] = relay_buf_get(&pool));
	for (size_t i = 0; i < RELAY_POOL_MAX + 4; i++)
		relay_buf_put(&pool, b[i]);
	/* The pool keeps a bounded number; the rest went back to malloc. */
	assert_int_equal(pool.nfree, RELAY_POOL_MAX);
	b[0] = relay_buf_get(&pool);
	assert_int_equal(b[0]->off + b[0]->len, 0);
	relay_buf_put(&pool, b[0]);
	relay_buf_put(&pool, NULL);
	relay_pool_clear(&pool);
	assert_int_equal(pool.nfree, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_forms),
		cmocka_unit_test(test_addr_errors),
		cmocka_unit_test(test_log_escapes),
		cmocka_unit_test(test_log_ktls),
		cmocka_unit_test(test_log_utf8),
		cmocka_unit_test(test_log_upstream),
		cmocka_unit_test(test_tunnel_addrs),
		cmocka_unit_test(test_metrics_page),
		cmocka_unit_test(test_reason_labels),
		cmocka_unit_test(test_relay_pool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
