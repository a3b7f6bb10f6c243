/*
 * cli_pki.c - helpers shared by the CA subcommands (see cli_pki.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_pki.h"

void
cli_getopt_reset(void)
{
	/* glibc: optind = 0 re-initializes getopt's internal state (a second
	 * parse in the same process would otherwise resume mid-cluster). */
	optind = 0;
	opterr = 0;
}

int
cli_getopt_fail(const char *cmd, int c, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";

	/* For a long option glibc sets optopt to the option's own value, so
	 * the word on the command line is what names it. */
	if (strncmp(arg, "--", 2) == 0) {
		int len = (int)strcspn(arg, "=");
		if (c == ':')
			return cli_usage(cmd, "option '%.*s' needs a value",
			    len, arg);
		if (arg[len] == '=')
			return cli_usage(cmd, "option '%.*s' is unknown or "
			    "takes no value", len, arg);
		return cli_usage(cmd, "unknown option '%s'", arg);
	}
	if (c == ':')
		return cli_usage(cmd, "option '-%c' needs a value", optopt);
	return cli_usage(cmd, "unknown option '-%c'", optopt);
}

int
cli_no_operands(const char *cmd, int argc, char **argv)
{
	if (optind < argc)
		return cli_usage(cmd, "unexpected argument '%s'",
		    argv[optind]);
	return 0;
}

int
cli_require(const char *cmd, const char *opt, const char *value)
{
	if (value == NULL || *value == '\0') {
		cli_usage(cmd, "%s is required", opt);
		return -1;
	}
	return 0;
}

int
cli_issuer_opt(const char *cmd, struct cli_issuer *is, int c,
    const char *arg)
{
	enum mtls_cert_kind want;

	switch (c) {
	case 'C':
		is->ca_dir = arg;
		return 1;
	case 'B':
		is->db = arg;
		return 1;
	case 'S':
	case 'c':
		want = c == 'S' ? MTLS_CERT_SERVER : MTLS_CERT_CLIENT;
		if ((int)is->opt.kind != 0 && is->opt.kind != want) {
			cli_usage(cmd, "--server and --client exclude each "
			    "other");
			return -1;
		}
		is->opt.kind = want;
		return 1;
	case 'D':
		return cli_parse_int(cmd, "--days", arg, 1, CLI_MAX_DAYS,
		    &is->opt.days) == -1 ? -1 : 1;
	}
	return 0;
}

int
cli_issuer_require(const char *cmd, const struct cli_issuer *is)
{
	if (cli_require(cmd, "--ca", is->ca_dir) == -1)
		return -1;
	if ((int)is->opt.kind == 0) {
		cli_usage(cmd, "one of --server or --client is required");
		return -1;
	}
	return 0;
}

void
cli_name_warn_dn(const char *arg)
{
	size_t k = strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
	    "vwxyz");

	/* "CN=evil,O=x" becomes a common name with that text, not a
	 * distinguished name: say so, since it looks like one. */
	if (k > 0 && arg[k] == '=')
		fprintf(stderr, "mtls: warning: --name '%.80s' looks like a "
		    "distinguished name; it becomes the common name as written "
		    "(CN=%.80s)\n", arg, arg);
}

int
cli_names_opt(struct cli_names *n, int c, const char *arg)
{
	switch (c) {
	case 'n':
		n->name = arg;
		cli_name_warn_dn(arg);
		return 1;
	case 'd': strlist_add(&n->dns, arg); return 1;
	case 'i': strlist_add(&n->ip, arg); return 1;
	case 'u': strlist_add(&n->uri, arg); return 1;
	case 'e': strlist_add(&n->email, arg); return 1;
	}
	return 0;
}

void
cli_names_get(const struct cli_names *n, struct mtls_names *out)
{
	memset(out, 0, sizeof(*out));
	out->common_name = n->name;
	out->dns = n->dns.v;
	out->ndns = n->dns.n;
	out->ip = n->ip.v;
	out->nip = n->ip.n;
	out->uri = n->uri.v;
	out->nuri = n->uri.n;
	out->email = n->email.v;
	out->nemail = n->email.n;
}

void
cli_names_free(struct cli_names *n)
{
	strlist_free(&n->dns);
	strlist_free(&n->ip);
	strlist_free(&n->uri);
	strlist_free(&n->email);
}

int
cli_out_pair(const char *prefix, const char *ext, int force, char **path,
    char **key_path)
{
	*path = cli_path_cat(prefix, ext);
	*key_path = cli_path_cat(prefix, ".key");
	if (cli_refuse_existing(*path, force) == -1 ||
	    cli_refuse_existing(*key_path, force) == -1)
		return -1;
	return 0;
}

