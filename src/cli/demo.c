/*
 * demo.c - "mtls demo": the main job, end to end, in a temp dir.  It makes
 * a private CA with a server and a client certificate (and a second CA
 * that the proxy does not trust), starts "mtls serve" as a child process
 * in front of a small backend that answers with the identity the proxy
 * passed on (PROXY v2), then runs three clients and says what happened to
 * each: the right certificate gets through and the backend names it; no
 * certificate, or one from the other CA, is refused with the reason.
 * Everything it started is stopped and the temp dir removed.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "cli_pki.h"
#include "proxy.h"

static const char cmd[] = "mtls demo";

#define DEMO_CLIENT_CN "demo-client"

struct demo {
	char dir[64];
	/* Files in dir. */
	char ca_dir[128], other_dir[128], ca_crt[128], client_crt[128],
	    client_key[128], intruder_crt[128], intruder_key[128],
	    backend_sock[128], serve_log[128];
	pid_t serve;
	struct proxy_demo_backend *backend;
	unsigned port;
};

static void
demo_paths(struct demo *d)
{
	snprintf(d->ca_dir, sizeof(d->ca_dir), "%s/ca", d->dir);
	snprintf(d->other_dir, sizeof(d->other_dir), "%s/other-ca", d->dir);
	snprintf(d->ca_crt, sizeof(d->ca_crt), "%s/ca/ca.crt", d->dir);
	snprintf(d->client_crt, sizeof(d->client_crt), "%s/client.crt",
	    d->dir);
	snprintf(d->client_key, sizeof(d->client_key), "%s/client.key",
	    d->dir);
	snprintf(d->intruder_crt, sizeof(d->intruder_crt), "%s/intruder.crt",
	    d->dir);
	snprintf(d->intruder_key, sizeof(d->intruder_key), "%s/intruder.key",
	    d->dir);
	snprintf(d->backend_sock, sizeof(d->backend_sock), "%s/backend.sock",
	    d->dir);
	snprintf(d->serve_log, sizeof(d->serve_log), "%s/serve.log", d->dir);
}

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

/* A key and a certificate of kind from ca, written as prefix.crt/.key. */
static int
demo_issue(struct demo *d, struct mtls_ca *ca, enum mtls_cert_kind kind,
    const char *cn, const char *prefix)
{
	struct mtls_error err = { 0 };
	struct mtls_issue_options io = { .kind = kind };
	const char *dns[] = { "localhost" }, *ip[] = { "127.0.0.1" };
	struct mtls_names names = { .common_name = cn };
	struct mtls_key *key = NULL;
	struct mtls_cert *cert = NULL;
	char crt[600], keyp[600];
	int ret = -1;

	if (kind == MTLS_CERT_SERVER) {
		names.dns = dns;
		names.ndns = 1;
		names.ip = ip;
		names.nip = 1;
	}
	snprintf(crt, sizeof(crt), "%s/%s.crt", d->dir, prefix);
	snprintf(keyp, sizeof(keyp), "%s/%s.key", d->dir, prefix);
	if ((key = mtls_key_generate(MTLS_KEY_EC_P256, &err)) == NULL) {
		cli_fail_err(&err);
		goto out;
	}
	if ((cert = mtls_ca_issue(ca, key, &names, &io)) == NULL) {
		cli_fail("%s", mtls_ca_error(ca));
		goto out;
	}
	if (mtls_key_write_file(key, keyp, NULL, 0, &err) == -1 ||
	    mtls_cert_write_file(cert, crt, 0, &err) == -1) {
		cli_fail_err(&err);
		goto out;
	}
	ret = 0;
out:
	mtls_cert_free(cert);
	mtls_key_free(key);
	return ret;
}

static int
demo_pki(struct demo *d)
{
	struct mtls_error err = { 0 };
	struct mtls_ca_options co = { .dir = d->ca_dir,
	    .name = "mtls demo CA" };
	struct mtls_ca_options oo = { .dir = d->other_dir,
	    .name = "Some Other CA" };
	struct mtls_ca *ca = NULL, *other = NULL;
	int ret = -1;

	if ((ca = mtls_ca_create(&co, &err)) == NULL ||
	    (other = mtls_ca_create(&oo, &err)) == NULL) {
		cli_fail_err(&err);
		goto out;
	}
	if (demo_issue(d, ca, MTLS_CERT_SERVER, "localhost", "server") ||
	    demo_issue(d, ca, MTLS_CERT_CLIENT, DEMO_CLIENT_CN, "client") ||
	    demo_issue(d, other, MTLS_CERT_CLIENT, DEMO_CLIENT_CN, "intruder"))
		goto out;
	ret = 0;
out:
	mtls_ca_free(ca);
	mtls_ca_free(other);
	return ret;
}

/* A free port on 127.0.0.1 now. */
static unsigned
demo_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	unsigned port = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd != -1 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd != -1)
		close(fd);
	return port;
}

