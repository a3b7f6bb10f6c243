/*
 * test_hostport.c - the one HOST:PORT parser (mtls_tools.h), as a table:
 * IPv6 needs brackets, the port is 1 to 65535 in plain digits, an empty
 * host only where a listener allows it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "tools/mtls_tools.h"

static const struct {
	const char *in;
	int flags;
	const char *host;           /* NULL: refused */
	unsigned port;
	const char *why;            /* part of the message when refused */
} cases[] = {
	{ "localhost:443", 0, "localhost", 443, NULL },
	{ "127.0.0.1:1", 0, "127.0.0.1", 1, NULL },
	{ "[::1]:8443", 0, "::1", 8443, NULL },
	{ "[fe80::1%eth0]:65535", 0, "fe80::1%eth0", 65535, NULL },
	{ ":8443", MTLS_HOSTPORT_EMPTY_HOST, "", 8443, NULL },
	{ ":8443", 0, NULL, 0, "a host is required" },
	{ "localhost", 0, NULL, 0, "expected HOST:PORT" },
	{ "", 0, NULL, 0, "expected HOST:PORT" },
	{ "a:b:1", 0, NULL, 0, "brackets" },
	{ "::1:80", 0, NULL, 0, "brackets" },
	{ "[::1:80", 0, NULL, 0, "expected [IPv6]:PORT" },
	{ "[::1]80", 0, NULL, 0, "expected [IPv6]:PORT" },
	{ "[]:80", 0, NULL, 0, "expected [IPv6]:PORT" },
	{ "host:0", 0, NULL, 0, "the port must be 1 to 65535" },
	{ "host:65536", 0, NULL, 0, "the port must be 1 to 65535" },
	{ "host:99999", 0, NULL, 0, "not a port" },
	{ "host:", 0, NULL, 0, "not a port" },
	{ "host:+80", 0, NULL, 0, "not a port" },
	{ "host: 80", 0, NULL, 0, "not a port" },
	{ "host:0x50", 0, NULL, 0, "not a port" },
	{ "host:80x", 0, NULL, 0, "not a port" },
	{ "host:000080", 0, NULL, 0, "not a port" },
};

static void
test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char host[64] = "unchanged", why[256] = "";
		unsigned port = 0;
		int rc = mtls_hostport_parse(cases[i].in, cases[i].flags,
		    host, sizeof(host), &port, why, sizeof(why));

		if (cases[i].host != NULL) {
			if (rc != 0)
				fail_msg("'%s' refused: %s", cases[i].in, why);
			assert_string_equal(host, cases[i].host);
			assert_int_equal(port, cases[i].port);
		} else {
			if (rc != -1)
				fail_msg("'%s' accepted", cases[i].in);
			if (strstr(why, cases[i].why) == NULL)
				fail_msg("'%s': '%s' lacks '%s'", cases[i].in,
				    why, cases[i].why);
		}
	}
}

static void
test_host_too_long(void **state)
{
	(void)state;
	char host[4], why[128];
	unsigned port;

	assert_int_equal(mtls_hostport_parse("abcd:1", 0, host, sizeof(host),
	    &port, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "too long"));
	assert_int_equal(mtls_hostport_parse("abc:1", 0, host, sizeof(host),
	    &port, why, sizeof(why)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_host_too_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
