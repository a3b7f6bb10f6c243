/*
 * cert_issue.c - "mtls cert issue": a new key and a server or client
 * certificate for it from the CA, written as PREFIX.key (0600) and
 * PREFIX.crt (leaf, then the CA chain).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_pki.h"

static const char cmd[] = "mtls cert issue";

static void
usage(void)
{
	printf("usage: %s --ca DIR (--server|--client) --name NAME\n"
	    "           [--dns D]... [--ip A]... [--uri U]... [--email E]...\n"
	    "           [--days N] [--key-type T] [--db URL] [--force] --out PREFIX\n"
	    "\n"
	    "Generates a key and issues a certificate for it from the CA in "
	    "DIR.\n"
	    "Writes PREFIX.key (mode 0600) and PREFIX.crt (leaf, then the "
	    "CA chain).\n"
	    "\n"
	    CLI_ISSUER_HELP
	    "  --name NAME     the subject's common name; a hostname or IP "
	    "is also a SAN\n"
	    "  --dns D         a DNS name SAN (repeatable)\n"
	    "  --ip A          an IPv4 or IPv6 address SAN (repeatable)\n"
	    "  --uri U         a URI SAN, e.g. spiffe://... (repeatable)\n"
	    "  --email E       an e-mail SAN (repeatable)\n"
	    "  --days N        validity in days (default 90)\n"
	    CLI_KEY_TYPE_HELP
	    "  --force         replace existing output files\n"
	    "  --out PREFIX    write PREFIX.crt and PREFIX.key\n"
	    "\n"
	    CLI_CA_KEY_HELP,
	    cmd, CLI_CA_PASSPHRASE_ENV);
}

int
cmd_cert_issue(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_ISSUER_OPTIONS,
		CLI_NAME_OPTIONS,
		CLI_EMAIL_OPTION,
		CLI_KEY_TYPE_OPTION,
		CLI_OUTPUT_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_names cn = { 0 };
	struct cli_issuer is = { 0 };
	struct mtls_names names;
	struct mtls_error err = { 0 };
	enum mtls_key_type ktype = MTLS_KEY_EC_P256;
	const char *out = NULL;
	struct mtls_ca *ca = NULL;
	struct mtls_key *key = NULL;
	struct mtls_cert *cert = NULL;
	char *crt_path = NULL, *key_path = NULL;
	int force = 0, c, taken, ret = EXIT_USAGE;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if ((taken = cli_issuer_opt(cmd, &is, c, optarg)) == -1)
			goto out;
		if (taken || cli_names_opt(&cn, c, optarg))
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
	    cli_issuer_require(cmd, &is) == -1 ||
	    cli_require(cmd, "--name", cn.name) == -1 ||
	    cli_require(cmd, "--out", out) == -1)
		goto out;

	ret = EXIT_FAIL;
	/* Both outputs are checked before anything is generated or recorded
	 * in the CA's inventory. */
	if (cli_out_pair(out, ".crt", force, &crt_path, &key_path) == -1)
		goto out;
	if ((ca = cli_ca_open(is.ca_dir, is.db, 1)) == NULL)
		goto out;
	if ((key = mtls_key_generate(ktype, &err)) == NULL) {
		cli_fail_err(&err);
		goto out;
	}
	cli_names_get(&cn, &names);
	if ((cert = mtls_ca_issue(ca, key, &names, &is.opt)) == NULL) {
		cli_fail_ca(ca, NULL);
		goto out;
	}
	char serial[128], expires[32];
	if (cli_cert_summary(cert, serial, sizeof(serial), expires,
	    sizeof(expires)) == -1)
		goto out;
	if (cli_write_key_pair(key, key_path, cert, NULL, crt_path,
	    force ? MTLS_WRITE_FORCE : 0) == -1)
		goto out;
	printf("issued %s certificate serial %s, expires %s: %s, %s\n",
	    mtls_cert_kind_name(is.opt.kind), serial, expires, crt_path,
	    key_path);
	ret = EXIT_OK;
out:
	mtls_cert_free(cert);
	mtls_key_free(key);
	mtls_ca_free(ca);
	free(crt_path);
	free(key_path);
	cli_names_free(&cn);
	return ret;
}
