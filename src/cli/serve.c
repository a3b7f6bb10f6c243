/*
 * serve.c - "mtls serve": the mTLS-terminating proxy.  Parses the options,
 * builds the access rules and the first configuration (so that a bad file is
 * reported before anything listens), and runs the engine (src/proxy).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_pki.h"
#include "proxy_cli.h"

static const char cmd[] = "mtls serve";

static void
usage(void)
{
	printf("usage: %s --config FILE [--check] [--no-sandbox]\n"
	    "       %s --listen ADDR --cert FILE --key FILE --ca FILE "
	    "--backend ADDR\n"
	    "           (--allow-cn N | --allow-dns D | --allow-uri U | "
	    "--allow-ou O |\n"
	    "            --allow-email E | --allow-fingerprint F | "
	    "--allow-any)...\n"
	    "           [--crl FILE [--crl-from URL]] [--renew-from URL]\n"
	    "           [--proxy-protocol] [--client-auth require|optional]\n"
	    "           [--tls-min 1.2|1.3] [--workers N] [--max-conns N] "
	    "[--handshake-timeout S]\n"
	    "           [--idle-timeout S] [--metrics ADDR] "
	    "[--log-format text|json]\n"
	    "           [--ticket-key-file FILE] [--session-cache N] "
	    "[--unsafe-backend]\n"
	    "           [--unsafe-start-anyway] [--no-sandbox] [--ktls]\n"
	    "           [--http [--http-identity LIST] [--strip-header-prefix P]...\n"
	    "            [--http-timeout S] [--http-max-request-line N]\n"
	    "            [--http-max-header-size N] [--http-max-headers N]]\n"
	    "\n"
	    "Terminates mutual TLS on ADDR, verifies and authorizes each "
	    "client certificate,\n"
	    "and forwards the plaintext to the backend.  A client that no "
	    "rule allows never\n"
	    "reaches the backend.  SIGHUP or a change to any of the files "
	    "reloads them;\n"
	    "SIGTERM/SIGINT stops accepting and lets open connections "
	    "finish (10 s at most).\n"
	    "\n"
	    "  --config FILE          the services and shared settings from a "
	    "YAML file\n"
	    "                         (mtls(1) lists the keys); SIGHUP or a "
	    "change re-reads it\n"
	    "  --check                with --config: check the file and every "
	    "file it names,\n"
	    "                         then exit (0: all good)\n"
	    "  --listen ADDR          HOST:PORT, [IPv6]:PORT or :PORT (every "
	    "address)\n"
	    "  --cert FILE            the server certificate, then its chain\n"
	    "  --key FILE             its private key\n"
	    "  --ca FILE              the CAs that issue client certificates "
	    "(nothing else is\n"
	    "                         trusted)\n"
	    "  --backend ADDR         HOST:PORT or unix:/path; loopback or "
	    "unix only unless\n"
	    "                         --unsafe-backend\n"
	    "  --allow-cn N           allow a subject common name (exact)\n"
	    "  --allow-dns D          allow a DNS SAN (exact, or *.example.com)\n"
	    "  --allow-uri U          allow a URI SAN; * is one path segment, "
	    "** the rest\n"
	    "  --allow-ou O           allow a subject organizational unit\n"
	    "  --allow-email E        allow an e-mail SAN\n"
	    "  --allow-fingerprint F  allow a certificate by sha256:HEX\n"
	    "  --allow-any            allow any certificate the CAs issued\n"
	    "  --crl FILE             CRLs for the whole chain; a missing or "
	    "expired one\n"
	    "                         refuses the client\n"
	    "  --renew-from URL       renew --cert at 2/3 of its lifetime "
	    "from this EST\n"
	    "                         server (mtls ca serve), verified "
	    "against --ca, and swap\n"
	    "                         it in without dropping connections\n"
	    "  --crl-from URL         fetch the CRL over HTTPS into --crl "
	    "before it expires\n"
	    "  --proxy-protocol       send a PROXY v2 header with the client's "
	    "address and\n"
	    "                         certificate facts to the backend\n"
	    "  --client-auth MODE     require (default) or optional (a client "
	    "without a\n"
	    "                         certificate then passes only with "
	    "--allow-any)\n"
	    "  --tls-min V            1.2 (default) or 1.3\n"
	    "  --workers N            worker threads (default: one per core)\n"
	    "  --max-conns N          close connections beyond N at once\n"
	    "  --handshake-timeout S  seconds for a handshake (default 10)\n"
	    "  --idle-timeout S       seconds without data either way "
	    "(default 300)\n"
	    "  --metrics ADDR         Prometheus /metrics and /healthz on ADDR\n"
	    "  --log-format F         text (default) or json, one line per "
	    "connection on stderr\n"
	    "  --ticket-key-file FILE session ticket keys shared by "
	    "instances\n"
	    "  --session-cache N      sessions kept for resumption (default "
	    "4096, about 6 KB\n"
	    "                         each)\n"
	    "  --unsafe-backend       allow a backend that is not on this "
	    "machine\n"
	    "  --unsafe-start-anyway  start even when the checks at start "
	    "(those of mtls\n"
	    "                         doctor) find that every handshake "
	    "would fail\n"
	    "  --no-sandbox           no Landlock and no seccomp filter after "
	    "start\n"
	    "  --ktls                 Linux kernel TLS where the kernel offers "
	    "it: it encrypts,\n"
	    "                         and the backend's bytes go to the client "
	    "by splice(2)\n"
	    "                         (not with --http)\n"
	    "  --http                 HTTP/1.1 both sides: every request is "
	    "parsed and checked,\n"
	    "                         client-sent identity headers removed "
	    "and ours added\n"
	    "  --http-identity LIST   xfcc, client-cert, client-cert-chain, "
	    "subject, none\n"
	    "                         (default xfcc,client-cert)\n"
	    "  --strip-header-prefix P  also remove request headers named P* "
	    "(repeatable)\n"
	    "  --http-timeout S       seconds the backend has to answer "
	    "(default 60; then 504)\n"
	    "  --http-max-request-line N  request-target bytes (default "
	    "8192; then 414)\n"
	    "  --http-max-header-size N   header section bytes (default "
	    "32768; then 431)\n"
	    "  --http-max-headers N   header fields (default 100; then 431)\n",
	    cmd, cmd);
}

/* --config FILE [--check]: the services of a file. */
static int
serve_config(const char *file, int check, int no_sandbox)
{
	struct proxy_plan *plan;
	char why[1024];
	enum proxy_part part;
	int ret = EXIT_FAIL;

	if ((plan = proxy_plan_load(file, why, sizeof(why))) == NULL)
		return cli_fail("%s", why);
	plan->no_sandbox = no_sandbox;
	proxy_plan_set_key_passphrase(plan, getenv(CLI_KEY_PASSPHRASE_ENV));
	if (check) {
		if (proxy_plan_check(plan, why, sizeof(why)) == -1) {
			cli_fail("%s: %s", file, why);
		} else {
			printf("%s: %zu service%s, configuration ok\n", file,
			    plan->nsvc, plan->nsvc == 1 ? "" : "s");
			ret = EXIT_OK;
		}
	} else if (proxy_plan_check(plan, why, sizeof(why)) == -1) {
		cli_fail("%s: %s", file, why);
	} else if (proxy_run(plan, &part, why, sizeof(why)) == -1) {
		/* The file's key, not the option. */
		cli_fail("%s: %s%s", file, part == PROXY_PART_METRICS ?
		    "metrics " : "", why);
	} else {
		ret = EXIT_OK;
	}
	proxy_plan_free(plan);
	return ret;
}

