/*
 * srvconf_parse.c - nginx, Apache httpd and HAProxy configuration files
 * into one tree of directives (srvconf.h).  Every byte goes through a
 * bounded cursor; words, directives, files, nesting and nodes have limits.
 *
 *   nginx:   words, ";" ends a directive, "{" "}" a block, "#" a comment,
 *            '...' and "..." with backslash escapes; "include" (globs,
 *            relative to the main file's directory) is read in place.
 *   Apache:  one directive per line ("\" continues it), <Section args> ...
 *            </Section>, "#" comment lines, quoted words; Include and
 *            IncludeOptional (globs, relative to ServerRoot) read in place.
 *   HAProxy: one directive per line, a section keyword (global, defaults,
 *            frontend, backend, listen, ...) opens a section that runs to
 *            the next one; "#" comments, quotes and backslash escapes.
 */
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/bytes.h"
#include "doctor/srvconf.h"

/* One file's bytes, read through the library's bounded reader, with the
 * line number for messages. */
struct cur {
	struct byte_reader r;
	unsigned line;
	const char *file;
};

/* The byte k places ahead of the cursor, or -1 past the end. */
static int
cur_peek_at(const struct cur *c, size_t k)
{
	return br_left(&c->r) > k ? c->r.p[c->r.off + k] : -1;
}

static int
cur_peek(const struct cur *c)
{
	return cur_peek_at(c, 0);
}

static int
cur_next(struct cur *c)
{
	unsigned ch;

	if (br_u8(&c->r, &ch) != 0)
		return -1;
	if (ch == '\n')
		c->line++;
	return (int)ch;
}

/* A word being collected, bounded by SC_MAX_WORD. */
struct word {
	char buf[SC_MAX_WORD];
	size_t n;
	int too_long;
};

static void
word_put(struct word *w, int ch)
{
	if (w->n + 1 < sizeof(w->buf))
		w->buf[w->n++] = (char)ch;
	else
		w->too_long = 1;
}

static void
word_end(struct word *w)
{
	w->buf[w->n] = '\0';
}

/* A directive being collected. */
struct stmt {
	char *args[SC_MAX_ARGS];
	size_t n;
	unsigned line;
};

static void
stmt_clear(struct stmt *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->args[i]);
	s->n = 0;
}

static int parse_file(struct sc_tree *t, struct sc_node *parent,
    const char *path, int depth, int must_exist);

static void
fail_line(struct sc_tree *t, const char *file, unsigned line,
    const char *fmt, va_list ap) MTLS_PRINTF(4, 0);

static void
fail_line(struct sc_tree *t, const char *file, unsigned line,
    const char *fmt, va_list ap)
{
	if (t->failed)
		return;
	t->failed = 1;
	snprintf(t->err_file, sizeof(t->err_file), "%s", file);
	t->err_line = line;
	vsnprintf(t->err_msg, sizeof(t->err_msg), fmt, ap);
}

/* The first syntax error, where the cursor is. */
static void
fail_at(struct sc_tree *t, const struct cur *c, const char *fmt, ...)
    MTLS_PRINTF(3, 4);

static void
fail_at(struct sc_tree *t, const struct cur *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail_line(t, c->file, c->line, fmt, ap);
	va_end(ap);
}

/* The first syntax error, in the directive s (line-based languages, whose
 * cursor is past its line already). */
static void
fail_stmt(struct sc_tree *t, const struct cur *c, const struct stmt *s,
    const char *fmt, ...) MTLS_PRINTF(4, 5);

static void
fail_stmt(struct sc_tree *t, const struct cur *c, const struct stmt *s,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail_line(t, c->file, s->line, fmt, ap);
	va_end(ap);
}

