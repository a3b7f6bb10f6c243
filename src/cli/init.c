/*
 * init.c - "mtls init": a ready-to-use PKI in one step, for trying mutual
 * TLS: a root CA whose name is unique to this PKI, a server certificate
 * (localhost, 127.0.0.1 and ::1 unless --dns/--ip say otherwise), and a
 * client certificate (CN=client unless --name); then the exact commands to
 * try them, and the next step for a server of one's own (mtls config).
 * Either all of it is made, or nothing is left behind.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_pki.h"

static const char cmd[] = "mtls init";

#define nitems_(a) (sizeof(a) / sizeof((a)[0]))

static void
usage(void)
{
	printf("usage: %s [--dir DIR] [--name CN] [--dns NAME]... [--ip "
	    "ADDR]...\n"
	    "\n"
	    "Creates a ready-to-use PKI in DIR (default ./mtls-pki):\n"
	    "  DIR/ca/                  a root CA (ca.crt, ca.key, ca.db), "
	    "named\n"
	    "                           \"mtls Root CA <8 hex digits>\", "
	    "unique to this PKI\n"
	    "  DIR/server.crt, .key     a server certificate for localhost, "
	    "127.0.0.1, ::1\n"
	    "  DIR/client.crt, .key     a client certificate, CN=client\n"
	    "and prints the commands to try them.  Refuses when DIR already "
	    "holds a PKI.\n"
	    "\n"
	    "  --dir DIR       where to create it\n"
	    "  --name CN       the client certificate's name (default "
	    "client)\n"
	    "  --dns NAME      a server name (repeatable; replaces the "
	    "defaults)\n"
	    "  --ip ADDR       a server address (repeatable; replaces the "
	    "defaults)\n", cmd);
}

/* The outputs, by their names inside DIR. */
enum { OUT_CA, OUT_SERVER_CRT, OUT_SERVER_KEY, OUT_CLIENT_CRT,
    OUT_CLIENT_KEY, OUT_COUNT };
static const char *const out_names[OUT_COUNT] = {
	"ca", "server.crt", "server.key", "client.crt", "client.key",
};

static int
remove_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) == -1 && errno != ENOENT)
		fprintf(stderr, "mtls: %s: cannot remove: %s\n", path,
		    strerror(errno));
	return 0;
}

/* Prints s quoted for a POSIX shell when it needs quoting. */
static void
print_shell_word(const char *s)
{
	if (*s != '\0' && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == strlen(s)) {
		fputs(s, stdout);
		return;
	}
	putchar('\'');
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*s);
	}
	putchar('\'');
}

/* Issues one leaf from ca and writes it; 0, or -1 with the reason printed. */
static int
issue_leaf(struct mtls_ca *ca, enum mtls_cert_kind kind,
    const struct mtls_names *names, const char *crt, const char *key_path,
    int *wrote_key, int *wrote_crt)
{
	struct mtls_issue_options iopt = { 0 };
	struct mtls_error err = { 0 };
	struct mtls_key *key = NULL;
	struct mtls_cert *cert = NULL;
	int ret = -1;

	iopt.kind = kind;
	if ((key = mtls_key_generate(MTLS_KEY_EC_P256, &err)) == NULL) {
		cli_fail_err(&err);
		goto out;
	}
	if ((cert = mtls_ca_issue(ca, key, names, &iopt)) == NULL) {
		cli_fail_ca(ca, NULL);
		goto out;
	}
	if (cli_write_key_pair(key, key_path, cert, NULL, crt, 0) == -1)
		goto out;
	*wrote_key = *wrote_crt = 1;
	ret = 0;
out:
	mtls_cert_free(cert);
	mtls_key_free(key);
	return ret;
}

/* The curl line for the client files, as mtls config curl prints it. */
static int
print_client_line(const char *crt, const char *key, const char *ca,
    const char *url)
{
	struct mtls_snippet_options o;
	struct mtls_snippet *sn;
	struct mtls_error err;

	memset(&o, 0, sizeof(o));
	memset(&err, 0, sizeof(err));
	o.cert_file = crt;
	o.key_file = key;
	o.ca_file = ca;
	o.url = url;
	if ((sn = mtls_snippet_make(MTLS_SOFTWARE_CURL, &o, &err)) == NULL) {
		cli_fail_err(&err);
		return -1;
	}
	fputs(mtls_snippet_text(sn), stdout);
	mtls_snippet_free(sn);
	return 0;
}

