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

#endif
