/*
 * doctor.c - "mtls doctor": runs the library's diagnosis of an mTLS setup
 * (files, and a live server with --connect) and prints each finding with
 * its fix, for people or, with --json, for programs.  Exit 0 when no
 * finding is an error, 1 otherwise, 2 for a usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_pki.h"

static const char cmd[] = "mtls doctor";

static void
usage(void)
{
	printf("usage: %s [--cert FILE] [--key FILE] [--ca FILE] [--crl FILE]\n"
	    "           [--role server|client] [--name HOST] "
	    "[--connect HOST:PORT]\n"
	    "           [--servername NAME] [--timeout S] [--json]\n"
	    "       %s --server-config FILE [--type nginx|apache|haproxy] "
	    "[--json]\n"
	    "       %s --list-codes [--json]\n"
	    "\n"
	    "Finds what is wrong with an mTLS setup and says how to fix it: "
	    "the files\n"
	    "(there, readable, the right kind, key matching, chain order and "
	    "trust,\n"
	    "validity, usage for the role, names, algorithms, revocation) "
	    "and, with\n"
	    "--connect, a live server (DNS, TCP, TLS, its certificate, "
	    "whether it asks\n"
	    "for and accepts your client certificate).\n"
	    "\n"
	    "  --cert FILE         certificate, optionally followed by its "
	    "chain\n"
	    "  --key FILE          its private key (passphrase from "
	    "MTLS_KEY_PASSPHRASE)\n"
	    "  --ca FILE           the CA certificate(s) the peer is checked "
	    "against\n"
	    "  --crl FILE          CRL(s) to check revocation and freshness\n"
	    "  --role ROLE         server or client: the usage to expect "
	    "(default: client\n"
	    "                      with --connect, server with --name)\n"
	    "  --name HOST         the name clients use for this server "
	    "(checked in SANs)\n"
	    "  --connect HOST:PORT also check this server, as a client with "
	    "--cert/--key\n"
	    "  --servername NAME   SNI and name to check for --connect "
	    "(default: HOST)\n"
	    "  --timeout S         deadline for --connect, seconds (default "
	    "5)\n"
	    "  --server-config FILE  audit an nginx, Apache httpd or HAProxy "
	    "configuration\n"
	    "                      (includes followed): client auth, CA "
	    "files, verify depth,\n"
	    "                      CRLs, identity headers, TLS versions, the "
	    "server certificate\n"
	    "  --type T            its software (default: guessed from the "
	    "file)\n"
	    "  --json              findings as JSON\n"
	    "  --list-codes        every finding code with its explanation "
	    "and fix\n"
	    "\n"
	    "Exit status: 0 no error found, 1 errors found, 2 usage error.\n"
	    "Each finding code is explained in docs/doctor.md.\n",
	    cmd, cmd, cmd);
}

/* Colours only for a terminal, and never with NO_COLOR set
 * (https://no-color.org). */
static int
use_colour(void)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(STDOUT_FILENO) && (nc == NULL || *nc == '\0');
}

static const char *
sev_label(enum mtls_severity sev)
{
	switch (sev) {
	case MTLS_SEVERITY_ERROR: return "ERROR";
	case MTLS_SEVERITY_WARNING: return "WARN ";
	case MTLS_SEVERITY_OK: return "ok   ";
	}
	return "?    ";
}

static const char *
sev_colour(enum mtls_severity sev)
{
	switch (sev) {
	case MTLS_SEVERITY_ERROR: return "\033[1;31m";
	case MTLS_SEVERITY_WARNING: return "\033[1;33m";
	case MTLS_SEVERITY_OK: return "\033[32m";
	}
	return "";
}

