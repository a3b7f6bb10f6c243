/*
 * connect.c - "mtls connect HOST:PORT": one mutual-TLS handshake, explained
 * in plain words: did TCP connect, which TLS version, cipher and key
 * exchange, the server's chain and whether it verified, whether the server
 * asked for a client certificate, which CAs it accepts, and whether ours was
 * sent and accepted.  --trace shows the handshake message by message.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "cli.h"
#include "cli_pki.h"

static const char cmd[] = "mtls connect";

#define CONNECT_TIMEOUT_MS 10000
/* TLS 1.3: a server refuses a client certificate after the client's
 * Finished, so the client waits this long for that alert. */
#define AFTER_HANDSHAKE_MS 1000

static void
usage(void)
{
	printf("usage: %s HOST:PORT [--cert FILE --key FILE] [--ca FILE]\n"
	    "           [--servername NAME] [--tls-min 1.2|1.3] "
	    "[--tls-max 1.2|1.3]\n"
	    "           [--trace] [--json] [--http[=PATH]] "
	    "[--insecure-skip-verify]\n"
	    "\n"
	    "Makes one mutual-TLS handshake with HOST:PORT ([IPv6]:PORT too) "
	    "and says\nwhat happened: TCP, TLS version, cipher, key exchange, "
	    "the server's chain\nand whether it verified, whether the server "
	    "asked for a client certificate,\nwhich CAs it accepts, and "
	    "whether ours was sent and accepted.\n"
	    "\n"
	    "  --cert FILE            our client certificate (with its chain)\n"
	    "  --key FILE             its private key (MTLS_KEY_PASSPHRASE if "
	    "encrypted)\n"
	    "  --ca FILE              the CA(s) that issue the server's "
	    "certificate\n"
	    "  --servername NAME      the name to send (SNI) and check "
	    "(default: HOST)\n"
	    "  --tls-min, --tls-max   limit the TLS versions offered\n"
	    "  --trace                show each handshake message as it "
	    "goes by\n"
	    "  --json                 the report as one JSON object\n"
	    "  --http[=PATH]          then send GET PATH (default /) and read "
	    "the answer:\n"
	    "                         HTTP servers such as nginx refuse a "
	    "certificate there\n"
	    "                         (done without asking when the server "
	    "agrees on\n"
	    "                         http/1.1 in ALPN)\n"
	    "  --insecure-skip-verify do not verify the server (never for "
	    "production)\n"
	    "\n"
	    "Exit status: 0 when the mutual handshake succeeded and each side "
	    "accepted\nthe other, 1 otherwise, 2 for a usage error.\n", cmd);
}

struct opts {
	const char *target, *cert, *key, *ca, *servername;
	int tls_min, tls_max;
	int trace, json, insecure;
	const char *http_path;        /* --http: NULL when not asked */
	int http_auto;                /* asked because ALPN agreed on HTTP */
	char host[256], port[16];
};

struct report {
	struct opts *o;
	/* TCP */
	int tcp_ok;
	char addr[INET6_ADDRSTRLEN + 16];
	char tcp_error[512];
	/* TLS */
	int tls_ok;
	char tls_error[768];
	/* Client authentication */
	int rejected_after;           /* TLS 1.3: alert after Finished */
	char after_alert[64];
	/* --http: the answer's status line and a refusal found in it */
	char http_status[128];
	const char *http_refusal;
	/* the trace, kept for --json */
	char **trace_lines;
	size_t ntrace;
};

static int
parse_version(const char *opt, const char *v, int *out)
{
	if (strcmp(v, "1.2") == 0)
		*out = MTLS_TLS1_2;
	else if (strcmp(v, "1.3") == 0)
		*out = MTLS_TLS1_3;
	else
		return cli_usage(cmd, "%s: '%s' is not 1.2 or 1.3", opt, v);
	return 0;
}

/* "host:port", "[v6]:port" into o->host and o->port. */
static int
parse_target(struct opts *o)
{
	char why[512];
	unsigned port;

	if (mtls_hostport_parse(o->target, 0, o->host, sizeof(o->host), &port,
	    why, sizeof(why)) == -1)
		return cli_usage(cmd, "%s", why);
	snprintf(o->port, sizeof(o->port), "%u", port);
	return 0;
}

