/*
 * srvconf.h - the configurations of the servers people already run
 * (nginx, Apache httpd, HAProxy), read into one tree of directives for the
 * audit of mtls doctor (srvconf_parse.c reads, srvconf_audit.c checks).
 *
 * The parsers are small on purpose and honest about it: they know each
 * language's tokens, blocks, quoting and includes, and nothing of what the
 * directives mean.  Variables, environment references and conditions
 * (<IfModule>, <IfDefine>, nginx if) are not evaluated: a conditional
 * block is taken as active.  docs/doctor.md lists the limits.
 */
#ifndef MTLS_SRVCONF_H
#define MTLS_SRVCONF_H

#include <stddef.h>

#include "core/internal.h"

/* Bounds on untrusted configuration input. */
#define SC_MAX_FILE (4u * 1024 * 1024)  /* bytes of one file */
#define SC_MAX_FILES 256                /* files, includes counted */
#define SC_MAX_DEPTH 32                 /* nested blocks and includes */
#define SC_MAX_ARGS 128                 /* words of one directive */
#define SC_MAX_WORD 8192                /* bytes of one word */
#define SC_MAX_NODES 200000             /* directives in all */

struct sc_node {
	char *name;                 /* directive or section name */
	char **args;
	size_t nargs;
	struct sc_node *kids;       /* a block's directives */
	size_t nkids, capkids;
	int block;                  /* opens a block ({ }, <Section>) */
	const char *file;           /* owned by the tree */
	unsigned line;
};

struct sc_tree {
	enum mtls_software sw;
	struct sc_node root;        /* the top level of the main file */
	char **files;               /* every file read, the main one first */
	size_t nfiles;
	size_t nnodes;
	char *base;                 /* relative paths are resolved from it */
	/* The first syntax error, if any: parsing stops there. */
	int failed;
	char err_file[512];
	unsigned err_line;
	char err_msg[256];
	/* Includes that matched no file (path of the include, pattern). */
	struct {
		char *where;
		char *pattern;
	} missing[16];
	size_t nmissing;
	int oom;
	int no_includes;            /* sc_parse_mem: an include is an error */
};

/* nginx, Apache or HAProxy from the name of path and its first
 * directives; MTLS_SOFTWARE_GUESS when it cannot tell. */
enum mtls_software sc_guess(const char *path, const char *text, size_t len);

/* Reads path (and what it includes) into t.  Syntax errors leave
 * t->failed set with what was read so far in t.  -1 with err set only when
 * path itself cannot be read or memory runs out. */
int sc_parse(struct sc_tree *t, const char *path, enum mtls_software sw,
    struct mtls_error *err) MTLS_MUST_CHECK;
/* The same for bytes in memory (the fuzz target), with includes refused:
 * -1 only when memory runs out. */
int sc_parse_mem(struct sc_tree *t, const char *name, const void *buf,
    size_t len, enum mtls_software sw) MTLS_MUST_CHECK;
void sc_tree_free(struct sc_tree *t);

/* path as the server would open it: absolute, or from t->base.  Heap. */
char *sc_resolve(const struct sc_tree *t, const char *path);

/* Case-insensitive name comparison (Apache and HAProxy keywords). */
int sc_is(const struct sc_node *n, const char *name);

#endif
