/*
 * test_loadgen.c - the pieces of mtls bench's load engine that need no
 * network: the log-linear latency histogram (exact below 64 us, within 1/64
 * above, quantiles never above the largest value) and the mode and error
 * names the JSON output relies on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "loadgen.h"

static struct loadgen_hist *
hist_new(void)
{
	struct loadgen_hist *h = calloc(1, sizeof(*h));
	assert_non_null(h);
	return h;
}

static void
test_hist_empty(void **state)
{
	struct loadgen_hist *h = hist_new();

	(void)state;
	assert_int_equal(loadgen_hist_quantile(h, 0.5), 0);
	assert_int_equal(loadgen_hist_quantile(h, 1.0), 0);
	free(h);
}

static void
test_hist_exact_small(void **state)
{
	struct loadgen_hist *h = hist_new();

	(void)state;
	/* 1..50: small values are kept exactly. */
	for (uint64_t v = 1; v <= 50; v++)
		loadgen_hist_add(h, v);
	assert_int_equal(h->n, 50);
	assert_int_equal(h->max, 50);
	assert_int_equal(loadgen_hist_quantile(h, 0.5), 25);
	assert_int_equal(loadgen_hist_quantile(h, 0.9), 45);
	assert_int_equal(loadgen_hist_quantile(h, 0.0), 1);
	assert_int_equal(loadgen_hist_quantile(h, 1.0), 50);
	free(h);
}

/* Every value from 1 us to about 100 s lands in a bucket whose upper edge
 * is within 1/64 above it. */
static void
test_hist_precision(void **state)
{
	(void)state;
	for (uint64_t v = 1; v < 100000000; v = v * 17 / 16 + 1) {
		struct loadgen_hist *h = hist_new();
		loadgen_hist_add(h, v);
		loadgen_hist_add(h, v * 4); /* so that max does not clamp */
		uint64_t q = loadgen_hist_quantile(h, 0.5);
		assert_true(q >= v);
		assert_true(q - v <= v / 64 + 1);
		free(h);
	}
}

static void
test_hist_quantiles(void **state)
{
	struct loadgen_hist *h = hist_new();

	(void)state;
	/* 900 fast operations (1 ms), 90 slower (10 ms), 10 slow (100 ms). */
	for (int i = 0; i < 900; i++)
		loadgen_hist_add(h, 1000);
	for (int i = 0; i < 90; i++)
		loadgen_hist_add(h, 10000);
	for (int i = 0; i < 10; i++)
		loadgen_hist_add(h, 100000);
	uint64_t p50 = loadgen_hist_quantile(h, 0.5);
	uint64_t p90 = loadgen_hist_quantile(h, 0.9);
	uint64_t p99 = loadgen_hist_quantile(h, 0.99);
	uint64_t p999 = loadgen_hist_quantile(h, 0.999);
	assert_true(p50 >= 1000 && p50 <= 1000 + 1000 / 64);
	assert_true(p90 >= 1000 && p90 <= 1000 + 1000 / 64);
	assert_true(p99 >= 10000 && p99 <= 10000 + 10000 / 64);
	assert_int_equal(p999, 100000); /* clamped to the largest value */
	assert_int_equal(h->max, 100000);
	assert_int_equal(h->sum, 900 * 1000 + 90 * 10000 + 10 * 100000);
	free(h);
}

static void
test_hist_huge(void **state)
{
	struct loadgen_hist *h = hist_new();

	(void)state;
	/* Beyond the last row: counted in the last bucket, max exact. */
	loadgen_hist_add(h, UINT64_MAX / 2);
	assert_int_equal(h->n, 1);
	assert_int_equal(loadgen_hist_quantile(h, 0.5), UINT64_MAX / 2);
	free(h);
}

static void
test_names(void **state)
{
	enum loadgen_mode m;

	(void)state;
	assert_int_equal(loadgen_mode_parse("handshake", &m), 0);
	assert_int_equal(m, LOADGEN_HANDSHAKE);
	assert_int_equal(loadgen_mode_parse("resume", &m), 0);
	assert_int_equal(m, LOADGEN_RESUME);
	assert_int_equal(loadgen_mode_parse("rr", &m), 0);
	assert_int_equal(m, LOADGEN_RR);
	assert_int_equal(loadgen_mode_parse("bulk", &m), 0);
	assert_int_equal(m, LOADGEN_BULK);
	assert_int_equal(loadgen_mode_parse("Handshake", &m), -1);
	assert_int_equal(loadgen_mode_parse("", &m), -1);
	assert_string_equal(loadgen_mode_name(LOADGEN_RR), "rr");
	for (int i = 0; i < LOADGEN_ERR_COUNT; i++) {
		const char *n = loadgen_err_name((enum loadgen_err)i);
		assert_non_null(n);
		assert_string_not_equal(n, "unknown");
		/* JSON keys: lower case and underscores only. */
		assert_int_equal(strspn(n, "abcdefghijklmnopqrstuvwxyz_"),
		    strlen(n));
	}
	assert_string_equal(loadgen_err_name(LOADGEN_ERR_COUNT), "unknown");
}

static void
test_stats_errors(void **state)
{
	struct loadgen_stats *s = calloc(1, sizeof(*s));

	(void)state;
	assert_non_null(s);
	s->errors[LOADGEN_ERR_TIMEOUT] = 2;
	s->errors[LOADGEN_ERR_HANDSHAKE] = 3;
	assert_int_equal(loadgen_stats_errors(s), 5);
	free(s);
}

static void
test_run_rejects_bad_options(void **state)
{
	struct loadgen_options o = { .conns = 0, .duration = 1, .timeout = 1 };
	struct loadgen_stats *s = calloc(1, sizeof(*s));
	struct mtls_error err;

	(void)state;
	assert_non_null(s);
	assert_int_equal(loadgen_run(&o, s, &err), -1);
	assert_int_equal(err.code, MTLS_ERR_USAGE);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hist_empty),
		cmocka_unit_test(test_hist_exact_small),
		cmocka_unit_test(test_hist_precision),
		cmocka_unit_test(test_hist_quantiles),
		cmocka_unit_test(test_hist_huge),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_stats_errors),
		cmocka_unit_test(test_run_rejects_bad_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