/* A TCP connection to the first address of host:port that answers. */
static int
tcp_connect(struct report *r, const struct timespec *deadline)
{
	struct addrinfo hints, *res = NULL;
	int fd = -1, gai;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((gai = getaddrinfo(r->o->host, r->o->port, &hints, &res)) != 0) {
		snprintf(r->tcp_error, sizeof(r->tcp_error), "cannot resolve "
		    "%s: %s", r->o->host, gai_strerror(gai));
		return -1;
	}
	for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
		char ip[INET6_ADDRSTRLEN] = "?";
		void *sa = a->ai_family == AF_INET6 ?
		    (void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr :
		    (void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr;
		inet_ntop(a->ai_family, sa, ip, sizeof(ip));
		snprintf(r->addr, sizeof(r->addr), a->ai_family == AF_INET6 ?
		    "[%s]:%s" : "%s:%s", ip, r->o->port);

		int why = 0;
		if ((fd = mtls_connect_before(a, deadline, &why)) != -1)
			break;
		if (why == ETIMEDOUT)
			snprintf(r->tcp_error, sizeof(r->tcp_error),
			    "no answer from %s within %d s", r->addr,
			    CONNECT_TIMEOUT_MS / 1000);
		else
			snprintf(r->tcp_error, sizeof(r->tcp_error),
			    "cannot connect to %s: %s", r->addr,
			    strerror(why));
	}
	freeaddrinfo(res);
	r->tcp_ok = fd != -1;
	return fd;
}

static void
on_trace(void *arg, const char *line)
{
	struct report *r = arg;

	if (!r->o->json) {
		printf("  %s\n", line);
		fflush(stdout);
		return;
	}
	char **v = realloc(r->trace_lines, (r->ntrace + 1) * sizeof(*v));
	if (v == NULL)
		return;
	r->trace_lines = v;
	if ((v[r->ntrace] = strdup(line)) != NULL)
		r->ntrace++;
}

/* Drives the handshake to its end or the deadline. */
static int
handshake(struct mtls *tls, int fd, struct report *r,
    const struct timespec *deadline)
{
	for (;;) {
		int rc = mtls_handshake(tls);
		if (rc == 0)
			return 0;
		if (rc == -1) {
			snprintf(r->tls_error, sizeof(r->tls_error), "%s",
			    mtls_error(tls) ? mtls_error(tls) : "failed");
			return -1;
		}
		if (!mtls_wait_fd(fd, rc == MTLS_WANT_POLLIN ? POLLIN : POLLOUT,
		    deadline)) {
			snprintf(r->tls_error, sizeof(r->tls_error), "no "
			    "answer from the server within %d s",
			    CONNECT_TIMEOUT_MS / 1000);
			return -1;
		}
	}
}

/*
 * After a TLS 1.3 handshake: the server checks our certificate after our
 * Finished and refuses with an alert.  Read for a short while (or until
 * data, an alert or the end) to learn its verdict.
 */
static void
await_verdict(struct mtls *tls, int fd, struct report *r)
{
	struct timespec deadline;
	char buf[4096];

	mtls_deadline_in(&deadline, AFTER_HANDSHAKE_MS);
	for (;;) {
		ssize_t n = mtls_read(tls, buf, sizeof(buf));
		if (n > 0 || n == 0)
			return; /* data or close_notify: no refusal */
		if (n == -1) {
			const char *a = mtls_conn_alert_received(tls);
			if (a != NULL) {
				r->rejected_after = 1;
				snprintf(r->after_alert, sizeof(r->after_alert),
				    "%s", a);
			}
			return;
		}
		if (!mtls_wait_fd(fd, n == MTLS_WANT_POLLIN ? POLLIN : POLLOUT,
		    &deadline))
			return; /* quiet: the server kept the connection */
	}
}

/*
 * --http: an HTTP server such as nginx completes the handshake whatever our
 * certificate, then refuses it in its answer (400 "The SSL certificate
 * error").  Send one request and read the start of the answer.
 */
static void
http_probe(struct mtls *tls, int fd, struct report *r)
{
	struct timespec deadline;
	char req[512], buf[4096];
	size_t off = 0, got = 0;
	int n;

	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: mtls-connect/%s\r\nConnection: close\r\n\r\n",
	    r->o->http_path, r->o->servername, MTLS_VERSION_STRING);
	if (n < 0 || (size_t)n >= sizeof(req))
		return;
	mtls_deadline_in(&deadline, CONNECT_TIMEOUT_MS);
	while (off < (size_t)n) {
		ssize_t w = mtls_write(tls, req + off, (size_t)n - off);
		if (w > 0)
			off += (size_t)w;
		else if ((w != MTLS_WANT_POLLIN && w != MTLS_WANT_POLLOUT) ||
		    !mtls_wait_fd(fd, w == MTLS_WANT_POLLIN ? POLLIN : POLLOUT,
		    &deadline))
			break;
	}
	/* The head and the start of the body, where nginx says why. */
	while (off == (size_t)n && got < sizeof(buf) - 1) {
		ssize_t m = mtls_read(tls, buf + got, sizeof(buf) - 1 - got);
		if (m > 0) {
			got += (size_t)m;
			buf[got] = '\0';
			if (strstr(buf, "\r\n\r\n") != NULL &&
			    strstr(buf, "</html>") != NULL)
				break;
			continue;
		}
		if (m == 0 || m == -1 || !mtls_wait_fd(fd,
		    m == MTLS_WANT_POLLIN ? POLLIN : POLLOUT, &deadline))
			break;
	}
	buf[got] = '\0';
	if (got == 0) {
		const char *a = mtls_conn_alert_received(tls);
		if (a != NULL && strcmp(a, "close_notify") != 0) {
			r->rejected_after = 1;
			snprintf(r->after_alert, sizeof(r->after_alert), "%s",
			    a);
		}
		return;
	}
	size_t line = strcspn(buf, "\r\n");
	snprintf(r->http_status, sizeof(r->http_status), "%.*s",
	    (int)(line < 120 ? line : 120), buf);
	r->http_refusal = mtls_http_cert_refusal(buf, got);
}

