/*
 * cert_sign.c - "mtls cert sign": the CA signs a CSR as a server or client
 * certificate.  The library checks the CSR's self-signature and key, and
 * copies only its subject and SANs: nothing the requester asks for beyond
 * its names (CA:TRUE, keyCertSign, ...) reaches the certificate.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_pki.h"

static const char cmd[] = "mtls cert sign";

static void
usage(void)
{
	printf("usage: %s --ca DIR (--server|--client) --csr FILE [--days N]\n"
	    "           [--db URL] [--force] --out FILE\n"
	    "\n"
	    "Signs a certificate signing request with the CA in DIR and "
	    "writes the\n"
	    "certificate, then the CA chain, to FILE.  Only the subject and "
	    "SANs of\n"
	    "the request are used; a request to be a CA is refused.\n"
	    "\n"
	    CLI_ISSUER_HELP
	    "  --csr FILE      the request (PEM or DER)\n"
	    "  --days N        validity in days (default 90)\n"
	    "  --force         replace an existing output file\n"
	    "  --out FILE      the certificate to write\n"
	    "\n"
	    CLI_CA_KEY_HELP,
	    cmd, CLI_CA_PASSPHRASE_ENV);
}

int
cmd_cert_sign(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_ISSUER_OPTIONS,
		{ "csr", required_argument, NULL, 'r' },
		CLI_OUTPUT_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_issuer is = { 0 };
	struct mtls_error err = { 0 };
	const char *csr_file = NULL, *out = NULL;
	struct mtls_ca *ca = NULL;
	struct mtls_csr *csr = NULL;
	struct mtls_cert *cert = NULL;
	int force = 0, c, taken, ret = EXIT_USAGE;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if ((taken = cli_issuer_opt(cmd, &is, c, optarg)) == -1)
			goto out;
		if (taken)
			continue;
		switch (c) {
		case 'r': csr_file = optarg; break;
		case 'o': out = optarg; break;
		case 'f': force = 1; break;
		case 'h': usage(); ret = EXIT_OK; goto out;
		default: cli_getopt_fail(cmd, c, argv); goto out;
		}
	}
	if (cli_no_operands(cmd, argc, argv) != 0 ||
	    cli_issuer_require(cmd, &is) == -1 ||
	    cli_require(cmd, "--csr", csr_file) == -1 ||
	    cli_require(cmd, "--out", out) == -1)
		goto out;

	ret = EXIT_FAIL;
	if (cli_refuse_existing(out, force) == -1)
		goto out;
	/* The request is read and checked before the CA key is unlocked. */
	if ((csr = mtls_csr_load_file(csr_file, &err)) == NULL) {
		cli_fail_err(&err);
		goto out;
	}
	if ((ca = cli_ca_open(is.ca_dir, is.db, 1)) == NULL)
		goto out;
	if ((cert = mtls_ca_sign_csr(ca, csr, &is.opt)) == NULL) {
		char *what = cli_path_cat("cannot sign ", csr_file);
		cli_fail_ca(ca, what);
		free(what);
		goto out;
	}
	char serial[128], expires[32];
	if (cli_cert_summary(cert, serial, sizeof(serial), expires,
	    sizeof(expires)) == -1)
		goto out;
	if (mtls_cert_write_file(cert, out, force ? MTLS_WRITE_FORCE : 0,
	    &err) == -1) {
		cli_fail_err(&err);
		goto out;
	}
	printf("signed %s certificate serial %s, expires %s: %s\n",
	    mtls_cert_kind_name(is.opt.kind), serial, expires, out);
	ret = EXIT_OK;
out:
	mtls_cert_free(cert);
	mtls_csr_free(csr);
	mtls_ca_free(ca);
	return ret;
}