/* Moves the words of s into a new child of parent; returns it or NULL. */
static struct sc_node *
add_node(struct sc_tree *t, struct sc_node *parent, struct stmt *s,
    const char *file, int block)
{
	struct sc_node *n;

	if (t->nnodes >= SC_MAX_NODES || s->n == 0) {
		t->oom = t->nnodes >= SC_MAX_NODES ? t->oom : 1;
		stmt_clear(s);
		return NULL;
	}
	if (parent->nkids == parent->capkids) {
		size_t cap = parent->capkids ? parent->capkids * 2 : 8;
		struct sc_node *k = realloc(parent->kids, cap * sizeof(*k));
		if (k == NULL) {
			t->oom = 1;
			stmt_clear(s);
			return NULL;
		}
		parent->kids = k;
		parent->capkids = cap;
	}
	n = &parent->kids[parent->nkids];
	memset(n, 0, sizeof(*n));
	n->name = s->args[0];
	if (s->n > 1) {
		if ((n->args = calloc(s->n - 1, sizeof(char *))) == NULL) {
			t->oom = 1;
			stmt_clear(s);
			return NULL;
		}
		memcpy(n->args, s->args + 1, (s->n - 1) * sizeof(char *));
	}
	n->nargs = s->n - 1;
	n->block = block;
	n->file = file;
	n->line = s->line;
	s->n = 0;
	parent->nkids++;
	t->nnodes++;
	return n;
}

static int
stmt_push(struct sc_tree *t, struct cur *c, struct stmt *s, struct word *w)
{
	word_end(w);
	if (w->too_long) {
		fail_at(t, c, "a word longer than %u bytes", SC_MAX_WORD);
		return -1;
	}
	if (s->n == SC_MAX_ARGS) {
		fail_at(t, c, "a directive with more than %u words",
		    SC_MAX_ARGS);
		return -1;
	}
	if (s->n == 0)
		s->line = c->line;
	if ((s->args[s->n] = strdup(w->buf)) == NULL) {
		t->oom = 1;
		return -1;
	}
	s->n++;
	w->n = 0;
	w->too_long = 0;
	return 0;
}

char *
sc_resolve(const struct sc_tree *t, const char *path)
{
	char *out;

	if (path[0] == '/' || t->base == NULL)
		return strdup(path);
	if (asprintf(&out, "%s/%s", t->base, path) == -1)
		return NULL;
	return out;
}

int
sc_is(const struct sc_node *n, const char *name)
{
	return n->name != NULL && strcasecmp(n->name, name) == 0;
}

/* Reads every file pattern matches into parent, in glob order. */
static void
include_files(struct sc_tree *t, struct sc_node *parent, const char *pattern,
    const char *where, int depth, int optional)
{
	char *full = sc_resolve(t, pattern);
	int has_glob = strpbrk(pattern, "*?[") != NULL;
	glob_t g;

	if (full == NULL) {
		t->oom = 1;
		return;
	}
	if (t->no_includes) {
		/* Memory input never reaches the file system. */
		struct cur here = { .file = where, .line = 0 };
		fail_at(t, &here, "includes are not followed here");
		free(full);
		return;
	}
	memset(&g, 0, sizeof(g));
	if (glob(full, 0, NULL, &g) != 0 || g.gl_pathc == 0) {
		/* nginx and Apache's Include refuse a missing file, but not
		 * a pattern that matches nothing. */
		if (!optional && !has_glob && t->nmissing < nitems(t->missing)) {
			t->missing[t->nmissing].where = strdup(where);
			t->missing[t->nmissing].pattern = strdup(full);
			t->nmissing++;
		}
	} else {
		for (size_t i = 0; i < g.gl_pathc && !t->failed && !t->oom; i++)
			parse_file(t, parent, g.gl_pathv[i], depth + 1, 0);
	}
	globfree(&g);
	free(full);
}

static void
where_text(char *buf, size_t len, const char *file, unsigned line)
{
	snprintf(buf, len, "%s:%u", file, line);
}

/* ------------------------------------------------------------------ */
/* nginx                                                              */
/* ------------------------------------------------------------------ */

enum ngx_tok { NT_WORD, NT_SEMI, NT_OPEN, NT_CLOSE, NT_EOF, NT_ERR };