static void
time_text(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t == (time_t)-1 || gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "?");
		return;
	}
	strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* The verdicts drawn from the connection. */
struct verdict {
	int requested, sent, accepted, verified, mutual;
	int ca_unlisted;             /* our chain reaches no CA it named */
	const char *problem;
	const char *refusal_alert;   /* the alert that refused us, or NULL */
};

static void
judge(struct mtls *tls, struct report *r, struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->requested = mtls_conn_cert_requested(tls);
	v->sent = mtls_conn_cert_sent(tls);
	v->problem = mtls_conn_verify_problem(tls);
	v->verified = r->tls_ok && v->problem == NULL && !r->o->insecure;
	if (r->rejected_after)
		v->refusal_alert = r->after_alert;
	else if (!r->tls_ok && mtls_conn_alert_received(tls) != NULL)
		v->refusal_alert = mtls_conn_alert_received(tls);
	v->ca_unlisted = r->tls_ok && v->sent &&
	    !mtls_conn_cert_reaches_ca_names(tls);
	v->accepted = r->tls_ok && !r->rejected_after && v->sent &&
	    r->http_refusal == NULL && !v->ca_unlisted;
	v->mutual = v->accepted && (v->verified || (r->o->insecure &&
	    r->tls_ok));
}

static void
print_chain_text(struct mtls *tls)
{
	size_t n = mtls_peer_chain_count(tls);
	struct mtls_error err;

	if (n == 0) {
		printf("Server chain: none received\n");
		return;
	}
	printf("Server chain (%zu certificate%s, as sent):\n", n,
	    n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		struct mtls_cert_info info;
		char from[64], to[64];
		if (mtls_peer_chain_info(tls, i, &info, &err) != 0) {
			printf("  %zu %s\n", i, err.msg);
			continue;
		}
		time_text(info.not_before, from, sizeof(from));
		time_text(info.not_after, to, sizeof(to));
		printf("  %zu subject  %s\n", i, info.subject);
		printf("    issuer   %s\n", info.issuer);
		printf("    valid    %s to %s%s\n", from, to,
		    info.not_after < time(NULL) ? " (EXPIRED)" : "");
		if (info.nsans > 0) {
			printf("    names   ");
			for (size_t j = 0; j < info.nsans; j++)
				printf(" %s:%s%s",
				    mtls_san_type_name(info.sans[j].type),
				    info.sans[j].value,
				    j + 1 < info.nsans ? "," : "");
			printf("\n");
		}
		mtls_cert_info_clear(&info);
	}
}

