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

struct start_print {
	const char *cmd;
	int anyway;
};

static void
start_print(void *arg, const char *code, const char *explanation,
    const char *fix)
{
	const struct start_print *p = arg;
	char buf[4096];

	fprintf(stderr, "%s: %s%s: %s fix: %s%s\n", p->cmd,
	    p->anyway ? "warning: " : "", code, explanation, cli_fix_hinted(
	    fix, cli_doctor_hint(code), buf, sizeof(buf)), p->anyway ? "" :
	    " (--unsafe-start-anyway starts all the same)");
}

int
proxy_cli_start_checks(const char *cmd, const struct proxy_options *o,
    int anyway)
{
	struct start_print p = { cmd, anyway };
	size_t nerr = proxy_start_check(o, o->key_passphrase, start_print,
	    &p);

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