static int
demo_connect(unsigned port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { 5, 0 };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	if (fd == -1)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Starts "mtls serve" (this very binary) with its log in serve.log, and
 * waits until it listens. */
static int
demo_serve(struct demo *d)
{
	char listen[64], backend[600], self[4096];
	const char *logp = d->serve_log;
	ssize_t n;
	int fd;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		cli_fail("cannot find the mtls binary: %s", strerror(errno));
		return -1;
	}
	self[n] = '\0';
	if ((d->port = demo_free_port()) == 0) {
		cli_fail("no free port on 127.0.0.1");
		return -1;
	}
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", d->port);
	snprintf(backend, sizeof(backend), "unix:%s/backend.sock", d->dir);
	printf("$ mtls serve --listen %s --cert server.crt --key server.key "
	    "--ca ca/ca.crt \\\n      --backend %s --proxy-protocol "
	    "--allow-cn %s\n", listen, backend, DEMO_CLIENT_CN);
	fflush(stdout);
	d->serve = fork();
	if (d->serve == -1) {
		d->serve = 0;
		cli_fail("fork: %s", strerror(errno));
		return -1;
	}
	if (d->serve == 0) {
		char crt[600], key[600], ca[600];
		int lfd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0600);
		if (lfd == -1 || dup2(lfd, STDERR_FILENO) == -1)
			_exit(127);
		snprintf(crt, sizeof(crt), "%s/server.crt", d->dir);
		snprintf(key, sizeof(key), "%s/server.key", d->dir);
		snprintf(ca, sizeof(ca), "%s/ca/ca.crt", d->dir);
		execl(self, "mtls", "serve", "--listen", listen, "--cert", crt,
		    "--key", key, "--ca", ca, "--backend", backend,
		    "--proxy-protocol", "--allow-cn", DEMO_CLIENT_CN,
		    "--workers", "1", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		int status;
		if ((fd = demo_connect(d->port)) != -1) {
			close(fd);
			return 0;
		}
		if (waitpid(d->serve, &status, WNOHANG) == d->serve) {
			d->serve = 0;
			cli_fail("mtls serve exited before listening");
			return -1;
		}
		usleep(50000);
	}
	cli_fail("mtls serve did not start listening on %s", listen);
	return -1;
}

/* What the proxy logged about the connection from local port port (it
 * logs when the connection ends, which may be a moment after the client
 * gave up, so this waits a little for the line). */
static void
demo_serve_said(struct demo *d, unsigned port, char *out, size_t cap)
{
	char line[4096], key[64];

	out[0] = '\0';
	snprintf(key, sizeof(key), "client=127.0.0.1:%u ", port);
	for (int i = 0; i < 50 && out[0] == '\0'; i++) {
		FILE *f = fopen(d->serve_log, "r");

		if (f == NULL)
			return;
		while (fgets(line, sizeof(line), f) != NULL) {
			char *p = strstr(line, key);
			if (p != NULL) {
				line[strcspn(line, "\n")] = '\0';
				snprintf(out, cap, "%s", p + strlen(key));
			}
		}
		fclose(f);
		if (out[0] == '\0')
			usleep(100000);
	}
}

static void
demo_refused(struct mtls *ctx)
{
	const char *alert = mtls_conn_alert_received(ctx);

	if (alert != NULL)
		printf("  -> refused: the proxy ended the handshake with the "
		    "TLS alert %s\n", alert);
	else
		printf("  -> refused: %s\n", mtls_error(ctx));
}

/* One client: returns 1 when the backend answered, 0 when refused, with
 * what happened printed. */