static void
print_text(const struct mtls_doctor *d)
{
	int colour = use_colour();
	size_t n = mtls_doctor_count(d);
	size_t nerr = mtls_doctor_count_severity(d, MTLS_SEVERITY_ERROR);
	size_t nwarn = mtls_doctor_count_severity(d, MTLS_SEVERITY_WARNING);
	size_t nok = mtls_doctor_count_severity(d, MTLS_SEVERITY_OK);
	char fix[4096];

	for (size_t i = 0; i < n; i++) {
		enum mtls_severity sev = mtls_doctor_severity(d, i);
		printf("%s%s%s %s  [%s]\n", colour ? sev_colour(sev) : "",
		    sev_label(sev), colour ? "\033[0m" : "",
		    mtls_doctor_code(d, i), mtls_doctor_subject(d, i));
		printf("      %s\n", mtls_doctor_explanation(d, i));
		if (sev != MTLS_SEVERITY_OK)
			printf("      fix: %s\n", cli_fix_hinted(
			    mtls_doctor_fix(d, i), cli_doctor_hint(
			    mtls_doctor_code(d, i)), fix, sizeof(fix)));
	}
	printf("\n%zu error%s, %zu warning%s, %zu check%s passed.\n", nerr,
	    nerr == 1 ? "" : "s", nwarn, nwarn == 1 ? "" : "s", nok,
	    nok == 1 ? "" : "s");
}

static void
print_json(const struct mtls_doctor *d)
{
	size_t n = mtls_doctor_count(d);
	char fix[4096];

	printf("{\"findings\": [");
	for (size_t i = 0; i < n; i++) {
		printf("%s\n  {\"code\": ", i > 0 ? "," : "");
		json_str(stdout, mtls_doctor_code(d, i));
		printf(", \"severity\": ");
		json_str(stdout, mtls_severity_name(mtls_doctor_severity(d,
		    i)));
		printf(", \"subject\": ");
		json_str(stdout, mtls_doctor_subject(d, i));
		printf(", \"explanation\": ");
		json_str(stdout, mtls_doctor_explanation(d, i));
		printf(", \"fix\": ");
		json_str(stdout, cli_fix_hinted(mtls_doctor_fix(d, i),
		    cli_doctor_hint(mtls_doctor_code(d, i)), fix,
		    sizeof(fix)));
		printf("}");
	}
	printf("%s],\n \"errors\": %zu, \"warnings\": %zu, \"ok\": %zu}\n",
	    n > 0 ? "\n" : "",
	    mtls_doctor_count_severity(d, MTLS_SEVERITY_ERROR),
	    mtls_doctor_count_severity(d, MTLS_SEVERITY_WARNING),
	    mtls_doctor_count_severity(d, MTLS_SEVERITY_OK));
}

/* Prints tmpl with %1, %2... replaced by "<name>" from slots. */
static void
print_template(const char *tmpl, const char *slots)
{
	for (const char *p = tmpl; *p; p++) {
		if (p[0] != '%' || p[1] < '1' || p[1] > '9') {
			putchar(*p);
			continue;
		}
		int want = p[1] - '1';
		const char *s = slots;
		for (int k = 0; k < want && s != NULL; k++)
			if ((s = strchr(s, ' ')) != NULL)
				s++;
		size_t n = s != NULL ? strcspn(s, " ") : 0;
		printf("<%.*s>", (int)n, s != NULL ? s : "");
		p++;
	}
}

static void
list_codes(int json)
{
	size_t n = mtls_doctor_table_size();
	const char *code, *slots, *expl, *fix;
	enum mtls_severity sev;
	char buf[4096];

	if (json)
		printf("[");
	for (size_t i = 0; i < n; i++) {
		if (mtls_doctor_table_entry(i, &code, &sev, &slots, &expl,
		    &fix) != 0)
			break;
		fix = cli_fix_hinted(fix, cli_doctor_hint(code), buf,
		    sizeof(buf));
		if (json) {
			printf("%s\n  {\"code\": ", i > 0 ? "," : "");
			json_str(stdout, code);
			printf(", \"severity\": ");
			json_str(stdout, mtls_severity_name(sev));
			printf(", \"slots\": ");
			json_str(stdout, slots);
			printf(", \"explanation\": ");
			json_str(stdout, expl);
			printf(", \"fix\": ");
			json_str(stdout, fix);
			printf("}");
		} else {
			printf("%s (%s)\n    ", code, mtls_severity_name(sev));
			print_template(expl, slots);
			printf("\n    fix: ");
			print_template(fix, slots);
			printf("\n");
		}
	}
	if (json)
		printf("\n]\n");
}

