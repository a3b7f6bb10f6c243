/*
 * ca_import.c - "mtls ca import": adopts a CA made elsewhere (openssl,
 * step, cfssl): a directory with its ca.crt and ca.key but no ca.db gets
 * an empty inventory, after which cert issue, revoke and ca crl work.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli_pki.h"

static const char cmd[] = "mtls ca import";

static void
usage(void)
{
	printf("usage: %s --dir DIR [--db URL]\n"
	    "\n"
	    "Adopts the CA in DIR, made with another tool: DIR holds its "
	    "certificate as\n"
	    "ca.crt and its key as ca.key (the key may be kept offline).  "
	    "Checks that the\n"
	    "certificate is a CA's and the key is its key, then starts an "
	    "empty inventory\n"
	    "(DIR/ca.db) so that mtls cert issue --ca DIR can issue.\n"
	    "\n"
	    "  --dir DIR       the CA's directory\n"
	    CLI_DB_HELP, cmd);
}

int
cmd_ca_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		CLI_DB_OPTION,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mtls_error err = { 0 };
	const char *dir = NULL, *db = NULL;
	int c;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'B': db = optarg; break;
		case 'h': usage(); return EXIT_OK;
		default: return cli_getopt_fail(cmd, c, argv);
		}
	}
	if (cli_no_operands(cmd, argc, argv) != 0)
		return EXIT_USAGE;
	if (cli_require(cmd, "--dir", dir) != 0)
		return EXIT_USAGE;
	if (mtls_ca_import(dir, cli_ca_db(db), &err) != 0)
		return cli_fail_err(&err);
	printf("Adopted the CA in %s: its inventory is ready; issue with "
	    "mtls cert issue --ca %s\n", dir, dir);
	return EXIT_OK;
}
