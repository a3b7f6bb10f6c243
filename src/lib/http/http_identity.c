/*
 * http_identity.c - the verified client certificate as HTTP headers:
 *
 *   X-Forwarded-Client-Cert  Envoy's format (its docs, "x-forwarded-client-
 *                            cert"): By=<our URI SAN>;Hash=<sha256 hex of
 *                            the DER>;Subject="<RFC 2253>";URI=..;DNS=..,
 *                            one pair per SAN; a value holding ',', ';',
 *                            '=' or '"' is double-quoted with '"' and '\'
 *                            escaped.  Subject is always quoted, as Envoy
 *                            writes it.
 *   Client-Cert              RFC 9440 2.2: the leaf's DER as a Structured
 *                            Field Byte Sequence (RFC 8941 3.3.5),
 *                            ":<base64>:".
 *   Client-Cert-Chain        RFC 9440 2.3: the certificates the client sent
 *                            after its leaf, in TLS order, as a List of Byte
 *                            Sequences.
 *   X-Client-Subject, X-Client-SAN-URI, X-Client-SAN-DNS
 *                            plain values, one line per SAN.
 *
 * A certificate is signed by a CA we trust, but its strings are not ours:
 * no byte below 0x20 or 0x7f ever reaches a header (a DNS SAN holding CRLF
 * would otherwise write headers of its own); they are written as \xHH.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "http/http.h"
#include "tls/tls_internal.h"

int
http_identity_parse(const char *list, unsigned *flags, char *err,
    size_t errlen)
{
	static const struct {
		const char *word;
		unsigned flag;
	} words[] = {
		{ "xfcc", HTTP_ID_XFCC },
		{ "client-cert", HTTP_ID_CLIENT_CERT },
		{ "client-cert-chain", HTTP_ID_CLIENT_CHAIN },
		{ "subject", HTTP_ID_SUBJECT },
		{ "none", 0 },
	};
	const char *s = list;

	*flags = 0;
	while (*s != '\0') {
		size_t n = strcspn(s, ","), i;

		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strlen(words[i].word) == n &&
			    strncmp(s, words[i].word, n) == 0)
				break;
		if (i == sizeof(words) / sizeof(words[0])) {
			snprintf(err, errlen, "'%.*s' is not xfcc, "
			    "client-cert, client-cert-chain, subject or none",
			    (int)n, s);
			return -1;
		}
		*flags |= words[i].flag;
		s += n;
		if (*s == ',')
			s++;
	}
	return 0;
}

/* A header value byte by byte, controls as \xHH. */
static void
put_safe(struct http_buf *out, const char *v, int quoted)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			http_buf_printf(out, "\\x%02x", *p);
		else if (quoted && (*p == '"' || *p == '\\'))
			http_buf_printf(out, "\\%c", *p);
		else
			http_buf_add(out, p, 1);
	}
}

void
http_xfcc_value(struct http_buf *out, const char *v)
{
	int quote = strpbrk(v, ",;=\"\\") != NULL;

	for (const unsigned char *p = (const unsigned char *)v; *p && !quote;
	    p++)
		quote = *p < 0x20 || *p == 0x7f;
	if (quote)
		http_buf_adds(out, "\"");
	put_safe(out, v, quote);
	if (quote)
		http_buf_adds(out, "\"");
}

/* ":<base64 of x's DER>:" (RFC 8941 3.3.5). */
static void
put_der_b64(struct http_buf *out, X509 *x)
{
	unsigned char *der = NULL, *b64;
	int n = i2d_X509(x, &der);
	size_t cap;

	if (n <= 0) {
		out->failed = 1;
		return;
	}
	cap = 4 * (((size_t)n + 2) / 3) + 1;
	if ((b64 = OPENSSL_malloc(cap)) == NULL) {
		OPENSSL_free(der);
		out->failed = 1;
		return;
	}
	int m = EVP_EncodeBlock(b64, der, n);
	http_buf_adds(out, ":");
	http_buf_add(out, b64, (size_t)m);
	http_buf_adds(out, ":");
	OPENSSL_free(b64);
	OPENSSL_free(der);
}

static void
xfcc(struct mtls *tls, const char *by_uri, struct http_buf *out)
{
	const char *hash = mtls_peer_cert_hash(tls);
	const char *subject = mtls_peer_cert_subject(tls);
	size_t n = mtls_peer_san_count(tls);

	http_buf_adds(out, "X-Forwarded-Client-Cert: ");
	if (by_uri != NULL && *by_uri != '\0') {
		http_buf_adds(out, "By=");
		http_xfcc_value(out, by_uri);
		http_buf_adds(out, ";");
	}
	if (hash == NULL || strncmp(hash, "sha256:", 7) != 0) {
		out->failed = 1;
		return;
	}
	http_buf_printf(out, "Hash=%s", hash + 7);
	http_buf_adds(out, ";Subject=\"");
	put_safe(out, subject != NULL ? subject : "", 1);
	http_buf_adds(out, "\"");
	for (size_t i = 0; i < n; i++) {
		enum mtls_san_type type;
		const char *v = mtls_peer_san(tls, i, &type);

		if (v == NULL || (type != MTLS_SAN_URI && type != MTLS_SAN_DNS))
			continue;
		http_buf_adds(out, type == MTLS_SAN_URI ? ";URI=" : ";DNS=");
		http_xfcc_value(out, v);
	}
	http_buf_adds(out, "\r\n");
}

int
http_identity_headers(struct mtls *tls, unsigned flags, const char *by_uri,
    struct http_buf *out)
{
	X509 *leaf;

	if (tls == NULL || tls->ssl == NULL ||
	    (leaf = SSL_get0_peer_certificate(tls->ssl)) == NULL)
		return out->failed ? -1 : 0;
	if (flags & HTTP_ID_XFCC)
		xfcc(tls, by_uri, out);
	if (flags & HTTP_ID_CLIENT_CERT) {
		http_buf_adds(out, "Client-Cert: ");
		put_der_b64(out, leaf);
		http_buf_adds(out, "\r\n");
	}
	if (flags & HTTP_ID_CLIENT_CHAIN) {
		/* What the client sent beyond its leaf (a resumed session:
		 * what it sent in the full handshake). */
		STACK_OF(X509) *sk = tls_peer_sent_chain(tls);
		int first = 1;

		for (int i = 0; sk != NULL && i < sk_X509_num(sk); i++) {
			X509 *x = sk_X509_value(sk, i);
			if (X509_cmp(x, leaf) == 0)
				continue;
			http_buf_adds(out, first ? "Client-Cert-Chain: " :
			    ", ");
			put_der_b64(out, x);
			first = 0;
		}
		if (!first)
			http_buf_adds(out, "\r\n");
	}
	if (flags & HTTP_ID_SUBJECT) {
		const char *subject = mtls_peer_cert_subject(tls);
		size_t n = mtls_peer_san_count(tls);

		http_buf_adds(out, "X-Client-Subject: ");
		put_safe(out, subject != NULL ? subject : "", 0);
		http_buf_adds(out, "\r\n");
		for (size_t i = 0; i < n; i++) {
			enum mtls_san_type type;
			const char *v = mtls_peer_san(tls, i, &type);

			if (v == NULL || (type != MTLS_SAN_URI &&
			    type != MTLS_SAN_DNS))
				continue;
			http_buf_adds(out, type == MTLS_SAN_URI ?
			    "X-Client-SAN-URI: " : "X-Client-SAN-DNS: ");
			put_safe(out, v, 0);
			http_buf_adds(out, "\r\n");
		}
	}
	return out->failed ? -1 : 0;
}
