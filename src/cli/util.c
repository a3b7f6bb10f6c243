/*
 * util.c - helpers shared by the subcommands (see cli.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "mtls_tools.h"

int
cli_dispatch(const char *prog, const struct cli_cmd *cmds, size_t n,
    int argc, char **argv)
{
	/* "help CMD [SUB]" is "CMD [SUB] --help". */
	if (argc >= 2 && argc <= 3 && strcmp(argv[0], "help") == 0) {
		char *v[4] = { argv[1], argc == 3 ? argv[2] : NULL, NULL,
		    NULL };
		v[argc - 1] = "--help";
		return cli_dispatch(prog, cmds, n, argc, v);
	}
	if (argc < 1 || strcmp(argv[0], "--help") == 0 ||
	    strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "help") == 0) {
		FILE *f = argc < 1 ? stderr : stdout;
		fprintf(f, "usage: %s COMMAND [OPTIONS]\n\ncommands:\n", prog);
		for (size_t i = 0; i < n; i++)
			fprintf(f, "  %-10s %s\n", cmds[i].name,
			    cmds[i].summary);
		fprintf(f, "\nRun '%s COMMAND --help' for a command's "
		    "options.\n", prog);
		return argc < 1 ? EXIT_USAGE : EXIT_OK;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			return cmds[i].fn(argc, argv);
	fprintf(stderr, "%s: unknown command '%s' (see '%s --help')\n", prog,
	    argv[0], prog);
	return EXIT_USAGE;
}

int
cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	/* One line, so that scripts and logs keep the whole message. */
	fprintf(stderr, "%s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see '%s --help')\n", cmd);
	return EXIT_USAGE;
}

int
cli_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mtls: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

int
cli_fail_err(const struct mtls_error *err)
{
	/* The library names the file; the option to replace it is ours. */
	return cli_fail("%s%s", err->msg[0] ? err->msg :
	    mtls_errcode_text(err->code), err->code == MTLS_ERR_EXISTS ?
	    " (use --force to replace it)" : "");
}

int
cli_parse_int(const char *cmd, const char *opt, const char *s, int min,
    int max, int *out)
{
	char *end;

	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		cli_usage(cmd, "%s: '%s' is not a number from %d to %d", opt,
		    s, min, max);
		return -1;
	}
	*out = (int)v;
	return 0;
}

void
strlist_add(struct strlist *l, const char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		const char **v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL) {
			fprintf(stderr, "mtls: out of memory\n");
			exit(EXIT_FAIL);
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = s;
}

void
strlist_free(struct strlist *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static char *
read_tty_line(const char *prompt)
{
	char buf[1024];
	struct termios old, noecho;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);

	if (fd == -1)
		return NULL;
	if (write(fd, prompt, strlen(prompt)) < 0) {
		close(fd);
		return NULL;
	}
	int have_term = tcgetattr(fd, &old) == 0;
	if (have_term) {
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &noecho);
	}
	size_t len = 0;
	char c;
	while (len + 1 < sizeof(buf) && read(fd, &c, 1) == 1 && c != '\n')
		buf[len++] = c;
	buf[len] = '\0';
	if (have_term)
		tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0) {
		/* nothing to do: the prompt's newline is cosmetic */
	}
	close(fd);
	char *p = strdup(buf);
	mtls_cleanse(buf, sizeof(buf));
	return p;
}

char *
cli_passphrase(const char *env, const char *prompt, int confirm)
{
	const char *v = env != NULL ? getenv(env) : NULL;

	if (v != NULL) {
		if (*v == '\0') {
			cli_fail("%s is set but empty: a passphrase is needed",
			    env);
			return NULL;
		}
		return strdup(v);
	}
	if (!isatty(STDIN_FILENO)) {
		cli_fail("%s: no passphrase: set %s or run on a terminal",
		    prompt, env != NULL ? env : "the passphrase variable");
		return NULL;
	}
	char q[256];
	snprintf(q, sizeof(q), "%s: ", prompt);
	char *p = read_tty_line(q);
	if (p == NULL) {
		cli_fail("%s: cannot read a passphrase from /dev/tty", prompt);
		return NULL;
	}
	if (confirm) {
		char *again = read_tty_line("Repeat the passphrase: ");
		int same = again != NULL && strcmp(p, again) == 0;
		cli_passphrase_free(again);
		if (!same) {
			cli_passphrase_free(p);
			cli_fail("%s: the passphrases do not match", prompt);
			return NULL;
		}
	}
	if (*p == '\0') {
		cli_passphrase_free(p);
		cli_fail("%s: an empty passphrase is not allowed", prompt);
		return NULL;
	}
	return p;
}

void
cli_passphrase_free(char *p)
{
	if (p == NULL)
		return;
	mtls_cleanse(p, strlen(p));
	free(p);
}

void
json_str(FILE *f, const char *s)
{
	char one[MTLS_ESCAPE_MAX];
	size_t n;

	if (s == NULL) {
		fputs("null", f);
		return;
	}
	/* The escaper the logs use: the output is valid UTF-8 whatever a
	 * certificate, a peer or a file name held. */
	fputc('"', f);
	while ((n = mtls_escape_next(s, MTLS_ESC_JSON, one)) > 0) {
		fputs(one, f);
		s += n;
	}
	fputc('"', f);
}
