/*
 * ca_crl.c - "mtls ca crl": writes the CA's current certificate revocation
 * list, signed by the CA key.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_pki.h"

static const char cmd[] = "mtls ca crl";

static void
usage(void)
{
	printf("usage: %s --ca DIR --out FILE [--days N] [--force]\n"
	    "\n"
	    "Writes a signed v2 CRL of every certificate revoked by the CA "
	    "in DIR.\n"
	    "\n"
	    "  --ca DIR        the CA's directory\n"
	    "  --out FILE      the CRL to write (PEM)\n"
	    "  --days N        time until nextUpdate (default 7)\n"
	    "  --force         replace an existing output file\n"
	    "\n"
	    CLI_CA_KEY_HELP,
	    cmd, CLI_CA_PASSPHRASE_ENV);
}

/* Counts the revoked entries, for the summary. */
static int
count_revoked(const struct mtls_ca_record *rec, void *arg)
{
	if (rec->revoked_at != 0 || rec->status == MTLS_STATUS_REVOKED)
		(*(int *)arg)++;
	return 0;
}

int
cmd_ca_crl(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, 'C' },
		{ "out", required_argument, NULL, 'o' },
		{ "days", required_argument, NULL, 'D' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ca_dir = NULL, *out = NULL;
	struct mtls_ca *ca = NULL;
	int days = 7, force = 0, c, ret = EXIT_USAGE;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'C': ca_dir = optarg; break;
		case 'o': out = optarg; break;
		case 'D':
			if (cli_parse_int(cmd, "--days", optarg, 1, 3650,
			    &days) == -1)
				goto out;
			break;
		case 'f': force = 1; break;
		case 'h': usage(); ret = EXIT_OK; goto out;
		default: cli_getopt_fail(cmd, c, argv); goto out;
		}
	}
	if (cli_no_operands(cmd, argc, argv) != 0 ||
	    cli_require(cmd, "--ca", ca_dir) == -1 ||
	    cli_require(cmd, "--out", out) == -1)
		goto out;

	ret = EXIT_FAIL;
	if (cli_refuse_existing(out, force) == -1)
		goto out;
	if ((ca = cli_ca_open(ca_dir, 1)) == NULL)
		goto out;
	if (mtls_ca_write_crl(ca, out, days, force ? MTLS_WRITE_FORCE : 0) ==
	    -1) {
		cli_fail_ca(ca, NULL);
		goto out;
	}
	int revoked = 0;
	if (mtls_ca_list(ca, count_revoked, &revoked) == -1) {
		/* The CRL is written; if the inventory cannot be read again
		 * for the count, the summary leaves the count out. */
		printf("wrote CRL %s (next update in %d days)\n", out, days);
	} else {
		char next[32];
		cli_date(time(NULL) + (time_t)days * 86400, next,
		    sizeof(next));
		printf("wrote CRL with %d revoked certificate%s, next update "
		    "%s: %s\n", revoked, revoked == 1 ? "" : "s", next, out);
	}
	ret = EXIT_OK;
out:
	mtls_ca_free(ca);
	return ret;
}
