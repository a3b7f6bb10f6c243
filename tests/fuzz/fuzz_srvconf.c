/*
 * fuzz_srvconf - the readers of nginx, Apache httpd and HAProxy
 * configurations behind mtls doctor --server-config (sc_parse_mem: the
 * same code as for files, includes refused).
 *
 * Input: one byte choosing the language, then the configuration.
 * Properties: the tree respects the parser's bounds (directives, words
 * per directive, nesting), every name is a terminated non-empty string,
 * and a syntax error names a line that exists in the input.
 */
#include "fuzz.h"

#include "doctor/srvconf.h"

static size_t
check_node(const struct sc_node *n, int depth)
{
	size_t count = 1;

	FUZZ_ASSERT(depth <= SC_MAX_DEPTH + 1);
	FUZZ_ASSERT(n->nargs < SC_MAX_ARGS);
	for (size_t i = 0; i < n->nargs; i++)
		FUZZ_ASSERT(strlen(n->args[i]) < SC_MAX_WORD);
	for (size_t i = 0; i < n->nkids; i++) {
		FUZZ_ASSERT(n->kids[i].name != NULL);
		FUZZ_ASSERT(n->kids[i].line >= 1);
		count += check_node(&n->kids[i], depth + 1);
	}
	return count;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum mtls_software sw[] = {
		MTLS_SOFTWARE_NGINX, MTLS_SOFTWARE_APACHE,
		MTLS_SOFTWARE_HAPROXY,
	};
	struct sc_tree t;
	size_t lines = 1;

	if (size < 1)
		return 0;
	for (size_t i = 1; i < size; i++)
		if (data[i] == '\n')
			lines++;
	if (sc_parse_mem(&t, "fuzz.conf", data + 1, size - 1,
	    sw[data[0] % 3]) == 0) {
		FUZZ_ASSERT(check_node(&t.root, 0) == t.nnodes + 1);
		if (t.failed)
			FUZZ_ASSERT(t.err_line <= lines);
	}
	sc_tree_free(&t);
	return 0;
}
