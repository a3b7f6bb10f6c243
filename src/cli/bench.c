/*
 * bench.c - "mtls bench": load on an mTLS endpoint from one thread, with a
 * client certificate, through the library's own client (src/proxy/loadgen.c
 * does the driving); prints operations/s, errors by kind and latency
 * quantiles, as text or JSON.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_pki.h"
#include "loadgen.h"

static const char cmd[] = "mtls bench";

static void
usage(void)
{
	printf("usage: %s HOST:PORT --cert FILE --key FILE --ca FILE\n"
	    "                  [--mode handshake|resume|rr|bulk|idle] [-c N] "
	    "[-d SECONDS]\n"
	    "                  [--servername NAME] [--timeout S] "
	    "[--request STR]\n"
	    "                  [--response-bytes N] [--size N] "
	    "[--tls-min 1.2|1.3]\n"
	    "                  [--tls-max 1.2|1.3] [--json]\n"
	    "\n"
	    "Drives N concurrent mutual-TLS connections to HOST:PORT for a "
	    "fixed time from\n"
	    "one thread, presenting the client certificate and verifying the "
	    "server, and\n"
	    "reports operations per second, errors by kind and latency "
	    "(p50/p90/p99/max).\n"
	    "Only operations that fully succeeded are counted.  \"client "
	    "CPU\" is the share\n"
	    "of a core mtls bench used: near 1, it may be the bottleneck, not "
	    "the server.\n"
	    "\n"
	    "Modes:\n"
	    "  handshake   connect, full handshake, close_notify, wait for the "
	    "server's\n"
	    "              close (so a refused certificate is seen); no "
	    "resumption\n"
	    "  resume      the same, each connection offering the session "
	    "it was issued\n"
	    "              last; reports how many really resumed\n"
	    "  rr          keep-alive: send --request, read the response, "
	    "repeat; an HTTP\n"
	    "              response is framed by its own length and a status "
	    "of 400 or\n"
	    "              more counts as http_error\n"
	    "  bulk        write blocks of --size bytes to an echo service and "
	    "read them\n"
	    "              back (checked); reports MB/s\n"
	    "  idle        open N connections and hold them, idle, until the "
	    "end (to\n"
	    "              measure a server's memory per connection); counts "
	    "those held;\n"
	    "              with --request and --response-bytes, each makes "
	    "one exchange\n"
	    "              first\n"
	    "\n"
	    "  --cert FILE          client certificate (leaf, then chain)\n"
	    "  --key FILE           its private key\n"
	    "  --ca FILE            CA certificates that verify the server\n"
	    "  --servername NAME    SNI and the name checked in the server "
	    "certificate\n"
	    "                       (default: HOST)\n"
	    "  --mode MODE          handshake (default), resume, rr, bulk, "
	    "idle\n"
	    "  -c, --connections N  concurrent connections (default 16)\n"
	    "  -d, --duration S     seconds to run (default 10)\n"
	    "  --timeout S          an operation taking longer fails "
	    "(default 10)\n"
	    "  --request STR        rr, idle: the request; \\r \\n \\t \\\\ \\xHH "
	    "are decoded\n"
	    "                       (default \"GET / HTTP/1.1\\r\\nHost: "
	    "NAME\\r\\n\\r\\n\")\n"
	    "  --response-bytes N   rr, idle: the exact length of each response "
	    "(required for a\n"
	    "                       request that is not HTTP; checked for "
	    "HTTP)\n"
	    "  --size N             bulk: bytes per block, K or M suffix "
	    "(default 1M)\n"
	    "  --tls-min 1.2|1.3    lowest version offered\n"
	    "  --tls-max 1.2|1.3    highest version offered\n"
	    "  --json               one JSON object instead of text\n",
	    cmd);
}

/* "GET / HTTP/1.1\r\n...": a method, a target and an HTTP/1.x version on
 * the first line (before decoding: the line ends at "\r" or "\n"). */
