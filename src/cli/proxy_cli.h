/*
 * proxy_cli.h - option parsing shared by "mtls serve" and "mtls tunnel",
 * which run the same engine with the same tuning options.  Each returns 0,
 * or -1 after printing the usage error (exit status 2 is the caller's).
 */
#ifndef MTLS_PROXY_CLI_H
#define MTLS_PROXY_CLI_H

#include "proxy.h"

/* Seconds: a positive decimal number up to a day. */
int proxy_cli_seconds(const char *cmd, const char *opt, const char *s,
    double *out);
/* "1.2" or "1.3". */
int proxy_cli_tls_min(const char *cmd, const char *s, int *out);
/* "text" or "json". */
int proxy_cli_log_format(const char *cmd, const char *s,
    enum proxy_log_format *out);

/*
 * Before serve or tunnel starts: the checks at start (proxy_start_check).
 * Each error is printed as one line with doctor's code and fix, and the
 * start is refused (-1) unless anyway (then each is printed as a warning,
 * and 0).
 */
int proxy_cli_start_checks(const char *cmd, const struct proxy_options *o,
    int anyway);

/* The option a start failure of the engine is about, with a space after
 * it, or "" (the engine names the value, we name the option). */
const char *proxy_cli_part(enum proxy_part part);

#endif
