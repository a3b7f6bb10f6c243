/*
 * csr_new.c - "mtls csr new": a new key and a certificate signing request
 * for it, written as PREFIX.key (0600) and PREFIX.csr, for a CA elsewhere
 * (or "mtls cert sign") to sign.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_pki.h"

static const char cmd[] = "mtls csr new";

static void
usage(void)
{
	printf("usage: %s --name NAME [--dns D]... [--ip A]... [--uri U]...\n"
	    "           [--key-type T] [--force] --out PREFIX\n"
	    "\n"
	    "Generates a key and a certificate signing request for it.\n"
	    "Writes PREFIX.key (mode 0600) and PREFIX.csr.\n"
	    "\n"
	    "  --name NAME     the subject's common name\n"
	    "  --dns D         a DNS name SAN (repeatable)\n"
	    "  --ip A          an IPv4 or IPv6 address SAN (repeatable)\n"
	    "  --uri U         a URI SAN (repeatable)\n"
	    CLI_KEY_TYPE_HELP
	    "  --force         replace existing output files\n"
	    "  --out PREFIX    write PREFIX.csr and PREFIX.key\n", cmd);
}

int
cmd_csr_new(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_NAME_OPTIONS,
		CLI_KEY_TYPE_OPTION,
		CLI_OUTPUT_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_names cn = { 0 };
	struct mtls_names names;
	struct mtls_error err = { 0 };
	enum mtls_key_type ktype = MTLS_KEY_EC_P256;
	const char *out = NULL;
	struct mtls_key *key = NULL;
	struct mtls_csr *csr = NULL;
	char *csr_path = NULL, *key_path = NULL;
	int force = 0, c, ret = EXIT_USAGE;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (cli_names_opt(&cn, c, optarg))
			continue;
		switch (c) {
		case 'k':
			if (cli_key_type_arg(cmd, optarg, &ktype) == -1)
				goto out;
			break;
		case 'o': out = optarg; break;
		case 'f': force = 1; break;
		case 'h': usage(); ret = EXIT_OK; goto out;
		default: cli_getopt_fail(cmd, c, argv); goto out;
		}
	}
	if (cli_no_operands(cmd, argc, argv) != 0 ||
	    cli_require(cmd, "--name", cn.name) == -1 ||
	    cli_require(cmd, "--out", out) == -1)
		goto out;

	ret = EXIT_FAIL;
	if (cli_out_pair(out, ".csr", force, &csr_path, &key_path) == -1)
		goto out;
	if ((key = mtls_key_generate(ktype, &err)) == NULL) {
		cli_fail_err(&err);
		goto out;
	}
	cli_names_get(&cn, &names);
	if ((csr = mtls_csr_new(key, &names, &err)) == NULL) {
		cli_fail_err(&err);
		goto out;
	}
	if (cli_write_key_pair(key, key_path, NULL, csr, csr_path,
	    force ? MTLS_WRITE_FORCE : 0) == -1)
		goto out;
	printf("wrote %s key and certificate signing request for %s: %s, "
	    "%s\n", mtls_key_type_name(ktype), cn.name, csr_path, key_path);
	ret = EXIT_OK;
out:
	mtls_csr_free(csr);
	mtls_key_free(key);
	free(csr_path);
	free(key_path);
	cli_names_free(&cn);
	return ret;
}
