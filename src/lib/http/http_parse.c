/*
 * http_parse.c - llhttp as a pull parser: each callback that ends a piece
 * (a head, a span of body, a message) records an event and pauses llhttp
 * (HPE_PAUSED), so that http_parse() returns at every event with the
 * number of bytes used, and a caller handles one message at a time.
 *
 * llhttp runs strict (no lenient flag).  What it accepts that RFC 9112 does
 * not, or that a proxy must not pass on, is refused here:
 *   - a request head is first scanned byte by byte: every line ends with
 *     CRLF (no bare CR or LF, 2.2), no line of the header section starts
 *     with SP or HTAB (obs-fold, 5.2), and its size is bounded; llhttp is
 *     then given the head up to its empty line and nothing more, so that
 *     the bytes llhttp and the scanner see as the head are the same;
 *   - field names must be tokens (llhttp lets "Host :" through);
 *   - HTTP/1.1 needs exactly one Host, HTTP/1.0 at most one (3.2);
 *   - Transfer-Encoding only as one "chunked", only in HTTP/1.1 (6.1).
 *   - the method PRI (HTTP/2's connection preface) is refused.
 * Trailers are parsed (llhttp checks them) but not kept.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

/* Responses come from the backend we chose; their limits only bound
 * memory. */
#define RESP_MAX_HEAD (256 * 1024)
#define RESP_MAX_FIELDS 1000

enum pstate {
	P_IDLE,                      /* between messages */
	P_HEAD,                      /* a head under way */
	P_BODY,                      /* the head was reported */
	P_UPGRADE,                   /* an upgrade ended HTTP */
	P_ERROR,
};

/* A field as offsets into store (which may move while it grows) while
 * its head is read; the head's struct http_field, in the same slot, once
 * it is complete: one array per parser, kept from message to message,
 * rather than one more allocated for every head. */
struct field_off {
	size_t name, name_len, value, value_len;
};
union field_slot {
	struct field_off o;
	struct http_field f;
};
_Static_assert(sizeof(union field_slot) == sizeof(struct http_field),
    "a head's fields are read as an array of struct http_field");

/* Spares: at most SPARES_MAX sets, each small enough to be worth keeping
 * (a head that needed more storage gives it back to malloc). */
#define SPARES_MAX 16
#define SPARE_STORE_MAX 4096
#define SPARE_SLOTS_MAX 64

struct http_spares {
	struct {
		char *store;
		size_t scap;
		union field_slot *slot;
		size_t fcap;
	} set[SPARES_MAX];
	size_t n;
};

struct http_parser {
	llhttp_t ll;
	llhttp_settings_t settings;
	enum http_kind kind;
	struct http_limits lim;
	enum pstate state;
	int no_body;                 /* responses: the request was HEAD */
	int no_fields;               /* fields checked, not kept */
	struct http_spares *spares;  /* where storage goes between heads */
	/* The head under way: strings in store, NUL-terminated. */
	char *store;
	size_t slen, scap;
	union field_slot *slot;
	size_t nfields, fcap;
	size_t target, target_len;
	int last_span;               /* 1: a name, 2: a value */
	struct http_head head;
	/* The raw scan of a request head. */
	size_t head_bytes;           /* the whole head */
	size_t line_bytes;           /* its request line */
	size_t line_len;
	int prev_cr;
	int seen_line;
	/* Events recorded by the callbacks (at most two: a head reported
	 * without pausing, for a body-less response, then its end). */
	struct http_ev evq[2];
	size_t nev;
	int chunk_end;               /* llhttp paused at a chunk's end */
	char tail[2];                /* the last two bytes llhttp took */
	int status;
	char err[160];
};

static int __attribute__((format(printf, 3, 4)))
parser_fail(struct http_parser *p, int status, const char *fmt, ...)
{
	va_list ap;

	p->status = status;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	return HPE_USER;
}

static struct http_parser *
parser_of(llhttp_t *ll)
{
	return ll->data;
}

