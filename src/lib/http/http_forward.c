/*
 * http_forward.c - the request head a proxy forwards, and its refusals.
 *
 * Sanitizing comes before anything is added, and removes by meaning, not
 * by spelling: a field whose name equals one the proxy sets under case
 * folding and '_' = '-' folding is dropped (X_Forwarded_Client_Cert reaches
 * a CGI, WSGI or PHP backend as HTTP_X_FORWARDED_CLIENT_CERT, the same as
 * the real one).  Hop-by-hop fields (RFC 9110 7.6.1) are dropped, and so
 * are the fields the client names in Connection; since our own fields are
 * added after this and Connection is never forwarded, no client can make
 * the backend drop one of ours.  Framing is never the client's text: the
 * proxy writes Content-Length or Transfer-Encoding: chunked from what the
 * parser found, and frames the body itself.
 */
#include <stdio.h>
#include <string.h>

#include "http/http.h"

/* A name with its length, so that a field is compared only with the
 * names of its own length (most match none: a head's every field is
 * looked up in both lists below). */
struct name {
	const char *s;
	size_t n;
};
#define NAME(s) { s, sizeof(s) - 1 }

/* The names the proxy sets; any spelling of them from a client is
 * removed. */
static const struct name identity_names[] = {
	NAME("x-forwarded-client-cert"),
	NAME("client-cert"),
	NAME("client-cert-chain"),
	NAME("x-client-subject"),
	NAME("x-client-san-uri"),
	NAME("x-client-san-dns"),
	NAME("x-forwarded-for"),
	NAME("x-forwarded-proto"),
	NAME("forwarded"),
};

/* RFC 9110 7.6.1, plus what the proxy frames or answers itself. */
static const struct name hop_names[] = {
	NAME("connection"),
	NAME("keep-alive"),
	NAME("proxy-connection"),
	NAME("te"),
	NAME("transfer-encoding"),
	NAME("trailer"),
	NAME("upgrade"),
	NAME("content-length"),
	NAME("expect"),
};

/* 1 when name equals one of names[0..n) under case and '_'/'-'
 * folding. */
static int
name_in(const struct name *names, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (names[i].n == len && http_name_fold_prefix(name, len,
		    names[i].s))
			return 1;
	return 0;
}

int
http_name_is_identity(const char *name, size_t len)
{
	return name_in(identity_names, sizeof(identity_names) /
	    sizeof(identity_names[0]), name, len);
}

/* A hop-by-hop name, or one that folds onto it: Transfer_Encoding is not
 * framing to us, but a CGI backend would see HTTP_TRANSFER_ENCODING. */
static int
is_hop(const char *name, size_t len)
{
	return name_in(hop_names, sizeof(hop_names) / sizeof(hop_names[0]),
	    name, len);
}

/* name (len bytes) is lit, case-insensitively, without folding (as
 * http_name_eq(), with the length known at compile time). */
#define NAME_IS(name, len, lit) ((len) == sizeof(lit) - 1 && \
	strncasecmp((name), (lit), sizeof(lit) - 1) == 0)

/* 1 when a Connection field of h lists name (the folded comparison: a
 * listed X_Foo also removes X-Foo, as the backend would see them alike).
 * Host is never removed this way: the backend needs it. */
static int
listed_in_connection(const struct http_head *h, const struct http_field *f)
{
	size_t from = 0;
	const struct http_field *c;

	if (http_name_eq(f->name, f->name_len, "host"))
		return 0;
	while ((c = http_head_find(h, "connection", &from)) != NULL) {
		const char *v = c->value;
		size_t len = c->value_len, i = 0;

		while (i < len) {
			size_t s, e;

			while (i < len && (v[i] == ' ' || v[i] == '\t' ||
			    v[i] == ','))
				i++;
			s = i;
			while (i < len && v[i] != ',')
				i++;
			e = i;
			while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
				e--;
			if (e > s && e - s == f->name_len) {
				char tok[256];
				size_t n = e - s < sizeof(tok) - 1 ? e - s :
				    sizeof(tok) - 1;
				memcpy(tok, v + s, n);
				tok[n] = '\0';
				if (http_name_fold_eq(f->name, f->name_len,
				    tok))
					return 1;
			}
		}
	}
	return 0;
}

/* Host must name the server the client reached with SNI (RFC 9110 7.4:
 * otherwise 421).  Host is "name", "name:port" or "[v6]:port". */
static int
host_matches(const char *v, size_t n, const char *sni)
{

	if (n > 0 && v[0] == '[')
		return 0;            /* an IP literal never equals an SNI */
	for (size_t i = 0; i < n; i++)
		if (v[i] == ':') {
			n = i;
			break;
		}
	if (n > 0 && v[n - 1] == '.')
		n--;
	return strlen(sni) == n && strncasecmp(v, sni, n) == 0;
}

