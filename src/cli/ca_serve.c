/*
 * ca_serve.c - "mtls ca serve": the CA online, as an EST server (RFC 7030)
 * over mTLS.  Opens the CA (its key stays in this process), builds the TLS
 * configuration (client certificates asked for, verified against the CA's
 * chain and the bootstrap CAs when sent), and runs the server of
 * src/proxy/est_server.c.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_pki.h"
#include "proxy_cli.h"

static const char cmd[] = "mtls ca serve";

static void
usage(void)
{
	printf("usage: %s --ca DIR --listen ADDR --cert FILE --key FILE "
	    "[--db URL]\n"
	    "           [--bootstrap-ca FILE] [--days N | --hours H] "
	    "[--rate-limit N]\n"
	    "           [--crl-days N] [--tls-min 1.2|1.3] "
	    "[--log-format text|json]\n"
	    "\n"
	    "Runs the CA in DIR online: an EST server (RFC 7030) under "
	    "/.well-known/est/\n"
	    "(cacerts, simpleenroll, simplereenroll, csrattrs), the CRL at "
	    "/crl (remade\n"
	    "before its nextUpdate), and /metrics.  Enrollment takes a token "
	    "from\n"
	    "`mtls ca token` (HTTP Basic: name, token) or a certificate from a "
	    "bootstrap\n"
	    "CA; re-enrollment takes the current certificate over mTLS, names "
	    "unchanged.\n"
	    "\n"
	    "  --ca DIR           the CA's directory (its key is read here "
	    "and never sent)\n"
	    "  --db URL           the inventory: postgres://... shared by "
	    "several front\n"
	    "                     ends, or an SQLite file (default "
	    "$MTLS_CA_DB, else\n"
	    "                     DIR/ca.db)\n"
	    "  --listen ADDR      HOST:PORT, [IPv6]:PORT or :PORT\n"
	    "  --cert FILE        the server's certificate, then its chain\n"
	    "  --key FILE         its private key\n"
	    "  --bootstrap-ca F   CAs whose client certificates may enroll "
	    "(for their own\n"
	    "                     names), e.g. a device maker's\n"
	    "  --days N           lifetime of issued certificates in days\n"
	    "  --hours H          ... in hours, fractions allowed (default "
	    "24)\n"
	    "  --rate-limit N     enrollments per identity and minute "
	    "(default 30)\n"
	    "  --crl-days N       validity of the CRL (default 1); remade at "
	    "half of it\n"
	    "  --tls-min V        1.2 (default) or 1.3\n"
	    "  --log-format F     text (default) or json, one line per "
	    "request on stderr\n"
	    "\n"
	    CLI_CA_KEY_HELP, cmd, CLI_CA_PASSPHRASE_ENV);
}

/* The CA's chain, for verifying the certificates it issued: chain.crt of
 * an intermediate (up to the root), else ca.crt. */
static char *
ca_anchors(const char *dir)
{
	char *chain = cli_path_join(dir, "chain.crt");

	if (access(chain, R_OK) == 0)
		return chain;
	free(chain);
	return cli_path_join(dir, "ca.crt");
}

