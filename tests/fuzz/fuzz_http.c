/*
 * fuzz_http.c - the request path of serve --http, bytes in, forwarded bytes
 * and decisions out, checked against llhttp's own verdict.
 *
 * The input is a client's byte stream (its first byte picks the sizes of
 * the reads it arrives in).  It goes through src/lib/http as http_conn.c
 * uses it: each head through http_forward_head(), each body re-framed.
 * Then:
 *   - differential: bare llhttp (strict, no pause but at the end of each
 *     message) over the same input must complete at least the messages we
 *     accepted, with the same methods, targets and bodies: we may refuse
 *     what llhttp takes, never the other way round;
 *   - what we forward, parsed by a fresh llhttp, is exactly those
 *     messages (targets in origin-form), no more (no byte of ours can start a request we did not
 *     check), with the same bodies, and no client-sent identity header.
 */
#include "fuzz.h"

#include "http/http.h"

#define MAX_MSGS 64

struct msg {
	int method;
	char target[64];
	size_t target_len;
	char origin[64];             /* ours: the target as forwarded */
	size_t origin_len;
	uint64_t body_len;
	uint32_t body_sum;
};

struct seen {
	struct msg m[MAX_MSGS];
	size_t n;
	struct msg cur;
	int identity;                /* a client identity header arrived */
	int in_field;
	char field[64];
	size_t field_len;
};

static void
body_add(struct msg *m, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		m->body_sum = m->body_sum * 31 + (unsigned char)p[i];
	m->body_len += n;
}

static int
ll_begin(llhttp_t *ll)
{
	struct seen *s = ll->data;

	memset(&s->cur, 0, sizeof(s->cur));
	s->in_field = 0;
	return 0;
}

static int
ll_url(llhttp_t *ll, const char *at, size_t n)
{
	struct seen *s = ll->data;

	for (size_t i = 0; i < n; i++, s->cur.target_len++)
		if (s->cur.target_len < sizeof(s->cur.target))
			s->cur.target[s->cur.target_len] = at[i];
	return 0;
}

static int
ll_field(llhttp_t *ll, const char *at, size_t n)
{
	struct seen *s = ll->data;

	if (!s->in_field)
		s->field_len = 0;
	s->in_field = 1;
	for (size_t i = 0; i < n && s->field_len < sizeof(s->field); i++)
		s->field[s->field_len++] = at[i];
	return 0;
}

static int
ll_value(llhttp_t *ll, const char *at, size_t n)
{
	struct seen *s = ll->data;

	/* Ours are added with these exact spellings and the values below;
	 * anything else of that meaning came from the client. */
	if (s->in_field && http_name_is_identity(s->field, s->field_len) &&
	    !(s->field_len == 15 && memcmp(s->field, "X-Forwarded-For",
	    15) == 0 && n >= 7 && memcmp(at, "1.2.3.4", 7) == 0))
		s->identity = 1;
	s->in_field = 0;
	return 0;
}

static int
ll_headers(llhttp_t *ll)
{
	struct seen *s = ll->data;

	s->cur.method = ll->method;
	return 0;
}

static int
ll_body(llhttp_t *ll, const char *at, size_t n)
{
	body_add(&((struct seen *)ll->data)->cur, at, n);
	return 0;
}

static int
ll_done(llhttp_t *ll)
{
	struct seen *s = ll->data;

	if (s->n < MAX_MSGS)
		s->m[s->n++] = s->cur;
	return 0;
}

/* Bare llhttp over buf: the messages it completes before an error. */
static void
llhttp_messages(const char *buf, size_t len, struct seen *s)
{
	llhttp_settings_t st;
	llhttp_t ll;

	llhttp_settings_init(&st);
	st.on_message_begin = ll_begin;
	st.on_url = ll_url;
	st.on_header_field = ll_field;
	st.on_header_value = ll_value;
	st.on_headers_complete = ll_headers;
	st.on_body = ll_body;
	st.on_message_complete = ll_done;
	llhttp_init(&ll, HTTP_REQUEST, &st);
	ll.data = s;
	(void)llhttp_execute(&ll, buf, len);
}

static int
msg_eq(const struct msg *a, const struct msg *b)
{
	size_t n = a->target_len < sizeof(a->target) ? a->target_len :
	    sizeof(a->target);

	return a->method == b->method && a->target_len == b->target_len &&
	    memcmp(a->target, b->target, n) == 0 &&
	    a->body_len == b->body_len && a->body_sum == b->body_sum;
}

