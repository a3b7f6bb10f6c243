/*
 * trace.c - the handshake, message by message, as people learn mTLS:
 * "-> ClientHello", "<- CertificateRequest: CA names CN=Root", ...  Built on
 * SSL_set_msg_callback(), which hands us each handshake message, alert and
 * ChangeCipherSpec as it is sent or received.  The message bytes come from
 * the peer, so they are read through a bounded reader (length and cursor;
 * every length from the wire checked against what is left).
 *
 * The same callback records, on a client, whether the server asked for a
 * certificate and whether we sent one; that costs a switch per message.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/bytes.h"
#include "tls/tls_internal.h"
#include "x509/text.h"

/* ---- names --------------------------------------------------------- */

static const char *
version_name(size_t v)
{
	switch (v) {
	case 0x0304: return "TLS 1.3";
	case 0x0303: return "TLS 1.2";
	case 0x0302: return "TLS 1.1";
	case 0x0301: return "TLS 1.0";
	case 0x0300: return "SSL 3.0";
	}
	return NULL;
}

static const char *
group_name(size_t g)
{
	switch (g) {
	case 0x0017: return "P-256";
	case 0x0018: return "P-384";
	case 0x0019: return "P-521";
	case 0x001d: return "X25519";
	case 0x001e: return "X448";
	case 0x0100: return "ffdhe2048";
	case 0x0101: return "ffdhe3072";
	case 0x0102: return "ffdhe4096";
	}
	return NULL;
}

/* RFC 8446 section 4.2.3 */
static const char *
sigalg_name(size_t s)
{
	switch (s) {
	case 0x0401: return "rsa_pkcs1_sha256";
	case 0x0501: return "rsa_pkcs1_sha384";
	case 0x0601: return "rsa_pkcs1_sha512";
	case 0x0403: return "ecdsa_secp256r1_sha256";
	case 0x0503: return "ecdsa_secp384r1_sha384";
	case 0x0603: return "ecdsa_secp521r1_sha512";
	case 0x0804: return "rsa_pss_rsae_sha256";
	case 0x0805: return "rsa_pss_rsae_sha384";
	case 0x0806: return "rsa_pss_rsae_sha512";
	case 0x0807: return "ed25519";
	case 0x0808: return "ed448";
	case 0x0809: return "rsa_pss_pss_sha256";
	case 0x080a: return "rsa_pss_pss_sha384";
	case 0x080b: return "rsa_pss_pss_sha512";
	case 0x0201: return "rsa_pkcs1_sha1";
	case 0x0203: return "ecdsa_sha1";
	}
	return NULL;
}

/* ---- a line being built -------------------------------------------- */

struct line {
	char *buf;
	size_t len, used;
};