int
cli_key_type_arg(const char *cmd, const char *s, enum mtls_key_type *type)
{
	char choices[128] = "";
	size_t used = 0;

	if (mtls_key_type_parse(s, type) == 0)
		return 0;
	for (int t = MTLS_KEY_EC_P256; t <= MTLS_KEY_ED25519; t++) {
		int n = snprintf(choices + used, sizeof(choices) - used,
		    "%s%s", used ? ", " : "",
		    mtls_key_type_name((enum mtls_key_type)t));
		if (n < 0 || (size_t)n >= sizeof(choices) - used)
			break;
		used += (size_t)n;
	}
	cli_usage(cmd, "unknown key type '%s' (choose from %s)", s, choices);
	return -1;
}

int
cli_refuse_existing(const char *path, int force)
{
	struct stat st;

	if (!force && lstat(path, &st) == 0) {
		cli_fail("%s: file already exists (use --force to replace it)",
		    path);
		return -1;
	}
	/* A directory that cannot take the output is found now, before a
	 * serial is spent or a key generated, not after. */
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL ? strdup(".") : slash == path ?
	    strdup("/") : strndup(path, (size_t)(slash - path));
	if (dir == NULL) {
		fprintf(stderr, "mtls: out of memory\n");
		exit(EXIT_FAIL);
	}
	int ret = 0;
	if (stat(dir, &st) == -1) {
		cli_fail("%s: cannot write into %s: %s", path, dir,
		    strerror(errno));
		ret = -1;
	} else if (!S_ISDIR(st.st_mode)) {
		cli_fail("%s: cannot write into %s: not a directory", path,
		    dir);
		ret = -1;
	} else if (access(dir, W_OK | X_OK) == -1) {
		cli_fail("%s: cannot write into %s: %s", path, dir,
		    strerror(errno));
		ret = -1;
	}
	free(dir);
	return ret;
}

char *
cli_path_cat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + lb + 1);

	if (p == NULL) {
		fprintf(stderr, "mtls: out of memory\n");
		exit(EXIT_FAIL);
	}
	memcpy(p, a, la);
	memcpy(p + la, b, lb + 1);
	return p;
}

char *
cli_path_join(const char *dir, const char *name)
{
	size_t l = strlen(dir);

	if (l > 0 && dir[l - 1] == '/')
		return cli_path_cat(dir, name);
	char *d = cli_path_cat(dir, "/");
	char *p = cli_path_cat(d, name);
	free(d);
	return p;
}

int
cli_ca_passphrase(const char *dir, char **pass)
{
	struct mtls_error err = { 0 };
	struct mtls_key *key;
	char *keyfile = cli_path_join(dir, "ca.key");

	/* The key alone says whether it is encrypted; the CA (and its
	 * inventory, perhaps a remote one) is opened by the caller.  Any
	 * other failure is reported when the key is used. */
	*pass = NULL;
	if ((key = mtls_key_load_file(keyfile, NULL, &err)) != NULL ||
	    err.code != MTLS_ERR_PASSPHRASE) {
		mtls_key_free(key);
		free(keyfile);
		return 0;
	}
	char prompt[512];
	snprintf(prompt, sizeof(prompt), "Passphrase for %s", keyfile);
	free(keyfile);
	*pass = cli_passphrase(CLI_CA_PASSPHRASE_ENV, prompt, 0);
	return *pass != NULL ? 0 : -1;
}

struct mtls_ca *
cli_ca_open(const char *dir, const char *db, int signing)
{
	struct mtls_error err = { 0 };
	struct mtls_ca *ca;
	char *pass = NULL;

	if (cli_ca_dir_check(dir, db) != 0)
		return NULL;
	/* Opened once without a passphrase: that says whether the key is
	 * encrypted, and is all that an unencrypted key (or listing) needs,
	 * so that a shared inventory is connected to once. */
	ca = mtls_ca_open_db(dir, cli_ca_db(db), NULL, &err);
	if (ca != NULL && signing && mtls_ca_is_key_encrypted(ca)) {
		mtls_ca_free(ca);
		if (cli_ca_passphrase(dir, &pass) == -1)
			return NULL;
		ca = mtls_ca_open_db(dir, cli_ca_db(db), pass, &err);
		cli_passphrase_free(pass);
	}
	if (ca == NULL)
		cli_fail_err(&err);
	return ca;
}

