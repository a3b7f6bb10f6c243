/* cert_list.c - placeholder until this subcommand lands; replaced by its owner. */
#include "cli.h"

int
cmd_cert_list(int argc, char **argv)
{
	return cli_fail("%s: not built yet", argv[0]);
}