static int
demo_client(struct demo *d, const char *title, const char *cert,
    const char *key)
{
	struct mtls_config *cfg = mtls_config_new();
	struct mtls *ctx = mtls_client();
	char reply[1024], said[4096];
	size_t len = 0;
	ssize_t n;
	int fd = -1, ok = 0;

	printf("\n%s\n", title);
	if (cfg == NULL || ctx == NULL) {
		printf("  -> could not run: out of memory\n");
		goto out;
	}
	if ((cert != NULL && (mtls_config_set_cert_file(cfg, cert) == -1 ||
	    mtls_config_set_key_file(cfg, key, NULL) == -1)) ||
	    mtls_config_set_ca_file(cfg, d->ca_crt) == -1 ||
	    mtls_configure(ctx, cfg) == -1) {
		printf("  -> could not run: %s\n", mtls_config_error(cfg));
		goto out;
	}
	if ((fd = demo_connect(d->port)) == -1) {
		printf("  -> could not connect: %s\n", strerror(errno));
		goto out;
	}
	if (mtls_connect_socket(ctx, fd, "localhost") == -1 ||
	    mtls_handshake(ctx) == -1) {
		demo_refused(ctx);
		goto said;
	}
	/* With TLS 1.3 the client finishes its side of the handshake before
	 * the server has looked at its certificate: a refusal arrives as an
	 * alert on the first read. */
	while (len < sizeof(reply) - 1 &&
	    (n = mtls_read(ctx, reply + len, sizeof(reply) - 1 - len)) > 0)
		len += (size_t)n;
	reply[len] = '\0';
	if (len == 0) {
		demo_refused(ctx);
		goto said;
	}
	reply[strcspn(reply, "\n")] = '\0';
	(void)mtls_close(ctx);
	printf("  -> connected with %s (%s); the backend answered:\n"
	    "     \"%s\"\n", mtls_conn_version(ctx), mtls_conn_cipher(ctx),
	    reply);
	ok = 1;
said:
	{
		struct sockaddr_in me;
		socklen_t mlen = sizeof(me);
		if (getsockname(fd, (struct sockaddr *)&me, &mlen) == 0) {
			close(fd);
			fd = -1;
			demo_serve_said(d, ntohs(me.sin_port), said,
			    sizeof(said));
		}
	}
	if (said[0] != '\0')
		printf("     mtls serve logged: %s\n", said);
out:
	if (fd != -1)
		close(fd);
	mtls_free(ctx);
	mtls_config_free(cfg);
	return ok;
}

static void
demo_stop(struct demo *d)
{
	if (d->serve > 0) {
		int status;
		kill(d->serve, SIGTERM);
		waitpid(d->serve, &status, 0);
		d->serve = 0;
	}
	proxy_demo_backend_stop(d->backend);
	d->backend = NULL;
	if (d->dir[0] != '\0')
		nftw(d->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int
cmd_demo(int argc, char **argv)
{
	struct demo d = { 0 };
	char err[1024];
	const char *tmp = getenv("TMPDIR");
	int good, nocert, other, ret = EXIT_FAIL;

	if (argc > 1) {
		if (strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "-h") == 0) {
			printf("usage: %s\n\nCreates a CA, certificates, "
			    "mtls serve and a backend in a temp dir, shows\n"
			    "an allowed client, a client without a "
			    "certificate and one from another CA,\nthen "
			    "removes everything.\n", cmd);
			return EXIT_OK;
		}
		return cli_usage(cmd, "unexpected argument '%s'", argv[1]);
	}
	snprintf(d.dir, sizeof(d.dir), "%s/mtls-demo.XXXXXX",
	    tmp != NULL && strlen(tmp) < 40 ? tmp : "/tmp");
	if (mkdtemp(d.dir) == NULL) {
		d.dir[0] = '\0';
		return cli_fail("cannot create a temp dir: %s",
		    strerror(errno));
	}
	demo_paths(&d);
	signal(SIGPIPE, SIG_IGN);

	printf("mtls demo: mutual TLS in front of a backend, in %s\n\n",
	    d.dir);
	printf("1. A private PKI, made with libmtls:\n"
	    "   ca/           \"mtls demo CA\", the CA the proxy trusts\n"
	    "   server.crt    localhost and 127.0.0.1, from that CA\n"
	    "   client.crt    CN=%s, from that CA\n"
	    "   intruder.crt  CN=%s too, but from \"Some Other CA\"\n\n",
	    DEMO_CLIENT_CN, DEMO_CLIENT_CN);
	if (demo_pki(&d) == -1)
		goto out;
	d.backend = proxy_demo_backend_start(d.backend_sock, err,
	    sizeof(err));
	if (d.backend == NULL) {
		cli_fail("%s", err);
		goto out;
	}
	printf("2. A backend on a unix socket that knows no TLS: it reads "
	    "the PROXY v2\n   header mtls serve puts before the data, and "
	    "answers with who is calling.\n   In front of it, the proxy:\n\n");
	if (demo_serve(&d) == -1)
		goto out;

	good = demo_client(&d, "3. A client with client.crt (the CA's "
	    "certificate for " DEMO_CLIENT_CN "):", d.client_crt,
	    d.client_key);
	nocert = demo_client(&d, "4. A client without a certificate:", NULL,
	    NULL);
	other = demo_client(&d, "5. A client with intruder.crt (same name, "
	    "another CA):", d.intruder_crt, d.intruder_key);

	printf("\n");
	if (good && !nocert && !other && proxy_demo_backend_count(d.backend)
	    == 1) {
		printf("The allowed client got through and the backend named "
		    "it; the other two were\nrefused during the handshake "
		    "and the backend never saw them.\n");
		ret = EXIT_OK;
	} else {
		printf("Unexpected: the demo did not go as described above "
		    "(backend answered %u connection(s)).\n",
		    proxy_demo_backend_count(d.backend));
	}
out:
	demo_stop(&d);
	printf("Stopped mtls serve and the backend; removed %s.\n", d.dir);
	return ret;
}
