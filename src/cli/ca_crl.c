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
	printf("usage: %s --ca DIR [--db URL] --out FILE [--days N] [--force]\n"
	    "\n"
	    "Writes a signed v2 CRL of every certificate revoked by the CA "
	    "in DIR.\n"
	    "\n"
	    "  --ca DIR        the CA's directory\n"
	    CLI_DB_HELP
	    "  --out FILE      the CRL to write (PEM)\n"
	    "  --days N        time until nextUpdate (default 7)\n"
	    "  --force         replace an existing output file\n"
	    "\n"
	    CLI_CA_KEY_HELP,
	    cmd, CLI_CA_PASSPHRASE_ENV);
}

/* The written CRL's number and entry count, for the summary: read back
 * from the file, since other front ends may revoke meanwhile. */
static int
crl_summary(const char *path, char *number, size_t len, size_t *n)
{
	struct mtls_error err = { 0 };
	struct mtls_crl_info info;
	struct mtls_crl *crl = mtls_crl_load_file(path, &err);
	int ret = -1;

	memset(&info, 0, sizeof(info));
	if (crl != NULL && mtls_crl_info(crl, 0, &info, &err) == 0) {
		snprintf(number, len, "%s", info.crl_number != NULL ?
		    info.crl_number : "?");
		*n = info.nentries;
		ret = 0;
	}
	mtls_crl_info_clear(&info);
	mtls_crl_free(crl);
	return ret;
}

int
cmd_ca_crl(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, 'C' },
		CLI_DB_OPTION,
		{ "out", required_argument, NULL, 'o' },
		{ "days", required_argument, NULL, 'D' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL;
	const char *ca_dir = NULL, *out = NULL;
	struct mtls_ca *ca = NULL;
	int days = 7, force = 0, c, ret = EXIT_USAGE;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'C': ca_dir = optarg; break;
		case 'B': db = optarg; break;
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
	if ((ca = cli_ca_open(ca_dir, db, 1)) == NULL)
		goto out;
	if (mtls_ca_write_crl(ca, out, days, force ? MTLS_WRITE_FORCE : 0) ==
	    -1) {
		cli_fail_ca(ca, NULL);
		goto out;
	}
	size_t revoked = 0;
	char number[32];
	if (crl_summary(out, number, sizeof(number), &revoked) == -1) {
		/* The CRL is written; if it cannot be read back for the
		 * count, the summary leaves the count out. */
		printf("wrote CRL %s (next update in %d days)\n", out, days);
	} else {
		char next[32];
		cli_date(time(NULL) + (time_t)days * 86400, next,
		    sizeof(next));
		printf("wrote CRL number %s with %zu revoked certificate%s, "
		    "next update %s: %s\n", number, revoked,
		    revoked == 1 ? "" : "s", next, out);
	}
	ret = EXIT_OK;
out:
	mtls_ca_free(ca);
	return ret;
}