int
cmd_ca_serve(int argc, char **argv)
{
	enum {
		O_CA = 256, O_LISTEN, O_CERT, O_KEY, O_BOOTSTRAP, O_DAYS,
		O_HOURS, O_RATE, O_CRL_DAYS, O_TLS_MIN, O_LOG_FORMAT, O_DB,
	};
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, O_CA },
		{ "db", required_argument, NULL, O_DB },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ "bootstrap-ca", required_argument, NULL, O_BOOTSTRAP },
		{ "days", required_argument, NULL, O_DAYS },
		{ "hours", required_argument, NULL, O_HOURS },
		{ "rate-limit", required_argument, NULL, O_RATE },
		{ "crl-days", required_argument, NULL, O_CRL_DAYS },
		{ "tls-min", required_argument, NULL, O_TLS_MIN },
		{ "log-format", required_argument, NULL, O_LOG_FORMAT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct est_server_options so = { 0 };
	enum proxy_part part;
	struct mtls_est_options eo = { 0 };
	const char *dir = NULL, *db = NULL, *cert = NULL, *key = NULL;
	struct mtls_config *cfg = NULL;
	struct mtls_policy *pol = NULL;
	struct mtls_error err = { 0 };
	struct mtls_ca *ca = NULL;
	struct mtls_est *est = NULL;
	char *anchors = NULL, why[1024], *end;
	int c, days = 0, tls_min = 0, ret = EXIT_USAGE;
	double hours = 0;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case O_CA: dir = optarg; break;
		case O_DB: db = optarg; break;
		case O_LISTEN: so.listen = optarg; break;
		case O_CERT: cert = optarg; break;
		case O_KEY: key = optarg; break;
		case O_BOOTSTRAP: eo.bootstrap_ca_file = optarg; break;
		case O_DAYS:
			if (cli_parse_int(cmd, "--days", optarg, 1,
			    CLI_MAX_DAYS, &days) == -1)
				goto out;
			break;
		case O_HOURS:
			errno = 0;
			hours = strtod(optarg, &end);
			/* 0.01 h (36 s) at least: shorter is no certificate
			 * anyone could renew in time. */
			if (errno != 0 || end == optarg || *end != '\0' ||
			    !isfinite(hours) || hours < 0.01 ||
			    hours > 24.0 * CLI_MAX_DAYS) {
				cli_usage(cmd, "--hours: '%s' is not a number "
				    "of hours from 0.01 to %d", optarg,
				    24 * CLI_MAX_DAYS);
				goto out;
			}
			break;
		case O_RATE:
			if (cli_parse_int(cmd, "--rate-limit", optarg, 1,
			    100000, &eo.rate_per_minute) == -1)
				goto out;
			break;
		case O_CRL_DAYS:
			if (cli_parse_int(cmd, "--crl-days", optarg, 1, 3650,
			    &eo.crl_days) == -1)
				goto out;
			break;
		case O_TLS_MIN:
			if (proxy_cli_tls_min(cmd, optarg, &tls_min) == -1)
				goto out;
			break;
		case O_LOG_FORMAT:
			if (proxy_cli_log_format(cmd, optarg,
			    &so.log_format) == -1)
				goto out;
			break;
		case 'h': usage(); ret = EXIT_OK; goto out;
		default: cli_getopt_fail(cmd, c, argv); goto out;
		}
	}
	if (cli_no_operands(cmd, argc, argv) != 0 ||
	    cli_require(cmd, "--ca", dir) == -1 ||
	    cli_require(cmd, "--listen", so.listen) == -1 ||
	    cli_require(cmd, "--cert", cert) == -1 ||
	    cli_require(cmd, "--key", key) == -1)
		goto out;
	if (days != 0 && hours != 0) {
		cli_usage(cmd, "--days and --hours both set the lifetime: "
		    "give one");
		goto out;
	}
	if (proxy_check_listen(so.listen, why, sizeof(why)) == -1) {
		cli_usage(cmd, "--listen %s", why);
		goto out;
	}
	eo.lifetime_seconds = days != 0 ? (long)days * 86400 :
	    hours != 0 ? (long)(hours * 3600 + 0.5) : 0;

	ret = EXIT_FAIL;
	if ((ca = cli_ca_open(dir, db, 1)) == NULL)
		goto out;
	if ((est = mtls_est_new(ca, &eo, &err)) == NULL) {
		cli_fail_err(&err);
		goto out;
	}
	/* Any client may connect (a token holder has no certificate); one
	 * that sends a certificate must chain to the CA or a bootstrap CA,
	 * whatever its usage (a server renews with its server certificate).
	 * What it may do is decided per request. */
	anchors = ca_anchors(dir);
	if ((cfg = mtls_config_new()) == NULL ||
	    (pol = mtls_policy_new()) == NULL) {
		cli_fail("out of memory");
		goto out;
	}
	if (mtls_policy_allow(pol, MTLS_ALLOW_ANY, NULL, &err) == -1) {
		cli_fail_err(&err);
		goto out;
	}
	if (mtls_config_set_cert_file(cfg, cert) == -1 ||
	    mtls_config_set_key_file(cfg, key, NULL) == -1 ||
	    mtls_config_set_ca_file(cfg, anchors) == -1 ||
	    (eo.bootstrap_ca_file != NULL &&
	    mtls_config_add_ca_file(cfg, eo.bootstrap_ca_file) == -1) ||
	    mtls_config_set_protocols(cfg, tls_min, 0) == -1 ||
	    mtls_config_set_policy(cfg, pol) == -1) {
		cli_fail("%s", mtls_config_error(cfg));
		goto out;
	}
	mtls_config_verify_client_optional(cfg);
	mtls_config_set_client_purpose_any(cfg);
	so.est = est;
	/* The server takes cfg over. */
	c = est_serve(&so, cfg, &part, why, sizeof(why));
	cfg = NULL;
	if (c == -1) {
		cli_fail("%s%s", proxy_cli_part(part), why);
		goto out;
	}
	ret = EXIT_OK;
out:
	mtls_config_free(cfg);
	mtls_policy_free(pol);
	mtls_est_free(est);
	mtls_ca_free(ca);
	free(anchors);
	return ret;
}
