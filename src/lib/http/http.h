/*
 * http.h - HTTP/1.1 for mtls: llhttp (Debian's node-llhttp, strict, no
 * lenient flag) made into a pull parser over a bounded structure, and the
 * pieces serve's HTTP mode and the EST server build on.  Private to
 * libmtls and the engine; never installed.
 *
 * Parsing (http_parse.c).  A parser is fed bytes and stops at each event:
 *
 *     struct http_parser *p = http_parser_new(HTTP_KIND_REQUEST, NULL);
 *     struct http_ev ev;
 *     for (;;) {
 *             size_t n = http_parse(p, data, len, &ev);
 *             data += n, len -= n;
 *             switch (ev.type) {
 *             case HTTP_EV_MORE:  every byte was used: read more, then
 *                                 call again (MORE is the only event
 *                                 after which to stop calling)
 *             case HTTP_EV_HEAD:  http_parser_head(p): method, target,
 *                                 fields (iterate, or http_head_find())
 *             case HTTP_EV_BODY:  ev.data/ev.len: body bytes, de-chunked
 *             case HTTP_EV_END:   the message is complete; the next one
 *                                 starts with the bytes that follow.
 *                                 END never waits for those: once the
 *                                 last byte of a message was taken, the
 *                                 next calls (with no bytes if need be)
 *                                 give END before any MORE
 *             case HTTP_EV_ERROR: ev.status (400, 414, 431, 501, 505) and
 *                                 http_parser_error(p); give up on the
 *                                 connection
 *             }
 *     }
 *
 * A request is held to RFC 9112 more strictly than llhttp alone: every
 * line of the head ends in CRLF (no bare CR or LF), no obs-fold (RFC 9112
 * 5.2) nor whitespace before a colon or at the start of a line (5.1),
 * field names are tokens, exactly one Host in HTTP/1.1 (3.2), only
 * HTTP/1.0 and 1.1, Transfer-Encoding only as a single "chunked" in
 * HTTP/1.1 (6.1), and the limits of struct http_limits (414 for the
 * request line, 431 for the header section).  llhttp itself refuses
 * Content-Length with Transfer-Encoding, differing or malformed
 * Content-Length, a final coding that is not chunked, bad chunk sizes, NUL
 * and other control bytes.  A head's strings live in the parser until the
 * next message starts; they are NUL-terminated.
 *
 * Rewriting (http_forward.c): the head a proxy forwards, sanitized of
 * identity and hop-by-hop headers, with its own headers added; refusals as
 * complete HTTP answers.  Identity (http_identity.c): the client
 * certificate as X-Forwarded-Client-Cert (Envoy), RFC 9440 Client-Cert /
 * Client-Cert-Chain, and plain subject headers.
 */
#ifndef MTLS_HTTP_H
#define MTLS_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <llhttp.h>

#include "mtls.h"

#define HTTP_MUST_CHECK __attribute__((warn_unused_result))

/* ------------------------------------------------------------------ */
/* Growable output buffer                                             */
/* ------------------------------------------------------------------ */

/* Bytes to send: data[off..len).  A failed append (out of memory, or past
 * max when max is not 0) sets failed and leaves the buffer as it was. */
struct http_buf {
	char *data;
	size_t off, len, cap;
	size_t max;
	int failed;
};