const char *
cli_ca_db(const char *db)
{
	const char *env;

	if (db != NULL)
		return db;
	env = getenv(CLI_CA_DB_ENV);
	return env != NULL && *env != '\0' ? env : NULL;
}

int
cli_fail_ca(const struct mtls_ca *ca, const char *prefix)
{
	const char *why = mtls_ca_error(ca);

	if (why == NULL || *why == '\0')
		why = "the CA operation failed";
	if (prefix != NULL)
		return cli_fail("%s: %s", prefix, why);
	return cli_fail("%s", why);
}

void
cli_json_list(FILE *f, const char *s)
{
	if (s == NULL) {
		fputs("null", f);
		return;
	}
	fputc('[', f);
	for (const char *p = s; *p != '\0';) {
		const char *end = strstr(p, ", ");
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		char *item = strndup(p, len);
		if (item == NULL) {
			fprintf(stderr, "mtls: out of memory\n");
			exit(EXIT_FAIL);
		}
		if (p != s)
			fputs(", ", f);
		json_str(f, item);
		free(item);
		p += len;
		if (end != NULL)
			p += 2;
	}
	fputc(']', f);
}

/* The one JSON form of a SAN, in every command's --json (mtls(1), JSON
 * OUTPUT): {"type": "DNS", "value": "a.example"}. */
static void
json_san(FILE *f, const char *type, const char *value, size_t vlen)
{
	char *v = strndup(value, vlen);

	if (v == NULL) {
		fprintf(stderr, "mtls: out of memory\n");
		exit(EXIT_FAIL);
	}
	fputs("{\"type\": ", f);
	json_str(f, type);
	fputs(", \"value\": ", f);
	json_str(f, v);
	fputc('}', f);
	free(v);
}

void
cli_json_sans(FILE *f, const struct mtls_san *sans, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs(", ", f);
		json_san(f, mtls_san_type_name(sans[i].type), sans[i].value,
		    strlen(sans[i].value));
	}
	fputc(']', f);
}

void
cli_json_san_text(FILE *f, const char *s)
{
	fputc('[', f);
	for (const char *p = s; p != NULL && *p != '\0';) {
		const char *end = strstr(p, ", ");
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		const char *colon = memchr(p, ':', len);
		char type[16];

		if (p != s)
			fputs(", ", f);
		if (colon == NULL || (size_t)(colon - p) >= sizeof(type)) {
			json_san(f, "other", p, len);
		} else {
			snprintf(type, sizeof(type), "%.*s", (int)(colon - p),
			    p);
			json_san(f, type, colon + 1, len - (size_t)(colon -
			    p) - 1);
		}
		p += len;
		if (end != NULL)
			p += 2;
	}
	fputc(']', f);
}

void
cli_json_time(FILE *f, time_t t)
{
	char when[32];

	if (t == 0 || t == (time_t)-1) {
		fputs("null", f);
		return;
	}
	cli_datetime(t, when, sizeof(when));
	json_str(f, when);
}

void
cli_date(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d",
	    &tm) == 0)
		snprintf(buf, len, "?");
}

void
cli_datetime(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len,
	    "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "?");
}

int
cli_cert_summary(const struct mtls_cert *cert, char *serial,
    size_t serial_len, char *expires, size_t expires_len)
{
	struct mtls_cert_info info;
	struct mtls_error err = { 0 };

	memset(&info, 0, sizeof(info));
	if (mtls_cert_info(cert, 0, &info, &err) == -1) {
		cli_fail_err(&err);
		return -1;
	}
	snprintf(serial, serial_len, "%s", info.serial ? info.serial : "?");
	cli_date(info.not_after, expires, expires_len);
	mtls_cert_info_clear(&info);
	return 0;
}

int
cli_write_key_pair(const struct mtls_key *key, const char *key_path,
    const struct mtls_cert *cert, const struct mtls_csr *csr,
    const char *path, int flags)
{
	struct mtls_error err = { 0 };
	int rc;

	if (mtls_key_write_file(key, key_path, NULL, flags, &err) == -1) {
		cli_fail_err(&err);
		return -1;
	}
	if (cert != NULL)
		rc = mtls_cert_write_file(cert, path, flags, &err);
	else
		rc = mtls_csr_write_file(csr, path, flags, &err);
	if (rc == -1) {
		/* The key alone is useless and a secret: take it back. */
		unlink(key_path);
		cli_fail_err(&err);
		return -1;
	}
	return 0;
}