static void
parser_push(struct http_parser *p, enum http_event type, const char *data,
    size_t len)
{
	if (p->nev < 2) {
		p->evq[p->nev].type = type;
		p->evq[p->nev].data = data;
		p->evq[p->nev].len = len;
		p->evq[p->nev].status = 0;
		p->nev++;
	}
}

static size_t
max_store(const struct http_parser *p)
{
	if (p->kind == HTTP_KIND_RESPONSE)
		return RESP_MAX_HEAD;
	return p->lim.max_line + p->lim.max_head;
}

static size_t
max_fields(const struct http_parser *p)
{
	return p->kind == HTTP_KIND_RESPONSE ? RESP_MAX_FIELDS :
	    p->lim.max_fields;
}

/* Appends to store, keeping a NUL after it; -1 past the limit or out of
 * memory. */
static int
store_add(struct http_parser *p, const char *at, size_t n)
{
	if (p->slen + n + 1 > max_store(p) + 1)
		return -1;
	if (p->slen + n + 1 > p->scap) {
		size_t cap = p->scap ? p->scap : 512;
		char *s;

		while (cap < p->slen + n + 1)
			cap *= 2;
		if ((s = realloc(p->store, cap)) == NULL)
			return -1;
		p->store = s;
		p->scap = cap;
	}
	memcpy(p->store + p->slen, at, n);
	p->slen += n;
	p->store[p->slen] = '\0';
	return 0;
}

/* Ends the current string (the NUL store_add keeps becomes part of it). */
static int
store_end(struct http_parser *p)
{
	if (store_add(p, "", 0) == -1)
		return -1;
	p->slen++;
	return 0;
}

static int
on_message_begin(llhttp_t *ll)
{
	struct http_parser *p = parser_of(ll);

	p->state = P_HEAD;
	if (p->store == NULL && p->slot == NULL && p->spares != NULL &&
	    p->spares->n > 0) {
		struct http_spares *sp = p->spares;

		sp->n--;
		p->store = sp->set[sp->n].store;
		p->scap = sp->set[sp->n].scap;
		p->slot = sp->set[sp->n].slot;
		p->fcap = sp->set[sp->n].fcap;
	}
	p->slen = 0;
	p->nfields = 0;
	p->target = p->target_len = 0;
	p->last_span = 0;
	memset(&p->head, 0, sizeof(p->head));
	return 0;
}

static int
on_url(llhttp_t *ll, const char *at, size_t n)
{
	struct http_parser *p = parser_of(ll);

	p->target_len += n;
	if (p->target_len > p->lim.max_line)
		return parser_fail(p, 414, "request-target longer than %zu "
		    "bytes", p->lim.max_line);
	if (store_add(p, at, n) == -1)
		return parser_fail(p, 431, "request head too large");
	return 0;
}

static int
on_url_complete(llhttp_t *ll)
{
	struct http_parser *p = parser_of(ll);

	p->target = p->slen - p->target_len;
	return store_end(p) == -1 ? parser_fail(p, 431, "request head too "
	    "large") : 0;
}

/* llhttp takes a request with the method PRI as the start of HTTP/2's
 * connection preface and, once the head is over, waits for the rest of it
 * ("SM\r\n\r\n"), past the head's end: the head would then never be
 * reported.  This parser speaks HTTP/1.1 only. */
static int
on_method_complete(llhttp_t *ll)
{
	struct http_parser *p = parser_of(ll);

	if (ll->method == HTTP_PRI)
		return parser_fail(p, 400, "method PRI: an HTTP/2 "
		    "connection preface on an HTTP/1.1 connection");
	return 0;
}

static int is_tchar(unsigned char c);

/* A header name (or a span of one) is tokens only: 0, or HPE_USER with a
 * 400. */
static int
name_check(struct http_parser *p, const char *name, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)name[k];
		if (c == ' ' || c == '\t')
			return parser_fail(p, 400, "whitespace before the "
			    "colon of a header");
		if (!is_tchar(c))
			return parser_fail(p, 400, "invalid character in a "
			    "header name");
	}
	return 0;
}

/* A span of a field of a head whose fields are not kept: a name checked
 * as on_headers_complete() checks kept ones, the count and the size
 * bounded as if they were kept. */