static enum ngx_tok
ngx_token(struct sc_tree *t, struct cur *c, struct word *w)
{
	int ch;

	for (;;) {
		ch = cur_peek(c);
		if (ch == -1)
			return NT_EOF;
		if (isspace(ch)) {
			cur_next(c);
		} else if (ch == '#') {
			while ((ch = cur_peek(c)) != -1 && ch != '\n')
				cur_next(c);
		} else {
			break;
		}
	}
	w->n = 0;
	w->too_long = 0;
	if (ch == ';' || ch == '{' || ch == '}') {
		cur_next(c);
		return ch == ';' ? NT_SEMI : ch == '{' ? NT_OPEN : NT_CLOSE;
	}
	if (ch == '"' || ch == '\'') {
		int q = cur_next(c);
		for (;;) {
			ch = cur_next(c);
			if (ch == -1) {
				fail_at(t, c, "unterminated quoted string");
				return NT_ERR;
			}
			if (ch == q)
				break;
			if (ch == '\\' && (cur_peek(c) == q ||
			    cur_peek(c) == '\\'))
				ch = cur_next(c);
			word_put(w, ch);
		}
		/* nginx wants a separator right after the closing quote. */
		ch = cur_peek(c);
		if (ch != -1 && !isspace(ch) && ch != ';' && ch != '{' &&
		    ch != '}') {
			fail_at(t, c, "unexpected \"%c\" after a quoted string",
			    ch);
			return NT_ERR;
		}
		return NT_WORD;
	}
	while ((ch = cur_peek(c)) != -1 && !isspace(ch) && ch != ';' &&
	    ch != '{' && ch != '}') {
		cur_next(c);
		if (ch == '\\' && cur_peek(c) != -1)
			ch = cur_next(c);
		word_put(w, ch);
	}
	return NT_WORD;
}

/* Directives of one nginx block (or file, when in_block is 0). */
static void
ngx_block(struct sc_tree *t, struct sc_node *parent, struct cur *c,
    int in_block, int depth)
{
	struct stmt s = { .n = 0 };
	struct word *w = malloc(sizeof(*w));
	char where[600];

	if (w == NULL) {
		t->oom = 1;
		return;
	}
	while (!t->failed && !t->oom) {
		enum ngx_tok tok = ngx_token(t, c, w);
		if (tok == NT_ERR)
			break;
		if (tok == NT_WORD) {
			if (stmt_push(t, c, &s, w) != 0)
				break;
			continue;
		}
		if (tok == NT_EOF) {
			if (s.n > 0)
				fail_at(t, c, "unexpected end of file, "
				    "expecting \";\" or \"}\"");
			else if (in_block)
				fail_at(t, c, "unexpected end of file, "
				    "expecting \"}\"");
			break;
		}
		if (tok == NT_CLOSE) {
			if (s.n > 0 || !in_block)
				fail_at(t, c, "unexpected \"}\"");
			break;
		}
		if (s.n == 0) {
			fail_at(t, c, "unexpected \"%s\"", tok == NT_SEMI ?
			    ";" : "{");
			break;
		}
		if (tok == NT_OPEN) {
			struct sc_node *n;
			if (depth >= SC_MAX_DEPTH) {
				fail_at(t, c, "blocks nested deeper than %u",
				    SC_MAX_DEPTH);
				break;
			}
			if ((n = add_node(t, parent, &s, c->file, 1)) == NULL)
				break;
			ngx_block(t, n, c, 1, depth + 1);
			continue;
		}
		/* NT_SEMI */
		if (strcmp(s.args[0], "include") == 0 && s.n == 2) {
			where_text(where, sizeof(where), c->file, s.line);
			char *pattern = s.args[1];
			s.args[1] = NULL;
			stmt_clear(&s);
			include_files(t, parent, pattern, where, depth, 0);
			free(pattern);
			continue;
		}
		add_node(t, parent, &s, c->file, 0);
	}
	stmt_clear(&s);
	free(w);
}

/* ------------------------------------------------------------------ */
/* Apache httpd and HAProxy: one directive per line                   */
/* ------------------------------------------------------------------ */

/*
 * The words of the next logical line into s (a "\" before the newline
 * joins the next line, for Apache).  Apache: a "#" starts a comment only
 * as a line's first word; HAProxy: anywhere outside quotes.  Returns 1 for
 * a line with words, 0 at the end of the file, -1 on an error.
 */