/* "ours was sent (client.crt: CN=client, valid until ...)", with a word
 * when our own certificate is the likely problem. */
static void
print_our_cert(const char *path)
{
	struct mtls_error err;
	struct mtls_cert_info info;
	struct mtls_cert *cert = mtls_cert_load_file(path, &err);
	char to[64];

	if (cert == NULL || mtls_cert_info(cert, 0, &info, &err) != 0) {
		printf("  ours was sent (%s)\n", path);
		mtls_cert_free(cert);
		return;
	}
	time_text(info.not_after, to, sizeof(to));
	time_t now = time(NULL);
	printf("  ours was sent (%s: %s, issued by %s, %s %s)\n", path,
	    info.subject, info.issuer, info.not_after < now ? "EXPIRED" :
	    "valid until", to);
	mtls_cert_info_clear(&info);
	mtls_cert_free(cert);
}

static void
print_text(struct mtls *tls, struct report *r, const struct verdict *v)
{
	char buf[512];

	printf("TCP: connected to %s\n", r->addr);
	if (r->tls_ok)
		printf("TLS: handshake complete: %s, %s, key exchange %s%s\n",
		    mtls_conn_version(tls), mtls_conn_cipher(tls),
		    mtls_conn_group(tls) ? mtls_conn_group(tls) : "(none)",
		    mtls_conn_session_resumed(tls) ? ", resumed" : "");
	else {
		/* The library's message may start with the same words. */
		const char *e = r->tls_error;
		if (strncmp(e, "TLS handshake failed: ", 22) == 0)
			e += 22;
		const char *hint = "";
		switch (mtls_conn_reject_code(tls)) {
		case MTLS_REJECT_NOT_TLS:
			hint = " (the server does not seem to speak TLS on "
			    "this port)";
			break;
		case MTLS_REJECT_VERSION:
			hint = " (no TLS version in common: see --tls-min and "
			    "--tls-max)";
			break;
		default:
			break;
		}
		printf("TLS: handshake failed: %s%s\n", e, hint);
	}
	print_chain_text(tls);
	if (r->o->insecure)
		printf("Server certificate: NOT checked "
		    "(--insecure-skip-verify)%s%s\n", v->problem ? "; it would "
		    "have failed: " : "", v->problem ? v->problem : "");
	else if (v->problem != NULL)
		printf("Server certificate: NOT accepted: %s\n", v->problem);
	else if (r->tls_ok)
		printf("Server certificate: verified (chain to %s, name %s "
		    "matches)\n", r->o->ca, mtls_conn_servername(tls));

	if (!v->requested) {
		if (r->tls_ok || mtls_peer_chain_count(tls) > 0)
			printf("Client certificate: the server did not ask for "
			    "one (this is not mutual TLS)\n");
	} else {
		size_t n = mtls_conn_ca_name_count(tls);
		if (n == 0) {
			printf("Client certificate: the server asked for one "
			    "(it named no CA: any)\n");
		} else {
			printf("Client certificate: the server asked for one, "
			    "from %s:\n", n == 1 ? "this CA" : "one of these "
			    "CAs");
			for (size_t i = 0; i < n; i++)
				printf("    %s\n", mtls_conn_ca_name(tls, i, buf,
				    sizeof(buf)));
		}
		if (!v->sent)
			printf("  we sent none%s\n", r->o->cert == NULL ?
			    " (give --cert and --key)" : "");
		else
			print_our_cert(r->o->cert);
		if (v->refusal_alert != NULL) {
			char cause[512], fix[512], hinted[1024];
			printf("  the server rejected %s: %s alert\n", v->sent ?
			    "our certificate" : "the connection",
			    v->refusal_alert);
			if (v->sent && mtls_alert_explain(v->refusal_alert,
			    NULL, cause, sizeof(cause), fix, sizeof(fix)) == 0)
				printf("  meaning: %s\n  fix: %s\n", cause,
				    cli_fix_hinted(fix, cli_reject_hint(
				    mtls_conn_reject_code(tls)), hinted,
				    sizeof(hinted)));
		}
		if (v->refusal_alert == NULL && v->ca_unlisted)
			printf("  the server will not accept it: our chain "
			    "leads to none of the CAs it named (give a "
			    "certificate issued by one of them)\n");
		if (v->refusal_alert == NULL && r->http_refusal != NULL)
			printf("  the server refused it over HTTP: %s\n",
			    r->http_refusal);
		else if (v->accepted && r->o->http_path != NULL)
			printf("  the server accepted it (TLS, and HTTP "
			    "answered \"%s\"%s)\n", r->http_status[0] ?
			    r->http_status : "nothing", r->o->http_auto ?
			    " to GET /, asked because ALPN agreed on http/1.1" :
			    "");
		else if (v->accepted)
			printf("  the server accepted it in TLS (an HTTP server "
			    "such as nginx may still refuse it in its answer: "
			    "add --http to ask)\n");
	}
	printf("Result: %s\n", v->mutual ? "mutual TLS OK" :
	    "mutual TLS FAILED");
}