int
cmd_doctor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'a' },
		{ "crl", required_argument, NULL, 'r' },
		{ "role", required_argument, NULL, 'R' },
		{ "name", required_argument, NULL, 'n' },
		{ "connect", required_argument, NULL, 'C' },
		{ "servername", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "list-codes", no_argument, NULL, 'L' },
		{ "server-config", required_argument, NULL, 'S' },
		{ "type", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mtls_doctor_options opt;
	struct mtls_doctor *d = NULL;
	struct mtls_error err;
	int c, json = 0, codes = 0, secs = 0, ret = EXIT_USAGE;

	memset(&opt, 0, sizeof(opt));
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': opt.cert_file = optarg; break;
		case 'k': opt.key_file = optarg; break;
		case 'a': opt.ca_file = optarg; break;
		case 'r': opt.crl_file = optarg; break;
		case 'n': opt.name = optarg; break;
		case 'C': opt.connect = optarg; break;
		case 's': opt.servername = optarg; break;
		case 'j': json = 1; break;
		case 'L': codes = 1; break;
		case 'S': opt.server_config = optarg; break;
		case 'T':
			if (mtls_software_parse(optarg, &opt.server_type) != 0 ||
			    opt.server_type > MTLS_SOFTWARE_HAPROXY)
				return cli_usage(cmd, "--type: '%s' is not "
				    "nginx, apache or haproxy", optarg);
			break;
		case 'R':
			if (strcmp(optarg, "server") == 0)
				opt.role = MTLS_PURPOSE_SERVER;
			else if (strcmp(optarg, "client") == 0)
				opt.role = MTLS_PURPOSE_CLIENT;
			else
				return cli_usage(cmd, "--role: '%s' is not "
				    "server or client", optarg);
			break;
		case 't':
			if (cli_parse_int(cmd, "--timeout", optarg, 1, 600,
			    &secs) != 0)
				return EXIT_USAGE;
			opt.timeout_ms = secs * 1000;
			break;
		case 'h': usage(); return EXIT_OK;
		default: return cli_getopt_fail(cmd, c, argv);
		}
	}
	if (cli_no_operands(cmd, argc, argv) != 0)
		return EXIT_USAGE;
	if (codes) {
		list_codes(json);
		return EXIT_OK;
	}
	if (opt.cert_file == NULL && opt.key_file == NULL &&
	    opt.ca_file == NULL && opt.crl_file == NULL && opt.connect == NULL &&
	    opt.server_config == NULL)
		return cli_usage(cmd, "nothing to check: give --cert, --key, "
		    "--ca, --crl, --connect or --server-config");
	if (cli_ca_file_check(opt.ca_file) != 0)
		return EXIT_FAIL;
	if (opt.server_type != MTLS_SOFTWARE_GUESS && opt.server_config == NULL)
		return cli_usage(cmd, "--type needs --server-config");
	if (opt.servername != NULL && opt.connect == NULL)
		return cli_usage(cmd, "--servername needs --connect");
	if (opt.connect != NULL && opt.role == MTLS_PURPOSE_SERVER)
		return cli_usage(cmd, "--connect checks a server as its client: "
		    "--role server does not apply");
	/* Never prompt: an unattended service has no terminal either, and
	 * "encrypted key, no passphrase" is a finding. */
	opt.passphrase = getenv(CLI_KEY_PASSPHRASE_ENV);
	if (opt.passphrase != NULL && *opt.passphrase == '\0')
		opt.passphrase = NULL;

	memset(&err, 0, sizeof(err));
	if ((d = mtls_doctor_run(&opt, &err)) == NULL) {
		if (err.code == MTLS_ERR_USAGE)
			return cli_usage(cmd, "%s", err.msg);
		return cli_fail_err(&err);
	}
	if (json)
		print_json(d);
	else
		print_text(d);
	fflush(stdout);
	ret = mtls_doctor_count_severity(d, MTLS_SEVERITY_ERROR) > 0 ?
	    EXIT_FAIL : EXIT_OK;
	mtls_doctor_free(d);
	return ret;
}
