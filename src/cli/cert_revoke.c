/*
 * cert_revoke.c - "mtls cert revoke": marks a certificate revoked in the
 * CA's inventory; the next "mtls ca crl" lists it.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_pki.h"

static const char cmd[] = "mtls cert revoke";

static const enum mtls_revoke_reason reasons[] = {
	MTLS_REVOKE_UNSPECIFIED, MTLS_REVOKE_KEY_COMPROMISE,
	MTLS_REVOKE_CA_COMPROMISE, MTLS_REVOKE_AFFILIATION_CHANGED,
	MTLS_REVOKE_SUPERSEDED, MTLS_REVOKE_CESSATION_OF_OPERATION,
	MTLS_REVOKE_CERTIFICATE_HOLD, MTLS_REVOKE_PRIVILEGE_WITHDRAWN,
	MTLS_REVOKE_AA_COMPROMISE,
};

/* The reason names, comma-separated; with wrap_lines, on lines that fit the
 * help's option column (18 spaces in, under 80 columns). */
static void
reason_list(char *buf, size_t len, int wrap_lines)
{
	size_t used = 0, col = 26; /* "  --reason R      one of: " */

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		const char *name = mtls_revoke_reason_name(reasons[i]);
		int wrap = wrap_lines && i > 0 && col + 2 + strlen(name) > 78;
		int n = snprintf(buf + used, len - used, "%s%s",
		    i == 0 ? "" : wrap ? ",\n                  " : ", ", name);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
		col = (wrap ? 18 : col + (i > 0 ? 2 : 0)) + strlen(name);
	}
}

static void
usage(void)
{
	char list[512];

	reason_list(list, sizeof(list), 1);
	printf("usage: %s --ca DIR [--db URL] (--serial HEX | --cert FILE)\n"
	    "           [--reason R]\n"
	    "\n"
	    "Records a certificate issued by the CA in DIR as revoked.  "
	    "Publish the\n"
	    "change with 'mtls ca crl'.\n"
	    "\n"
	    "  --ca DIR        the CA's directory\n"
	    CLI_DB_HELP
	    "  --serial HEX    the certificate's serial number (colons "
	    "allowed)\n"
	    "  --cert FILE     the certificate itself\n"
	    "  --reason R      one of: %s\n"
	    "                  (default unspecified)\n", cmd, list);
}

/* The serial as the inventory shows it: upper case, no colons. */
static void
serial_display(const char *in, char *out, size_t len)
{
	size_t j = 0;

	for (; *in != '\0' && j + 1 < len; in++)
		if (*in != ':')
			out[j++] = (char)toupper((unsigned char)*in);
	out[j] = '\0';
}

int
cmd_cert_revoke(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, 'C' },
		CLI_DB_OPTION,
		{ "serial", required_argument, NULL, 's' },
		{ "cert", required_argument, NULL, 'c' },
		{ "reason", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum mtls_revoke_reason reason = MTLS_REVOKE_UNSPECIFIED;
	struct mtls_error err = { 0 };
	const char *db = NULL;
	const char *ca_dir = NULL, *serial = NULL, *cert_file = NULL;
	struct mtls_ca *ca = NULL;
	struct mtls_cert *cert = NULL;
	char shown[160];
	int c, ret = EXIT_USAGE;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'C': ca_dir = optarg; break;
		case 'B': db = optarg; break;
		case 's': serial = optarg; break;
		case 'c': cert_file = optarg; break;
		case 'r':
			if (mtls_revoke_reason_parse(optarg, &reason) == -1) {
				char list[512];
				reason_list(list, sizeof(list), 0);
				cli_usage(cmd, "unknown reason '%s' (choose "
				    "from %s)", optarg, list);
				goto out;
			}
			break;
		case 'h': usage(); ret = EXIT_OK; goto out;
		default: cli_getopt_fail(cmd, c, argv); goto out;
		}
	}
	if (cli_no_operands(cmd, argc, argv) != 0 ||
	    cli_require(cmd, "--ca", ca_dir) == -1)
		goto out;
	if ((serial == NULL) == (cert_file == NULL)) {
		cli_usage(cmd, "give exactly one of --serial or --cert");
		goto out;
	}
	if (serial != NULL && *serial == '\0') {
		cli_usage(cmd, "--serial: empty serial number");
		goto out;
	}

	ret = EXIT_FAIL;
	if (cert_file != NULL) {
		char expires[32];
		if ((cert = mtls_cert_load_file(cert_file, &err)) == NULL) {
			cli_fail_err(&err);
			goto out;
		}
		if (cli_cert_summary(cert, shown, sizeof(shown), expires,
		    sizeof(expires)) == -1)
			goto out;
	} else
		serial_display(serial, shown, sizeof(shown));
	/* Revocation changes only the inventory: the CA key stays locked. */
	if ((ca = cli_ca_open(ca_dir, db, 0)) == NULL)
		goto out;
	int rc = cert != NULL ? mtls_ca_revoke_cert(ca, cert, reason) :
	    mtls_ca_revoke(ca, serial, reason);
	if (rc == -1) {
		cli_fail_ca(ca, NULL);
		goto out;
	}
	printf("revoked certificate serial %s (%s); run 'mtls ca crl' to "
	    "publish it\n", shown, mtls_revoke_reason_name(reason));
	ret = EXIT_OK;
out:
	mtls_cert_free(cert);
	mtls_ca_free(ca);
	return ret;
}
