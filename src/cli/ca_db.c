/*
 * ca_db.c - "mtls ca db init|migrate|import": the CA's inventory as a thing
 * of its own, for a CA whose front ends share one PostgreSQL database:
 * creating its schema, bringing it to this version of mtls, and moving a
 * CA's SQLite inventory into it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_pki.h"

static void
usage(const char *cmd, const char *what)
{
	printf("usage: %s %s--db URL\n"
	    "\n"
	    "%s"
	    "\n"
	    "  --db URL        postgres://[user@]host[:port]/dbname[?...] or "
	    "an SQLite file\n"
	    "                  (default $%s)\n"
	    "%s"
	    "\n"
	    "Put no password in the URL where others can read the command "
	    "line: libpq\n"
	    "reads $PGPASSWORD and ~/.pgpass.  Messages never show a "
	    "password.\n", cmd,
	    strcmp(what, "import") == 0 ? "--from DIR " : "",
	    strcmp(what, "init") == 0 ?
	    "Creates the CA inventory's tables in an empty database.\n" :
	    strcmp(what, "migrate") == 0 ?
	    "Brings the inventory's schema to this version of mtls (front "
	    "ends refuse\nan older one).  Running it again does nothing.\n" :
	    "Copies the inventory of the CA in DIR (DIR/ca.db) into the "
	    "database, in one\ntransaction.  Running it again adds nothing; a "
	    "revocation made in DIR since\nis carried over.\n",
	    CLI_CA_DB_ENV,
	    strcmp(what, "import") == 0 ?
	    "  --from DIR      the CA directory whose ca.db is copied\n" : "");
}

/* Parses --db (and --from for import); NULL db: a usage error printed. */
static int
db_args(const char *cmd, const char *what, int argc, char **argv,
    const char **db, const char **from)
{
	static const struct option opts[] = {
		CLI_DB_OPTION,
		{ "from", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'B': *db = optarg; break;
		case 'F':
			if (from == NULL)
				return cli_usage(cmd, "--from is for import "
				    "only");
			*from = optarg;
			break;
		case 'h': usage(cmd, what); return EXIT_OK;
		default: return cli_getopt_fail(cmd, c, argv);
		}
	}
	if (cli_no_operands(cmd, argc, argv) != 0)
		return EXIT_USAGE;
	*db = cli_ca_db(*db);
	if (cli_require(cmd, "--db", *db) == -1 ||
	    (from != NULL && cli_require(cmd, "--from", *from) == -1))
		return EXIT_USAGE;
	return -1; /* go on */
}

static int
db_init(int argc, char **argv)
{
	static const char cmd[] = "mtls ca db init";
	struct mtls_error err = { 0 };
	const char *db = NULL;
	int rc;

	if ((rc = db_args(cmd, "init", argc, argv, &db, NULL)) != -1)
		return rc;
	if (mtls_ca_db_init(db, &err) == -1)
		return cli_fail_err(&err);
	char *label = mtls_ca_db_label(db);
	printf("created the CA inventory in %s\n", label != NULL ? label :
	    "the database");
	free(label);
	return EXIT_OK;
}

static int
db_migrate(int argc, char **argv)
{
	static const char cmd[] = "mtls ca db migrate";
	struct mtls_error err = { 0 };
	const char *db = NULL;
	int rc, from = 0, to = 0;

	if ((rc = db_args(cmd, "migrate", argc, argv, &db, NULL)) != -1)
		return rc;
	if (mtls_ca_db_migrate(db, &from, &to, &err) == -1)
		return cli_fail_err(&err);
	char *label = mtls_ca_db_label(db);
	if (from == to)
		printf("%s: schema version %d, nothing to do\n", label != NULL ?
		    label : "the database", to);
	else
		printf("%s: schema version %d -> %d\n", label != NULL ? label :
		    "the database", from, to);
	free(label);
	return EXIT_OK;
}

static int
db_import(int argc, char **argv)
{
	static const char cmd[] = "mtls ca db import";
	struct mtls_error err = { 0 };
	const char *db = NULL, *from = NULL;
	size_t added = 0, revoked = 0;
	int rc;

	if ((rc = db_args(cmd, "import", argc, argv, &db, &from)) != -1)
		return rc;
	if (mtls_ca_db_import(db, from, &added, &revoked, &err) == -1)
		return cli_fail_err(&err);
	char *label = mtls_ca_db_label(db);
	printf("imported %s/ca.db into %s: %zu certificate%s added, %zu "
	    "revocation%s carried over\n", from, label != NULL ? label :
	    "the database", added, added == 1 ? "" : "s", revoked,
	    revoked == 1 ? "" : "s");
	free(label);
	return EXIT_OK;
}

int
cmd_ca_db(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "init", db_init, "create the inventory's schema" },
		{ "migrate", db_migrate, "bring the schema to this version" },
		{ "import", db_import, "copy a CA's SQLite inventory in" },
	};

	return cli_dispatch("mtls ca db", cmds, sizeof(cmds) / sizeof(cmds[0]), argc - 1,
	    argv + 1);
}