static int
unkept_span(struct http_parser *p, const char *at, size_t n, int name)
{
	if (p->last_span != (name ? 1 : 2)) {
		if (name && p->nfields >= max_fields(p))
			return parser_fail(p, 431, "more than %zu header "
			    "fields", max_fields(p));
		if (name)
			p->nfields++;
		p->last_span = name ? 1 : 2;
		p->slen++;           /* the NUL a kept string has */
	}
	p->slen += n;
	if (p->slen > max_store(p))
		return parser_fail(p, 431, "header section too large");
	return name ? name_check(p, at, n) : 0;
}

static int
on_header_field(llhttp_t *ll, const char *at, size_t n)
{
	struct http_parser *p = parser_of(ll);

	if (p->state != P_HEAD)
		return 0;            /* a trailer: checked, not kept */
	if (p->no_fields)
		return unkept_span(p, at, n, 1);
	if (p->last_span != 1) {
		if (p->last_span == 2 && store_end(p) == -1)
			goto big;
		if (p->nfields >= max_fields(p))
			return parser_fail(p, 431, "more than %zu header "
			    "fields", max_fields(p));
		if (p->nfields == p->fcap) {
			size_t cap = p->fcap ? p->fcap * 2 : 16;
			union field_slot *f = realloc(p->slot, cap *
			    sizeof(*f));
			if (f == NULL)
				goto big;
			p->slot = f;
			p->fcap = cap;
		}
		p->slot[p->nfields].o.name = p->slen;
		p->slot[p->nfields].o.name_len = 0;
		p->slot[p->nfields].o.value = 0;
		p->slot[p->nfields].o.value_len = 0;
		p->nfields++;
		p->last_span = 1;
	}
	p->slot[p->nfields - 1].o.name_len += n;
	if (store_add(p, at, n) == -1)
		goto big;
	return 0;
big:
	return parser_fail(p, 431, "header section too large");
}

static int
on_header_value(llhttp_t *ll, const char *at, size_t n)
{
	struct http_parser *p = parser_of(ll);
	struct field_off *f;

	if (p->state != P_HEAD || p->nfields == 0)
		return 0;
	if (p->no_fields)
		return unkept_span(p, at, n, 0);
	f = &p->slot[p->nfields - 1].o;
	if (p->last_span != 2) {
		if (store_end(p) == -1)
			goto big;
		f->value = p->slen;
		p->last_span = 2;
	}
	f->value_len += n;
	if (store_add(p, at, n) == -1)
		goto big;
	return 0;
big:
	return parser_fail(p, 431, "header section too large");
}

static int
is_tchar(unsigned char c)
{
	/* RFC 9110 5.6.2 */
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'':
	case '*': case '+': case '-': case '.': case '^': case '_':
	case '`': case '|': case '~':
		return 1;
	default:
		return 0;
	}
}

static int
value_eq(const struct http_field *f, const char *s)
{
	return f->value_len == strlen(s) &&
	    strncasecmp(f->value, s, f->value_len) == 0;
}

/* An absolute-form target (RFC 9112 3.2.2), which a server must accept:
 * "http" or "https" "://" authority [path] ["?" query].  The authority
 * replaces Host; the backend gets the origin-form rest.  Userinfo is
 * refused (RFC 9110 4.2.4: a recipient treats it as an error), and so is
 * an empty host (4.2.1), a port that is not digits, and a fragment.  0 or
 * HPE_USER. */
