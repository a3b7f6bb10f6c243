/*
 * mtls_tools.h - what libmtls offers its own tools (src/cli, src/proxy,
 * src/loadgen) beyond the public API: helpers a third-party program has no
 * use for, or that it should not come to depend on.  Never installed
 * (`make install` copies include/mtls.h only), so these may change with
 * the tools.  The public header stays what a C program embedding mTLS
 * needs.
 */
#ifndef MTLS_TOOLS_H
#define MTLS_TOOLS_H

#include <stddef.h>

#include "mtls.h"

/* ------------------------------------------------------------------ */
/* Addresses                                                          */
/* ------------------------------------------------------------------ */

/* Allow ":PORT", an empty host (a listener on every address). */
#define MTLS_HOSTPORT_EMPTY_HOST 0x1

/*
 * The one HOST:PORT parser: "HOST:PORT", "[IPv6]:PORT" (brackets
 * required for an IPv6 literal, so "a:b:1" is refused), and with
 * MTLS_HOSTPORT_EMPTY_HOST ":PORT".  host gets the host without brackets;
 * the port is decimal digits only, 1 to 65535, no sign, no spaces.
 * Nothing is resolved.  0, or -1 with why ("s: expected HOST:PORT") in
 * whylen bytes.
 */
int mtls_hostport_parse(const char *s, int flags, char *host, size_t hostlen,
    unsigned *port, char *why, size_t whylen);

#endif
