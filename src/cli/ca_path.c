/*
 * ca_path.c - --ca is a CA directory for the CA commands (cert issue,
 * sign, revoke, list, ca crl) and a CA certificate file for the TLS ones
 * (serve, tunnel, connect, cert verify, doctor, bench).  Given the other
 * kind, say which is expected and the path that would work, instead of
 * the system's "Not a directory" or "is a directory".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_pki.h"

static int
is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
cli_ca_dir_check(const char *dir, const char *db)
{
	char *crt, *dbfile, *sub;
	int ret = 0;

	if (is_file(dir)) {
		/* pki/ca/ca.crt -> pki/ca */
		const char *slash = strrchr(dir, '/');
		if (slash != NULL)
			return cli_fail("%s: a file, but --ca takes a CA "
			    "directory here (--ca %.*s)", dir,
			    (int)(slash - dir), dir);
		return cli_fail("%s: a file, but --ca takes a CA directory "
		    "here (--ca .)", dir);
	}
	if (!is_dir(dir))
		return 0; /* the library names what is missing */
	crt = cli_path_join(dir, "ca.crt");
	dbfile = cli_path_join(dir, "ca.db");
	sub = cli_path_join(dir, "ca/ca.crt");
	if (!is_file(crt) && is_file(sub))
		/* the directory of mtls init: its CA is in ca/ */
		ret = cli_fail("%s: not a CA directory (no ca.crt in it); the "
		    "CA of this PKI is --ca %s/ca", dir, dir);
	else if (is_file(crt) && !is_file(dbfile) && cli_ca_db(db) == NULL)
		ret = cli_fail("%s: a CA made elsewhere (ca.crt without "
		    "ca.db): run mtls ca import --dir %s first, which starts "
		    "its inventory", dir, dir);
	free(crt);
	free(dbfile);
	free(sub);
	return ret;
}

int
cli_ca_file_check(const char *path)
{
	char *crt, *sub;
	int ret = 0;

	if (path == NULL || !is_dir(path))
		return 0;
	crt = cli_path_join(path, "ca.crt");
	sub = cli_path_join(path, "ca/ca.crt");
	ret = cli_fail("%s: a directory, but --ca takes a CA certificate "
	    "file here (--ca %s)", path, is_file(crt) ? crt : is_file(sub) ?
	    sub : "FILE");
	free(crt);
	free(sub);
	return ret;
}