static int
absolute_form(struct http_parser *p)
{
	struct http_head *h = &p->head;
	const char *t = h->target, *end = t + h->target_len, *a, *q;
	const char *host_end;

	if (h->target_len >= 7 && strncasecmp(t, "http://", 7) == 0)
		a = t + 7;
	else if (h->target_len >= 8 && strncasecmp(t, "https://", 8) == 0)
		a = t + 8;
	else
		return parser_fail(p, 400, "request-target neither in origin "
		    "form nor an http(s) absolute URI");
	for (q = a; q < end && *q != '/' && *q != '?'; q++)
		if (*q == '@' || *q == '#')
			return parser_fail(p, 400, "userinfo or fragment in "
			    "an absolute request-target");
	for (const char *c = q; c < end; c++)
		if (*c == '#')
			return parser_fail(p, 400, "fragment in the "
			    "request-target");
	/* host, then an optional ":port"; an IP literal is bracketed. */
	host_end = a;
	if (host_end < q && *host_end == '[') {
		while (host_end < q && *host_end != ']')
			host_end++;
		if (host_end == q)
			return parser_fail(p, 400, "unterminated IP literal "
			    "in the request-target");
		host_end++;
	} else {
		while (host_end < q && *host_end != ':')
			host_end++;
	}
	if (host_end == a)
		return parser_fail(p, 400, "empty host in the "
		    "request-target");
	if (host_end < q) {
		if (*host_end != ':')
			return parser_fail(p, 400, "malformed authority in "
			    "the request-target");
		for (const char *c = host_end + 1; c < q; c++)
			if (*c < '0' || *c > '9')
				return parser_fail(p, 400, "malformed port "
				    "in the request-target");
	}
	h->authority = a;
	h->authority_len = (size_t)(q - a);
	h->path = q;
	h->path_len = (size_t)(end - q);
	return 0;
}

/* RFC 9112's rules llhttp does not apply to a request.  0 or HPE_USER. */
static int
request_check(struct http_parser *p)
{
	struct http_head *h = &p->head;
	size_t hosts = 0, tes = 0, i;
	const struct http_field *te = NULL;

	if (h->major != 1 || (h->minor != 0 && h->minor != 1))
		return parser_fail(p, 505, "HTTP/%d.%d is not supported",
		    h->major, h->minor);
	if (h->method == HTTP_CONNECT) {
		/* authority-form: the proxy refuses it, but it is HTTP */
	} else if (h->target_len == 1 && h->target[0] == '*') {
		if (h->method != HTTP_OPTIONS)
			return parser_fail(p, 400, "request-target * "
			    "without OPTIONS");
	} else if (h->target[0] != '/' && absolute_form(p) != 0) {
		return HPE_USER;
	}
	for (i = 0; i < h->nfields; i++) {
		const struct http_field *f = &h->fields[i];

		if (http_name_eq(f->name, f->name_len, "host"))
			hosts++;
		if (http_name_eq(f->name, f->name_len, "transfer-encoding")) {
			tes++;
			te = f;
		}
	}
	if (hosts > 1 || (hosts == 0 && h->minor == 1))
		return parser_fail(p, 400, "%s Host header", hosts ? "more "
		    "than one" : "no");
	if (tes > 0 && h->minor == 0)
		return parser_fail(p, 400, "Transfer-Encoding in an HTTP/1.0 "
		    "request");
	if (tes > 1)
		return parser_fail(p, 400, "more than one Transfer-Encoding "
		    "header");
	if (te != NULL && !value_eq(te, "chunked")) {
		/* RFC 9112 6.3: a request whose final coding is not chunked
		 * has no reliable length (400); one that is, with other
		 * codings before it, is a coding we do not implement. */
		const char *v = te->value, *last = v;
		for (size_t k = 0; k < te->value_len; k++)
			if (v[k] == ',')
				last = v + k + 1;
		while (*last == ' ' || *last == '\t')
			last++;
		if ((size_t)(v + te->value_len - last) == 7 &&
		    strncasecmp(last, "chunked", 7) == 0)
			return parser_fail(p, 501, "Transfer-Encoding other "
			    "than chunked");
		return parser_fail(p, 400, "Transfer-Encoding whose final "
		    "coding is not chunked");
	}
	/* The framing forwarded is llhttp's (its F_CHUNKED), and llhttp
	 * reads a value that passes the test above (which trims it) as not
	 * chunked when it ends in HTAB.  llhttp refuses such a request only
	 * after the head is reported, and that head has no framing: a
	 * caller that sent it on would have sent a complete request.  Both
	 * readings must agree before the head is reported. */
	if (te != NULL && !h->chunked)
		return parser_fail(p, 400, "Transfer-Encoding: chunked with a "
		    "trailing tab");
	return 0;
}

