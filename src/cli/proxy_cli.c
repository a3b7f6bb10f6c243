/*
 * proxy_cli.c - the options "mtls serve" and "mtls tunnel" share.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "proxy_cli.h"

int
proxy_cli_seconds(const char *cmd, const char *opt, const char *s,
    double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) ||
	    v <= 0 || v > 86400) {
		cli_usage(cmd, "%s: '%s' is not a number of seconds above "
		    "0 and at most 86400", opt, s);
		return -1;
	}
	*out = v;
	return 0;
}

int
proxy_cli_tls_min(const char *cmd, const char *s, int *out)
{
	if (strcmp(s, "1.2") == 0) {
		*out = MTLS_TLS1_2;
	} else if (strcmp(s, "1.3") == 0) {
		*out = MTLS_TLS1_3;
	} else {
		cli_usage(cmd, "--tls-min: '%s' is not 1.2 or 1.3", s);
		return -1;
	}
	return 0;
}

int
proxy_cli_log_format(const char *cmd, const char *s,
    enum proxy_log_format *out)
{
	if (strcmp(s, "text") == 0) {
		*out = PROXY_LOG_TEXT;
	} else if (strcmp(s, "json") == 0) {
		*out = PROXY_LOG_JSON;
	} else {
		cli_usage(cmd, "--log-format: '%s' is not text or json", s);
		return -1;
	}
	return 0;
}

int
proxy_cli_start_checks(const char *cmd, const struct proxy_options *o,
    enum mtls_purpose role, int anyway)
{
	struct mtls_doctor_options dopt = { 0 };
	struct mtls_doctor *d;
	struct mtls_error err = { 0 };
	char fix[4096];
	size_t nerr;

	dopt.cert_file = o->cert_file;
	dopt.key_file = o->key_file;
	dopt.ca_file = o->ca_file;
	dopt.crl_file = o->crl_file;
	dopt.role = role;
	dopt.passphrase = getenv("MTLS_KEY_PASSPHRASE");
	dopt.ca_for_peer_only = 1;
	/* The checks could not run (out of memory): the engine's own
	 * loading says what is wrong, if anything. */
	if ((d = mtls_doctor_run(&dopt, &err)) == NULL)
		return 0;
	/* A file that cannot be read, parsed or paired with its key is the
	 * loader's to report, in the words every command uses. */
	static const char *const loader_codes[] = { "file-missing",
	    "file-unreadable", "not-pem-or-der", "wrong-object-kind",
	    "key-encrypted-no-passphrase", "key-wrong-passphrase",
	    "key-mismatch" };
	for (size_t i = 0; i < mtls_doctor_count(d); i++)
		for (size_t j = 0; j < sizeof(loader_codes) /
		    sizeof(loader_codes[0]); j++)
			if (strcmp(mtls_doctor_code(d, i), loader_codes[j]) ==
			    0) {
				mtls_doctor_free(d);
				return 0;
			}
	nerr = mtls_doctor_count_severity(d, MTLS_SEVERITY_ERROR);
	for (size_t i = 0; i < mtls_doctor_count(d); i++) {
		if (mtls_doctor_severity(d, i) != MTLS_SEVERITY_ERROR)
			continue;
		fprintf(stderr, "%s: %s%s: %s fix: %s%s\n", cmd,
		    anyway ? "warning: " : "", mtls_doctor_code(d, i),
		    mtls_doctor_explanation(d, i), cli_fix_hinted(
		    mtls_doctor_fix(d, i), cli_doctor_hint(mtls_doctor_code(d,
		    i)), fix, sizeof(fix)),
		    anyway ? "" : " (--unsafe-start-anyway starts all the "
		    "same)");
	}
	mtls_doctor_free(d);
	return nerr > 0 && !anyway ? -1 : 0;
}

const char *
proxy_cli_part(enum proxy_part part)
{
	switch (part) {
	case PROXY_PART_LISTEN: return "--listen ";
	case PROXY_PART_METRICS: return "--metrics ";
	case PROXY_PART_NONE: break;
	}
	return "";
}
