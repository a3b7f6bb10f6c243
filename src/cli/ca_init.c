/*
 * ca_init.c - "mtls ca init": a new root CA or, with --parent, an
 * intermediate CA signed by an existing one.  The directory then holds
 * ca.crt, ca.key (0600, optionally encrypted), ca.db (the inventory) and,
 * for an intermediate, chain.crt.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_pki.h"

static const char cmd[] = "mtls ca init";

static void
usage(void)
{
	printf("usage: %s --dir DIR [--name CN] [--key-type T] [--days N]\n"
	    "           [--parent DIR] [--encrypt-key]\n"
	    "\n"
	    "Creates a root CA in DIR or, with --parent, an intermediate CA "
	    "signed by\n"
	    "the CA in that directory.  An existing CA is never replaced.\n"
	    "\n"
	    "  --dir DIR       the directory to create the CA in\n"
	    "  --name CN       the CA's common name (default \"mtls Root CA\","
	    " or\n"
	    "                  \"mtls Intermediate CA\" with --parent)\n"
	    CLI_KEY_TYPE_HELP
	    "  --days N        validity in days (default 3650 for a root, "
	    "1825 for an\n"
	    "                  intermediate)\n"
	    "  --parent DIR    the CA that signs this one (makes an "
	    "intermediate, pathlen 0)\n"
	    "  --encrypt-key   encrypt ca.key with a passphrase from $%s\n"
	    "                  or a prompt\n"
	    "\n"
	    "An encrypted parent CA key is unlocked with $%s or a prompt.\n",
	    cmd, CLI_CA_PASSPHRASE_ENV, CLI_CA_PASSPHRASE_ENV);
}

/* Refuses up front, before any passphrase is asked, when dir already holds
 * a CA.  The library refuses too; this only makes the refusal early. */
static int
refuse_existing_ca(const char *dir)
{
	static const char *const files[] = { "ca.key", "ca.crt", "ca.db" };
	struct stat st;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *p = cli_path_join(dir, files[i]);
		int exists = lstat(p, &st) == 0;
		if (exists)
			cli_fail("%s: a CA already exists in %s; refusing to "
			    "replace it", p, dir);
		free(p);
		if (exists)
			return -1;
	}
	return 0;
}

int
cmd_ca_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "key-type", required_argument, NULL, 'k' },
		{ "days", required_argument, NULL, 'D' },
		{ "parent", required_argument, NULL, 'p' },
		{ "encrypt-key", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mtls_ca_options copt = { 0 };
	struct mtls_cert_info info;
	struct mtls_error err = { 0 };
	struct mtls_ca *ca = NULL;
	char *parent_pass = NULL, *pass = NULL, *prompt = NULL;
	char *crt = NULL, *key = NULL, *chain = NULL;
	int encrypt = 0, c, ret = EXIT_USAGE;

	memset(&info, 0, sizeof(info));
	copt.key_type = MTLS_KEY_EC_P256;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': copt.dir = optarg; break;
		case 'n':
			copt.name = optarg;
			cli_name_warn_dn(optarg);
			break;
		case 'k':
			if (cli_key_type_arg(cmd, optarg, &copt.key_type) ==
			    -1)
				goto out;
			break;
		case 'D':
			if (cli_parse_int(cmd, "--days", optarg, 1,
			    CLI_MAX_DAYS, &copt.days) == -1)
				goto out;
			break;
		case 'p': copt.parent_dir = optarg; break;
		case 'e': encrypt = 1; break;
		case 'h': usage(); ret = EXIT_OK; goto out;
		default: cli_getopt_fail(cmd, c, argv); goto out;
		}
	}
	if (cli_no_operands(cmd, argc, argv) != 0 ||
	    cli_require(cmd, "--dir", copt.dir) == -1)
		goto out;
	if (copt.name != NULL && *copt.name == '\0') {
		cli_usage(cmd, "--name: empty common name");
		goto out;
	}
	if (copt.name == NULL)
		copt.name = copt.parent_dir != NULL ? "mtls Intermediate CA" :
		    "mtls Root CA";

	ret = EXIT_FAIL;
	if (refuse_existing_ca(copt.dir) == -1)
		goto out;
	if (copt.parent_dir != NULL) {
		if (cli_ca_passphrase(copt.parent_dir, &parent_pass) == -1)
			goto out;
		copt.parent_passphrase = parent_pass;
	}
	if (encrypt) {
		prompt = cli_path_cat("Passphrase for the new ",
		    copt.parent_dir ? "intermediate CA key" : "root CA key");
		if ((pass = cli_passphrase(CLI_CA_PASSPHRASE_ENV, prompt, 1)) ==
		    NULL)
			goto out;
		copt.passphrase = pass;
	}
	if ((ca = mtls_ca_create(&copt, &err)) == NULL) {
		cli_fail_err(&err);
		goto out;
	}
	/* The CA exists now: the summary's facts are a nicety, not a reason
	 * to report failure. */
	char expires[32] = "unknown";
	if (mtls_cert_info(mtls_ca_cert(ca), 0, &info, &err) == 0)
		cli_date(info.not_after, expires, sizeof(expires));
	crt = cli_path_join(copt.dir, "ca.crt");
	key = cli_path_join(copt.dir, "ca.key");
	printf("created %s CA \"%s\" (%s, expires %s)",
	    copt.parent_dir ? "intermediate" : "root",
	    info.common_name ? info.common_name : copt.name,
	    mtls_key_type_name(copt.key_type), expires);
	if (copt.parent_dir != NULL) {
		chain = cli_path_join(copt.dir, "chain.crt");
		printf(" signed by %s: %s, %s, %s%s\n", copt.parent_dir, crt,
		    chain, key, encrypt ? " (encrypted)" : "");
	} else
		printf(": %s, %s%s\n", crt, key,
		    encrypt ? " (encrypted)" : "");
	ret = EXIT_OK;
out:
	mtls_cert_info_clear(&info);
	mtls_ca_free(ca);
	cli_passphrase_free(parent_pass);
	cli_passphrase_free(pass);
	free(prompt);
	free(crt);
	free(key);
	free(chain);
	return ret;
}
