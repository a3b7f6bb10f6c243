/* ca_crl.c - placeholder until this subcommand lands; replaced by its owner. */
#include "cli.h"

int
cmd_ca_crl(int argc, char **argv)
{
	return cli_fail("%s: not built yet", argv[0]);
}
