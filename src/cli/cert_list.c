/*
 * cert_list.c - "mtls cert list": the CA's inventory, as an aligned table
 * or, with --json, an array of objects.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_pki.h"

/* Whole days until t, rounded down (negative once expired): what an
 * operator scanning the list wants to know. */
static long
days_left(time_t t)
{
	long long secs = (long long)t - (long long)time(NULL);

	return (long)(secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400));
}

static const char cmd[] = "mtls cert list";

static void
usage(void)
{
	printf("usage: %s --ca DIR [--db URL] [--json]\n"
	    "\n"
	    "Lists every certificate the CA in DIR has issued, oldest first: "
	    "serial,\n"
	    "subject, type, expiry and status (valid, expired, revoked; and which\n"
	    "certificate superseded it, when an EST renewal did).\n"
	    "\n"
	    "  --ca DIR        the CA's directory\n"
	    CLI_DB_HELP
	    "  --json          a JSON array of objects instead of a table\n",
	    cmd);
}

/* One row, copied out of the library's record (whose strings live only
 * for the callback). */
struct row {
	char *serial;
	char *subject;
	char *sans;
	enum mtls_cert_kind kind;
	time_t not_before;
	time_t not_after;
	enum mtls_cert_status status;
	time_t revoked_at;
	enum mtls_revoke_reason reason;
	char *superseded_by;         /* NULL when none */
};

struct rows {
	struct row *v;
	size_t n, cap;
	int oom;
};

static char *
dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

static int
collect(const struct mtls_ca_record *rec, void *arg)
{
	struct rows *rows = arg;

	if (rows->n == rows->cap) {
		size_t cap = rows->cap ? rows->cap * 2 : 32;
		struct row *v = realloc(rows->v, cap * sizeof(*v));
		if (v == NULL) {
			rows->oom = 1;
			return 1;
		}
		rows->v = v;
		rows->cap = cap;
	}
	struct row *r = &rows->v[rows->n];
	r->serial = dup_or_empty(rec->serial);
	r->subject = dup_or_empty(rec->subject);
	r->sans = rec->sans != NULL ? strdup(rec->sans) : NULL;
	r->superseded_by = rec->superseded_by != NULL ?
	    strdup(rec->superseded_by) : NULL;
	if (r->serial == NULL || r->subject == NULL ||
	    (rec->sans != NULL && r->sans == NULL) ||
	    (rec->superseded_by != NULL && r->superseded_by == NULL)) {
		free(r->serial);
		free(r->subject);
		free(r->sans);
		free(r->superseded_by);
		rows->oom = 1;
		return 1;
	}
	r->kind = rec->kind;
	r->not_before = rec->not_before;
	r->not_after = rec->not_after;
	r->status = rec->status;
	r->revoked_at = rec->revoked_at;
	r->reason = rec->reason;
	rows->n++;
	return 0;
}

static const char *
status_name(enum mtls_cert_status s)
{
	switch (s) {
	case MTLS_STATUS_VALID: return "valid";
	case MTLS_STATUS_REVOKED: return "revoked";
	case MTLS_STATUS_EXPIRED: return "expired";
	}
	return "unknown";
}

static void
print_json(const struct rows *rows)
{
	char buf[32];

	printf("[");
	for (size_t i = 0; i < rows->n; i++) {
		const struct row *r = &rows->v[i];
		printf("%s\n  {\"serial\": ", i ? "," : "");
		json_str(stdout, r->serial);
		printf(", \"subject\": ");
		json_str(stdout, r->subject);
		printf(", \"sans\": ");
		cli_json_san_text(stdout, r->sans);
		printf(", \"type\": ");
		json_str(stdout, mtls_cert_kind_name(r->kind));
		cli_datetime(r->not_before, buf, sizeof(buf));
		printf(", \"not_before\": ");
		json_str(stdout, buf);
		cli_datetime(r->not_after, buf, sizeof(buf));
		printf(", \"not_after\": ");
		json_str(stdout, buf);
		printf(", \"days_left\": %ld", days_left(r->not_after));
		printf(", \"status\": ");
		json_str(stdout, status_name(r->status));
		if (r->revoked_at != 0) {
			cli_datetime(r->revoked_at, buf, sizeof(buf));
			printf(", \"revoked_at\": ");
			json_str(stdout, buf);
			printf(", \"reason\": ");
			json_str(stdout, mtls_revoke_reason_name(r->reason));
		} else
			printf(", \"revoked_at\": null, \"reason\": null");
		printf(", \"superseded_by\": ");
		if (r->superseded_by != NULL)
			json_str(stdout, r->superseded_by);
		else
			printf("null");
		printf("}");
	}
	printf("%s]\n", rows->n ? "\n" : "");
}