/* The option that makes a rule of kind. */
static const char *
rule_option(enum mtls_rule_kind kind)
{
	switch (kind) {
	case MTLS_ALLOW_CN: return "--allow-cn";
	case MTLS_ALLOW_DNS: return "--allow-dns";
	case MTLS_ALLOW_URI: return "--allow-uri";
	case MTLS_ALLOW_OU: return "--allow-ou";
	case MTLS_ALLOW_EMAIL: return "--allow-email";
	case MTLS_ALLOW_FINGERPRINT: return "--allow-fingerprint";
	default: return "--allow-any";
	}
}

int
cmd_serve(int argc, char **argv)
{
	enum {
		O_LISTEN = 256, O_CERT, O_KEY, O_CA, O_BACKEND, O_CRL,
		O_ALLOW_CN, O_ALLOW_DNS, O_ALLOW_URI, O_ALLOW_OU,
		O_ALLOW_EMAIL, O_ALLOW_FP, O_ALLOW_ANY, O_PROXY_PROTOCOL,
		O_HTTP, O_CLIENT_AUTH, O_TLS_MIN, O_WORKERS, O_MAX_CONNS,
		O_HS_TIMEOUT, O_IDLE_TIMEOUT, O_METRICS, O_LOG_FORMAT,
		O_TICKET_KEY, O_UNSAFE_BACKEND, O_UNSAFE_START, O_CONFIG,
		O_CHECK, O_NO_SANDBOX, O_RENEW_FROM, O_CRL_FROM,
		O_SESSION_CACHE, O_KTLS,
		O_HTTP_IDENTITY, O_STRIP, O_HTTP_TIMEOUT, O_HTTP_LINE,
		O_HTTP_HEAD, O_HTTP_FIELDS,
	};
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ "ca", required_argument, NULL, O_CA },
		{ "backend", required_argument, NULL, O_BACKEND },
		{ "crl", required_argument, NULL, O_CRL },
		{ "renew-from", required_argument, NULL, O_RENEW_FROM },
		{ "crl-from", required_argument, NULL, O_CRL_FROM },
		{ "allow-cn", required_argument, NULL, O_ALLOW_CN },
		{ "allow-dns", required_argument, NULL, O_ALLOW_DNS },
		{ "allow-uri", required_argument, NULL, O_ALLOW_URI },
		{ "allow-ou", required_argument, NULL, O_ALLOW_OU },
		{ "allow-email", required_argument, NULL, O_ALLOW_EMAIL },
		{ "allow-fingerprint", required_argument, NULL, O_ALLOW_FP },
		{ "allow-any", no_argument, NULL, O_ALLOW_ANY },
		{ "proxy-protocol", no_argument, NULL, O_PROXY_PROTOCOL },
		{ "http", no_argument, NULL, O_HTTP },
		{ "client-auth", required_argument, NULL, O_CLIENT_AUTH },
		{ "tls-min", required_argument, NULL, O_TLS_MIN },
		{ "workers", required_argument, NULL, O_WORKERS },
		{ "max-conns", required_argument, NULL, O_MAX_CONNS },
		{ "handshake-timeout", required_argument, NULL, O_HS_TIMEOUT },
		{ "idle-timeout", required_argument, NULL, O_IDLE_TIMEOUT },
		{ "metrics", required_argument, NULL, O_METRICS },
		{ "log-format", required_argument, NULL, O_LOG_FORMAT },
		{ "ticket-key-file", required_argument, NULL, O_TICKET_KEY },
		{ "session-cache", required_argument, NULL, O_SESSION_CACHE },
		{ "unsafe-backend", no_argument, NULL, O_UNSAFE_BACKEND },
		{ "http-identity", required_argument, NULL, O_HTTP_IDENTITY },
		{ "strip-header-prefix", required_argument, NULL, O_STRIP },
		{ "http-timeout", required_argument, NULL, O_HTTP_TIMEOUT },
		{ "http-max-request-line", required_argument, NULL,
		    O_HTTP_LINE },
		{ "http-max-header-size", required_argument, NULL,
		    O_HTTP_HEAD },
		{ "http-max-headers", required_argument, NULL, O_HTTP_FIELDS },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "check", no_argument, NULL, O_CHECK },
		{ "no-sandbox", no_argument, NULL, O_NO_SANDBOX },
		{ "ktls", no_argument, NULL, O_KTLS },
		{ "unsafe-start-anyway", no_argument, NULL, O_UNSAFE_START },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct proxy_options o = { 0 };
	struct mtls_policy *pol = NULL;
	struct mtls_config *cfg = NULL;
	struct mtls_error err = { 0 };
	enum mtls_rule_kind kind;
	char why[1024];
	enum proxy_part part;
	const char *config = NULL;
	int c, rc, check = 0, no_sandbox = 0, others = 0, ret = EXIT_USAGE;
	int start_anyway = 0, allow_any = 0, n, http_only = 0;
	/* --strip-header-prefix values: argv's strings, kept by pointer. */
	static const char *strip[PROXY_MAX_STRIP_PREFIX];
	size_t nstrip = 0;

	if ((pol = mtls_policy_new()) == NULL)
		return cli_fail("out of memory");
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c != O_CONFIG && c != O_CHECK && c != O_NO_SANDBOX &&
		    c != 'h')
			others = c;
		switch (c) {
		case O_LISTEN: o.listen = optarg; break;
		case O_CERT: o.cert_file = optarg; break;
		case O_KEY: o.key_file = optarg; break;
		case O_CA: o.ca_file = optarg; break;
		case O_BACKEND: o.backend = optarg; break;
		case O_CRL: o.crl_file = optarg; break;
		case O_RENEW_FROM: o.renew_from = optarg; break;
		case O_CRL_FROM: o.crl_from = optarg; break;
		case O_ALLOW_CN: kind = MTLS_ALLOW_CN; goto rule;
		case O_ALLOW_DNS: kind = MTLS_ALLOW_DNS; goto rule;
		case O_ALLOW_URI: kind = MTLS_ALLOW_URI; goto rule;
		case O_ALLOW_OU: kind = MTLS_ALLOW_OU; goto rule;
		case O_ALLOW_EMAIL: kind = MTLS_ALLOW_EMAIL; goto rule;
		case O_ALLOW_FP: kind = MTLS_ALLOW_FINGERPRINT; goto rule;
		case O_ALLOW_ANY:
			kind = MTLS_ALLOW_ANY;
			optarg = NULL;
			allow_any = 1;
		rule:
			if (mtls_policy_allow(pol, kind, optarg, &err) == -1) {
				/* The library names the value; we, the
				 * option. */
				cli_usage(cmd, "%s %s", rule_option(kind),
				    err.msg);
				goto out;
			}
			break;
		case O_PROXY_PROTOCOL: o.proxy_protocol = 1; break;
		case O_HTTP: o.http = 1; break;
		case O_HTTP_IDENTITY:
			if (proxy_check_http_identity(optarg, why,
			    sizeof(why)) == -1) {
				cli_usage(cmd, "--http-identity: %s", why);
				goto out;
			}
			o.http_identity = optarg;
			http_only = 1;
			break;
		case O_STRIP:
			if (*optarg == '\0' || nstrip == sizeof(strip) /
			    sizeof(strip[0])) {
				cli_usage(cmd, "--strip-header-prefix: %s",
				    *optarg ? "at most 32" : "empty prefix");
				goto out;
			}
			strip[nstrip++] = optarg;
			http_only = 1;
			break;
		case O_HTTP_TIMEOUT:
			if (proxy_cli_seconds(cmd, "--http-timeout", optarg,
			    &o.http_timeout) == -1)
				goto out;
			http_only = 1;
			break;
		case O_HTTP_LINE:
			if (cli_parse_int(cmd, "--http-max-request-line",
			    optarg, 64, 1024 * 1024, &n) == -1)
				goto out;
			o.http_max_line = (size_t)n;
			http_only = 1;
			break;
		case O_HTTP_HEAD:
			if (cli_parse_int(cmd, "--http-max-header-size",
			    optarg, 1024, 1024 * 1024, &n) == -1)
				goto out;
			o.http_max_head = (size_t)n;
			http_only = 1;
			break;
		case O_HTTP_FIELDS:
			if (cli_parse_int(cmd, "--http-max-headers", optarg,
			    1, 10000, &n) == -1)
				goto out;
			o.http_max_fields = (size_t)n;
			http_only = 1;
			break;
		case O_CLIENT_AUTH:
			if (strcmp(optarg, "require") == 0) {
				o.client_auth_optional = 0;
			} else if (strcmp(optarg, "optional") == 0) {
				o.client_auth_optional = 1;
			} else {
				cli_usage(cmd, "--client-auth: '%s' is not "
				    "require or optional", optarg);
				goto out;
			}
			break;
		case O_TLS_MIN:
			if (proxy_cli_tls_min(cmd, optarg, &o.tls_min) == -1)
				goto out;
			break;
		case O_WORKERS:
			if (cli_parse_int(cmd, "--workers", optarg, 1, 256,
			    &o.workers) == -1)
				goto out;
			break;
		case O_MAX_CONNS:
			if (cli_parse_int(cmd, "--max-conns", optarg, 1,
			    10000000, &o.max_conns) == -1)
				goto out;
			break;
		case O_HS_TIMEOUT:
			if (proxy_cli_seconds(cmd, "--handshake-timeout",
			    optarg, &o.handshake_timeout) == -1)
				goto out;
			break;
		case O_IDLE_TIMEOUT:
			if (proxy_cli_seconds(cmd, "--idle-timeout", optarg,
			    &o.idle_timeout) == -1)
				goto out;
			break;
		case O_METRICS: o.metrics = optarg; break;
		case O_LOG_FORMAT:
			if (proxy_cli_log_format(cmd, optarg,
			    &o.log_format) == -1)
				goto out;
			break;
		case O_TICKET_KEY: o.ticket_key_file = optarg; break;
		case O_SESSION_CACHE:
			if (cli_parse_int(cmd, "--session-cache", optarg, 1,
			    10000000, &o.session_cache) == -1)
				goto out;
			break;
		case O_UNSAFE_BACKEND: o.unsafe_backend = 1; break;
		/* Opt-in, not the default: Linux cannot rekey a kTLS send
		 * key, so a TLS 1.3 client that asks for a key update loses
		 * its connection (user-space TLS answers it), and its gain
		 * has not been measured on hardware here. */
		case O_KTLS: o.ktls = 1; break;
		case O_CONFIG: config = optarg; break;
		case O_CHECK: check = 1; break;
		case O_NO_SANDBOX: no_sandbox = 1; break;
		case O_UNSAFE_START: start_anyway = 1; break;
		case 'h': usage(); ret = EXIT_OK; goto out;
		default: cli_getopt_fail(cmd, c, argv); goto out;
		}
	}
	if (cli_no_operands(cmd, argc, argv) != 0)
		goto out;
	if (config != NULL) {
		if (others != 0) {
			cli_usage(cmd, "--config: the services come from the "
			    "file; give no other option than --check and "
			    "--no-sandbox");
			goto out;
		}
		ret = serve_config(config, check, no_sandbox);
		goto out;
	}
	if (check) {
		cli_usage(cmd, "--check needs --config");
		goto out;
	}
	{
		static const struct {
			const char *opt;
			size_t off;
		} required[] = {
			{ "--listen", offsetof(struct proxy_options, listen) },
			{ "--cert", offsetof(struct proxy_options, cert_file) },
			{ "--key", offsetof(struct proxy_options, key_file) },
			{ "--ca", offsetof(struct proxy_options, ca_file) },
			{ "--backend", offsetof(struct proxy_options,
			    backend) },
		};
		for (size_t i = 0; i < sizeof(required) /
		    sizeof(required[0]); i++) {
			const char *v = *(const char *const *)(void *)
			    ((char *)&o + required[i].off);
			if (v == NULL || *v == '\0') {
				cli_usage(cmd, "%s is required",
				    required[i].opt);
				goto out;
			}
		}
	}
	if (o.renew_from != NULL && strncmp(o.renew_from, "https://", 8) !=
	    0) {
		cli_usage(cmd, "--renew-from %s: not an https:// URL",
		    o.renew_from);
		goto out;
	}
	if (o.crl_from != NULL && (strncmp(o.crl_from, "https://", 8) != 0 ||
	    o.crl_file == NULL)) {
		cli_usage(cmd, "--crl-from %s: %s", o.crl_from,
		    o.crl_file == NULL ? "needs --crl FILE, where the CRL is "
		    "kept" : "not an https:// URL");
		goto out;
	}
	/* Rules are alternatives: beside --allow-any another one would
	 * restrict nothing, which its writer surely did not mean. */
	if (allow_any && mtls_policy_count(pol) > 1) {
		cli_usage(cmd, "--allow-any admits every client the CA vouches "
		    "for: another --allow-* rule beside it would restrict "
		    "nothing; give one or the other");
		goto out;
	}
	if (o.http && o.proxy_protocol) {
		cli_usage(cmd, "--http and --proxy-protocol cannot be used "
		    "together: with --http the identity goes in headers");
		goto out;
	}
	if (o.http && o.ktls) {
		cli_usage(cmd, "--ktls is for the raw relay: --http reads "
		    "every byte in user space");
		goto out;
	}
	if (http_only && !o.http) {
		cli_usage(cmd, "--http-identity, --strip-header-prefix and "
		    "--http-* need --http");
		goto out;
	}
	o.strip_prefix = strip;
	o.nstrip_prefix = nstrip;
	if (mtls_policy_count(pol) == 0) {
		cli_usage(cmd, "no access rule: add --allow-cn, --allow-dns, "
		    "--allow-uri, --allow-ou, --allow-email, "
		    "--allow-fingerprint or --allow-any");
		goto out;
	}
	if (proxy_check_listen(o.listen, why, sizeof(why)) == -1) {
		cli_usage(cmd, "--listen %s", why);
		goto out;
	}
	if ((rc = proxy_check_backend(o.backend, o.unsafe_backend, why,
	    sizeof(why))) != 0) {
		cli_usage(cmd, "--backend %s%s", why, rc == PROXY_ADDR_NOT_LOCAL ?
		    " (use --unsafe-backend to allow it)" : "");
		goto out;
	}
	if (o.metrics != NULL && proxy_check_listen(o.metrics, why,
	    sizeof(why)) == -1) {
		cli_usage(cmd, "--metrics %s", why);
		goto out;
	}
	o.policy = pol;
	o.no_sandbox = no_sandbox;
	/* The environment outlives the proxy, which reads the key again at
	 * each reload. */
	o.key_passphrase = getenv(CLI_KEY_PASSPHRASE_ENV);

	ret = EXIT_FAIL;
	if (cli_ca_file_check(o.ca_file) != 0)
		goto out;
	/* The same checks run at each reload: the option holds there too. */
	o.unsafe_start_anyway = start_anyway;
	if (proxy_cli_start_checks(cmd, &o, start_anyway) == -1)
		goto out;
	if ((cfg = proxy_config_build(&o, why, sizeof(why))) == NULL) {
		cli_fail("%s", why);
		goto out;
	}
	/* The engine takes cfg over. */
	if (proxy_serve(&o, cfg, &part, why, sizeof(why)) == -1) {
		cli_fail("%s%s", proxy_cli_part(part), why);
		goto out;
	}
	ret = EXIT_OK;
out:
	mtls_policy_free(pol);
	return ret;
}