static void
json_kv(const char *k, const char *v, int comma)
{
	printf("\"%s\":", k);
	json_str(stdout, v);
	if (comma)
		putchar(',');
}

static void
print_json(struct mtls *tls, struct report *r, const struct verdict *v)
{
	struct mtls_error err;
	char buf[512];

	printf("{");
	json_kv("target", r->o->target, 1);
	printf("\"tcp\":{\"connected\":%s,", r->tcp_ok ? "true" : "false");
	json_kv("address", r->addr[0] ? r->addr : NULL, 1);
	json_kv("error", r->tcp_ok ? NULL : r->tcp_error, 0);
	printf("},\"tls\":{\"ok\":%s,", r->tls_ok ? "true" : "false");
	json_kv("version", tls ? mtls_conn_version(tls) : NULL, 1);
	json_kv("cipher", tls && r->tls_ok ? mtls_conn_cipher(tls) : NULL, 1);
	json_kv("group", tls ? mtls_conn_group(tls) : NULL, 1);
	printf("\"resumed\":%s,", tls && mtls_conn_session_resumed(tls) ?
	    "true" : "false");
	json_kv("error", r->tls_ok || !r->tcp_ok ? NULL : r->tls_error, 0);
	printf("},\"server\":{\"verified\":%s,\"checked\":%s,",
	    v->verified ? "true" : "false", r->o->insecure ? "false" : "true");
	json_kv("problem", v->problem, 1);
	json_kv("name", r->o->servername, 1);
	printf("\"chain\":[");
	size_t n = tls ? mtls_peer_chain_count(tls) : 0;
	for (size_t i = 0; i < n; i++) {
		struct mtls_cert_info info;
		if (mtls_peer_chain_info(tls, i, &info, &err) != 0)
			continue;
		printf("%s{", i ? "," : "");
		json_kv("subject", info.subject, 1);
		json_kv("issuer", info.issuer, 1);
		printf("\"not_before\":");
		cli_json_time(stdout, info.not_before);
		printf(",\"not_after\":");
		cli_json_time(stdout, info.not_after);
		printf(",\"sans\":");
		cli_json_sans(stdout, info.sans, info.nsans);
		printf("}");
		mtls_cert_info_clear(&info);
	}
	printf("]},\"client_certificate\":{\"requested\":%s,",
	    v->requested ? "true" : "false");
	printf("\"ca_names\":[");
	size_t nca = tls ? mtls_conn_ca_name_count(tls) : 0;
	for (size_t i = 0; i < nca; i++) {
		if (i)
			putchar(',');
		json_str(stdout, mtls_conn_ca_name(tls, i, buf, sizeof(buf)));
	}
	printf("],\"sent\":%s,\"accepted\":%s,", v->sent ? "true" : "false",
	    v->accepted ? "true" : "false");
	json_kv("rejected_with_alert", v->refusal_alert, 1);
	/* A number, as every JSON number of mtls; the line beside it. */
	int code = 0;
	if (r->http_status[0] != '\0' && sscanf(r->http_status,
	    "HTTP/%*d.%*d %d", &code) == 1 && code >= 100 && code <= 999)
		printf("\"http_status\":%d,", code);
	else
		printf("\"http_status\":null,");
	json_kv("http_status_line", r->http_status[0] ? r->http_status : NULL,
	    1);
	json_kv("rejected_over_http", r->http_refusal, 1);
	printf("\"ca_named\":%s,", v->ca_unlisted ? "false" : "true");
	json_kv("alpn", tls ? mtls_conn_alpn(tls) : NULL, 0);
	printf("},\"trace\":[");
	for (size_t i = 0; i < r->ntrace; i++) {
		if (i)
			putchar(',');
		json_str(stdout, r->trace_lines[i]);
	}
	printf("],\"ok\":%s}\n", v->mutual ? "true" : "false");
}