static void
status_text(const struct row *r, char *buf, size_t len)
{
	if (r->revoked_at != 0)
		snprintf(buf, len, "revoked (%s)",
		    mtls_revoke_reason_name(r->reason));
	else if (r->superseded_by != NULL)
		snprintf(buf, len, "%s, superseded by %s",
		    status_name(r->status), r->superseded_by);
	else
		snprintf(buf, len, "%s", status_name(r->status));
}

static void
print_table(const struct rows *rows)
{
	int ws = (int)strlen("SERIAL"), wn = (int)strlen("SUBJECT");
	int wt = (int)strlen("TYPE");
	char date[32], status[128];

	for (size_t i = 0; i < rows->n; i++) {
		const struct row *r = &rows->v[i];
		int l = (int)strlen(r->serial);
		if (l > ws)
			ws = l;
		if ((l = (int)strlen(r->subject)) > wn)
			wn = l;
		if ((l = (int)strlen(mtls_cert_kind_name(r->kind))) > wt)
			wt = l;
	}
	/* DAYS: whole days left, as wide as the widest number. */
	int wd = (int)strlen("DAYS");
	for (size_t i = 0; i < rows->n; i++) {
		char d[32];
		int l = snprintf(d, sizeof(d), "%ld",
		    days_left(rows->v[i].not_after));
		if (l > wd)
			wd = l;
	}
	printf("%-*s  %-*s  %-*s  %-10s  %-*s  %s\n", ws, "SERIAL", wn,
	    "SUBJECT", wt, "TYPE", "EXPIRES", wd, "DAYS", "STATUS");
	for (size_t i = 0; i < rows->n; i++) {
		const struct row *r = &rows->v[i];
		long days = days_left(r->not_after);
		cli_date(r->not_after, date, sizeof(date));
		status_text(r, status, sizeof(status));
		printf("%-*s  %-*s  %-*s  %-10s  %-*ld  %s\n", ws, r->serial,
		    wn, r->subject, wt, mtls_cert_kind_name(r->kind), date,
		    wd, days, status);
	}
}

int
cmd_cert_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, 'C' },
		CLI_DB_OPTION,
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rows rows = { 0 };
	const char *db = NULL;
	const char *ca_dir = NULL;
	struct mtls_ca *ca = NULL;
	int json = 0, c, ret = EXIT_USAGE;

	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'C': ca_dir = optarg; break;
		case 'B': db = optarg; break;
		case 'j': json = 1; break;
		case 'h': usage(); ret = EXIT_OK; goto out;
		default: cli_getopt_fail(cmd, c, argv); goto out;
		}
	}
	if (cli_no_operands(cmd, argc, argv) != 0 ||
	    cli_require(cmd, "--ca", ca_dir) == -1)
		goto out;

	ret = EXIT_FAIL;
	if ((ca = cli_ca_open(ca_dir, db, 0)) == NULL)
		goto out;
	int rc = mtls_ca_list(ca, collect, &rows);
	if (rows.oom) {
		cli_fail("%s: out of memory listing the inventory", ca_dir);
		goto out;
	}
	if (rc == -1) {
		cli_fail_ca(ca, NULL);
		goto out;
	}
	if (json)
		print_json(&rows);
	else
		print_table(&rows);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		cli_fail("standard output: write error");
		goto out;
	}
	ret = EXIT_OK;
out:
	for (size_t i = 0; i < rows.n; i++) {
		free(rows.v[i].serial);
		free(rows.v[i].subject);
		free(rows.v[i].sans);
		free(rows.v[i].superseded_by);
	}
	free(rows.v);
	mtls_ca_free(ca);
	return ret;
}