void http_buf_add(struct http_buf *b, const void *p, size_t n);
void http_buf_adds(struct http_buf *b, const char *s);
void http_buf_printf(struct http_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Drops the bytes before off (after a partial send). */
void http_buf_consume(struct http_buf *b, size_t n);
/* (inline, as http_name_eq(): called many times per request) */
static inline size_t
http_buf_pending(const struct http_buf *b)
{
	return b->len - b->off;
}
void http_buf_reset(struct http_buf *b);
void http_buf_free(struct http_buf *b);

/* ------------------------------------------------------------------ */
/* Parsing                                                            */
/* ------------------------------------------------------------------ */

enum http_kind {
	HTTP_KIND_REQUEST,
	HTTP_KIND_RESPONSE,
};

/* Limits on a request head (responses get generous fixed ones). */
struct http_limits {
	size_t max_line;             /* request-target bytes: 414 beyond */
	size_t max_head;             /* header section bytes: 431 beyond */
	size_t max_fields;           /* header fields: 431 beyond */
};
#define HTTP_MAX_LINE 8192
#define HTTP_MAX_HEAD 32768
#define HTTP_MAX_FIELDS 100
/* Upper bounds a configuration may ask for. */
#define HTTP_MAX_LINE_CAP (1024 * 1024)
#define HTTP_MAX_HEAD_CAP (1024 * 1024)
#define HTTP_MAX_FIELDS_CAP 10000

struct http_field {
	const char *name;            /* as received (case kept) */
	size_t name_len;
	const char *value;           /* without surrounding whitespace */
	size_t value_len;
};

/* A parsed head; valid from HTTP_EV_HEAD until the next message begins. */
struct http_head {
	enum http_kind kind;
	llhttp_method_t method;      /* requests */
	const char *method_name;     /* "GET" */
	const char *target;          /* request-target as received */
	size_t target_len;
	/* The target as the backend gets it (origin-form): the whole target,
	 * or what follows the authority of an absolute-form one, where ""
	 * and "?query" stand for "/" and "/?query" (RFC 9112 3.2.1). */
	const char *path;
	size_t path_len;
	/* Absolute-form (RFC 9112 3.2.2): the target's authority,
	 * host[:port], which the Host field is replaced with; NULL for the
	 * other forms. */
	const char *authority;
	size_t authority_len;
	int status;                  /* responses */
	int major, minor;            /* HTTP/major.minor */
	const struct http_field *fields;
	size_t nfields;
	int keep_alive;              /* the connection may carry another
	                              * message after this one */
	int chunked;                 /* Transfer-Encoding: chunked */
	int has_length;              /* Content-Length given */
	uint64_t content_length;
	int upgrade;                 /* requests: Upgrade with Connection:
	                              * upgrade (or CONNECT) */
};

enum http_event {
	HTTP_EV_MORE,                /* every byte given was used: read on */
	HTTP_EV_HEAD,
	HTTP_EV_BODY,
	HTTP_EV_END,
	HTTP_EV_ERROR,
};

struct http_ev {
	enum http_event type;
	const char *data;            /* BODY: bytes of the body, in the input */
	size_t len;
	int status;                  /* ERROR: the HTTP status to answer */
};

struct http_parser;

/* A parser; lim NULL means the defaults above.  NULL when out of
 * memory. */
struct http_parser *http_parser_new(enum http_kind kind,
    const struct http_limits *lim);
void http_parser_free(struct http_parser *p);

/* Parses data[0..len) up to the first event; returns the bytes used.  The
 * caller passes the rest again.  After ERROR every call returns ERROR;
 * after the END of an upgrade request (and of a 101 response), calls
 * return MORE and use nothing: what follows is not HTTP, unless
 * http_parser_upgrade_refused() says the other side declined. */
size_t http_parse(struct http_parser *p, const char *data, size_t len,
    struct http_ev *ev) HTTP_MUST_CHECK;
/* The stream ended: END for a response delimited by the close, MORE when
 * no message was under way, ERROR when one was cut short. */
void http_parse_eof(struct http_parser *p, struct http_ev *ev);

const struct http_head *http_parser_head(const struct http_parser *p);
/* Why the last ERROR happened, in words (for the log). */
const char *http_parser_error(const struct http_parser *p);
/* The head's fields are checked as usual but not kept: the head then has
 * none (nfields 0), only what llhttp found (status, framing, keep-alive).
 * For answers passed on byte for byte. */
void http_parser_skip_fields(struct http_parser *p);
/* Responses: the request was HEAD, so the response has no body whatever
 * its head says (call before its head is parsed). */
void http_parser_no_body(struct http_parser *p);
/* Requests: the upgrade was declined, the next request follows. */
void http_parser_upgrade_refused(struct http_parser *p);
/* 1 while a message is partly parsed (a head or body under way), or an
 * event waits to be returned (call http_parse(), even with no bytes). */
int http_parser_busy(const struct http_parser *p);
/* Frees storage held between messages (an idle connection), or gives it
 * to the parser's spares. */
void http_parser_shrink(struct http_parser *p);

/* Storage of request heads between messages, shared by the parsers of
 * one thread (a worker's connections): a parser that shrinks gives its
 * storage here instead of to free(), and the next head of any of them
 * takes it back, so that idle connections hold none and a busy worker
 * does not allocate it for every request.  Bounded (a few sets of a few
 * KiB).  Freed after every parser that uses it stopped using it. */
struct http_spares;
struct http_spares *http_spares_new(void);
void http_spares_free(struct http_spares *sp);
void http_parser_use_spares(struct http_parser *p, struct http_spares *sp);

/* Field names compare case-insensitively (RFC 9110 5.1).  The folded
 * comparison also takes '_' for '-', the way CGI, WSGI and PHP turn
 * X_Client_Cert and X-Client-Cert into the same HTTP_X_CLIENT_CERT. */
static inline int
http_name_eq(const char *a, size_t alen, const char *b)
{
	/* Inline: b is nearly always a literal, whose length the compiler
	 * knows. */
	return strlen(b) == alen && strncasecmp(a, b, alen) == 0;
}
int http_name_fold_eq(const char *a, size_t alen, const char *b);
/* 1 when a starts with prefix under the folded comparison. */
int http_name_fold_prefix(const char *a, size_t alen, const char *prefix);
/* The first field named name at index *from or after (case-insensitive,
 * no folding); *from is set past it.  NULL when none. */
const struct http_field *http_head_find(const struct http_head *h,
    const char *name, size_t *from);
/* 1 when a comma-separated field value holds token (case-insensitive). */
int http_list_has(const char *value, size_t len, const char *token);
/* The reason phrase of a status code ("Bad Request"). */
const char *http_status_text(int status);

/* ------------------------------------------------------------------ */
/* Identity headers                                                   */
/* ------------------------------------------------------------------ */

#define HTTP_ID_XFCC 0x01            /* X-Forwarded-Client-Cert */
#define HTTP_ID_CLIENT_CERT 0x02     /* RFC 9440 Client-Cert */
#define HTTP_ID_CLIENT_CHAIN 0x04    /* RFC 9440 Client-Cert-Chain */
#define HTTP_ID_SUBJECT 0x08         /* X-Client-Subject, -SAN-URI, -DNS */
#define HTTP_ID_DEFAULT (HTTP_ID_XFCC | HTTP_ID_CLIENT_CERT)

/* "xfcc,client-cert" into flags: 0, or -1 with the unknown word in err. */
int http_identity_parse(const char *list, unsigned *flags, char *err,
    size_t errlen) HTTP_MUST_CHECK;

/* Appends the identity header lines ("Name: value\r\n") of the verified
 * client certificate of tls to out: those of flags, nothing when the client
 * sent no certificate.  by_uri (NULL: none) is this proxy's own URI SAN,
 * for XFCC's By.  0, or -1 when out failed. */
int http_identity_headers(struct mtls *tls, unsigned flags,
    const char *by_uri, struct http_buf *out) HTTP_MUST_CHECK;

/* XFCC's quoting (Envoy): a value holding ',', ';', '=' or '"' is written
 * in double quotes with '"' and '\' escaped; control bytes never appear
 * (they are written as \xHH). */
void http_xfcc_value(struct http_buf *out, const char *v);

/* ------------------------------------------------------------------ */
/* Forwarding                                                         */
/* ------------------------------------------------------------------ */

/* What a proxy does to every request head it forwards. */
struct http_forward {
	const char *const *strip_prefix; /* extra names to remove, by prefix */
	size_t nstrip;
	const char *sni;             /* the client's SNI: Host must name it
	                              * (NULL: not checked) */
};

/* Checks a request head and writes the forwarded head into out: request
 * line, the client's fields minus the hop-by-hop ones (Connection and the
 * names it lists, Keep-Alive, TE, Transfer-Encoding, Trailer, Upgrade,
 * Proxy-Connection, Expect) and minus every identity header (any
 * spelling), then Transfer-Encoding: chunked for a chunked body, Upgrade
 * when upgrading, Connection: close when the client closes, then the
 * lines in add (identity, X-Forwarded-*, Forwarded: the caller's).
 * Returns 0, or the status to refuse with (reason in why). */
int http_forward_head(const struct http_head *h,
    const struct http_forward *fw, const char *add, size_t addlen,
    struct http_buf *out, char *why, size_t whylen) HTTP_MUST_CHECK;

/* 1 when name is one the proxy sets (identity, X-Forwarded-For/-Proto,
 * Forwarded) under case and '_'/'-' folding. */
int http_name_is_identity(const char *name, size_t len);

/* A complete refusal: status line, Content-Type text/plain, Content-Length,
 * Connection: close, and a body naming the status (never the client's
 * bytes). */
void http_refusal(struct http_buf *out, int status);

#endif
