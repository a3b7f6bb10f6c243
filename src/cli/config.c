/*
 * config.c - "mtls config": the configuration for the servers and clients
 * people already run (nginx, Apache httpd, HAProxy; curl, Python requests,
 * openssl s_client), made by the library from the PKI's files.  This file
 * only reads the options and prints.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_pki.h"

static const char cmd[] = "mtls config";

static void
usage(void)
{
	printf("usage: %s nginx|apache|haproxy [--pki DIR | --cert F --key F "
	    "--ca F]\n"
	    "           [--crl F] [--listen [HOST:]PORT] [--backend URL] "
	    "[--server-name N]\n"
	    "           [--allow-cn N | --allow-ou O | --allow-dns D | "
	    "--allow-uri U |\n"
	    "            --allow-email E | --allow-fingerprint F | "
	    "--allow-any]...\n"
	    "           [--identity-headers] [--json]\n"
	    "       %s curl|requests|openssl [--pki DIR | --cert F --key F "
	    "--ca F]\n"
	    "           [--url URL] [--json]\n"
	    "\n"
	    "Prints a complete, minimal mutual-TLS configuration made from "
	    "the files: for\n"
	    "a server, the block to paste, with a comment saying why each "
	    "line is there\n"
	    "(client certificate required, the CAs whose names are sent, the "
	    "verify depth\n"
	    "of the actual chain, a CRL for every CA of it, TLS 1.2 at "
	    "least, identity\n"
	    "headers that replace the client's own); for a client, the "
	    "command or code.\n"
	    "\n"
	    "  --pki DIR           the files of mtls init: DIR/server.crt, "
	    ".key (servers),\n"
	    "                      DIR/client.crt, .key (clients), "
	    "DIR/ca/ca.crt\n"
	    "  --cert F, --key F   the certificate (with its chain) and key to "
	    "use\n"
	    "  --ca F              servers: the CAs that issue client "
	    "certificates (root\n"
	    "                      and intermediates); clients: the server's "
	    "CA\n"
	    "  --crl F             CRLs, one for every CA of --ca (else "
	    "refused)\n"
	    "  --listen [HOST:]PORT  where the server listens (default "
	    "8443)\n"
	    "  --backend URL       http://HOST:PORT to forward to (default "
	    "http://127.0.0.1:8080)\n"
	    "  --server-name N     the server's name (default localhost)\n"
	    "  --allow-*           access rules, as for mtls serve; a rule the "
	    "server cannot\n"
	    "                      express becomes a comment and its clients "
	    "are refused\n"
	    "  --identity-headers  X-SSL-Client-Verify, -Subject, -Issuer to "
	    "the backend\n"
	    "  --url URL           clients: the URL to fetch (default "
	    "https://localhost:8443/)\n"
	    "  --json              the lines and the files they name, as "
	    "JSON\n", cmd, cmd);
}

static void
print_json(enum mtls_software sw, const struct mtls_snippet *s)
{
	const char *role;

	printf("{\"software\": ");
	json_str(stdout, mtls_software_name(sw));
	printf(",\n \"lines\": [");
	for (size_t i = 0; i < mtls_snippet_line_count(s); i++) {
		printf("%s\n  ", i > 0 ? "," : "");
		json_str(stdout, mtls_snippet_line(s, i));
	}
	printf("],\n \"files\": [");
	for (size_t i = 0; i < mtls_snippet_file_count(s); i++) {
		const char *path = mtls_snippet_file(s, i, &role);
		printf("%s\n  {\"role\": ", i > 0 ? "," : "");
		json_str(stdout, role);
		printf(", \"path\": ");
		json_str(stdout, path);
		printf("}");
	}
	printf("]}\n");
}

static int
is_server(enum mtls_software sw)
{
	return sw == MTLS_SOFTWARE_NGINX || sw == MTLS_SOFTWARE_APACHE ||
	    sw == MTLS_SOFTWARE_HAPROXY;
}

int
cmd_config(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pki", required_argument, NULL, 'p' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'a' },
		{ "crl", required_argument, NULL, 'r' },
		{ "listen", required_argument, NULL, 'l' },
		{ "backend", required_argument, NULL, 'b' },
		{ "server-name", required_argument, NULL, 'n' },
		{ "url", required_argument, NULL, 'u' },
		{ "allow-cn", required_argument, NULL, MTLS_ALLOW_CN },
		{ "allow-dns", required_argument, NULL, MTLS_ALLOW_DNS },
		{ "allow-uri", required_argument, NULL, MTLS_ALLOW_URI },
		{ "allow-ou", required_argument, NULL, MTLS_ALLOW_OU },
		{ "allow-fingerprint", required_argument, NULL,
		    MTLS_ALLOW_FINGERPRINT },
		{ "allow-email", required_argument, NULL, MTLS_ALLOW_EMAIL },
		{ "allow-any", no_argument, NULL, MTLS_ALLOW_ANY },
		{ "identity-headers", no_argument, NULL, 'I' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mtls_snippet_options opt;
	struct mtls_snippet_rule *rules = NULL;
	struct mtls_snippet *s = NULL;
	struct mtls_error err;
	enum mtls_software sw;
	const char *pki = NULL;
	char *paths[3] = { NULL, NULL, NULL };
	int c, json = 0, ret = EXIT_USAGE;
	size_t nrules = 0;

	memset(&opt, 0, sizeof(opt));
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		usage();
		return EXIT_OK;
	}
	if (argc < 2 || argv[1][0] == '-')
		return cli_usage(cmd, "say which software: nginx, apache, "
		    "haproxy, curl, requests or openssl");
	if (mtls_software_parse(argv[1], &sw) != 0)
		return cli_usage(cmd, "'%s' is not nginx, apache, haproxy, "
		    "curl, requests or openssl", argv[1]);
	argc--;
	argv++;
	if ((rules = calloc((size_t)argc + 1, sizeof(*rules))) == NULL)
		return cli_fail("out of memory");
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': pki = optarg; break;
		case 'c': opt.cert_file = optarg; break;
		case 'k': opt.key_file = optarg; break;
		case 'a': opt.ca_file = optarg; break;
		case 'r': opt.crl_file = optarg; break;
		case 'l': opt.listen = optarg; break;
		case 'b': opt.backend = optarg; break;
		case 'n': opt.server_name = optarg; break;
		case 'u': opt.url = optarg; break;
		case 'I': opt.identity_headers = 1; break;
		case 'j': json = 1; break;
		case MTLS_ALLOW_CN: case MTLS_ALLOW_DNS: case MTLS_ALLOW_URI:
		case MTLS_ALLOW_OU: case MTLS_ALLOW_FINGERPRINT:
		case MTLS_ALLOW_EMAIL: case MTLS_ALLOW_ANY:
			rules[nrules].kind = (enum mtls_rule_kind)c;
			rules[nrules].value = optarg != NULL ? optarg : "";
			nrules++;
			break;
		case 'h': usage(); ret = EXIT_OK; goto out;
		default: cli_getopt_fail(cmd, c, argv); goto out;
		}
	}
	if (cli_no_operands(cmd, argc, argv) != 0)
		goto out;
	if (is_server(sw) && opt.url != NULL) {
		cli_usage(cmd, "--url is for curl, requests and openssl");
		goto out;
	}
	if (!is_server(sw) && (opt.crl_file != NULL || opt.listen != NULL ||
	    opt.backend != NULL || opt.server_name != NULL || nrules > 0 ||
	    opt.identity_headers)) {
		cli_usage(cmd, "%s is a client: --crl, --listen, --backend, "
		    "--server-name, --allow-* and --identity-headers are for "
		    "servers", argv[0]);
		goto out;
	}
	if (pki != NULL) {
		const char *leaf = is_server(sw) ? "server" : "client";
		char name[16];
		snprintf(name, sizeof(name), "%s.crt", leaf);
		paths[0] = cli_path_join(pki, name);
		snprintf(name, sizeof(name), "%s.key", leaf);
		paths[1] = cli_path_join(pki, name);
		paths[2] = cli_path_join(pki, "ca/ca.crt");
		if (opt.cert_file == NULL)
			opt.cert_file = paths[0];
		if (opt.key_file == NULL)
			opt.key_file = paths[1];
		if (opt.ca_file == NULL)
			opt.ca_file = paths[2];
	}
	if (opt.cert_file == NULL || opt.key_file == NULL ||
	    opt.ca_file == NULL) {
		cli_usage(cmd, "give --pki DIR, or --cert, --key and --ca");
		goto out;
	}
	opt.rules = rules;
	opt.nrules = nrules;

	memset(&err, 0, sizeof(err));
	if ((s = mtls_snippet_make(sw, &opt, &err)) == NULL) {
		ret = err.code == MTLS_ERR_USAGE ? cli_usage(cmd, "%s",
		    err.msg) : cli_fail_err(&err);
		goto out;
	}
	if (json)
		print_json(sw, s);
	else
		fputs(mtls_snippet_text(s), stdout);
	ret = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
out:
	mtls_snippet_free(s);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		free(paths[i]);
	free(rules);
	return ret;
}