static void MTLS_PRINTF(2, 3)
add(struct line *l, const char *fmt, ...)
{
	va_list ap;

	if (l->used + 1 >= l->len)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(l->buf + l->used, l->len - l->used, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	l->used += (size_t)n;
	if (l->used >= l->len)
		l->used = l->len - 1;
}

static void
add_code(struct line *l, const char *name, size_t code)
{
	if (name != NULL)
		add(l, "%s", name);
	else
		add(l, "0x%04zx", code);
}

static void
add_name(struct line *l, X509_NAME *name)
{
	char *s = x509_name_line(name);

	if (s == NULL)
		return;
	/* Cut as before: a trace line stays a line. */
	add(l, "%.255s", s[0] != '\0' ? s : "(empty name)");
	free(s);
}

/* ---- handshake messages ------------------------------------------ */

/* The extensions block of a hello: calls fn for each extension. */
static void
each_extension(struct byte_reader *r, void (*fn)(struct line *, size_t,
    struct byte_reader *, void *), struct line *l, void *arg)
{
	struct byte_reader exts, body;
	size_t type;

	if (br_left(r) == 0 || br_vec(r, 2, &exts) != 0)
		return;
	while (br_left(&exts) > 0) {
		if (br_uint(&exts, 2, &type) != 0 ||
		    br_vec(&exts, 2, &body) != 0)
			return;
		fn(l, type, &body, arg);
	}
}

struct ch_facts {
	char versions[64];
	char shares[64];
	char sni[128];
	int psk;
};

static void
ch_ext(struct line *l, size_t type, struct byte_reader *b, void *arg)
{
	(void)l;
	struct ch_facts *f = arg;
	struct byte_reader list;
	size_t v;

	switch (type) {
	case 0x0000: /* server_name, RFC 6066 section 3 */
		if (br_vec(b, 2, &list) == 0 && br_uint(&list, 1, &v) == 0 &&
		    v == 0) {
			struct byte_reader host;
			if (br_vec(&list, 2, &host) == 0 && host.len < 100)
				snprintf(f->sni, sizeof(f->sni), "%.*s",
				    (int)host.len, (const char *)host.p);
		}
		break;
	case 0x002b: /* supported_versions */
		if (br_vec(b, 1, &list) != 0)
			break;
		while (br_uint(&list, 2, &v) == 0) {
			const char *n = version_name(v);
			if (n == NULL)
				continue; /* GREASE and the like */
			size_t u = strlen(f->versions);
			snprintf(f->versions + u, sizeof(f->versions) - u,
			    "%s%s", u ? ", " : "", n);
		}
		break;
	case 0x0033: /* key_share */
		if (br_vec(b, 2, &list) != 0)
			break;
		while (br_uint(&list, 2, &v) == 0) {
			struct byte_reader key;
			if (br_vec(&list, 2, &key) != 0)
				break;
			const char *n = group_name(v);
			size_t u = strlen(f->shares);
			if (n != NULL)
				snprintf(f->shares + u, sizeof(f->shares) - u,
				    "%s%s", u ? ", " : "", n);
		}
		break;
	case 0x0029: /* pre_shared_key */
		f->psk = 1;
		break;
	}
}

static void
client_hello(struct line *l, struct byte_reader *r)
{
	struct ch_facts f;
	struct byte_reader sid, suites, comp;
	size_t legacy;

	memset(&f, 0, sizeof(f));
	if (br_uint(r, 2, &legacy) != 0 || br_skip(r, 32) != 0 ||
	    br_vec(r, 1, &sid) != 0 || br_vec(r, 2, &suites) != 0 ||
	    br_vec(r, 1, &comp) != 0)
		return;
	each_extension(r, ch_ext, l, &f);
	if (f.versions[0] != '\0')
		add(l, ": offers %s", f.versions);
	else
		add(l, ": offers up to %s", version_name(legacy) ?
		    version_name(legacy) : "?");
	add(l, "; %zu cipher suites", suites.len / 2);
	if (f.shares[0] != '\0')
		add(l, "; key share %s", f.shares);
	if (f.sni[0] != '\0')
		add(l, "; SNI %s", f.sni);
	if (f.psk)
		add(l, "; offers to resume a session");
}

struct sh_facts {
	size_t version;
	size_t group;
	int psk;
};

static void
sh_ext(struct line *l, size_t type, struct byte_reader *b, void *arg)
{
	(void)l;
	struct sh_facts *f = arg;

	switch (type) {
	case 0x002b:
		br_uint(b, 2, &f->version);
		break;
	case 0x0033: /* ServerHello: one share; HRR: the group alone */
		br_uint(b, 2, &f->group);
		break;
	case 0x0029:
		f->psk = 1;
		break;
	}
}

/* RFC 8446 section 4.1.3: the random of a HelloRetryRequest. */
static const unsigned char hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
	0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
	0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
};

static void
server_hello(struct line *l, struct byte_reader *r, SSL *ssl)
{
	struct sh_facts f;
	struct byte_reader sid;
	size_t legacy, suite, comp;
	const unsigned char *random;

	memset(&f, 0, sizeof(f));
	if (br_uint(r, 2, &legacy) != 0 || br_left(r) < 32)
		return;
	random = r->p + r->off;
	if (br_skip(r, 32) != 0 || br_vec(r, 1, &sid) != 0 ||
	    br_uint(r, 2, &suite) != 0 || br_uint(r, 1, &comp) != 0)
		return;
	each_extension(r, sh_ext, l, &f);
	if (memcmp(random, hrr_random, 32) == 0) {
		add(l, "HelloRetryRequest: the server wants a key share for ");
		add_code(l, group_name(f.group), f.group);
		return;
	}
	add(l, "ServerHello");
	size_t v = f.version != 0 ? f.version : legacy;
	add(l, ": %s", version_name(v) ? version_name(v) : "?");
	unsigned char cs[2] = { (unsigned char)(suite >> 8),
	    (unsigned char)suite };
	const SSL_CIPHER *c = ssl != NULL ? SSL_CIPHER_find(ssl, cs) : NULL;
	if (c != NULL)
		add(l, ", %s", SSL_CIPHER_standard_name(c));
	else
		add(l, ", cipher suite 0x%04zx", suite);
	if (f.group != 0) {
		add(l, ", key share ");
		add_code(l, group_name(f.group), f.group);
	}
	if (f.psk)
		add(l, "; resumes the session");
	else if (v != 0x0304 && sid.len > 0 && ssl != NULL &&
	    SSL_session_reused(ssl))
		add(l, "; resumes the session");
}

