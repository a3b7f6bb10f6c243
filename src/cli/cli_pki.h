/*
 * cli_pki.h - what the CA subcommands (init, ca, csr, cert issue/sign/
 * revoke/list/export) share: getopt handling, key types, refusing existing
 * outputs, opening a CA with its passphrase, and writing a key with its
 * certificate or CSR so that nothing half-made is left.
 */
#ifndef MTLS_CLI_PKI_H
#define MTLS_CLI_PKI_H

#include <time.h>

#include "cli.h"

/* The environment variables of the command-line contract. */
#define CLI_CA_PASSPHRASE_ENV "MTLS_CA_PASSPHRASE"
#define CLI_P12_PASSPHRASE_ENV "MTLS_P12_PASSPHRASE"
#define CLI_KEY_PASSPHRASE_ENV "MTLS_KEY_PASSPHRASE"
/* The inventory of the commands that use one, when --db is not given. */
#define CLI_CA_DB_ENV "MTLS_CA_DB"

/* --db, on every command that reads or writes the CA's inventory. */
#define CLI_DB_OPTION { "db", required_argument, NULL, 'B' }
#define CLI_DB_HELP \
	"  --db URL        the inventory: postgres://... shared by several " \
	"front ends,\n" \
	"                  or an SQLite file (default $MTLS_CA_DB, else " \
	"DIR/ca.db)\n"

/* The options of the commands that issue from a CA (cert issue, cert
 * sign): --ca DIR, --server or --client, and --days N, with their help
 * lines (but --days's, which each command places itself). */
#define CLI_ISSUER_OPTIONS \
	{ "ca", required_argument, NULL, 'C' }, \
	CLI_DB_OPTION, \
	{ "server", no_argument, NULL, 'S' }, \
	{ "client", no_argument, NULL, 'c' }, \
	{ "days", required_argument, NULL, 'D' }
#define CLI_ISSUER_HELP \
	"  --ca DIR        the issuing CA's directory\n" \
	CLI_DB_HELP \
	"  --server        a server certificate (EKU serverAuth)\n" \
	"  --client        a client certificate (EKU clientAuth)\n"
/* --out and --force, of the commands that write a file or a pair; and
 * --key-type, of those that generate a key. */
#define CLI_OUTPUT_OPTIONS \
	{ "out", required_argument, NULL, 'o' }, \
	{ "force", no_argument, NULL, 'f' }
#define CLI_KEY_TYPE_OPTION { "key-type", required_argument, NULL, 'k' }
/* The help lines of --key-type, and of an encrypted CA key (a %s for
 * CLI_CA_PASSPHRASE_ENV). */
#define CLI_KEY_TYPE_HELP \
	"  --key-type T    ec-p256 (default), ec-p384, rsa-2048, rsa-3072, " \
	"rsa-4096,\n" \
	"                  ed25519\n"
#define CLI_CA_KEY_HELP \
	"An encrypted CA key is unlocked with $%s or a prompt.\n"

/* Limits on --days. */
#define CLI_MAX_DAYS 36500

/* Starts a fresh getopt_long parse of a subcommand's argv (argv[0] is the
 * subcommand's name); errors are reported by cli_getopt_fail, not getopt.
 * Option strings must begin with ':' so a missing argument returns ':'. */
void cli_getopt_reset(void);
/* The usage error for getopt_long's '?' or ':' result; returns EXIT_USAGE. */
int cli_getopt_fail(const char *cmd, int c, char **argv);
/* EXIT_USAGE with a message when operands remain after the options. */
int cli_no_operands(const char *cmd, int argc, char **argv);

/* A usage error "OPT is required" (returns -1) when value is NULL or
 * empty; else 0. */
int cli_require(const char *cmd, const char *opt, const char *value);

/* The values of CLI_ISSUER_OPTIONS: the CA's directory and inventory, and
 * the kind (0 until --server or --client is seen) and days of the
 * certificate. */
struct cli_issuer {
	const char *ca_dir;
	const char *db;
	struct mtls_issue_options opt;
};

/* Takes one of CLI_ISSUER_OPTIONS (1), says c is not one (0), or prints a
 * usage error (-1): --server with --client, --days out of range. */
int cli_issuer_opt(const char *cmd, struct cli_issuer *is, int c,
    const char *arg);
/* A usage error (-1) unless --ca and one of --server or --client were
 * given; else 0. */
int cli_issuer_require(const char *cmd, const struct cli_issuer *is);

/* The names of the certificate or CSR to make: --name, and the repeatable
 * --dns, --ip, --uri and --email.  Their getopt values are the letters
 * below; cli_names_opt() takes one of them (1) or says it is not one (0). */