static int
is_http_request(const char *s)
{
	size_t m = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
	const char *eol = strstr(s, "\\r");
	const char *v = strstr(s, " HTTP/1.");

	return m > 0 && s[m] == ' ' && v != NULL && (eol == NULL || v < eol);
}

/* Decodes C-style escapes of s into a new buffer; NULL on a bad escape. */
static char *
decode_escapes(const char *s, size_t *len)
{
	char *out = malloc(strlen(s) + 1);
	size_t n = 0;

	if (out == NULL)
		return NULL;
	while (*s != '\0') {
		if (*s != '\\') {
			out[n++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'r': out[n++] = '\r'; s++; break;
		case 'n': out[n++] = '\n'; s++; break;
		case 't': out[n++] = '\t'; s++; break;
		case '\\': out[n++] = '\\'; s++; break;
		case 'x': {
			char hex[3] = { 0 };
			if (strspn(s + 1, "0123456789abcdefABCDEF") < 2)
				goto bad;
			hex[0] = s[1];
			hex[1] = s[2];
			out[n++] = (char)strtol(hex, NULL, 16);
			s += 3;
			break;
		}
		default:
			goto bad;
		}
	}
	out[n] = '\0';
	*len = n;
	return out;
bad:
	free(out);
	return NULL;
}

/* "1048576", "64K", "1M" -> bytes; -1 when malformed or out of range. */
static int
parse_size(const char *s, size_t *out)
{
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *s == '-')
		return -1;
	if (*end == 'K' || *end == 'k') {
		v *= 1024;
		end++;
	} else if (*end == 'M' || *end == 'm') {
		v *= 1024 * 1024;
		end++;
	}
	if (*end != '\0' || v == 0 || v > (1ull << 32))
		return -1;
	*out = (size_t)v;
	return 0;
}

static int
parse_seconds(const char *opt, const char *s, double *out)
{
	char *end;

	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > 86400)
		return cli_usage(cmd, "%s: '%s' is not a number of seconds "
		    "(more than 0, at most 86400)", opt, s);
	*out = v;
	return 0;
}

static int
parse_version(const char *opt, const char *s, int *out)
{
	if (strcmp(s, "1.2") == 0)
		*out = MTLS_TLS1_2;
	else if (strcmp(s, "1.3") == 0)
		*out = MTLS_TLS1_3;
	else
		return cli_usage(cmd, "%s: '%s' is not 1.2 or 1.3", opt, s);
	return 0;
}

/* Splits HOST:PORT or [V6]:PORT and resolves it (numeric port). */
static int
resolve_target(const char *target, char *host, size_t hostlen,
    struct loadgen_options *lo)
{
	char why[512], port[8];
	unsigned portnum;

	if (mtls_hostport_parse(target, 0, host, hostlen, &portnum, why,
	    sizeof(why)) == -1)
		return cli_usage(cmd, "%s", why);
	snprintf(port, sizeof(port), "%u", portnum);

	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		cli_fail("%s: cannot resolve %s: %s", target, host,
		    gai_strerror(rc));
		return EXIT_FAIL;
	}
	memcpy(&lo->addr, res->ai_addr, res->ai_addrlen);
	lo->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

struct client_files {
	const char *cert, *key, *ca;
	int tls_min, tls_max;
	int resumption;
};

