/*
 * cli.h - what the subcommands of the mtls command share: error reporting in
 * the one-line form of the command-line contract, repeatable options,
 * passphrases and JSON output.
 */
#ifndef MTLS_CLI_H
#define MTLS_CLI_H

#include <stdio.h>
#include <stddef.h>

#include "mtls.h"
#include "mtls_tools.h"

#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Exit statuses of the command-line contract. */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* A subcommand: argv[0] is its own name ("issue" for "mtls cert issue"). */
typedef int (*cli_cmd_fn)(int argc, char **argv);

struct cli_cmd {
	const char *name;
	cli_cmd_fn fn;
	const char *summary;
};

/* Runs the entry of cmds named by argv[0]; prints the table on --help or an
 * unknown name.  prog is "mtls cert" for the messages. */
int cli_dispatch(const char *prog, const struct cli_cmd *cmds, size_t n,
    int argc, char **argv);

/* "mtls cert issue: --name is required" + a hint; returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) CLI_PRINTF(2, 3);
/* "mtls: <message>" on stderr; returns EXIT_FAIL. */
int cli_fail(const char *fmt, ...) CLI_PRINTF(1, 2);
/* Prints err->msg as one line; returns EXIT_FAIL. */
int cli_fail_err(const struct mtls_error *err);

/* Parses a positive decimal int for option opt of cmd; -1 on error (with
 * the usage message printed). */
int cli_parse_int(const char *cmd, const char *opt, const char *s, int min,
    int max, int *out);

/* A growable list of option values (--dns a --dns b). */
struct strlist {
	const char **v;
	size_t n;
	size_t cap;
};
void strlist_add(struct strlist *l, const char *s);
void strlist_free(struct strlist *l);

/* A passphrase from the environment variable env or, when it is unset and
 * stdin is a terminal, from a prompt on /dev/tty (asked twice if confirm).
 * Returns a heap string the caller frees with cli_passphrase_free(), or NULL
 * with a message printed. */
char *cli_passphrase(const char *env, const char *prompt, int confirm);
void cli_passphrase_free(char *p);

/* fix_hint.c: the mtls command or option that carries out the library's
 * fix for a doctor finding code or a refusal reason, as one sentence; NULL
 * when there is none.  cli_fix_hinted() gives fix followed by hint, in buf
 * (or fix itself when hint is NULL). */
const char *cli_doctor_hint(const char *code);
const char *cli_reject_hint(enum mtls_reject_code code);
const char *cli_fix_hinted(const char *fix, const char *hint, char *buf,
    size_t len);

/* JSON output helpers: a quoted, escaped string (or null). */
void json_str(FILE *f, const char *s);

/* The subcommands. */
int cmd_init(int argc, char **argv);
int cmd_ca(int argc, char **argv);
int cmd_ca_init(int argc, char **argv);
int cmd_ca_crl(int argc, char **argv);
int cmd_ca_serve(int argc, char **argv);
int cmd_ca_token(int argc, char **argv);
int cmd_enroll(int argc, char **argv);
int cmd_renew(int argc, char **argv);
int cmd_ca_import(int argc, char **argv);
int cmd_ca_db(int argc, char **argv);
int cmd_csr(int argc, char **argv);
int cmd_csr_new(int argc, char **argv);
int cmd_cert(int argc, char **argv);
int cmd_cert_issue(int argc, char **argv);
int cmd_cert_sign(int argc, char **argv);
int cmd_cert_revoke(int argc, char **argv);
int cmd_cert_list(int argc, char **argv);
int cmd_cert_inspect(int argc, char **argv);
int cmd_cert_verify(int argc, char **argv);
int cmd_cert_export(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_tunnel(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_connect(int argc, char **argv);
int cmd_config(int argc, char **argv);

#endif