static int
line_words(struct sc_tree *t, struct cur *c, struct stmt *s, struct word *w,
    int haproxy)
{
	int ch;

	for (;;) {
		int in_word = 0, quote = 0;
		w->n = 0;
		w->too_long = 0;
		s->line = c->line;
		for (;;) {
			ch = cur_peek(c);
			if (ch == -1 || (ch == '\n' && !quote))
				break;
			if (ch == '\\' && cur_peek_at(c, 1) == '\n') {
				cur_next(c);
				cur_next(c);
				continue;
			}
			if (ch == '\\' && cur_peek_at(c, 1) == '\r' &&
			    cur_peek_at(c, 2) == '\n') {
				cur_next(c);
				cur_next(c);
				cur_next(c);
				continue;
			}
			cur_next(c);
			if (quote) {
				if (ch == quote) {
					quote = 0;
				} else if (ch == '\\' && (cur_peek(c) == quote ||
				    (haproxy && cur_peek(c) != -1))) {
					word_put(w, cur_next(c));
				} else {
					word_put(w, ch);
				}
				continue;
			}
			if (ch == '#' && !in_word && (haproxy || s->n == 0)) {
				while ((ch = cur_peek(c)) != -1 && ch != '\n')
					cur_next(c);
				break;
			}
			if (isspace(ch)) {
				if (in_word && stmt_push(t, c, s, w) != 0)
					return -1;
				in_word = 0;
				continue;
			}
			if ((ch == '"' || ch == '\'') && !in_word) {
				quote = ch;
				in_word = 1;
				continue;
			}
			if (ch == '\\' && haproxy && cur_peek(c) != -1 &&
			    cur_peek(c) != '\n')
				ch = cur_next(c);
			in_word = 1;
			word_put(w, ch);
		}
		if (quote) {
			fail_at(t, c, "unterminated quoted string");
			return -1;
		}
		if (in_word && stmt_push(t, c, s, w) != 0)
			return -1;
		if (cur_peek(c) == '\n')
			cur_next(c);
		if (s->n > 0)
			return 1;
		if (cur_peek(c) == -1)
			return 0;
	}
}

/* Directives of one Apache section (or file, when section is NULL). */
static void
apache_block(struct sc_tree *t, struct sc_node *parent, struct cur *c,
    const char *section, int depth)
{
	struct stmt s = { .n = 0 };
	struct word *w = malloc(sizeof(*w));
	char where[600];
	int r;

	if (w == NULL) {
		t->oom = 1;
		return;
	}
	while (!t->failed && !t->oom &&
	    (r = line_words(t, c, &s, w, 0)) == 1) {
		char *first = s.args[0];
		size_t n = strlen(first);
		if (first[0] == '<' && first[1] == '/') {
			/* "</Section>" closes the innermost open section. */
			if (section == NULL || n < 4 || first[n - 1] != '>' ||
			    strncasecmp(first + 2, section, n - 3) != 0 ||
			    strlen(section) != n - 3) {
				fail_stmt(t, c, &s, "%s without matching <%s> "
				    "section", first, first + 2);
				break;
			}
			stmt_clear(&s);
			free(w);
			return;
		}
		if (first[0] == '<') {
			/* "<Section args>": the ">" ends the last word. */
			char *last = s.args[s.n - 1];
			size_t ln = strlen(last);
			struct sc_node *node;
			if (ln == 0 || last[ln - 1] != '>') {
				fail_stmt(t, c, &s, "%s directive missing "
				    "closing '>'", first);
				break;
			}
			last[ln - 1] = '\0';
			memmove(first, first + 1, n);
			if (last[0] == '\0' && s.n > 1) {
				free(last);
				s.n--;
			}
			if (first[0] == '\0' || depth >= SC_MAX_DEPTH) {
				fail_stmt(t, c, &s, "a section without a name, "
				    "or nested deeper than %u", SC_MAX_DEPTH);
				break;
			}
			if ((node = add_node(t, parent, &s, c->file, 1)) == NULL)
				break;
			apache_block(t, node, c, node->name, depth + 1);
			continue;
		}
		if ((strcasecmp(first, "Include") == 0 ||
		    strcasecmp(first, "IncludeOptional") == 0) && s.n == 2) {
			int optional = strcasecmp(first, "IncludeOptional") == 0;
			where_text(where, sizeof(where), c->file, s.line);
			char *pattern = s.args[1];
			s.args[1] = NULL;
			stmt_clear(&s);
			include_files(t, parent, pattern, where, depth, optional);
			free(pattern);
			continue;
		}
		if (strcasecmp(first, "ServerRoot") == 0 && s.n == 2) {
			char *b = strdup(s.args[1]);
			if (b == NULL) {
				t->oom = 1;
				break;
			}
			free(t->base);
			t->base = b;
		}
		add_node(t, parent, &s, c->file, 0);
	}
	if (!t->failed && !t->oom && section != NULL)
		fail_at(t, c, "unexpected end of file, <%s> is not closed",
		    section);
	stmt_clear(&s);
	free(w);
}

