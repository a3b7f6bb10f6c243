/*
 * ca_token.c - "mtls ca token": a one-time enrollment token for `mtls ca
 * serve`, bound to the names it may request.  The secret is printed once;
 * the CA keeps only its SHA-256.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_pki.h"

static const char cmd[] = "mtls ca token";

static void
usage(void)
{
	printf("usage: %s --ca DIR [--db URL] --name NAME [--dns D]... "
	    "[--ip A]...\n"
	    "           [--uri U]... [--server|--client] [--ttl DURATION] "
	    "[--json]\n"
	    "\n"
	    "Makes a one-time token with which `mtls enroll` (or any EST "
	    "client, with\n"
	    "HTTP Basic NAME:TOKEN) gets one certificate for CN=NAME and at "
	    "most the\n"
	    "names given here, until the token expires.  Prints the token; "
	    "only its\n"
	    "hash is stored.\n"
	    "\n"
	    "  --ca DIR        the CA's directory\n"
	    CLI_DB_HELP
	    "  --name NAME     the common name the certificate will have\n"
	    "  --dns D         a DNS name it may also have (repeatable)\n"
	    "  --ip A          an IP address it may have (repeatable)\n"
	    "  --uri U         a URI it may have, e.g. spiffe://... "
	    "(repeatable)\n"
	    "  --server        for a server certificate (EKU serverAuth)\n"
	    "  --client        for a client certificate (the default)\n"
	    "  --ttl DURATION  how long the token may be used: 90s, 30m, 1h "
	    "(default),\n"
	    "                  7d\n"
	    "  --json          print {\"name\": ..., \"token\": ..., "
	    "\"expires\": ...}\n", cmd);
}

/* "90", "90s", "30m", "1h", "7d" -> seconds; -1 when malformed. */
static long
parse_duration(const char *s)
{
	char *end;
	long v, mul = 1;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || v <= 0)
		return -1;
	if (*end != '\0') {
		switch (*end) {
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = 86400; break;
		default: return -1;
		}
		if (end[1] != '\0')
			return -1;
	}
	if (v > 366L * 86400 / mul)
		return -1;
	return v * mul;
}

int
cmd_ca_token(int argc, char **argv)
{
	enum { O_TTL = 256, O_JSON };
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, 'C' },
		CLI_DB_OPTION,
		CLI_NAME_OPTIONS,
		{ "server", no_argument, NULL, 'S' },
		{ "client", no_argument, NULL, 'c' },
		{ "ttl", required_argument, NULL, O_TTL },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_names names = { 0 };
	struct mtls_token_options to = { 0 };
	struct mtls_names n;
	struct mtls_ca *ca = NULL;
	const char *dir = NULL, *db = NULL;
	char token[MTLS_TOKEN_MAX], when[32];
	int c, json = 0, ret = EXIT_USAGE;

	to.kind = MTLS_CERT_CLIENT;
	to.ttl_seconds = 3600;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (cli_names_opt(&names, c, optarg))
			continue;
		switch (c) {
		case 'C': dir = optarg; break;
		case 'B': db = optarg; break;
		case 'S': to.kind = MTLS_CERT_SERVER; break;
		case 'c': to.kind = MTLS_CERT_CLIENT; break;
		case O_TTL:
			if ((to.ttl_seconds = parse_duration(optarg)) == -1) {
				cli_usage(cmd, "--ttl: '%s' is not a duration "
				    "such as 90s, 30m, 1h or 7d (at most a "
				    "year)", optarg);
				goto out;
			}
			break;
		case O_JSON: json = 1; break;
		case 'h': usage(); ret = EXIT_OK; goto out;
		default: cli_getopt_fail(cmd, c, argv); goto out;
		}
	}
	if (cli_no_operands(cmd, argc, argv) != 0 ||
	    cli_require(cmd, "--ca", dir) == -1 ||
	    cli_require(cmd, "--name", names.name) == -1)
		goto out;

	ret = EXIT_FAIL;
	if ((ca = cli_ca_open(dir, db, 0)) == NULL)
		goto out;
	cli_names_get(&names, &n);
	to.names = &n;
	if (mtls_ca_token_create(ca, &to, token, sizeof(token)) == -1) {
		cli_fail_ca(ca, NULL);
		goto out;
	}
	cli_datetime(time(NULL) + to.ttl_seconds, when, sizeof(when));
	if (json) {
		printf("{\"name\": ");
		json_str(stdout, names.name);
		printf(", \"token\": \"%s\", \"expires\": \"%s\"}\n", token,
		    when);
	} else {
		printf("%s\n", token);
		fprintf(stderr, "mtls: token for %s, single use, valid until "
		    "%s\n", names.name, when);
	}
	mtls_cleanse(token, sizeof(token));
	ret = EXIT_OK;
out:
	cli_names_free(&names);
	mtls_ca_free(ca);
	return ret;
}
