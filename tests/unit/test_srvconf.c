/*
 * test_srvconf.c - the readers of nginx, Apache httpd and HAProxy
 * configurations (doctor/srvconf_parse.c): quoting, escapes, comments,
 * blocks and sections, line numbers, and the syntax errors the servers
 * themselves report.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "doctor/srvconf.h"

static void
parse(struct sc_tree *t, enum mtls_software sw, const char *text)
{
	assert_int_equal(sc_parse_mem(t, "test.conf", text, strlen(text), sw),
	    0);
}

static void
test_nginx_words(void **state)
{
	(void)state;
	struct sc_tree t;
	const struct sc_node *http, *server;

	parse(&t, MTLS_SOFTWARE_NGINX,
	    "# a comment\n"
	    "http {\n"
	    "  server {\n"
	    "    listen 8443 ssl; # after\n"
	    "    add_header X \"a b;c\" 'it\\'s';\n"
	    "    location / { return 200; }\n"
	    "  }\n"
	    "}\n");
	assert_false(t.failed);
	assert_int_equal(t.root.nkids, 1);
	http = &t.root.kids[0];
	assert_string_equal(http->name, "http");
	assert_true(http->block);
	server = &http->kids[0];
	assert_int_equal(server->line, 3);
	assert_int_equal(server->nkids, 3);
	assert_string_equal(server->kids[0].name, "listen");
	assert_int_equal(server->kids[0].nargs, 2);
	assert_string_equal(server->kids[0].args[1], "ssl");
	assert_string_equal(server->kids[1].args[1], "a b;c");
	assert_string_equal(server->kids[1].args[2], "it's");
	assert_int_equal(server->kids[1].line, 5);
	assert_string_equal(server->kids[2].args[0], "/");
	assert_int_equal(server->kids[2].nkids, 1);
	sc_tree_free(&t);
}

static void
test_nginx_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		unsigned line;
		const char *msg;
	} cases[] = {
		{ "server {\n  listen 1\n}\n", 3, "unexpected \"}\"" },
		{ "server {\n  listen 1;\n", 3, "expecting \"}\"" },
		{ "a \"b\n\n", 3, "unterminated" },
		{ "}\n", 1, "unexpected \"}\"" },
		{ "include x.conf;\n", 0, "not followed" },
	};
	struct sc_tree t;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse(&t, MTLS_SOFTWARE_NGINX, cases[i].text);
		assert_true(t.failed);
		assert_int_equal(t.err_line, cases[i].line);
		assert_non_null(strstr(t.err_msg, cases[i].msg));
		sc_tree_free(&t);
	}
}

static void
test_apache_sections(void **state)
{
	(void)state;
	struct sc_tree t;
	const struct sc_node *vh, *loc;

	parse(&t, MTLS_SOFTWARE_APACHE,
	    "# comment\n"
	    "<VirtualHost *:443>\n"
	    "  SSLEngine on\n"
	    "  RequestHeader set X-A \\\n"
	    "      \"%{SSL_CLIENT_S_DN}s\"\n"
	    "  <Location \"/admin\">\n"
	    "    SSLVerifyClient require # not a comment in Apache\n"
	    "  </Location>\n"
	    "</virtualhost>\n");
	assert_false(t.failed);
	vh = &t.root.kids[0];
	assert_string_equal(vh->name, "VirtualHost");
	assert_string_equal(vh->args[0], "*:443");
	assert_int_equal(vh->nkids, 3);
	assert_string_equal(vh->kids[1].args[2], "%{SSL_CLIENT_S_DN}s");
	assert_int_equal(vh->kids[1].line, 4);
	loc = &vh->kids[2];
	assert_true(sc_is(loc, "location"));
	assert_string_equal(loc->args[0], "/admin");
	assert_int_equal(loc->kids[0].nargs, 7);
	assert_int_equal(loc->kids[0].line, 7);
	sc_tree_free(&t);

	parse(&t, MTLS_SOFTWARE_APACHE, "<VirtualHost *:443>\n</Location>\n");
	assert_true(t.failed);
	assert_int_equal(t.err_line, 2);
	sc_tree_free(&t);
	parse(&t, MTLS_SOFTWARE_APACHE, "<VirtualHost *:443>\nSSLEngine on\n");
	assert_true(t.failed);
	assert_non_null(strstr(t.err_msg, "not closed"));
	sc_tree_free(&t);
	parse(&t, MTLS_SOFTWARE_APACHE, "<Location \"\"\n");
	assert_true(t.failed);
	sc_tree_free(&t);
}

static void
test_haproxy_sections(void **state)
{
	(void)state;
	struct sc_tree t;
	const struct sc_node *fe;

	parse(&t, MTLS_SOFTWARE_HAPROXY,
	    "global\n"
	    "  ssl-load-extra-del-ext\n"
	    "frontend fe # the front\n"
	    "  bind :8443 ssl crt \"/a b/c.crt\" verify required\n"
	    "  http-request set-header X %[ssl_c_s_dn]\\ x\n"
	    "backend be\n"
	    "  server app 127.0.0.1:8080\n");
	assert_false(t.failed);
	assert_int_equal(t.root.nkids, 3);
	fe = &t.root.kids[1];
	assert_string_equal(fe->name, "frontend");
	assert_int_equal(fe->nargs, 1);
	assert_int_equal(fe->nkids, 2);
	assert_string_equal(fe->kids[0].args[3], "/a b/c.crt");
	assert_string_equal(fe->kids[1].args[2], "%[ssl_c_s_dn] x");
	assert_int_equal(t.root.kids[2].kids[0].line, 7);
	sc_tree_free(&t);
}

static void
test_nul_refused(void **state)
{
	(void)state;
	struct sc_tree t;
	static const char text[] = "http { }\0server { }";

	assert_int_equal(sc_parse_mem(&t, "nul.conf", text, sizeof(text) - 1,
	    MTLS_SOFTWARE_NGINX), 0);
	assert_true(t.failed);
	assert_int_equal(t.root.nkids, 0);
	sc_tree_free(&t);
}

static void
test_guess(void **state)
{
	(void)state;
	assert_int_equal(sc_guess("/etc/haproxy/haproxy.cfg", "", 0),
	    MTLS_SOFTWARE_HAPROXY);
	assert_int_equal(sc_guess("/etc/nginx/nginx.conf", "", 0),
	    MTLS_SOFTWARE_NGINX);
	assert_int_equal(sc_guess("/etc/apache2/apache2.conf", "", 0),
	    MTLS_SOFTWARE_APACHE);
	assert_int_equal(sc_guess("site.conf", "  <VirtualHost *:443>\n", 21),
	    MTLS_SOFTWARE_APACHE);
	assert_int_equal(sc_guess("site.conf", "frontend x\n", 11),
	    MTLS_SOFTWARE_HAPROXY);
	assert_int_equal(sc_guess("site.conf", "server {\n", 9),
	    MTLS_SOFTWARE_NGINX);
	assert_int_equal(sc_guess("site.conf", "hello\n", 6),
	    MTLS_SOFTWARE_GUESS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nginx_words),
		cmocka_unit_test(test_nginx_errors),
		cmocka_unit_test(test_apache_sections),
		cmocka_unit_test(test_haproxy_sections),
		cmocka_unit_test(test_nul_refused),
		cmocka_unit_test(test_guess),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