static int
on_headers_complete(llhttp_t *ll)
{
	struct http_parser *p = parser_of(ll);
	struct http_head *h = &p->head;
	size_t i, nkept = p->no_fields ? 0 : p->nfields;
	int r;

	if (nkept > 0 && p->last_span == 2 && store_end(p) == -1)
		return parser_fail(p, 431, "header section too large");
	for (i = 0; i < nkept; i++) {
		const struct field_off o = p->slot[i].o;
		struct http_field *f = &p->slot[i].f;

		f->name = p->store + o.name;
		f->name_len = o.name_len;
		f->value = o.value ? p->store + o.value : "";
		f->value_len = o.value_len;
		while (f->value_len > 0 && (f->value[0] == ' ' ||
		    f->value[0] == '\t')) {
			f->value++;
			f->value_len--;
		}
		while (f->value_len > 0 && (f->value[f->value_len - 1] == ' '
		    || f->value[f->value_len - 1] == '\t'))
			f->value_len--;
		if ((r = name_check(p, f->name, f->name_len)) != 0)
			return r;
		if (p->kind == HTTP_KIND_REQUEST)
			for (size_t k = 0; k < f->value_len; k++)
				if (f->value[k] == '\r' || f->value[k] == '\n')
					return parser_fail(p, 400, "obs-fold "
					    "in a header");
	}
	h->kind = p->kind;
	h->fields = nkept > 0 ? &p->slot[0].f : NULL;
	h->nfields = nkept;
	h->major = ll->http_major;
	h->minor = ll->http_minor;
	h->keep_alive = llhttp_should_keep_alive(ll);
	h->chunked = (ll->flags & F_CHUNKED) != 0;
	h->has_length = (ll->flags & F_CONTENT_LENGTH) != 0;
	h->content_length = h->has_length ? ll->content_length : 0;
	h->upgrade = ll->upgrade;
	if (p->kind == HTTP_KIND_REQUEST) {
		h->method = (llhttp_method_t)ll->method;
		h->method_name = llhttp_method_name(h->method);
		h->target = p->store != NULL ? p->store + p->target : "";
		h->target_len = p->target_len;
		h->path = h->target;
		h->path_len = h->target_len;
		h->authority = NULL;
		h->authority_len = 0;
		if (request_check(p) != 0)
			return HPE_USER;
	} else {
		h->status = ll->status_code;
		h->method_name = "";
		h->target = "";
	}
	p->state = P_BODY;
	parser_push(p, HTTP_EV_HEAD, NULL, 0);
	if (p->kind == HTTP_KIND_RESPONSE && p->no_body) {
		/* RFC 9112 6.3: a response to HEAD has no body.  llhttp
		 * takes 1 to mean that, and cannot pause here then. */
		p->no_body = 0;
		return 1;
	}
	return HPE_PAUSED;
}

/* A span callback cannot pause llhttp safely (resumed, it loses its
 * place in a chunk), so on_body only records its span; the pause comes at
 * the chunk's end (on_chunk_complete) or the message's, so that one call
 * of llhttp reports at most one span. */
static int
on_body(llhttp_t *ll, const char *at, size_t n)
{
	/* llhttp run on no bytes in a body reports an empty span. */
	if (n > 0)
		parser_push(parser_of(ll), HTTP_EV_BODY, at, n);
	return 0;
}

/* llhttp 8.1 takes the two bytes after a chunk's data as its CRLF
 * without looking at them ("3\r\nabcXY5\r\n..." passes); the pause here
 * lets http_parse() look (RFC 9112 7.1). */
static int
on_chunk_complete(llhttp_t *ll)
{
	parser_of(ll)->chunk_end = 1;
	return HPE_PAUSED;
}

static int
on_message_complete(llhttp_t *ll)
{
	struct http_parser *p = parser_of(ll);

	p->state = ll->upgrade ? P_UPGRADE : P_IDLE;
	p->head_bytes = p->line_bytes = p->line_len = 0;
	p->prev_cr = p->seen_line = 0;
	parser_push(p, HTTP_EV_END, NULL, 0);
	return HPE_PAUSED;
}

