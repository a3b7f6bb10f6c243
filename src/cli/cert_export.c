/*
 * cert_export.c - "mtls cert export": a certificate chain and its key as a
 * passphrase-protected PKCS#12 file, for browsers, Java keystores, Windows
 * and macOS keychains.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_pki.h"

static const char cmd[] = "mtls cert export";

static void
usage(void)
{
	printf("usage: %s --cert FILE --key FILE --out FILE.p12\n"
	    "           [--passphrase-env VAR] [--force]\n"
	    "\n"
	    "Writes the certificate (with any chain in FILE) and its key as a "
	    "PKCS#12\n"
	    "bundle encrypted with AES-256-CBC (PBKDF2, SHA-256 MAC).\n"
	    "\n"
	    "  --cert FILE           the certificate, optionally followed by "
	    "its chain\n"
	    "  --key FILE            the certificate's private key\n"
	    "  --out FILE.p12        the bundle to write (mode 0600)\n"
	    "  --passphrase-env VAR  take the bundle's passphrase from $VAR "
	    "(default\n"
	    "                        %s); without it, prompt on a terminal\n"
	    "  --force               replace an existing output file\n"
	    "\n"
	    "An encrypted key is unlocked with $%s or a prompt.\n",
	    cmd, CLI_P12_PASSPHRASE_ENV, CLI_KEY_PASSPHRASE_ENV);
}

int
cmd_cert_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "out", required_argument, NULL, 'o' },
		{ "passphrase-env", required_argument, NULL, 'p' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mtls_cert_info info;
	struct mtls_error err = { 0 };
	const char *cert_file = NULL, *key_file = NULL, *out = NULL;
	const char *env = CLI_P12_PASSPHRASE_ENV;
	struct mtls_cert *cert = NULL;
	struct mtls_key *key = NULL;
	char *pass = NULL, *key_pass = NULL;
	int force = 0, c, ret = EXIT_USAGE;

	memset(&info, 0, sizeof(info));
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cert_file = optarg; break;
		case 'k': key_file = optarg; break;
		case 'o': out = optarg; break;
		case 'p':
			if (*optarg == '\0') {
				cli_usage(cmd, "--passphrase-env: empty "
				    "variable name");
				goto out;
			}
			env = optarg;
			break;
		case 'f': force = 1; break;
		case 'h': usage(); ret = EXIT_OK; goto out;
		default: cli_getopt_fail(cmd, c, argv); goto out;
		}
	}
	if (cli_no_operands(cmd, argc, argv) != 0 ||
	    cli_require(cmd, "--cert", cert_file) == -1 ||
	    cli_require(cmd, "--key", key_file) == -1 ||
	    cli_require(cmd, "--out", out) == -1)
		goto out;

	ret = EXIT_FAIL;
	if (cli_refuse_existing(out, force) == -1)
		goto out;
	if ((cert = mtls_cert_load_file(cert_file, &err)) == NULL) {
		cli_fail_err(&err);
		goto out;
	}
	if ((key = mtls_key_load_file(key_file, NULL, &err)) == NULL &&
	    err.code == MTLS_ERR_PASSPHRASE) {
		/* An encrypted key: ask for its passphrase, once. */
		char prompt[512];
		snprintf(prompt, sizeof(prompt), "Passphrase for %s", key_file);
		if ((key_pass = cli_passphrase(CLI_KEY_PASSPHRASE_ENV, prompt,
		    0)) == NULL)
			goto out;
		key = mtls_key_load_file(key_file, key_pass, &err);
	}
	if (key == NULL) {
		cli_fail_err(&err);
		goto out;
	}
	if (mtls_cert_check_key(cert, key, &err) == -1) {
		cli_fail("%s: not the key of %s (%s)", key_file, cert_file,
		    err.msg[0] ? err.msg : mtls_errcode_text(err.code));
		goto out;
	}
	if (mtls_cert_info(cert, 0, &info, &err) == -1) {
		cli_fail_err(&err);
		goto out;
	}
	if ((pass = cli_passphrase(env, "PKCS#12 passphrase", 1)) == NULL)
		goto out;
	if (mtls_pkcs12_write_file(cert, key, info.common_name, pass, out,
	    force ? MTLS_WRITE_FORCE : 0, &err) == -1) {
		cli_fail_err(&err);
		goto out;
	}
	printf("wrote PKCS#12 bundle of %s (%zu certificate%s) and its key: "
	    "%s\n", info.common_name ? info.common_name : info.subject,
	    mtls_cert_count(cert), mtls_cert_count(cert) == 1 ? "" : "s",
	    out);
	ret = EXIT_OK;
out:
	cli_passphrase_free(pass);
	cli_passphrase_free(key_pass);
	mtls_cert_info_clear(&info);
	mtls_key_free(key);
	mtls_cert_free(cert);
	return ret;
}