/* The one line on stderr that says why the command failed. */
static int
fail_line(struct mtls *tls, const struct report *r, const struct verdict *v)
{
	(void)tls;
	const char *t = r->o->target;

	if (!r->tls_ok)
		return cli_fail("%s: %s", t, r->tls_error);
	if (v->refusal_alert != NULL)
		return cli_fail("%s: the server rejected %s: %s alert", t,
		    v->sent ? "our certificate" : "the connection",
		    v->refusal_alert);
	if (!v->requested)
		return cli_fail("%s: the server did not ask for a client "
		    "certificate (not mutual TLS)", t);
	if (!v->sent)
		return cli_fail("%s: the server asked for a client certificate "
		    "and we sent none", t);
	if (v->ca_unlisted)
		return cli_fail("%s: the server accepts client certificates "
		    "from CAs that our chain (%s) does not lead to", t,
		    r->o->cert);
	if (r->http_refusal != NULL)
		return cli_fail("%s: the server refused our certificate: %s", t,
		    r->http_refusal);
	return cli_fail("%s: the server's certificate was not verified", t);
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_CERT = 256, O_KEY, O_CA, O_SNI, O_MIN, O_MAX, O_TRACE,
	    O_JSON, O_HTTP, O_INSECURE, O_HELP };
	static const struct option longopts[] = {
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ "ca", required_argument, NULL, O_CA },
		{ "servername", required_argument, NULL, O_SNI },
		{ "tls-min", required_argument, NULL, O_MIN },
		{ "tls-max", required_argument, NULL, O_MAX },
		{ "trace", no_argument, NULL, O_TRACE },
		{ "json", no_argument, NULL, O_JSON },
		{ "http", optional_argument, NULL, O_HTTP },
		{ "insecure-skip-verify", no_argument, NULL, O_INSECURE },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case O_CERT: o->cert = optarg; break;
		case O_KEY: o->key = optarg; break;
		case O_CA: o->ca = optarg; break;
		case O_SNI: o->servername = optarg; break;
		case O_MIN:
			if (parse_version("--tls-min", optarg, &o->tls_min))
				return EXIT_USAGE;
			break;
		case O_MAX:
			if (parse_version("--tls-max", optarg, &o->tls_max))
				return EXIT_USAGE;
			break;
		case O_TRACE: o->trace = 1; break;
		case O_JSON: o->json = 1; break;
		case O_HTTP:
			o->http_path = optarg != NULL ? optarg : "/";
			if (*o->http_path != '/' || strpbrk(o->http_path,
			    " \r\n") != NULL)
				return cli_usage(cmd, "--http: '%s' is not a "
				    "path (it starts with / and has no spaces)",
				    o->http_path);
			break;
		case O_INSECURE:
			/* Skipping a check is asked for by its full name only,
			 * never by a getopt abbreviation such as --insecure. */
			if (strcmp(argv[optind - 1], "--insecure-skip-verify")
			    != 0)
				return cli_usage(cmd, "unknown option '%s' "
				    "(write --insecure-skip-verify in full)",
				    argv[optind - 1]);
			o->insecure = 1;
			break;
		case 'h':
		case O_HELP:
			usage();
			return -1;
		default:
			return cli_getopt_fail(cmd, c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage(cmd, "HOST:PORT is required");
	if (optind + 1 < argc)
		return cli_usage(cmd, "unexpected argument '%s'",
		    argv[optind + 1]);
	o->target = argv[optind];
	if ((o->cert == NULL) != (o->key == NULL))
		return cli_usage(cmd, "--cert and --key go together");
	if (o->ca == NULL && !o->insecure)
		return cli_usage(cmd, "--ca is required to verify the server "
		    "(or --insecure-skip-verify)");
	if (o->tls_min && o->tls_max && o->tls_min > o->tls_max)
		return cli_usage(cmd, "--tls-min is above --tls-max");
	if (parse_target(o) != 0)
		return EXIT_USAGE;
	if (o->servername == NULL)
		o->servername = o->host;
	return 0;
}

