/* cert_export.c - placeholder until this subcommand lands; replaced by its owner. */
#include "cli.h"

int
cmd_cert_export(int argc, char **argv)
{
	return cli_fail("%s: not built yet", argv[0]);
}
