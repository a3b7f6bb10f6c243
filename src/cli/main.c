/*
 * main.c - the mtls command: finds the subcommand and runs it.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct cli_cmd commands[] = {
	{ "init", cmd_init, "create a ready-to-use PKI (CA, server, client)" },
	{ "ca", cmd_ca, "manage a certificate authority (init, crl)" },
	{ "csr", cmd_csr, "make a key and certificate signing request" },
	{ "cert", cmd_cert, "issue, sign, revoke, list, inspect, verify, "
	    "export certificates" },
	{ "enroll", cmd_enroll, "get a first certificate from an online CA "
	    "(EST)" },
	{ "renew", cmd_renew, "renew a certificate through an online CA "
	    "(EST)" },
	{ "serve", cmd_serve, "terminate mTLS and forward authorized clients" },
	{ "tunnel", cmd_tunnel, "carry local plaintext to an mTLS upstream" },
	{ "connect", cmd_connect, "one mTLS handshake with a server, "
	    "explained" },
	{ "doctor", cmd_doctor, "find what is wrong with an mTLS setup, with "
	    "the fix" },
	{ "config", cmd_config, "nginx, Apache, HAProxy and client "
	    "configuration for your PKI" },
	{ "bench", cmd_bench, "measure an mTLS endpoint under load" },
	{ "demo", cmd_demo, "show mtls serve end to end in a temp dir" },
};

int
main(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "version") == 0)) {
		printf("mtls %s\n", MTLS_VERSION_STRING);
		return EXIT_OK;
	}
	return cli_dispatch("mtls", commands,
	    sizeof(commands) / sizeof(commands[0]), argc - 1, argv + 1);
}