struct http_parser *
http_parser_new(enum http_kind kind, const struct http_limits *lim)
{
	struct http_parser *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->kind = kind;
	if (lim != NULL) {
		p->lim = *lim;
	} else {
		p->lim.max_line = HTTP_MAX_LINE;
		p->lim.max_head = HTTP_MAX_HEAD;
		p->lim.max_fields = HTTP_MAX_FIELDS;
	}
	llhttp_settings_init(&p->settings);
	p->settings.on_message_begin = on_message_begin;
	p->settings.on_method_complete = on_method_complete;
	p->settings.on_url = on_url;
	p->settings.on_url_complete = on_url_complete;
	p->settings.on_header_field = on_header_field;
	p->settings.on_header_value = on_header_value;
	p->settings.on_headers_complete = on_headers_complete;
	p->settings.on_body = on_body;
	p->settings.on_chunk_complete = on_chunk_complete;
	p->settings.on_message_complete = on_message_complete;
	llhttp_init(&p->ll, kind == HTTP_KIND_REQUEST ? HTTP_REQUEST :
	    HTTP_RESPONSE, &p->settings);
	p->ll.data = p;
	return p;
}

void
http_parser_free(struct http_parser *p)
{
	if (p == NULL)
		return;
	free(p->store);
	free(p->slot);
	free(p);
}

/* The raw scan of a request head (see the top of the file): how many of
 * the len bytes belong to the head, all of them when its end is not
 * there yet; -1 after recording a refusal. */
static ssize_t
head_scan(struct http_parser *p, const char *data, size_t len)
{
	/* The request line holds the target plus a method and a version:
	 * room for those beyond max_line. */
	size_t line_limit = p->lim.max_line + 64;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];

		/* A run of a line's other bytes is counted at once: within
		 * it only the limits can fail, and only the one of the line
		 * it is in (the byte-at-a-time checks below were a twentieth
		 * of a request).  Any other byte is a run of one. */
		int run = !p->prev_cr && c != '\r' && c != '\n' &&
		    (p->line_len > 0 || !p->seen_line ||
		    (c != ' ' && c != '\t'));
		size_t k = 1;

		if (run)
			while (i + k < len && data[i + k] != '\r' &&
			    data[i + k] != '\n')
				k++;
		p->head_bytes += k;
		if (!p->seen_line && (p->line_bytes += k) > line_limit) {
			parser_fail(p, 414, "request line longer than %zu "
			    "bytes", line_limit);
			return -1;
		}
		if (p->head_bytes - p->line_bytes > p->lim.max_head) {
			parser_fail(p, 431, "header section longer than %zu "
			    "bytes", p->lim.max_head);
			return -1;
		}
		if (run) {
			p->line_len += k;
			i += k - 1;
			continue;
		}
		if (p->prev_cr) {
			p->prev_cr = 0;
			if (c != '\n') {
				parser_fail(p, 400, "bare CR in the request "
				    "head");
				return -1;
			}
			if (p->line_len == 0 && p->seen_line)
				return (ssize_t)(i + 1);
			if (p->line_len > 0)
				p->seen_line = 1;
			p->line_len = 0;
			continue;
		}
		if (c == '\r') {
			p->prev_cr = 1;
			continue;
		}
		if (c == '\n') {
			parser_fail(p, 400, "bare LF in the request head");
			return -1;
		}
		/* What is left: a space or a tab starting a header line. */
		parser_fail(p, 400, "obs-fold or whitespace at the start of a "
		    "header line");
		return -1;
	}
	return (ssize_t)len;
}

static void
parser_error(struct http_parser *p, struct http_ev *ev)
{
	p->state = P_ERROR;
	p->nev = 0;
	memset(ev, 0, sizeof(*ev));
	ev->type = HTTP_EV_ERROR;
	ev->status = p->status;
}

static void
parser_pop(struct http_parser *p, struct http_ev *ev)
{
	*ev = p->evq[0];
	p->evq[0] = p->evq[1];
	p->nev--;
}

