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
#include <sys/types.h>
#include <time.h>

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

/* ------------------------------------------------------------------ */
/* Deadlines on non-blocking sockets                                  */
/* ------------------------------------------------------------------ */

struct addrinfo;

/* *d <- now + ms on the monotonic clock. */
void mtls_deadline_in(struct timespec *d, long ms);
/* Milliseconds until d: 0 once it passed, at most 600000 per wait. */
int mtls_deadline_ms_left(const struct timespec *d);
/* Waits until fd is ready for events (POLLIN, POLLOUT) or the deadline
 * passes: 1 ready (or a poll error, which the next call on fd reports),
 * 0 timed out. */
int mtls_wait_fd(int fd, short events, const struct timespec *deadline);
/* A non-blocking TCP connection to ai, made before the deadline: the
 * socket (O_NONBLOCK, close-on-exec), or -1 with *why the errno
 * (ETIMEDOUT when the deadline passed). */
int mtls_connect_before(const struct addrinfo *ai,
    const struct timespec *deadline, int *why);

/* ------------------------------------------------------------------ */
/* Words for reports                                                  */
/* ------------------------------------------------------------------ */

/* A validity window at now, in words: "expires in 89 days", "EXPIRED 3
 * days ago", "not yet valid, starts in 2 hours"; a not_before of 0 is no
 * start, a not_after of 0 "no expiry given" (a CRL without nextUpdate). */
void mtls_validity_words(time_t not_before, time_t not_after, time_t now,
    char *buf, size_t len);

/*
 * What a TLS alert that refused our client certificate means, and what to do
 * about it, one sentence each ("the server does not trust the CA that issued
 * your certificate (CN=x)").  issuer, when known, names our certificate's
 * CA in the texts.  0, or -1 for an alert with no specific meaning.
 */
int mtls_alert_explain(const char *alert, const char *issuer, char *cause,
    size_t causelen, char *fix, size_t fixlen);
/*
 * An HTTP server's refusal of a client certificate that TLS let through
 * (nginx answers 400 "The SSL certificate error"), in words, from the start
 * of its answer; NULL when the answer is no such refusal.
 */
const char *mtls_http_cert_refusal(const char *resp, size_t len);

/* ------------------------------------------------------------------ */
/* Files and memory                                                   */
/* ------------------------------------------------------------------ */

/* Writes len bytes to path atomically: a temp file in the same directory,
 * fsync, rename, fsync of the directory. mode is the new file's mode.
 * Without MTLS_WRITE_FORCE an existing path is refused (MTLS_ERR_EXISTS). */
int mtls_file_write_atomic(const char *path, const void *buf, size_t len,
    mode_t mode, int flags, struct mtls_error *err);

/* Overwrites len bytes with zeros in a way the compiler keeps. */
void mtls_cleanse(void *buf, size_t len);

/* ------------------------------------------------------------------ */
/* Testing hooks                                                      */
/* ------------------------------------------------------------------ */

/* Shifts the validity of what ca issues next by seconds (may be negative,
 * at most 100 years either way), to make expired and not-yet-valid
 * certificates in tests; 0 turns it off.  Never for production use. */
int mtls_ca_set_clock_offset(struct mtls_ca *ca, long seconds);

/* ------------------------------------------------------------------ */
/* Escaping text for logs and JSON                                    */
/* ------------------------------------------------------------------ */

#define MTLS_ESC_JSON       0x1  /* JSON string escapes (else log text) */
#define MTLS_ESC_SPACE      0x2  /* a space escaped too (one bare word) */
#define MTLS_ESC_KEEP_QUOTE 0x4  /* '"' kept (text not inside quotes) */
#define MTLS_ESCAPE_MAX     8    /* the longest form, with its NUL */

/*
 * The next character of s as it goes into a log line or a JSON string,
 * into out; returns how many bytes of s it took (0 at the end).  The same
 * characters are escaped in both: '"' and '\' with a backslash; control
 * characters (C0, DEL, C1) as "\xNN" in text, "\n" or "\u00NN" in
 * JSON; U+2028 and U+2029 as "\u2028"/"\u2029".  Other well-formed
 * UTF-8 is kept as it is.  A byte that is not UTF-8 is "\xNN" in text
 * and U+FFFD in JSON, which is therefore always valid UTF-8.
 */
size_t mtls_escape_next(const char *s, int flags,
    char out[MTLS_ESCAPE_MAX]);
/* How many bytes at the start of s mtls_escape_next() would give back
 * unchanged, one by one (printable ASCII but for the backslash, the quote
 * unless kept, and the space when escaped): a writer copies them at once. */
size_t mtls_escape_plain(const char *s, int flags);

/* ------------------------------------------------------------------ */
/* Access rules                                                       */
/* ------------------------------------------------------------------ */

/* The rules in words for a log line: "cn client, dns *.example.com" or
 * "any"; "none" without rules.  Cut to cap; returns buf. */
char *mtls_policy_text(const struct mtls_policy *pol, char *buf, size_t cap);

#endif