/* Certificate: the subjects, leaf first (RFC 8446 4.4.2, RFC 5246 7.4.2). */
static void
certificate(struct line *l, struct byte_reader *r, int tls13)
{
	struct byte_reader ctx, list, der, exts;
	int n = 0;

	if (tls13 && br_vec(r, 1, &ctx) != 0)
		return;
	if (br_vec(r, 3, &list) != 0)
		return;
	while (br_left(&list) > 0) {
		if (br_vec(&list, 3, &der) != 0)
			return;
		if (tls13 && br_vec(&list, 2, &exts) != 0)
			return;
		const unsigned char *p = der.p;
		X509 *x = d2i_X509(NULL, &p, (long)der.len);
		add(l, n == 0 ? ": " : "; ");
		if (x == NULL) {
			add(l, "(unparsable certificate)");
		} else {
			add_name(l, X509_get_subject_name(x));
			if (n == 0) {
				add(l, " (issuer ");
				add_name(l, X509_get_issuer_name(x));
				add(l, ")");
			}
			X509_free(x);
		}
		n++;
	}
	if (n == 0)
		add(l, ": empty (no certificate)");
}

static void
ca_names(struct line *l, struct byte_reader *names)
{
	struct byte_reader dn;
	int n = 0;

	while (br_left(names) > 0) {
		if (br_vec(names, 2, &dn) != 0)
			break;
		const unsigned char *p = dn.p;
		X509_NAME *name = d2i_X509_NAME(NULL, &p, (long)dn.len);
		add(l, n == 0 ? "; CA names: " : " | ");
		if (name != NULL) {
			add_name(l, name);
			X509_NAME_free(name);
		} else {
			add(l, "(unparsable name)");
		}
		n++;
	}
	if (n == 0)
		add(l, "; no CA names (any CA)");
}

static void
cr_ext(struct line *l, size_t type, struct byte_reader *b, void *arg)
{
	struct byte_reader names;
	int *seen = arg;

	if (type == 0x002f && br_vec(b, 2, &names) == 0) {
		*seen = 1;
		ca_names(l, &names);
	}
}

/* CertificateRequest: the CA names the server accepts. */
static void
certificate_request(struct line *l, struct byte_reader *r, int tls13)
{
	struct byte_reader types, sigalgs, names, ctx;
	int seen = 0;

	add(l, ": the server asks for a client certificate");
	if (tls13) {
		if (br_vec(r, 1, &ctx) != 0)
			return;
		each_extension(r, cr_ext, l, &seen);
		if (!seen)
			add(l, "; no CA names (any CA)");
		return;
	}
	if (br_vec(r, 1, &types) != 0 || br_vec(r, 2, &sigalgs) != 0 ||
	    br_vec(r, 2, &names) != 0)
		return;
	ca_names(l, &names);
}

/* ServerKeyExchange (TLS 1.2, ECDHE; RFC 8422 section 5.4). */
static void
server_key_exchange(struct line *l, struct byte_reader *r)
{
	size_t curve_type, group, sigalg;
	struct byte_reader point, sig;

	if (br_uint(r, 1, &curve_type) != 0 || curve_type != 3 ||
	    br_uint(r, 2, &group) != 0 || br_vec(r, 1, &point) != 0)
		return;
	add(l, ": ECDHE group ");
	add_code(l, group_name(group), group);
	if (br_uint(r, 2, &sigalg) == 0 && br_vec(r, 2, &sig) == 0) {
		add(l, ", signed with ");
		add_code(l, sigalg_name(sigalg), sigalg);
	}
}

static void
certificate_verify(struct line *l, struct byte_reader *r)
{
	size_t sigalg;

	if (br_uint(r, 2, &sigalg) != 0)
		return;
	add(l, ": proves the key with ");
	add_code(l, sigalg_name(sigalg), sigalg);
}

static const char *
handshake_name(size_t type)
{
	switch (type) {
	case 0: return "HelloRequest";
	case 1: return "ClientHello";
	case 2: return "ServerHello";
	case 4: return "NewSessionTicket";
	case 5: return "EndOfEarlyData";
	case 8: return "EncryptedExtensions";
	case 11: return "Certificate";
	case 12: return "ServerKeyExchange";
	case 13: return "CertificateRequest";
	case 14: return "ServerHelloDone";
	case 15: return "CertificateVerify";
	case 16: return "ClientKeyExchange";
	case 20: return "Finished";
	case 22: return "CertificateStatus";
	case 24: return "KeyUpdate";
	case 254: return "MessageHash";
	}
	return NULL;
}