int
http_forward_head(const struct http_head *h, const struct http_forward *fw,
    const char *add, size_t addlen, struct http_buf *out, char *why,
    size_t whylen)
{
	const struct http_field *host = NULL, *expect = NULL, *f;
	const char *host_v = NULL;
	size_t certs = 0, i, host_n = 0;
	int connection = 0;

	/* One pass for what the checks need: the first Host and Expect
	 * (as http_head_find() finds them), Client-Cert under folding, and
	 * whether a Connection field lists names to remove. */
	for (i = 0; i < h->nfields; i++) {
		f = &h->fields[i];
		if (f->name_len == sizeof("client-cert") - 1 &&
		    http_name_fold_eq(f->name, f->name_len, "client-cert"))
			certs++;
		else if (NAME_IS(f->name, f->name_len, "host")) {
			if (host == NULL)
				host = f;
		} else if (NAME_IS(f->name, f->name_len, "expect")) {
			if (expect == NULL)
				expect = f;
		} else if (NAME_IS(f->name, f->name_len, "connection"))
			connection = 1;
	}
	if (certs > 1) {
		snprintf(why, whylen, "Client-Cert sent more than once");
		return 400;
	}
	/* RFC 9112 3.2.2: with an absolute-form target, Host is ignored
	 * and replaced by the target's authority. */
	if (h->authority != NULL) {
		host_v = h->authority;
		host_n = h->authority_len;
	} else if (host != NULL) {
		host_v = host->value;
		host_n = host->value_len;
	}
	if (fw->sni != NULL && host_v != NULL && !host_matches(host_v, host_n,
	    fw->sni)) {
		snprintf(why, whylen, "Host names another server than the "
		    "TLS server name %s", fw->sni);
		return 421;
	}
	if ((f = expect) != NULL &&
	    !(f->value_len == 12 && strncasecmp(f->value, "100-continue",
	    12) == 0)) {
		snprintf(why, whylen, "unsupported expectation");
		return 417;
	}

	/* The backend gets the origin-form (an absolute-form path may be
	 * empty or start with its query: "/" goes first then). */
	http_buf_adds(out, h->method_name);
	http_buf_adds(out, h->path_len == 0 || h->path[0] == '?' ? " /" :
	    " ");
	http_buf_add(out, h->path, h->path_len);
	/* The parser admits HTTP/1.0 and 1.1 only. */
	http_buf_adds(out, h->minor == 0 ? " HTTP/1.0\r\n" :
	    " HTTP/1.1\r\n");
	if (h->authority != NULL) {
		http_buf_adds(out, "Host: ");
		http_buf_add(out, h->authority, h->authority_len);
		http_buf_adds(out, "\r\n");
	}
	for (i = 0; i < h->nfields; i++) {
		size_t k;

		f = &h->fields[i];
		if (h->authority != NULL && NAME_IS(f->name, f->name_len,
		    "host"))
			continue;
		if (is_hop(f->name, f->name_len) ||
		    http_name_is_identity(f->name, f->name_len) ||
		    (connection && listed_in_connection(h, f)))
			continue;
		for (k = 0; k < fw->nstrip; k++)
			if (http_name_fold_prefix(f->name, f->name_len,
			    fw->strip_prefix[k]))
				break;
		if (k < fw->nstrip)
			continue;
		http_buf_add(out, f->name, f->name_len);
		http_buf_adds(out, ": ");
		http_buf_add(out, f->value, f->value_len);
		http_buf_adds(out, "\r\n");
	}
	if (h->chunked)
		http_buf_adds(out, "Transfer-Encoding: chunked\r\n");
	else if (h->has_length)
		http_buf_printf(out, "Content-Length: %llu\r\n",
		    (unsigned long long)h->content_length);
	if (h->upgrade && h->method != HTTP_CONNECT) {
		f = http_head_find(h, "upgrade", NULL);
		http_buf_adds(out, "Upgrade: ");
		if (f != NULL)
			http_buf_add(out, f->value, f->value_len);
		http_buf_adds(out, "\r\nConnection: upgrade\r\n");
	} else if (!h->keep_alive) {
		http_buf_adds(out, "Connection: close\r\n");
	} else if (h->minor == 0) {
		http_buf_adds(out, "Connection: keep-alive\r\n");
	}
	http_buf_add(out, add, addlen);
	http_buf_adds(out, "\r\n");
	if (out->failed) {
		snprintf(why, whylen, "out of memory");
		return 500;
	}
	return 0;
}

void
http_refusal(struct http_buf *out, int status)
{
	const char *text = http_status_text(status);

	http_buf_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%d %s\n",
	    status, text, strlen(text) + 5, status, text);
}