#define CLI_NAME_OPTIONS \
	{ "name", required_argument, NULL, 'n' }, \
	{ "dns", required_argument, NULL, 'd' }, \
	{ "ip", required_argument, NULL, 'i' }, \
	{ "uri", required_argument, NULL, 'u' }
#define CLI_EMAIL_OPTION { "email", required_argument, NULL, 'e' }

struct cli_names {
	const char *name;
	struct strlist dns, ip, uri, email;
};

int cli_names_opt(struct cli_names *n, int c, const char *arg);
/* Warns that a --name such as "CN=evil,O=x" looks like a distinguished
 * name (it becomes the common name as written). */
void cli_name_warn_dn(const char *arg);
/* The mtls_names view of n, valid while n lives. */
void cli_names_get(const struct cli_names *n, struct mtls_names *out);
void cli_names_free(struct cli_names *n);

/* The outputs of --out PREFIX: PREFIX.ext and PREFIX.key (heap strings),
 * both checked with cli_refuse_existing() before any work.  -1 with the
 * reason printed (the paths are still set, for the caller to free). */
int cli_out_pair(const char *prefix, const char *ext, int force,
    char **path, char **key_path);

/* Parses --key-type; a usage error naming the choices on failure. */
int cli_key_type_arg(const char *cmd, const char *s,
    enum mtls_key_type *type);

/* Checks an output before any work: prints "mtls: PATH: file already
 * exists (use --force to replace it)" and returns -1 when path exists and
 * force is off, or when its directory is missing or not writable; else 0. */
int cli_refuse_existing(const char *path, int force);

/* a followed by b, on the heap; exits on out of memory. */
char *cli_path_cat(const char *a, const char *b);
/* dir/name without doubling a trailing slash, on the heap. */
char *cli_path_join(const char *dir, const char *name);

/* Opens the CA in dir with its inventory: db (--db), else $MTLS_CA_DB,
 * else dir/ca.db.  With signing, an encrypted ca.key is unlocked with
 * MTLS_CA_PASSPHRASE or a prompt.  Prints the reason and returns NULL on
 * failure. */
struct mtls_ca *cli_ca_open(const char *dir, const char *db, int signing);
/* --ca of the wrong kind (ca_path.c): EXIT_FAIL with the kind expected
 * and the path that would work printed, or 0.  The CA commands take a
 * directory (db: their --db, for a CA made elsewhere without ca.db); the
 * TLS commands a file. */
int cli_ca_dir_check(const char *dir, const char *db);
int cli_ca_file_check(const char *path);
/* The inventory a command uses: db (--db), else $MTLS_CA_DB, else NULL. */
const char *cli_ca_db(const char *db);
/* Prints the reason of ca's last failure (prefix, then ": ", when prefix is
 * non-NULL); returns EXIT_FAIL. */
int cli_fail_ca(const struct mtls_ca *ca, const char *prefix);
/* The passphrase to unlock the CA key in dir for signing: *pass is NULL when
 * the key is not encrypted.  0, or -1 with the reason printed. */
int cli_ca_passphrase(const char *dir, char **pass);

/* A list as the library writes it ("DNS:a, IP:1.2.3.4", "serverAuth,
 * clientAuth") as a JSON array of strings; null for NULL.  No item holds
 * ", " (names, addresses, URIs and usages have no spaces), so the split is
 * exact. */
void cli_json_list(FILE *f, const char *s);
/* SANs as [{"type": "DNS", "value": "a"}, ...], from the library's list or
 * from the text "DNS:a, IP:b"; a time as RFC 3339 UTC, or null for 0. */
void cli_json_sans(FILE *f, const struct mtls_san *sans, size_t n);
void cli_json_san_text(FILE *f, const char *s);
void cli_json_time(FILE *f, time_t t);

/* "2027-02-26" (UTC) and "2027-02-26T10:00:00Z". */
void cli_date(time_t t, char *buf, size_t len);
void cli_datetime(time_t t, char *buf, size_t len);

/* The leaf's serial (hex) and expiry date, for the summary lines. */
int cli_cert_summary(const struct mtls_cert *cert, char *serial,
    size_t serial_len, char *expires, size_t expires_len);

/* Writes key to key_path (0600), then cert (or csr) to path.  If the second
 * write fails the key just written is removed, so no half-made pair stays.
 * Prints the reason and returns -1 on failure. */
int cli_write_key_pair(const struct mtls_key *key, const char *key_path,
    const struct mtls_cert *cert, const struct mtls_csr *csr,
    const char *path, int flags);

#endif
