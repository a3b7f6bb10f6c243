/*
 * tunnel.c - "mtls tunnel": local plaintext to an mTLS upstream.  Each
 * connection accepted on --listen gets its own mTLS connection to
 * --connect, made with our client certificate and verified against --ca
 * and the server name; bytes are then relayed both ways.  The engine is
 * the one "mtls serve" runs (src/proxy), with the TLS side facing the
 * upstream instead of the client.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_pki.h"
#include "proxy_cli.h"

static const char cmd[] = "mtls tunnel";

static void
usage(void)
{
	printf("usage: %s --listen ADDR --connect HOST:PORT --cert FILE "
	    "--key FILE --ca FILE\n"
	    "           [--servername NAME] [--workers N] [--max-conns N] "
	    "[--tls-min 1.2|1.3]\n"
	    "           [--handshake-timeout S] [--idle-timeout S] "
	    "[--log-format text|json]\n"
	    "           [--metrics ADDR] [--renew-from URL] [--unsafe-listen]\n"
	    "           [--unsafe-start-anyway] [--no-sandbox]\n"
	    "\n"
	    "Accepts plaintext connections on ADDR and carries each one to "
	    "HOST:PORT over\n"
	    "mutual TLS: our certificate is presented, the server's is "
	    "verified against --ca\n"
	    "and the server name.  Nothing a client sends goes upstream "
	    "before the server\n"
	    "is verified.  Sessions are resumed.  SIGHUP or a change to the "
	    "files reloads\n"
	    "them for new connections; SIGTERM/SIGINT stops accepting and "
	    "lets open\n"
	    "connections finish (10 s at most).\n"
	    "\n"
	    "  --listen ADDR          HOST:PORT, [IPv6]:PORT or unix:/path; "
	    "loopback or unix\n"
	    "                         only unless --unsafe-listen\n"
	    "  --connect HOST:PORT    the mTLS server\n"
	    "  --cert FILE            our client certificate, then its chain\n"
	    "  --key FILE             its private key\n"
	    "  --ca FILE              the CAs that issue the server's "
	    "certificate (nothing else\n"
	    "                         is trusted)\n"
	    "  --servername NAME      the name sent (SNI) and verified in the "
	    "server's\n"
	    "                         certificate (default: HOST of "
	    "--connect)\n"
	    "  --workers N            worker threads (default: one per core)\n"
	    "  --max-conns N          close connections beyond N at once\n"
	    "  --tls-min V            1.2 (default) or 1.3\n"
	    "  --handshake-timeout S  seconds for the upstream handshake "
	    "(default 10)\n"
	    "  --idle-timeout S       seconds without data either way "
	    "(default 300)\n"
	    "  --log-format F         text (default) or json, one line per "
	    "connection on stderr\n"
	    "  --metrics ADDR         Prometheus /metrics and /healthz on "
	    "ADDR\n"
	    "  --renew-from URL       renew --cert at 2/3 of its lifetime "
	    "from this EST\n"
	    "                         server (mtls ca serve), verified "
	    "against --ca\n"
	    "  --unsafe-listen        allow a listen address other machines "
	    "can reach\n"
	    "  --unsafe-start-anyway  start even when the checks at start "
	    "(those of mtls\n"
	    "                         doctor) find that every handshake "
	    "would fail\n"
	    "  --no-sandbox           no Landlock and no seccomp filter after "
	    "start\n", cmd);
}

int
cmd_tunnel(int argc, char **argv)
{
	enum {
		O_LISTEN = 256, O_CONNECT, O_CERT, O_KEY, O_CA, O_SERVERNAME,
		O_WORKERS, O_MAX_CONNS, O_TLS_MIN, O_HS_TIMEOUT,
		O_IDLE_TIMEOUT, O_LOG_FORMAT, O_METRICS, O_UNSAFE_LISTEN,
		O_UNSAFE_START, O_RENEW_FROM, O_NO_SANDBOX,
	};
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "connect", required_argument, NULL, O_CONNECT },
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ "ca", required_argument, NULL, O_CA },
		{ "renew-from", required_argument, NULL, O_RENEW_FROM },
		{ "servername", required_argument, NULL, O_SERVERNAME },
		{ "workers", required_argument, NULL, O_WORKERS },
		{ "max-conns", required_argument, NULL, O_MAX_CONNS },
		{ "tls-min", required_argument, NULL, O_TLS_MIN },
		{ "handshake-timeout", required_argument, NULL, O_HS_TIMEOUT },
		{ "idle-timeout", required_argument, NULL, O_IDLE_TIMEOUT },
		{ "log-format", required_argument, NULL, O_LOG_FORMAT },
		{ "metrics", required_argument, NULL, O_METRICS },
		{ "unsafe-listen", no_argument, NULL, O_UNSAFE_LISTEN },
		{ "unsafe-start-anyway", no_argument, NULL, O_UNSAFE_START },
		{ "no-sandbox", no_argument, NULL, O_NO_SANDBOX },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct proxy_options o = { .mode = PROXY_TUNNEL };
	struct mtls_config *cfg;
	int unsafe_listen = 0, start_anyway = 0;
	char why[1024];
	enum proxy_part part;
	int c, rc;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case O_LISTEN: o.listen = optarg; break;
		case O_CONNECT: o.connect = optarg; break;
		case O_CERT: o.cert_file = optarg; break;
		case O_KEY: o.key_file = optarg; break;
		case O_CA: o.ca_file = optarg; break;
		case O_RENEW_FROM:
			if (strncmp(optarg, "https://", 8) != 0)
				return cli_usage(cmd, "--renew-from %s: not an "
				    "https:// URL", optarg);
			o.renew_from = optarg;
			break;
		case O_SERVERNAME:
			if (*optarg == '\0')
				return cli_usage(cmd, "--servername: empty");
			o.servername = optarg;
			break;
		case O_WORKERS:
			if (cli_parse_int(cmd, "--workers", optarg, 1, 256,
			    &o.workers) == -1)
				return EXIT_USAGE;
			break;
		case O_MAX_CONNS:
			if (cli_parse_int(cmd, "--max-conns", optarg, 1,
			    10000000, &o.max_conns) == -1)
				return EXIT_USAGE;
			break;
		case O_TLS_MIN:
			if (proxy_cli_tls_min(cmd, optarg, &o.tls_min) == -1)
				return EXIT_USAGE;
			break;
		case O_HS_TIMEOUT:
			if (proxy_cli_seconds(cmd, "--handshake-timeout",
			    optarg, &o.handshake_timeout) == -1)
				return EXIT_USAGE;
			break;
		case O_IDLE_TIMEOUT:
			if (proxy_cli_seconds(cmd, "--idle-timeout", optarg,
			    &o.idle_timeout) == -1)
				return EXIT_USAGE;
			break;
		case O_LOG_FORMAT:
			if (proxy_cli_log_format(cmd, optarg,
			    &o.log_format) == -1)
				return EXIT_USAGE;
			break;
		case O_METRICS: o.metrics = optarg; break;
		case O_UNSAFE_LISTEN: unsafe_listen = 1; break;
		case O_UNSAFE_START: start_anyway = 1; break;
		case O_NO_SANDBOX: o.no_sandbox = 1; break;
		case 'h': usage(); return EXIT_OK;
		default: cli_getopt_fail(cmd, c, argv); return EXIT_USAGE;
		}
	}
	if (cli_no_operands(cmd, argc, argv) != 0)
		return EXIT_USAGE;
	{
		const struct {
			const char *opt, *val;
		} required[] = {
			{ "--listen", o.listen }, { "--connect", o.connect },
			{ "--cert", o.cert_file }, { "--key", o.key_file },
			{ "--ca", o.ca_file },
		};
		for (size_t i = 0; i < sizeof(required) /
		    sizeof(required[0]); i++)
			if (required[i].val == NULL || *required[i].val == '\0')
				return cli_usage(cmd, "%s is required",
				    required[i].opt);
	}
	/* The engine names the address; we name the option. */
	if ((rc = proxy_check_tunnel_listen(o.listen, unsafe_listen, why,
	    sizeof(why))) != 0)
		return cli_usage(cmd, "--listen %s%s", why,
		    rc == PROXY_ADDR_NOT_LOCAL ?
		    " (use --unsafe-listen to allow it)" : "");
	if (proxy_check_connect(o.connect, why, sizeof(why)) == -1)
		return cli_usage(cmd, "--connect %s", why);
	if (o.metrics != NULL && proxy_check_listen(o.metrics, why,
	    sizeof(why)) == -1)
		return cli_usage(cmd, "--metrics %s", why);

	if (cli_ca_file_check(o.ca_file) != 0)
		return EXIT_FAIL;
	/* The same checks run at each reload: the option holds there too. */
	o.unsafe_start_anyway = start_anyway;
	o.key_passphrase = getenv(CLI_KEY_PASSPHRASE_ENV);
	if (proxy_cli_start_checks(cmd, &o, start_anyway) == -1)
		return EXIT_FAIL;
	if ((cfg = proxy_config_build(&o, why, sizeof(why))) == NULL)
		return cli_fail("%s", why);
	/* The engine takes cfg over. */
	if (proxy_serve(&o, cfg, &part, why, sizeof(why)) == -1)
		return cli_fail("%s%s", proxy_cli_part(part), why);
	return EXIT_OK;
}
