/*
 * groups.c - the command groups with subcommands of their own:
 * "mtls ca ...", "mtls csr ...", "mtls cert ...".
 */
#include "cli.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct cli_cmd ca_cmds[] = {
	{ "init", cmd_ca_init, "create a root or intermediate CA" },
	{ "crl", cmd_ca_crl, "write a certificate revocation list" },
	{ "serve", cmd_ca_serve, "run the CA online: EST over mTLS" },
	{ "token", cmd_ca_token, "make a one-time enrollment token" },
	{ "import", cmd_ca_import, "adopt a CA made elsewhere (ca.crt, "
	    "ca.key)" },
	{ "db", cmd_ca_db, "create, migrate or import into the inventory" },
};

static const struct cli_cmd csr_cmds[] = {
	{ "new", cmd_csr_new, "make a key and a CSR" },
};

static const struct cli_cmd cert_cmds[] = {
	{ "issue", cmd_cert_issue, "issue a server or client certificate" },
	{ "sign", cmd_cert_sign, "sign a CSR" },
	{ "revoke", cmd_cert_revoke, "revoke a certificate" },
	{ "list", cmd_cert_list, "list the CA's inventory" },
	{ "inspect", cmd_cert_inspect, "show certificates, CSRs and CRLs" },
	{ "verify", cmd_cert_verify, "verify a certificate" },
	{ "export", cmd_cert_export, "write a PKCS#12 bundle" },
};

int
cmd_ca(int argc, char **argv)
{
	return cli_dispatch("mtls ca", ca_cmds, N(ca_cmds), argc - 1, argv + 1);
}

int
cmd_csr(int argc, char **argv)
{
	return cli_dispatch("mtls csr", csr_cmds, N(csr_cmds), argc - 1,
	    argv + 1);
}

int
cmd_cert(int argc, char **argv)
{
	return cli_dispatch("mtls cert", cert_cmds, N(cert_cmds), argc - 1,
	    argv + 1);
}