static void
handshake(struct line *l, SSL *ssl, const unsigned char *buf, size_t len)
{
	struct byte_reader r = { buf, len, 0 }, body;
	size_t type;
	int tls13 = ssl != NULL && SSL_version(ssl) == TLS1_3_VERSION;

	if (br_uint(&r, 1, &type) != 0 || br_vec(&r, 3, &body) != 0) {
		add(l, "(truncated handshake message)");
		return;
	}
	const char *name = handshake_name(type);
	if (name == NULL) {
		add(l, "handshake message %zu", type);
		return;
	}
	if (type != 2) /* a ServerHello may be a HelloRetryRequest */
		add(l, "%s", name);
	switch (type) {
	case 1:
		client_hello(l, &body);
		break;
	case 2:
		server_hello(l, &body, ssl);
		break;
	case 4: {
		size_t lifetime;
		if (br_uint(&body, 4, &lifetime) == 0)
			add(l, ": a session to resume, valid %zu s", lifetime);
		break;
	}
	case 11:
		certificate(l, &body, tls13);
		break;
	case 12:
		server_key_exchange(l, &body);
		break;
	case 13:
		certificate_request(l, &body, tls13);
		break;
	case 15:
		certificate_verify(l, &body);
		break;
	}
}

int
trace_describe(SSL *ssl, int write_p, int content_type,
    const unsigned char *buf, size_t len, int we_are_server, char *out,
    size_t outlen)
{
	struct line l = { out, outlen, 0 };
	const char *us = we_are_server ? "server" : "client";
	const char *them = we_are_server ? "client" : "server";

	if (outlen == 0)
		return 0;
	out[0] = '\0';
	switch (content_type) {
	case SSL3_RT_HANDSHAKE:
		add(&l, "%s ", write_p ? "->" : "<-");
		handshake(&l, ssl, buf, len);
		return 1;
	case SSL3_RT_HEADER:
		/* OpenSSL reports a received ChangeCipherSpec only by its
		 * record header; a sent one comes as content below. */
		if (write_p || len < 5 || buf[0] != SSL3_RT_CHANGE_CIPHER_SPEC ||
		    (ssl != NULL && SSL_version(ssl) == TLS1_3_VERSION))
			return 0;
		add(&l, "<- ChangeCipherSpec");
		return 1;
	case SSL3_RT_CHANGE_CIPHER_SPEC:
		if (!write_p)
			return 0; /* already shown from its record header */
		/* In TLS 1.3 it is only there for middleboxes (RFC 8446
		 * appendix D.4) and means nothing: left out. */
		if (ssl != NULL && SSL_version(ssl) == TLS1_3_VERSION)
			return 0;
		add(&l, "-> ChangeCipherSpec");
		return 1;
	case SSL3_RT_ALERT:
		if (len < 2)
			return 0;
		add(&l, "%s Alert from the %s: %s %s", write_p ? "->" : "<-",
		    write_p ? us : them, buf[0] == 2 ? "fatal" : "warning",
		    tls_alert_name(buf[1]));
		return 1;
	default:
		return 0; /* record headers, inner content types */
	}
}

static void
msg_cb(int write_p, int version, int content_type, const void *buf,
    size_t len, SSL *ssl, void *arg)
{
	(void)version;
	struct mtls *ctx = arg;
	const unsigned char *p = buf;
	char line[1024];

	if (ctx == NULL)
		return;
	if (ctx->role == TLS_ROLE_CLIENT && content_type == SSL3_RT_HANDSHAKE &&
	    len >= 4) {
		if (!write_p && p[0] == 13)
			ctx->cert_requested = 1;
		if (write_p && p[0] == 11) {
			/* Certificate: non-empty certificate_list?  TLS 1.3
			 * puts a context byte vector first. */
			struct byte_reader r = { p + 4, len - 4, 0 }, vec, list;
			if (SSL_version(ssl) == TLS1_3_VERSION &&
			    br_vec(&r, 1, &vec) != 0)
				return;
			ctx->cert_sent = br_vec(&r, 3, &list) == 0 &&
			    list.len > 0;
		}
	}
	if (ctx->trace_fn != NULL &&
	    trace_describe(ssl, write_p, content_type, p, len,
	    ctx->role != TLS_ROLE_CLIENT, line, sizeof(line)))
		ctx->trace_fn(ctx->trace_arg, line);
}

/* A client always gets the callback (its facts); a server connection only
 * when traced, so the proxy's connections pay nothing for it. */
void
trace_attach(struct mtls *ctx)
{
	if (ctx->ssl == NULL)
		return;
	if (ctx->role == TLS_ROLE_CLIENT || ctx->trace_fn != NULL) {
		SSL_set_msg_callback(ctx->ssl, msg_cb);
		SSL_set_msg_callback_arg(ctx->ssl, ctx);
	} else {
		SSL_set_msg_callback(ctx->ssl, NULL);
	}
}