/* A message we accepted (a) and the one the backend got (b): the target
 * in origin-form (an absolute-form one loses its scheme and authority). */
static int
msg_fwd_eq(const struct msg *a, const struct msg *b)
{
	size_t n = a->origin_len < sizeof(a->origin) ? a->origin_len :
	    sizeof(a->origin);

	return a->method == b->method && a->origin_len == b->target_len &&
	    memcmp(a->origin, b->target, n) == 0 &&
	    a->body_len == b->body_len && a->body_sum == b->body_sum;
}

/* The next read of the input, step bytes or what is left, once the last
 * one is used up: 0 at the end of the input. */
static int
next_chunk(size_t *avail, size_t off, size_t size, size_t step)
{
	if (*avail > 0)
		return 1;
	if (off >= size)
		return 0;
	*avail = size - off < step ? size - off : step;
	return 1;
}

/* The same input as an answer from the backend, in reads of step bytes:
 * its events in out ("H<status>,<framing>;" "B<bytes>;" "E;" "X;"). */
static void
response_trace(const char *in, size_t size, size_t step, int skip,
    char *out, size_t cap)
{
	struct http_parser *p = http_parser_new(HTTP_KIND_RESPONSE, NULL);
	size_t off = 0, avail = 0, o = 0;
	struct http_ev ev;

	FUZZ_ASSERT(p != NULL);
	if (skip)
		http_parser_skip_fields(p);
	out[0] = '\0';
	for (int guard = 0; guard < 100000 && o + 64 < cap; guard++) {
		size_t n;

		if (!next_chunk(&avail, off, size, step))
			break;
		n = http_parse(p, in + off, avail, &ev);
		off += n;
		avail -= n;
		if (ev.type == HTTP_EV_MORE && avail > 0)
			break;       /* after a 101 */
		if (ev.type == HTTP_EV_HEAD) {
			const struct http_head *h = http_parser_head(p);
			FUZZ_ASSERT(!skip || h->nfields == 0);
			o += (size_t)snprintf(out + o, cap - o,
			    "H%d,%d%d%d%llu;", h->status, h->keep_alive,
			    h->chunked, h->has_length,
			    (unsigned long long)h->content_length);
		} else if (ev.type == HTTP_EV_BODY) {
			o += (size_t)snprintf(out + o, cap - o, "B%zu;",
			    ev.len);
		} else if (ev.type == HTTP_EV_END) {
			o += (size_t)snprintf(out + o, cap - o, "E;");
		} else if (ev.type == HTTP_EV_ERROR) {
			o += (size_t)snprintf(out + o, cap - o, "X;");
			break;
		}
	}
	http_parser_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen ours, bare, fwd;
	static const char add[] = "X-Forwarded-For: 1.2.3.4\r\n";
	const char *strip[] = { "X-SSL-" };
	struct http_forward fw = { strip, 1, NULL };
	struct http_parser *p;
	struct http_buf out = { 0 };
	struct http_ev ev;
	size_t off = 1, step, avail = 0;
	const char *in = (const char *)data;
	int chunked = 0, stop = 0;
	char why[200];

	if (size < 1)
		return 0;
	step = 1 + data[0] % 64;
	if (data[0] & 0x80)
		step = size;
	memset(&ours, 0, sizeof(ours));
	memset(&bare, 0, sizeof(bare));
	memset(&fwd, 0, sizeof(fwd));
	p = http_parser_new(HTTP_KIND_REQUEST, NULL);
	FUZZ_ASSERT(p != NULL);
	while (!stop) {
		size_t n;

		if (!next_chunk(&avail, off, size, step))
			break;
		n = http_parse(p, in + off, avail, &ev);
		FUZZ_ASSERT(n <= avail);
		off += n;
		avail -= n;
		switch (ev.type) {
		case HTTP_EV_MORE:
			FUZZ_ASSERT(avail == 0 || n == 0);
			if (avail > 0)
				stop = 1; /* after an upgrade */
			break;
		case HTTP_EV_HEAD: {
			const struct http_head *h = http_parser_head(p);
			FUZZ_ASSERT(h->target_len <= HTTP_MAX_LINE);
			FUZZ_ASSERT(h->nfields <= HTTP_MAX_FIELDS);
			memset(&ours.cur, 0, sizeof(ours.cur));
			ours.cur.method = h->method;
			ours.cur.target_len = h->target_len;
			memcpy(ours.cur.target, h->target, h->target_len <
			    sizeof(ours.cur.target) ? h->target_len :
			    sizeof(ours.cur.target));
			FUZZ_ASSERT(h->path_len <= h->target_len);
			if (h->authority != NULL) {
				FUZZ_ASSERT(h->authority_len > 0);
				FUZZ_ASSERT(h->path_len == 0 ||
				    h->path[0] == '/' || h->path[0] == '?');
			}
			{
				size_t k = 0;
				if (h->path_len == 0 || h->path[0] == '?')
					ours.cur.origin[k++] = '/';
				for (size_t j = 0; j < h->path_len &&
				    k < sizeof(ours.cur.origin); j++)
					ours.cur.origin[k++] = h->path[j];
				ours.cur.origin_len = h->path_len +
				    (h->path_len == 0 || h->path[0] == '?');
			}
			if (h->method == HTTP_CONNECT || h->upgrade ||
			    http_forward_head(h, &fw, add, sizeof(add) - 1,
			    &out, why, sizeof(why)) != 0) {
				stop = 1; /* refused, or not HTTP after */
				break;
			}
			chunked = h->chunked;
			break;
		}
		case HTTP_EV_BODY:
			body_add(&ours.cur, ev.data, ev.len);
			if (chunked) {
				http_buf_printf(&out, "%zx\r\n", ev.len);
				http_buf_add(&out, ev.data, ev.len);
				http_buf_adds(&out, "\r\n");
			} else {
				http_buf_add(&out, ev.data, ev.len);
			}
			break;
		case HTTP_EV_END:
			if (chunked)
				http_buf_adds(&out, "0\r\n\r\n");
			chunked = 0;
			if (ours.n < MAX_MSGS)
				ours.m[ours.n++] = ours.cur;
			if (!http_parser_head(p)->keep_alive)
				stop = 1;
			break;
		case HTTP_EV_ERROR:
			FUZZ_ASSERT(ev.status >= 400 && ev.status < 600);
			stop = 1;
			break;
		}
	}
	/* A body that ended with the input still owes its end. */
	if (!stop) {
		(void)http_parse(p, "", 0, &ev);
		if (ev.type == HTTP_EV_END) {
			if (chunked)
				http_buf_adds(&out, "0\r\n\r\n");
			if (ours.n < MAX_MSGS)
				ours.m[ours.n++] = ours.cur;
		}
	}
	FUZZ_ASSERT(!out.failed);

	/* llhttp alone completes at least what we accepted, alike. */
	llhttp_messages(in + 1, size - 1, &bare);
	FUZZ_ASSERT(bare.n >= ours.n);
	for (size_t i = 0; i < ours.n; i++)
		FUZZ_ASSERT(msg_eq(&ours.m[i], &bare.m[i]));

	/* What we forward is exactly what we accepted (a request whose
	 * body was cut short by the input is forwarded in part: at most one
	 * more head). */
	llhttp_messages(out.data != NULL ? out.data + out.off : "",
	    http_buf_pending(&out), &fwd);
	FUZZ_ASSERT(fwd.n == ours.n);
	for (size_t i = 0; i < ours.n; i++)
		FUZZ_ASSERT(msg_fwd_eq(&ours.m[i], &fwd.m[i]));
	FUZZ_ASSERT(!fwd.identity);
	http_buf_free(&out);
	http_parser_free(p);

	/* Answers' fields only checked (serve --http) or kept: the same
	 * events and the same refusals, but for one thing: a bad field name
	 * is refused as it arrives when only checked, at the end of the
	 * head when kept (so an input that ends inside that head is refused
	 * by the first only). */
	{
		static char kept[16384], checked[16384];
		size_t kl, cl;
		int kx, cx;

		response_trace(in + 1, size - 1, step, 0, kept, sizeof(kept));
		response_trace(in + 1, size - 1, step, 1, checked,
		    sizeof(checked));
		kl = strlen(kept);
		cl = strlen(checked);
		kx = kl >= 2 && strcmp(kept + kl - 2, "X;") == 0;
		cx = cl >= 2 && strcmp(checked + cl - 2, "X;") == 0;
		FUZZ_ASSERT(!kx || cx);
		FUZZ_ASSERT(kl - (kx ? 2 : 0) == cl - (cx ? 2 : 0));
		FUZZ_ASSERT(memcmp(kept, checked, kl - (kx ? 2 : 0)) == 0);
	}
	return 0;
}
