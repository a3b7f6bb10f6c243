/*
 * snippet.h - the text builder behind mtls_snippet_make(): lines, the
 * files they name, and the checks every target shares (snippet.c for the
 * servers, snippet_client.c for the clients).
 */
#ifndef MTLS_SNIPPET_H
#define MTLS_SNIPPET_H

#include "core/internal.h"

struct mtls_snippet {
	char **lines;
	size_t nlines, cap;
	char *text;
	struct {
		char *role;
		char *path;
	} files[8];
	size_t nfiles;
	int oom;
};

/* Appends one line (printf-style); out of memory is remembered. */
void snippet_line(struct mtls_snippet *s, const char *fmt, ...)
    MTLS_PRINTF(2, 3);
/* path (made absolute when absolute is set: servers resolve relative
 * paths from their own prefix), recorded under role; NULL with err set
 * when it does not exist or holds a character the configuration languages
 * cannot carry in a quoted word. */
const char *snippet_file(struct mtls_snippet *s, const char *role,
    const char *path, int absolute, struct mtls_error *err);
/* Joins the lines into text; -1 when out of memory. */
int snippet_finish(struct mtls_snippet *s, struct mtls_error *err);

/* The client targets (snippet_client.c). */
int snippet_client(struct mtls_snippet *s, enum mtls_software sw,
    const struct mtls_snippet_options *opt, struct mtls_error *err);

#endif
