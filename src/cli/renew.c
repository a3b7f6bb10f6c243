/*
 * renew.c - "mtls renew": a certificate renewed through EST re-enrollment
 * (simplereenroll), authenticated by itself over mTLS.  Once, or with
 * --daemon for as long as the process runs: at two thirds of each
 * certificate's lifetime (with jitter), retrying with backoff while the CA
 * cannot be reached, and running --exec after each renewal (a reload of
 * nginx, a device agent).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "cli_pki.h"

static const char cmd[] = "mtls renew";

static volatile sig_atomic_t stop;

static void
usage(void)
{
	printf("usage: %s --server URL --ca-cert FILE --cert FILE --key FILE "
	    "[--rekey]\n"
	    "           [--daemon [--exec CMD]]\n"
	    "\n"
	    "Renews the certificate in FILE through the EST server's "
	    "simplereenroll,\n"
	    "presenting it (and its key) as the TLS client certificate.  The "
	    "names stay\n"
	    "the same; the files are replaced atomically.  Exit status 0: "
	    "renewed; 1: not\n"
	    "renewed (the reason on stderr; the files are untouched).\n"
	    "\n"
	    "  --server URL    https://HOST:PORT of `mtls ca serve`\n"
	    "  --ca-cert FILE  the CA that the server's certificate must chain "
	    "to\n"
	    "  --cert FILE     the certificate to renew (rewritten)\n"
	    "  --key FILE      its key (rewritten with --rekey)\n"
	    "  --rekey         a new key of the same type\n"
	    "  --daemon        keep running: renew at 2/3 of each lifetime, "
	    "with jitter;\n"
	    "                  retry with backoff while the CA is down\n"
	    "  --exec CMD      with --daemon, run CMD (by /bin/sh) after each "
	    "renewal\n", cmd);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
say(const char *level, const char *fmt, ...) CLI_PRINTF(2, 3);

static void
say(const char *level, const char *fmt, ...)
{
	char when[32];
	va_list ap;

	cli_datetime(time(NULL), when, sizeof(when));
	fprintf(stderr, "%s mtls renew: %s: ", when, level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The validity of the certificate file now; -1 when unreadable. */
static int
validity(const char *file, time_t *nb, time_t *na, struct mtls_error *err)
{
	struct mtls_cert *c = mtls_cert_load_file(file, err);
	struct mtls_cert_info info;
	int ret = -1;

	memset(&info, 0, sizeof(info));
	if (c != NULL && mtls_cert_info(c, 0, &info, err) == 0) {
		*nb = info.not_before;
		*na = info.not_after;
		ret = 0;
	}
	mtls_cert_info_clear(&info);
	mtls_cert_free(c);
	return ret;
}

static double
jitter(void)
{
	unsigned int r = 0;

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		return 0.5;
	return (double)r / 4294967296.0;
}

/* Sleeps until t (or a signal); 0, or -1 when told to stop. */
static int
sleep_until(time_t t)
{
	while (!stop) {
		time_t now = time(NULL);
		if (now >= t)
			return 0;
		sleep((unsigned)(t - now > 5 ? 5 : t - now));
	}
	return -1;
}

static int
daemon_loop(const struct mtls_est_client *ec, const char *cert,
    const char *key, int rekey, const char *exec_cmd)
{
	struct mtls_error err;
	time_t nb, na, at;
	int failures = 0;

	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	for (;;) {
		memset(&err, 0, sizeof(err));
		if (validity(cert, &nb, &na, &err) == -1) {
			say("error", "%s", err.msg);
			return EXIT_FAIL;
		}
		at = mtls_renew_time(nb, na, jitter());
		if (failures == 0) {
			char when[32];
			cli_datetime(at, when, sizeof(when));
			say("info", "%s: next renewal at %s", cert, when);
			if (sleep_until(at) == -1)
				return EXIT_OK;
		}
		memset(&err, 0, sizeof(err));
		if (mtls_est_renew_files(ec, cert, key, rekey, &nb, &na,
		    &err) == 0) {
			char when[32];
			failures = 0;
			cli_datetime(na, when, sizeof(when));
			say("info", "%s: renewed, valid until %s", cert, when);
			if (exec_cmd != NULL) {
				int rc = system(exec_cmd);
				if (rc != 0)
					say("warning", "--exec %s: exit status "
					    "%d", exec_cmd, WIFEXITED(rc) ?
					    WEXITSTATUS(rc) : rc);
			}
			continue;
		}
		failures++;
		double d = mtls_renew_backoff(failures, time(NULL), na);
		say(time(NULL) >= na ? "error" : "warning", "renewal failed "
		    "(%s); %s, retrying in %.0fs", err.msg, time(NULL) >= na ?
		    "the certificate has EXPIRED" : "the current certificate "
		    "stays in use", d);
		if (sleep_until(time(NULL) + (time_t)d) == -1)
			return EXIT_OK;
	}
}

int
cmd_renew(int argc, char **argv)
{
	enum { O_SERVER = 256, O_CA_CERT, O_CERT, O_KEY, O_REKEY, O_DAEMON,
	    O_EXEC };
	static const struct option opts[] = {
		{ "server", required_argument, NULL, O_SERVER },
		{ "ca-cert", required_argument, NULL, O_CA_CERT },
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ "rekey", no_argument, NULL, O_REKEY },
		{ "daemon", no_argument, NULL, O_DAEMON },
		{ "exec", required_argument, NULL, O_EXEC },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mtls_est_client ec = { 0 };
	struct mtls_error err = { 0 };
	const char *cert = NULL, *key = NULL, *exec_cmd = NULL;
	int c, rekey = 0, daemon = 0;
	time_t nb = 0, na = 0;
	char when[32];

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case O_SERVER: ec.url = optarg; break;
		case O_CA_CERT: ec.ca_file = optarg; break;
		case O_CERT: cert = optarg; break;
		case O_KEY: key = optarg; break;
		case O_REKEY: rekey = 1; break;
		case O_DAEMON: daemon = 1; break;
		case O_EXEC: exec_cmd = optarg; break;
		case 'h': usage(); return EXIT_OK;
		default: return cli_getopt_fail(cmd, c, argv);
		}
	}
	if (cli_no_operands(cmd, argc, argv) != 0 ||
	    cli_require(cmd, "--server", ec.url) == -1 ||
	    cli_require(cmd, "--ca-cert", ec.ca_file) == -1 ||
	    cli_require(cmd, "--cert", cert) == -1 ||
	    cli_require(cmd, "--key", key) == -1)
		return EXIT_USAGE;
	if (strncmp(ec.url, "https://", 8) != 0)
		return cli_usage(cmd, "--server %s: not an https:// URL",
		    ec.url);
	if (exec_cmd != NULL && !daemon)
		return cli_usage(cmd, "--exec runs after each renewal of "
		    "--daemon; without it, run the command yourself after a "
		    "0 exit status");
	/* An encrypted key stays encrypted: a new one (--rekey) is written
	 * with the same passphrase. */
	ec.key_passphrase = getenv(CLI_KEY_PASSPHRASE_ENV);
	if (daemon)
		return daemon_loop(&ec, cert, key, rekey, exec_cmd);
	if (mtls_est_renew_files(&ec, cert, key, rekey, &nb, &na, &err) ==
	    -1)
		return cli_fail_err(&err);
	cli_datetime(na, when, sizeof(when));
	printf("renewed: %s, valid until %s%s\n", cert, when,
	    rekey ? " (new key)" : "");
	return EXIT_OK;
}