static const char *const haproxy_sections[] = {
	"global", "defaults", "frontend", "backend", "listen", "userlist",
	"peers", "resolvers", "mailers", "program", "http-errors", "ring",
	"cache", "fcgi-app",
};

static void
haproxy_file(struct sc_tree *t, struct sc_node *parent, struct cur *c)
{
	struct stmt s = { .n = 0 };
	struct word *w = malloc(sizeof(*w));
	struct sc_node *section = NULL;
	size_t section_index = 0;

	if (w == NULL) {
		t->oom = 1;
		return;
	}
	while (!t->failed && !t->oom && line_words(t, c, &s, w, 1) == 1) {
		int opens = 0;
		for (size_t i = 0; i < nitems(haproxy_sections); i++)
			if (strcmp(s.args[0], haproxy_sections[i]) == 0)
				opens = 1;
		if (opens) {
			if (add_node(t, parent, &s, c->file, 1) == NULL)
				break;
			section_index = parent->nkids - 1;
			section = &parent->kids[section_index];
			continue;
		}
		/* parent->kids may have moved since: find it again. */
		if (section != NULL)
			section = &parent->kids[section_index];
		add_node(t, section != NULL ? section : parent, &s, c->file, 0);
	}
	stmt_clear(&s);
	free(w);
}

/* ------------------------------------------------------------------ */
/* Files                                                              */
/* ------------------------------------------------------------------ */

/* Parses len bytes of buf, named name, into parent. */
static void
parse_buffer(struct sc_tree *t, struct sc_node *parent, const char *name,
    const char *buf, size_t len, int depth)
{
	char **files, *copy;
	struct cur c;

	files = realloc(t->files, (t->nfiles + 1) * sizeof(*files));
	copy = strdup(name);
	if (files == NULL || copy == NULL) {
		if (files != NULL)
			t->files = files;
		free(copy);
		t->oom = 1;
		return;
	}
	t->files = files;
	t->files[t->nfiles++] = copy;
	br_init(&c.r, buf, len);
	c.line = 1;
	c.file = copy;
	/* A text configuration has no NUL byte; words are C strings. */
	if (memchr(buf, '\0', len) != NULL) {
		fail_at(t, &c, "a NUL byte: not a text file");
		return;
	}
	switch (t->sw) {
	case MTLS_SOFTWARE_NGINX: ngx_block(t, parent, &c, 0, depth); break;
	case MTLS_SOFTWARE_APACHE:
		apache_block(t, parent, &c, NULL, depth);
		break;
	default: haproxy_file(t, parent, &c); break;
	}
}

static int
parse_file(struct sc_tree *t, struct sc_node *parent, const char *path,
    int depth, int must_exist)
{
	struct mtls_error err;
	char *buf = NULL;
	size_t len = 0;

	if (depth > SC_MAX_DEPTH || t->nfiles >= SC_MAX_FILES) {
		struct cur here = { .file = path, .line = 0 };
		fail_at(t, &here, "more than %u files or includes nested "
		    "deeper than %u", SC_MAX_FILES, SC_MAX_DEPTH);
		return 0;
	}
	memset(&err, 0, sizeof(err));
	if (file_read(path, SC_MAX_FILE, &buf, &len, &err) != 0) {
		if (must_exist)
			return -1;
		struct cur here = { .file = path, .line = 0 };
		fail_at(t, &here, "%s", err.msg);
		return 0;
	}
	parse_buffer(t, parent, path, buf, len, depth);
	free(buf);
	return 0;
}

