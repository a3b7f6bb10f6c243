/*
 * enroll.c - "mtls enroll": a first certificate from `mtls ca serve` (or any
 * EST server) with a one-time token.  The key is made here and never leaves
 * the machine; only its CSR is sent.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_pki.h"

static const char cmd[] = "mtls enroll";

static void
usage(void)
{
	printf("usage: %s --server URL --ca-cert FILE --token T --name NAME\n"
	    "           [--dns D]... [--ip A]... [--uri U]... [--key-type T] "
	    "[--force]\n"
	    "           --out PREFIX\n"
	    "\n"
	    "Makes a key, sends its CSR to the EST server's simpleenroll with "
	    "the token\n"
	    "(HTTP Basic NAME:TOKEN), and writes PREFIX.key (0600) and "
	    "PREFIX.crt (the\n"
	    "certificate, then its chain).  The token is $MTLS_TOKEN when "
	    "--token is not\n"
	    "given, so that it stays out of the process list.\n"
	    "\n"
	    "  --server URL    https://HOST:PORT of `mtls ca serve`\n"
	    "  --ca-cert FILE  the CA that the server's certificate must chain "
	    "to\n"
	    "  --token T       the one-time token from `mtls ca token`\n"
	    "  --name NAME     the common name (the token's name)\n"
	    "  --dns D, --ip A, --uri U\n"
	    "                  SANs to ask for (within what the token allows)\n"
	    CLI_KEY_TYPE_HELP
	    "  --force         replace existing output files\n"
	    "  --out PREFIX    write PREFIX.crt and PREFIX.key\n", cmd);
}

int
cmd_enroll(int argc, char **argv)
{
	enum { O_SERVER = 256, O_CA_CERT, O_TOKEN };
	static const struct option opts[] = {
		{ "server", required_argument, NULL, O_SERVER },
		{ "ca-cert", required_argument, NULL, O_CA_CERT },
		{ "token", required_argument, NULL, O_TOKEN },
		CLI_NAME_OPTIONS,
		CLI_KEY_TYPE_OPTION,
		CLI_OUTPUT_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mtls_est_client ec = { 0 };
	struct cli_names names = { 0 };
	struct mtls_error err = { 0 };
	struct mtls_names n;
	enum mtls_key_type kt = MTLS_KEY_EC_P256;
	struct mtls_key *key = NULL;
	struct mtls_csr *csr = NULL;
	struct mtls_cert *cert = NULL;
	const char *out = NULL, *token = NULL;
	char *crt_path = NULL, *key_path = NULL;
	int c, force = 0, ret = EXIT_USAGE;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (cli_names_opt(&names, c, optarg))
			continue;
		switch (c) {
		case O_SERVER: ec.url = optarg; break;
		case O_CA_CERT: ec.ca_file = optarg; break;
		case O_TOKEN: token = optarg; break;
		case 'k':
			if (cli_key_type_arg(cmd, optarg, &kt) == -1)
				goto out;
			break;
		case 'o': out = optarg; break;
		case 'f': force = 1; break;
		case 'h': usage(); ret = EXIT_OK; goto out;
		default: cli_getopt_fail(cmd, c, argv); goto out;
		}
	}
	if (token == NULL)
		token = getenv("MTLS_TOKEN");
	if (cli_no_operands(cmd, argc, argv) != 0 ||
	    cli_require(cmd, "--server", ec.url) == -1 ||
	    cli_require(cmd, "--ca-cert", ec.ca_file) == -1 ||
	    cli_require(cmd, "--token", token) == -1 ||
	    cli_require(cmd, "--name", names.name) == -1 ||
	    cli_require(cmd, "--out", out) == -1)
		goto out;
	if (strncmp(ec.url, "https://", 8) != 0) {
		cli_usage(cmd, "--server %s: not an https:// URL", ec.url);
		goto out;
	}

	ret = EXIT_FAIL;
	if (cli_out_pair(out, ".crt", force, &crt_path, &key_path) == -1)
		goto out;
	cli_names_get(&names, &n);
	if ((key = mtls_key_generate(kt, &err)) == NULL ||
	    (csr = mtls_csr_new(key, &n, &err)) == NULL) {
		cli_fail_err(&err);
		goto out;
	}
	ec.user = names.name;
	ec.password = token;
	if ((cert = mtls_est_enroll(&ec, csr, 0, &err)) == NULL) {
		cli_fail_err(&err);
		goto out;
	}
	if (cli_write_key_pair(key, key_path, cert, NULL, crt_path,
	    force ? MTLS_WRITE_FORCE : 0) == -1)
		goto out;
	char serial[128], expires[32];
	if (cli_cert_summary(cert, serial, sizeof(serial), expires,
	    sizeof(expires)) == 0)
		printf("enrolled: serial %s, expires %s: %s, %s\n", serial,
		    expires, crt_path, key_path);
	ret = EXIT_OK;
out:
	mtls_cert_free(cert);
	mtls_csr_free(csr);
	mtls_key_free(key);
	cli_names_free(&names);
	free(crt_path);
	free(key_path);
	return ret;
}