int
cmd_connect(int argc, char **argv)
{
	struct opts o;
	struct report r;
	struct verdict v;
	struct mtls_config *cfg = NULL;
	struct mtls *tls = NULL;
	char *pass = NULL;
	int fd = -1, status = EXIT_FAIL, rc;

	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	memset(&v, 0, sizeof(v));
	r.o = &o;
	if ((rc = parse_args(argc, argv, &o)) != 0)
		return rc == -1 ? EXIT_OK : rc;

	if ((cfg = mtls_config_new()) == NULL)
		return cli_fail("out of memory");
	if (o.cert != NULL) {
		pass = getenv(CLI_KEY_PASSPHRASE_ENV);
		if (mtls_config_set_cert_file(cfg, o.cert) != 0 ||
		    mtls_config_set_key_file(cfg, o.key, pass) != 0) {
			status = cli_fail("%s", mtls_config_error(cfg));
			goto out;
		}
	}
	if (cli_ca_file_check(o.ca) != 0)
		goto out;
	if (o.ca != NULL && mtls_config_set_ca_file(cfg, o.ca) != 0) {
		status = cli_fail("%s", mtls_config_error(cfg));
		goto out;
	}
	if (mtls_config_set_protocols(cfg, o.tls_min, o.tls_max) != 0) {
		status = cli_fail("%s", mtls_config_error(cfg));
		goto out;
	}
	if (o.insecure) {
		mtls_config_insecure_noverifycert(cfg);
		mtls_config_insecure_noverifyname(cfg);
	}
	/* One handshake: a session would only be thrown away. */
	mtls_config_disable_resumption(cfg);
	/* A server that agrees on HTTP is asked (GET /) whether it accepts
	 * our certificate: nginx refuses one in HTTP, after the handshake. */
	if (mtls_config_set_alpn(cfg, "http/1.1") != 0) {
		status = cli_fail("%s", mtls_config_error(cfg));
		goto out;
	}
	if ((tls = mtls_client()) == NULL) {
		status = cli_fail("out of memory");
		goto out;
	}
	if (mtls_configure(tls, cfg) != 0) {
		status = cli_fail("%s", mtls_error(tls));
		goto out;
	}

	struct timespec deadline;
	mtls_deadline_in(&deadline, CONNECT_TIMEOUT_MS);
	if ((fd = tcp_connect(&r, &deadline)) == -1) {
		if (o.json) {
			judge(tls, &r, &v);
			print_json(NULL, &r, &v);
		} else {
			printf("TCP: %s\n", r.tcp_error);
			printf("Result: mutual TLS FAILED\n");
		}
		fflush(stdout);
		status = cli_fail("%s: %s", o.target, r.tcp_error);
		goto out;
	}
	if (o.trace) {
		mtls_set_trace(tls, on_trace, &r);
		if (!o.json)
			printf("Handshake with %s (%s):\n", o.target, r.addr);
	}
	if (mtls_connect_socket(tls, fd, o.servername) != 0) {
		status = cli_fail("%s: %s", o.target, mtls_error(tls));
		goto out;
	}
	r.tls_ok = handshake(tls, fd, &r, &deadline) == 0;
	if (r.tls_ok && strcmp(mtls_conn_version(tls), "TLSv1.3") == 0)
		await_verdict(tls, fd, &r);
	if (r.tls_ok && !r.rejected_after && o.http_path == NULL &&
	    mtls_conn_alpn(tls) != NULL &&
	    strcmp(mtls_conn_alpn(tls), "http/1.1") == 0) {
		o.http_path = "/";
		o.http_auto = 1;
	}
	if (r.tls_ok && !r.rejected_after && o.http_path != NULL)
		http_probe(tls, fd, &r);
	judge(tls, &r, &v);
	if (o.json)
		print_json(tls, &r, &v);
	else
		print_text(tls, &r, &v);
	/* close_notify, best effort: the report is already made. */
	mtls_set_trace(tls, NULL, NULL);
	if (r.tls_ok && !r.rejected_after)
		mtls_close(tls);
	fflush(stdout);
	status = v.mutual ? EXIT_OK : fail_line(tls, &r, &v);
out:
	for (size_t i = 0; i < r.ntrace; i++)
		free(r.trace_lines[i]);
	free(r.trace_lines);
	mtls_free(tls);
	mtls_config_free(cfg);
	if (fd != -1)
		close(fd);
	return status;
}