int
sc_parse_mem(struct sc_tree *t, const char *name, const void *buf,
    size_t len, enum mtls_software sw)
{
	memset(t, 0, sizeof(*t));
	t->sw = sw;
	t->no_includes = 1;
	if (len > SC_MAX_FILE)
		len = SC_MAX_FILE;
	parse_buffer(t, &t->root, name, buf, len, 0);
	return t->oom ? -1 : 0;
}

int
sc_parse(struct sc_tree *t, const char *path, enum mtls_software sw,
    struct mtls_error *err)
{
	char *copy;

	memset(t, 0, sizeof(*t));
	t->sw = sw;
	/* nginx resolves relative paths from its configuration's directory
	 * (the conf prefix); Apache from ServerRoot, which a directive may
	 * set; HAProxy from the directory it runs in, which we take to be
	 * the configuration's. */
	if ((copy = strdup(path)) == NULL)
		return err_set(err, MTLS_ERR_NOMEM, "out of memory");
	t->base = strdup(dirname(copy));
	free(copy);
	if (t->base == NULL)
		return err_set(err, MTLS_ERR_NOMEM, "out of memory");
	if (parse_file(t, &t->root, path, 0, 1) != 0) {
		struct mtls_error e2;
		char *buf = NULL;
		size_t len = 0;
		memset(&e2, 0, sizeof(e2));
		if (file_read(path, SC_MAX_FILE, &buf, &len, &e2) != 0)
			*err = e2;
		free(buf);
		return -1;
	}
	if (t->oom)
		return err_set(err, MTLS_ERR_NOMEM, "out of memory");
	return 0;
}

static void
node_free(struct sc_node *n)
{
	for (size_t i = 0; i < n->nkids; i++)
		node_free(&n->kids[i]);
	for (size_t i = 0; i < n->nargs; i++)
		free(n->args[i]);
	free(n->args);
	free(n->kids);
	free(n->name);
}

void
sc_tree_free(struct sc_tree *t)
{
	node_free(&t->root);
	for (size_t i = 0; i < t->nfiles; i++)
		free(t->files[i]);
	for (size_t i = 0; i < t->nmissing; i++) {
		free(t->missing[i].where);
		free(t->missing[i].pattern);
	}
	free(t->files);
	free(t->base);
	memset(t, 0, sizeof(*t));
}

/* 1 when text holds word at the start of a line (after blanks). */
static int
line_starts_with(const char *text, size_t len, const char *word)
{
	size_t wl = strlen(word);

	for (size_t i = 0; i < len; i++) {
		if (i > 0 && text[i - 1] != '\n')
			continue;
		size_t k = i;
		while (k < len && (text[k] == ' ' || text[k] == '\t'))
			k++;
		if (len - k >= wl && strncasecmp(text + k, word, wl) == 0 &&
		    (k + wl == len || !isalnum((unsigned char)text[k + wl])))
			return 1;
	}
	return 0;
}

enum mtls_software
sc_guess(const char *path, const char *text, size_t len)
{
	const char *base = strrchr(path, '/');

	base = base != NULL ? base + 1 : path;
	if (strstr(base, "haproxy") != NULL || strstr(base, ".cfg") != NULL)
		return MTLS_SOFTWARE_HAPROXY;
	if (strstr(base, "nginx") != NULL)
		return MTLS_SOFTWARE_NGINX;
	if (strstr(base, "apache") != NULL || strstr(base, "httpd") != NULL)
		return MTLS_SOFTWARE_APACHE;
	if (line_starts_with(text, len, "<VirtualHost") ||
	    line_starts_with(text, len, "SSLEngine") ||
	    line_starts_with(text, len, "Listen") ||
	    line_starts_with(text, len, "LoadModule") ||
	    line_starts_with(text, len, "ServerRoot"))
		return MTLS_SOFTWARE_APACHE;
	if (line_starts_with(text, len, "frontend") ||
	    line_starts_with(text, len, "listen") ||
	    line_starts_with(text, len, "global") ||
	    line_starts_with(text, len, "defaults"))
		return MTLS_SOFTWARE_HAPROXY;
	if (line_starts_with(text, len, "http") ||
	    line_starts_with(text, len, "server") ||
	    line_starts_with(text, len, "events") ||
	    line_starts_with(text, len, "ssl_certificate"))
		return MTLS_SOFTWARE_NGINX;
	return MTLS_SOFTWARE_GUESS;
}