/* The byte k places before data[used], looking back into the bytes of
 * earlier calls (k is 1 or 2). */
static char
byte_before(const struct http_parser *p, const char *data, size_t used,
    size_t k)
{
	if (used >= k)
		return data[used - k];
	return p->tail[2 - (k - used)];
}

size_t
http_parse(struct http_parser *p, const char *data, size_t len,
    struct http_ev *ev)
{
	size_t feed = len, used;
	llhttp_errno_t e;

	memset(ev, 0, sizeof(*ev));
	if (p->nev > 0) {
		parser_pop(p, ev);
		return 0;
	}
	if (p->state == P_ERROR) {
		parser_error(p, ev);
		return 0;
	}
	/* With no bytes, llhttp still completes a message whose body ended
	 * with the last span reported (it paused there). */
	if (p->state == P_UPGRADE || (len == 0 && p->state != P_BODY)) {
		ev->type = HTTP_EV_MORE;
		return 0;
	}
	if (p->kind == HTTP_KIND_REQUEST && p->state != P_BODY) {
		ssize_t n = head_scan(p, data, len);
		if (n < 0) {
			parser_error(p, ev);
			return 0;
		}
		feed = (size_t)n;
	}
	used = 0;
	for (;;) {
		e = llhttp_execute(&p->ll, data + used, feed - used);
		if (e == HPE_OK) {
			used = feed;
			break;
		}
		if (e != HPE_PAUSED && e != HPE_PAUSED_UPGRADE)
			break;
		used = (size_t)(llhttp_get_error_pos(&p->ll) - data);
		if (e == HPE_PAUSED_UPGRADE) {
			p->state = P_UPGRADE;
			break;
		}
		llhttp_resume(&p->ll);
		if (p->chunk_end) {
			p->chunk_end = 0;
			if (byte_before(p, data, used, 2) != '\r' ||
			    byte_before(p, data, used, 1) != '\n') {
				parser_fail(p, p->kind == HTTP_KIND_REQUEST ?
				    400 : 502, "chunk data longer than its "
				    "size");
				parser_error(p, ev);
				return 0;
			}
		}
		/* A pause at a chunk's end with no span: go on. */
		if (p->nev > 0 || used == feed)
			break;
	}
	if (e != HPE_OK && e != HPE_PAUSED && e != HPE_PAUSED_UPGRADE) {
		if (p->status == 0) {
			p->status = p->kind == HTTP_KIND_REQUEST ? 400 : 502;
			snprintf(p->err, sizeof(p->err), "%s",
			    llhttp_get_error_reason(&p->ll) != NULL ?
			    llhttp_get_error_reason(&p->ll) : "malformed");
		}
		parser_error(p, ev);
		return 0;
	}
	/* Paused at the last chunk's end with every byte used: the message
	 * ends without another byte, so end it now rather than on the next
	 * call. */
	if (e == HPE_PAUSED && p->nev == 0 && p->state == P_BODY &&
	    used == feed && llhttp_execute(&p->ll, data + used, 0) ==
	    HPE_PAUSED)
		llhttp_resume(&p->ll);
	if (used >= 2) {
		p->tail[0] = data[used - 2];
		p->tail[1] = data[used - 1];
	} else if (used == 1) {
		p->tail[0] = p->tail[1];
		p->tail[1] = data[0];
	}
	if (p->nev > 0)
		parser_pop(p, ev);
	else
		ev->type = HTTP_EV_MORE;
	return used;
}

void
http_parse_eof(struct http_parser *p, struct http_ev *ev)
{
	llhttp_errno_t e;

	memset(ev, 0, sizeof(*ev));
	if (p->nev > 0) {
		parser_pop(p, ev);
		return;
	}
	if (p->state == P_ERROR) {
		parser_error(p, ev);
		return;
	}
	if (p->state == P_IDLE || p->state == P_UPGRADE) {
		ev->type = HTTP_EV_MORE;
		return;
	}
	e = llhttp_finish(&p->ll);
	if (e == HPE_OK || e == HPE_PAUSED) {
		if (p->nev > 0) {
			parser_pop(p, ev);
			return;
		}
		if (p->state == P_IDLE) {
			ev->type = HTTP_EV_MORE;
			return;
		}
	}
	if (p->status == 0) {
		p->status = p->kind == HTTP_KIND_REQUEST ? 400 : 502;
		snprintf(p->err, sizeof(p->err), "the stream ended inside a "
		    "message");
	}
	parser_error(p, ev);
}