int
cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "dns", required_argument, NULL, 'D' },
		{ "ip", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const server_dns[] = { "localhost" };
	static const char *const server_ip[] = { "127.0.0.1", "::1" };
	struct mtls_ca_options copt = { 0 };
	struct mtls_names names;
	struct mtls_error err = { 0 };
	struct mtls_ca *ca = NULL;
	const char *dir = "mtls-pki", *client_name = "client";
	struct strlist dns = { 0 }, ip = { 0 };
	char ca_name[64], names_text[512], url[300];
	uint32_t rnd;
	char *path[OUT_COUNT] = { NULL };
	int wrote[OUT_COUNT] = { 0 };
	int made_dir = 0, c, ret = EXIT_USAGE;
	struct stat st;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'n': client_name = optarg; break;
		case 'D': strlist_add(&dns, optarg); break;
		case 'I': strlist_add(&ip, optarg); break;
		case 'h': usage(); ret = EXIT_OK; goto out;
		default: cli_getopt_fail(cmd, c, argv); goto out;
		}
	}
	if (cli_no_operands(cmd, argc, argv) != 0)
		goto out;
	if (*dir == '\0') {
		cli_usage(cmd, "--dir: empty directory name");
		goto out;
	}
	if (*client_name == '\0') {
		cli_usage(cmd, "--name: empty name");
		goto out;
	}
	if (dns.n == 0 && ip.n == 0) {
		for (size_t i = 0; i < nitems_(server_dns); i++)
			strlist_add(&dns, server_dns[i]);
		for (size_t i = 0; i < nitems_(server_ip); i++)
			strlist_add(&ip, server_ip[i]);
	}

	ret = EXIT_FAIL;
	for (int i = 0; i < OUT_COUNT; i++)
		path[i] = cli_path_join(dir, out_names[i]);
	for (int i = 0; i < OUT_COUNT; i++) {
		if (lstat(path[i], &st) == 0) {
			cli_fail("%s: already holds a PKI (%s exists); choose "
			    "another --dir", dir, path[i]);
			goto out;
		}
	}
	if (mkdir(dir, 0755) == 0)
		made_dir = 1;
	else if (errno != EEXIST) {
		cli_fail("%s: cannot create directory: %s", dir,
		    strerror(errno));
		goto out;
	} else if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		cli_fail("%s: exists and is not a directory", dir);
		goto out;
	}

	/* Two PKIs on one machine must not both be "mtls Root CA": every
	 * message that names the CA would then be ambiguous. */
	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		cli_fail("cannot get random bytes: %s", strerror(errno));
		goto out;
	}
	snprintf(ca_name, sizeof(ca_name), "mtls Root CA %08x", rnd);
	copt.dir = path[OUT_CA];
	copt.name = ca_name;
	copt.key_type = MTLS_KEY_EC_P256;
	/* A failed mtls_ca_create undoes its own work; once it succeeds, ca/
	 * is ours to remove if a later step fails. */
	if ((ca = mtls_ca_create(&copt, &err)) == NULL) {
		cli_fail_err(&err);
		goto out;
	}
	wrote[OUT_CA] = 1;

	memset(&names, 0, sizeof(names));
	names.common_name = dns.n > 0 ? dns.v[0] : ip.v[0];
	names.dns = dns.v;
	names.ndns = dns.n;
	names.ip = ip.v;
	names.nip = ip.n;
	if (issue_leaf(ca, MTLS_CERT_SERVER, &names, path[OUT_SERVER_CRT],
	    path[OUT_SERVER_KEY], &wrote[OUT_SERVER_KEY],
	    &wrote[OUT_SERVER_CRT]) == -1)
		goto out;

	memset(&names, 0, sizeof(names));
	names.common_name = client_name;
	if (issue_leaf(ca, MTLS_CERT_CLIENT, &names, path[OUT_CLIENT_CRT],
	    path[OUT_CLIENT_KEY], &wrote[OUT_CLIENT_KEY],
	    &wrote[OUT_CLIENT_CRT]) == -1)
		goto out;

	char *ca_crt = cli_path_join(path[OUT_CA], "ca.crt");
	char *ca_key = cli_path_join(path[OUT_CA], "ca.key");
	/* "localhost, 127.0.0.1, ::1", and the URL the client lines use. */
	names_text[0] = '\0';
	for (size_t i = 0; i < dns.n + ip.n; i++) {
		size_t used = strlen(names_text);
		snprintf(names_text + used, sizeof(names_text) - used, "%s%s",
		    i > 0 ? ", " : "", i < dns.n ? dns.v[i] : ip.v[i - dns.n]);
	}
	snprintf(url, sizeof(url), "https://%s%s%s:8443/",
	    dns.n == 0 && strchr(ip.v[0], ':') != NULL ? "[" : "",
	    dns.n > 0 ? dns.v[0] : ip.v[0],
	    dns.n == 0 && strchr(ip.v[0], ':') != NULL ? "]" : "");
	printf("created a PKI in %s:\n", dir);
	printf("  %-28s root CA certificate, CN=%s: the trust anchor (--ca, "
	    "--cacert)\n", ca_crt, ca_name);
	printf("  %-28s root CA key (mode 0600): keep it secret\n", ca_key);
	printf("  %-28s server certificate for %s\n", path[OUT_SERVER_CRT],
	    names_text);
	printf("  %-28s server key (mode 0600)\n", path[OUT_SERVER_KEY]);
	printf("  %-28s client certificate, CN=%s\n", path[OUT_CLIENT_CRT],
	    client_name);
	printf("  %-28s client key (mode 0600)\n", path[OUT_CLIENT_KEY]);
	printf("\nTry it: start a plaintext backend, e.g.\n"
	    "  python3 -m http.server 8080 --bind 127.0.0.1\n"
	    "then run\n  ");
	printf("mtls serve --listen 127.0.0.1:8443 --cert ");
	print_shell_word(path[OUT_SERVER_CRT]);
	printf(" --key ");
	print_shell_word(path[OUT_SERVER_KEY]);
	printf(" --ca ");
	print_shell_word(ca_crt);
	printf(" --backend 127.0.0.1:8080 --allow-cn ");
	print_shell_word(client_name);
	printf("\nand, in another terminal,\n  ");
	if (print_client_line(path[OUT_CLIENT_CRT], path[OUT_CLIENT_KEY],
	    ca_crt, url) != 0) {
		free(ca_crt);
		free(ca_key);
		goto out;
	}
	printf("\nWith openssl as the server instead (it answers with a status "
	    "page):\n  openssl s_server -accept 8443 -cert ");
	print_shell_word(path[OUT_SERVER_CRT]);
	printf(" -key ");
	print_shell_word(path[OUT_SERVER_KEY]);
	printf(" -CAfile ");
	print_shell_word(ca_crt);
	printf(" -Verify 1 -verify_return_error -www\n");
	printf("\nNext, your own server: the configuration for it, made from "
	    "these files:\n  mtls config nginx --pki ");
	print_shell_word(dir);
	printf("    (or apache, haproxy; curl, requests, openssl)\n");
	free(ca_crt);
	free(ca_key);
	ret = EXIT_OK;
out:
	mtls_ca_free(ca);
	if (ret == EXIT_FAIL) {
		/* Take back everything made here, newest first. */
		for (int i = OUT_COUNT - 1; i > OUT_CA; i--)
			if (wrote[i])
				unlink(path[i]);
		if (wrote[OUT_CA])
			nftw(path[OUT_CA], remove_entry, 8,
			    FTW_DEPTH | FTW_PHYS);
		if (made_dir)
			rmdir(dir);
	}
	for (int i = 0; i < OUT_COUNT; i++)
		free(path[i]);
	strlist_free(&dns);
	strlist_free(&ip);
	return ret;
}