/* A client configuration from the files; NULL with the reason printed. */
static struct mtls_config *
client_config(const struct client_files *f)
{
	struct mtls_config *cfg = mtls_config_new();

	if (cfg == NULL) {
		cli_fail("out of memory");
		return NULL;
	}
	if (cli_ca_file_check(f->ca) != 0) {
		mtls_config_free(cfg);
		return NULL;
	}
	if (mtls_config_set_cert_file(cfg, f->cert) == -1 ||
	    mtls_config_set_key_file(cfg, f->key, NULL) == -1 ||
	    mtls_config_set_ca_file(cfg, f->ca) == -1 ||
	    /* http/1.1 in ALPN: the check before the run then asks an
	     * HTTP server whether it accepts our certificate. */
	    mtls_config_set_alpn(cfg, "http/1.1") == -1 ||
	    ((f->tls_min != 0 || f->tls_max != 0) &&
	    mtls_config_set_protocols(cfg, f->tls_min, f->tls_max) == -1)) {
		cli_fail("%s", mtls_config_error(cfg));
		mtls_config_free(cfg);
		return NULL;
	}
	if (!f->resumption)
		mtls_config_disable_resumption(cfg);
	/* The server's chain is verified in full once per run (and again
	 * only if it changes): the load should cost the server's CPU, not
	 * ours. */
	if (mtls_config_set_verify_cache(cfg, 4) == -1) {
		cli_fail("%s", mtls_config_error(cfg));
		mtls_config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* Enough descriptors for every connection, when the hard limit allows. */
static void
raise_fd_limit(int conns)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)conns + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

/* The previous progress line's counts, for the rate of the last second. */
struct progress_state {
	uint64_t ops;
	double elapsed;
};

static void
progress(const struct loadgen_stats *s, double elapsed, void *arg)
{
	struct progress_state *p = arg;
	double dt = elapsed - p->elapsed;

	printf("\r\033[K%5.0f s  %10llu ops  %9.1f ops/s now  %llu errors",
	    elapsed, (unsigned long long)s->ops,
	    dt > 0 ? (double)(s->ops - p->ops) / dt : 0.0,
	    (unsigned long long)loadgen_stats_errors(s));
	fflush(stdout);
	p->ops = s->ops;
	p->elapsed = elapsed;
}

struct report {
	const char *target;
	const struct loadgen_options *lo;
	const struct loadgen_stats *st;
	double cpu;                  /* seconds of CPU this process used */
};

/* CPU seconds (user + system) used by this process so far. */
static double
cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* The share of one core the load generator used: near 1, it may have been
 * the bottleneck rather than the server. */
static double
cpu_share(const struct report *r)
{
	return r->st->elapsed > 0 ? r->cpu / r->st->elapsed : 0.0;
}

static double
per_sec(uint64_t n, double secs)
{
	return secs > 0 ? (double)n / secs : 0.0;
}

/* Payload echoed per second (one direction), in MB (10^6 bytes). */
static double
bulk_mbps(const struct report *r)
{
	return per_sec(r->st->ops, r->st->elapsed) *
	    (double)r->lo->block_size / 1e6;
}

static void
print_ms(const char *label, uint64_t us)
{
	printf("  %s %.3f ms", label, (double)us / 1000.0);
}

static void
print_text(const struct report *r)
{
	const struct loadgen_stats *st = r->st;
	const struct loadgen_hist *h = &st->latency;

	printf("%s: mode %s, %d connections, %.1f s\n", r->target,
	    loadgen_mode_name(r->lo->mode), r->lo->conns, st->elapsed);
	if (r->lo->mode == LOADGEN_IDLE)
		printf("held        %llu of %d connections\n",
		    (unsigned long long)st->ops, r->lo->conns);
	else
		printf("operations  %llu, %.1f/s\n",
		    (unsigned long long)st->ops,
		    per_sec(st->ops, st->elapsed));
	if (r->lo->mode == LOADGEN_RESUME)
		printf("resumed     %llu of %llu (%.1f%%)\n",
		    (unsigned long long)st->resumed,
		    (unsigned long long)st->ops,
		    st->ops ? 100.0 * (double)st->resumed / (double)st->ops :
		    0.0);
	if (r->lo->mode == LOADGEN_BULK)
		printf("throughput  %.1f MB/s echoed (each way)\n",
		    bulk_mbps(r));
	printf("latency    ");
	print_ms("p50", loadgen_hist_quantile(h, 0.50));
	print_ms("p90", loadgen_hist_quantile(h, 0.90));
	print_ms("p99", loadgen_hist_quantile(h, 0.99));
	print_ms("max", h->max);
	putchar('\n');
	printf("client CPU  %.2f of a core%s\n", cpu_share(r),
	    cpu_share(r) > 0.9 ? " (mtls bench itself may have been the "
	    "bottleneck)" : "");
	printf("errors      %llu\n",
	    (unsigned long long)loadgen_stats_errors(st));
	for (int i = 0; i < LOADGEN_ERR_COUNT; i++) {
		if (st->errors[i] == 0)
			continue;
		printf("  %-18s %llu\n", loadgen_err_name((enum loadgen_err)i),
		    (unsigned long long)st->errors[i]);
		if (i != LOADGEN_ERR_HANDSHAKE)
			continue;
		for (size_t k = 0; k < st->nreasons; k++)
			printf("    %llu x %s\n",
			    (unsigned long long)st->reasons[k].count,
			    st->reasons[k].text);
		if (st->reasons_other)
			printf("    %llu x other reasons\n",
			    (unsigned long long)st->reasons_other);
	}
}

static void
print_json(const struct report *r)
{
	const struct loadgen_stats *st = r->st;
	const struct loadgen_hist *h = &st->latency;

	printf("{\"target\":");
	json_str(stdout, r->target);
	printf(",\"mode\":\"%s\",\"connections\":%d,\"duration\":%.3f,"
	    "\"elapsed\":%.3f", loadgen_mode_name(r->lo->mode), r->lo->conns,
	    r->lo->duration, st->elapsed);
	printf(",\"ops\":%llu,\"ops_per_sec\":%.1f,\"handshakes\":%llu,"
	    "\"resumed\":%llu", (unsigned long long)st->ops,
	    per_sec(st->ops, st->elapsed), (unsigned long long)st->handshakes,
	    (unsigned long long)st->resumed);
	printf(",\"bytes_out\":%llu,\"bytes_in\":%llu",
	    (unsigned long long)st->bytes_out,
	    (unsigned long long)st->bytes_in);
	printf(",\"client_cpu_seconds\":%.3f,\"client_cpu_share\":%.3f",
	    r->cpu, cpu_share(r));
	if (r->lo->mode == LOADGEN_BULK)
		printf(",\"block_size\":%zu,\"mbytes_per_sec\":%.2f",
		    r->lo->block_size, bulk_mbps(r));
	printf(",\"latency_us\":{\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,"
	    "\"max\":%llu,\"mean\":%.1f}",
	    (unsigned long long)loadgen_hist_quantile(h, 0.50),
	    (unsigned long long)loadgen_hist_quantile(h, 0.90),
	    (unsigned long long)loadgen_hist_quantile(h, 0.99),
	    (unsigned long long)h->max,
	    h->n ? (double)h->sum / (double)h->n : 0.0);
	printf(",\"errors\":{\"total\":%llu",
	    (unsigned long long)loadgen_stats_errors(st));
	for (int i = 0; i < LOADGEN_ERR_COUNT; i++)
		printf(",\"%s\":%llu", loadgen_err_name((enum loadgen_err)i),
		    (unsigned long long)st->errors[i]);
	printf("},\"handshake_failures\":[");
	for (size_t k = 0; k < st->nreasons; k++) {
		printf("%s{\"code\":", k ? "," : "");
		json_str(stdout, mtls_reject_code_name(st->reasons[k].code));
		printf(",\"reason\":");
		json_str(stdout, st->reasons[k].text);
		printf(",\"count\":%llu}",
		    (unsigned long long)st->reasons[k].count);
	}
	printf("],\"handshake_failures_other\":%llu}\n",
	    (unsigned long long)st->reasons_other);
}

int
cmd_bench(int argc, char **argv)
{
	enum { O_CERT = 256, O_KEY, O_CA, O_SERVERNAME, O_MODE, O_TIMEOUT,
	    O_REQUEST, O_RESPONSE_BYTES, O_SIZE, O_TLS_MIN, O_TLS_MAX,
	    O_JSON, O_HELP };
	static const struct option longopts[] = {
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ "ca", required_argument, NULL, O_CA },
		{ "servername", required_argument, NULL, O_SERVERNAME },
		{ "mode", required_argument, NULL, O_MODE },
		{ "connections", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "request", required_argument, NULL, O_REQUEST },
		{ "response-bytes", required_argument, NULL, O_RESPONSE_BYTES },
		{ "size", required_argument, NULL, O_SIZE },
		{ "tls-min", required_argument, NULL, O_TLS_MIN },
		{ "tls-max", required_argument, NULL, O_TLS_MAX },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *cert = NULL, *key = NULL, *ca = NULL, *servername = NULL;
	const char *request_arg = NULL;
	int json = 0, tls_min = 0, tls_max = 0, c;
	int have_response = 0;
	struct loadgen_options lo = {
		.mode = LOADGEN_HANDSHAKE,
		.conns = 16,
		.duration = 10,
		.timeout = 10,
		.block_size = 1024 * 1024,
	};
	struct loadgen_stats *st = NULL;
	struct mtls_config *cfg = NULL, **slot_cfg = NULL;
	char *request = NULL;
	char host[256];
	int ret = EXIT_FAIL;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":c:d:h", longopts, NULL)) != -1) {
		switch (c) {
		case O_CERT: cert = optarg; break;
		case O_KEY: key = optarg; break;
		case O_CA: ca = optarg; break;
		case O_SERVERNAME: servername = optarg; break;
		case O_MODE:
			if (loadgen_mode_parse(optarg, &lo.mode) == -1)
				return cli_usage(cmd, "--mode: '%s' is not "
				    "handshake, resume, rr, bulk or idle",
				    optarg);
			break;
		case 'c':
			if (cli_parse_int(cmd, "-c", optarg, 1, 100000,
			    &lo.conns) == -1)
				return EXIT_USAGE;
			break;
		case 'd':
			if (parse_seconds("-d", optarg, &lo.duration) != 0)
				return EXIT_USAGE;
			break;
		case O_TIMEOUT:
			if (parse_seconds("--timeout", optarg,
			    &lo.timeout) != 0)
				return EXIT_USAGE;
			break;
		case O_REQUEST: request_arg = optarg; break;
		case O_RESPONSE_BYTES:
			if (parse_size(optarg, &lo.response_bytes) == -1)
				return cli_usage(cmd, "--response-bytes: '%s' "
				    "is not a positive number of bytes",
				    optarg);
			have_response = 1;
			break;
		case O_SIZE:
			if (parse_size(optarg, &lo.block_size) == -1)
				return cli_usage(cmd, "--size: '%s' is not a "
				    "positive size (bytes, or with K or M)",
				    optarg);
			break;
		case O_TLS_MIN:
			if (parse_version("--tls-min", optarg, &tls_min) != 0)
				return EXIT_USAGE;
			break;
		case O_TLS_MAX:
			if (parse_version("--tls-max", optarg, &tls_max) != 0)
				return EXIT_USAGE;
			break;
		case O_JSON: json = 1; break;
		case 'h':
		case O_HELP: usage(); return EXIT_OK;
		default:
			return cli_getopt_fail(cmd, c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage(cmd, "HOST:PORT is required");
	if (optind != argc - 1)
		return cli_usage(cmd, "one HOST:PORT expected, got '%s' too",
		    argv[optind + 1]);
	if (cert == NULL || key == NULL || ca == NULL)
		return cli_usage(cmd, "--cert, --key and --ca are required");
	/* An HTTP request (the default): each response is framed by its
	 * own length, and --response-bytes, if given, must match it. */
	lo.http = request_arg == NULL || is_http_request(request_arg);
	if (lo.mode == LOADGEN_RR && !have_response && !lo.http)
		return cli_usage(cmd, "--mode rr with a request that is not "
		    "HTTP needs --response-bytes (the exact length of each "
		    "response)");
	if (lo.mode == LOADGEN_IDLE && (request_arg != NULL) != have_response)
		return cli_usage(cmd, "--mode idle takes --request and "
		    "--response-bytes together (one exchange, then idle)");
	if (lo.mode != LOADGEN_RR && lo.mode != LOADGEN_IDLE &&
	    (request_arg != NULL || have_response))
		return cli_usage(cmd, "--request and --response-bytes are for "
		    "--mode rr and idle");
	if (tls_min != 0 && tls_max != 0 && tls_min > tls_max)
		return cli_usage(cmd, "--tls-min is above --tls-max");
	const char *target = argv[optind];
	int rc = resolve_target(target, host, sizeof(host), &lo);
	if (rc != 0)
		return rc;
	lo.servername = servername != NULL ? servername : host;

	if (lo.mode == LOADGEN_RR || request_arg != NULL) {
		if (request_arg != NULL) {
			request = decode_escapes(request_arg, &lo.request_len);
			if (request == NULL)
				return cli_usage(cmd, "--request: a bad escape "
				    "(\\r \\n \\t \\\\ \\xHH are known)");
			if (lo.request_len == 0) {
				free(request);
				return cli_usage(cmd, "--request is empty");
			}
		} else {
			size_t n = strlen(lo.servername) + 64;
			request = malloc(n);
			if (request == NULL)
				return cli_fail("out of memory");
			snprintf(request, n, "GET / HTTP/1.1\r\nHost: %s\r\n"
			    "\r\n", lo.servername);
			lo.request_len = strlen(request);
		}
		lo.request = request;
	}

	/* The client configuration is built once; every connection of the
	 * run shares it (and the SSL_CTX the library builds from it).
	 * Handshake mode measures full handshakes only. */
	struct client_files files = { cert, key, ca, tls_min, tls_max,
	    lo.mode == LOADGEN_RESUME };
	if ((cfg = client_config(&files)) == NULL)
		goto out;
	lo.cfg = cfg;
	if (lo.mode == LOADGEN_RESUME) {
		/* A configuration keeps the newest session it was issued:
		 * one per connection, so that each resumes its own. */
		slot_cfg = calloc((size_t)lo.conns, sizeof(*slot_cfg));
		if (slot_cfg == NULL) {
			cli_fail("out of memory");
			goto out;
		}
		for (int i = 0; i < lo.conns; i++)
			if ((slot_cfg[i] = client_config(&files)) == NULL)
				goto out;
		lo.slot_cfg = slot_cfg;
	}
	struct progress_state prog = { 0, 0 };
	if (!json && isatty(STDOUT_FILENO)) {
		lo.progress = progress;
		lo.progress_arg = &prog;
	}

	/* A server that closes mid-write must not kill the run. */
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit(lo.conns);

	st = malloc(sizeof(*st));
	if (st == NULL) {
		cli_fail("out of memory");
		goto out;
	}
	struct mtls_error err;
	/* Once, before the load: a certificate the server refuses at the
	 * HTTP level would otherwise count as successful handshakes. */
	if (loadgen_preflight(&lo, &err) == -1) {
		cli_fail("%s: %s", target, err.msg);
		goto out;
	}
	double cpu0 = cpu_seconds();
	if (loadgen_run(&lo, st, &err) == -1) {
		if (lo.progress != NULL)
			printf("\r\033[K");
		cli_fail("%s: %s", target, err.msg);
		goto out;
	}
	if (lo.progress != NULL)
		printf("\r\033[K");
	struct report r = { .target = target, .lo = &lo, .st = st,
	    .cpu = cpu_seconds() - cpu0 };
	if (json)
		print_json(&r);
	else
		print_text(&r);
	fflush(stdout);
	if (st->ops == 0) {
		cli_fail("%s: no operation succeeded in %.1f s (%llu errors)",
		    target, st->elapsed,
		    (unsigned long long)loadgen_stats_errors(st));
		goto out;
	}
	ret = EXIT_OK;
out:
	if (slot_cfg != NULL) {
		for (int i = 0; i < lo.conns; i++)
			mtls_config_free(slot_cfg[i]);
		free(slot_cfg);
	}
	free(st);
	free(request);
	mtls_config_free(cfg);
	return ret;
}