const struct http_head *
http_parser_head(const struct http_parser *p)
{
	return &p->head;
}

const char *
http_parser_error(const struct http_parser *p)
{
	return p->err[0] != '\0' ? p->err : "malformed";
}

void
http_parser_skip_fields(struct http_parser *p)
{
	p->no_fields = 1;
}

void
http_parser_no_body(struct http_parser *p)
{
	p->no_body = 1;
}

void
http_parser_upgrade_refused(struct http_parser *p)
{
	if (p->state != P_UPGRADE)
		return;
	llhttp_resume_after_upgrade(&p->ll);
	/* llhttp pauses at the upgrade only when it reaches it: a fresh
	 * start is the same for the next request, and certain. */
	llhttp_reset(&p->ll);
	p->state = P_IDLE;
}

struct http_spares *
http_spares_new(void)
{
	return calloc(1, sizeof(struct http_spares));
}

void
http_spares_free(struct http_spares *sp)
{
	if (sp == NULL)
		return;
	for (size_t i = 0; i < sp->n; i++) {
		free(sp->set[i].store);
		free(sp->set[i].slot);
	}
	free(sp);
}

void
http_parser_use_spares(struct http_parser *p, struct http_spares *sp)
{
	p->spares = sp;
}

int
http_parser_busy(const struct http_parser *p)
{
	return p->nev > 0 || p->state == P_HEAD || p->state == P_BODY ||
	    (p->state == P_IDLE && p->head_bytes > 0);
}

void
http_parser_shrink(struct http_parser *p)
{
	if (http_parser_busy(p) || p->nev > 0)
		return;
	if (p->spares != NULL && p->spares->n < SPARES_MAX &&
	    p->store != NULL && p->slot != NULL &&
	    p->scap <= SPARE_STORE_MAX && p->fcap <= SPARE_SLOTS_MAX) {
		struct http_spares *sp = p->spares;

		sp->set[sp->n].store = p->store;
		sp->set[sp->n].scap = p->scap;
		sp->set[sp->n].slot = p->slot;
		sp->set[sp->n].fcap = p->fcap;
		sp->n++;
	} else {
		free(p->store);
		free(p->slot);
	}
	p->store = NULL;
	p->slot = NULL;
	p->slen = p->scap = p->fcap = p->nfields = 0;
	memset(&p->head, 0, sizeof(p->head));
}

static int
fold(unsigned char c)
{
	if (c == '_')
		return '-';
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

int
http_name_fold_prefix(const char *a, size_t alen, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n > alen)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (fold((unsigned char)a[i]) != fold((unsigned char)prefix[i]))
			return 0;
	return 1;
}

int
http_name_fold_eq(const char *a, size_t alen, const char *b)
{
	return strlen(b) == alen && http_name_fold_prefix(a, alen, b);
}

const struct http_field *
http_head_find(const struct http_head *h, const char *name, size_t *from)
{
	for (size_t i = from != NULL ? *from : 0; i < h->nfields; i++) {
		if (http_name_eq(h->fields[i].name, h->fields[i].name_len,
		    name)) {
			if (from != NULL)
				*from = i + 1;
			return &h->fields[i];
		}
	}
	if (from != NULL)
		*from = h->nfields;
	return NULL;
}

int
http_list_has(const char *v, size_t len, const char *token)
{
	size_t tl = strlen(token), i = 0;

	while (i < len) {
		size_t s, e;

		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < len && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v + s, token, tl) == 0)
			return 1;
	}
	return 0;
}

const char *
http_status_text(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 421: return "Misdirected Request";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}
