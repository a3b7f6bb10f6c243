/*
 * est_client.c - the client side of EST (RFC 7030): one HTTPS request per
 * call over a blocking socket with a deadline, through libmtls's own TLS
 * (the server verified against the caller's CA file only, its name against
 * the URL's host), the answer framed by the HTTP glue (src/lib/http).  Used
 * by `mtls enroll`, `mtls renew` and the renewal inside serve and tunnel.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "ca/est.h"
#include "http/http.h"
#include "tools/mtls_tools.h"

#define EST_ANSWER_MAX (1024 * 1024)
#define EST_TIMEOUT_MS 10000

/* The parts of an https:// URL. */
struct est_url {
	char host[256];
	char port[8];
	char prefix[256];            /* "" or "/path" without a final '/' */
};

static int
url_parse(const char *url, struct est_url *u, struct mtls_error *err)
{
	const char *p, *slash;
	char hostport[256], why[200];
	unsigned port = 443;
	size_t n;

	memset(u, 0, sizeof(*u));
	if (url == NULL || strncmp(url, "https://", 8) != 0)
		return err_set(err, MTLS_ERR_USAGE, "%s: not an https:// URL",
		    url != NULL ? url : "(none)");
	p = url + 8;
	slash = strchr(p, '/');
	n = slash != NULL ? (size_t)(slash - p) : strlen(p);
	if (n == 0 || n >= sizeof(hostport))
		return err_set(err, MTLS_ERR_USAGE, "%s: no host", url);
	memcpy(hostport, p, n);
	hostport[n] = '\0';
	if (strchr(hostport, ':') != NULL && (hostport[0] != '[' ||
	    strstr(hostport, "]:") != NULL)) {
		if (mtls_hostport_parse(hostport, 0, u->host, sizeof(u->host),
		    &port, why, sizeof(why)) == -1)
			return err_set(err, MTLS_ERR_USAGE, "%s: %s", url, why);
	} else if (hostport[0] == '[') {
		if (n < 3 || hostport[n - 1] != ']' || n - 2 >= sizeof(u->host))
			return err_set(err, MTLS_ERR_USAGE, "%s: bad host", url);
		memcpy(u->host, hostport + 1, n - 2);
	} else {
		snprintf(u->host, sizeof(u->host), "%s", hostport);
	}
	snprintf(u->port, sizeof(u->port), "%u", port);
	if (slash != NULL) {
		snprintf(u->prefix, sizeof(u->prefix), "%s", slash);
		n = strlen(u->prefix);
		while (n > 0 && u->prefix[n - 1] == '/')
			u->prefix[--n] = '\0';
	}
	return 0;
}

static int
connect_tcp(const struct est_url *u, int timeout_ms, struct mtls_error *err)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	int fd = -1, rc, e = 0;

	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(u->host, u->port, &hints, &res)) != 0) {
		err_set(err, MTLS_ERR_IO, "%s:%s: %s", u->host, u->port,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1)
			continue;
		/* The deadline of every read, write and the connect. */
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		err_set(err, MTLS_ERR_IO, "%s:%s: %s", u->host, u->port,
		    e == EINPROGRESS || e == EAGAIN ? "no answer in time" :
		    strerror(e));
	return fd;
}

/* One request; the body of a 200 answer in *out.  Anything else fails with
 * the status and the server's words. */
static int
est_request(const struct mtls_est_client *c, const char *method,
    const char *path, const char *ctype, const char *body, size_t blen,
    char **out, size_t *outlen, struct mtls_error *err)
{
	struct est_url u;
	struct mtls_config *cfg = NULL;
	struct mtls *tls = NULL;
	struct http_buf req = { 0 };
	struct http_parser *hp = NULL;
	struct http_ev ev;
	char *ans = NULL, where[600];
	size_t alen = 0, acap = 0, blen_got = 0;
	int fd = -1, status = 0, ret = -1, timeout = c->timeout_ms > 0 ?
	    c->timeout_ms : EST_TIMEOUT_MS;

	*out = NULL;
	*outlen = 0;
	if (url_parse(c->url, &u, err) == -1)
		return -1;
	snprintf(where, sizeof(where), "https://%s%s%s%s:%s%s%s",
	    strchr(u.host, ':') ? "[" : "", u.host,
	    strchr(u.host, ':') ? "]" : "", "", u.port, u.prefix, path);
	if ((cfg = mtls_config_new()) == NULL) {
		err_set(err, MTLS_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (mtls_config_set_ca_file(cfg, c->ca_file) == -1 ||
	    (c->cert_file != NULL &&
	    mtls_config_set_cert_file(cfg, c->cert_file) == -1) ||
	    (c->key_file != NULL &&
	    mtls_config_set_key_file(cfg, c->key_file, c->key_passphrase) ==
	    -1)) {
		err_set(err, MTLS_ERR_USAGE, "%s", mtls_config_error(cfg));
		goto out;
	}
	mtls_config_disable_resumption(cfg);
	if ((fd = connect_tcp(&u, timeout, err)) == -1)
		goto out;
	if ((tls = mtls_client()) == NULL || mtls_configure(tls, cfg) == -1 ||
	    mtls_connect_socket(tls, fd, u.host) == -1 ||
	    mtls_handshake(tls) != 0) {
		err_set(err, MTLS_ERR_TLS, "%s: %s", where, tls != NULL ?
		    mtls_error(tls) : "out of memory");
		goto out;
	}
	http_buf_printf(&req, "%s %s%s HTTP/1.1\r\nHost: %s%s%s:%s\r\n"
	    "User-Agent: mtls/%s\r\nAccept: */*\r\nConnection: close\r\n",
	    method, u.prefix, path, strchr(u.host, ':') ? "[" : "", u.host,
	    strchr(u.host, ':') ? "]" : "", u.port, MTLS_VERSION_STRING);
	if (c->user != NULL && c->password != NULL) {
		char cred[600], b64[820];
		int n = snprintf(cred, sizeof(cred), "%s:%s", c->user,
		    c->password);
		if (n < 0 || (size_t)n >= sizeof(cred)) {
			err_set(err, MTLS_ERR_USAGE, "the token is too long");
			goto out;
		}
		EVP_EncodeBlock((unsigned char *)b64, (unsigned char *)cred, n);
		http_buf_printf(&req, "Authorization: Basic %s\r\n", b64);
		mtls_cleanse(cred, sizeof(cred));
		mtls_cleanse(b64, sizeof(b64));
	}
	if (body != NULL)
		http_buf_printf(&req, "Content-Type: %s\r\nContent-Length: "
		    "%zu\r\n", ctype, blen);
	http_buf_adds(&req, "\r\n");
	if (body != NULL)
		http_buf_add(&req, body, blen);
	if (req.failed) {
		err_set(err, MTLS_ERR_NOMEM, "out of memory");
		goto out;
	}
	while (http_buf_pending(&req) > 0) {
		ssize_t n = mtls_write(tls, req.data + req.off,
		    http_buf_pending(&req));
		if (n <= 0) {
			err_set(err, MTLS_ERR_IO, "%s: sending the request: %s",
			    where, n == MTLS_WANT_POLLOUT || n ==
			    MTLS_WANT_POLLIN ? "timed out" : mtls_error(tls));
			goto out;
		}
		http_buf_consume(&req, (size_t)n);
	}
	/* Connection: close: the answer is everything until the end. */
	for (;;) {
		ssize_t n;

		if (alen == acap) {
			char *a;
			if (acap >= EST_ANSWER_MAX) {
				err_set(err, MTLS_ERR_PARSE, "%s: the answer is "
				    "larger than %d bytes", where,
				    EST_ANSWER_MAX);
				goto out;
			}
			acap = acap ? acap * 2 : 16384;
			if ((a = realloc(ans, acap)) == NULL) {
				err_set(err, MTLS_ERR_NOMEM, "out of memory");
				goto out;
			}
			ans = a;
		}
		n = mtls_read(tls, ans + alen, acap - alen);
		if (n == 0)
			break;
		if (n < 0) {
			/* A server that closes without close_notify after a
			 * whole answer is common; the framing says. */
			if (alen > 0 && n == -1)
				break;
			err_set(err, MTLS_ERR_IO, "%s: reading the answer: %s",
			    where, n == -1 ? mtls_error(tls) : "timed out");
			goto out;
		}
		alen += (size_t)n;
	}
	if ((hp = http_parser_new(HTTP_KIND_RESPONSE, NULL)) == NULL) {
		err_set(err, MTLS_ERR_NOMEM, "out of memory");
		goto out;
	}
	{
		const char *p = ans;
		size_t left = alen;
		int done = 0;

		while (!done) {
			size_t used = http_parse(hp, p, left, &ev);
			p += used;
			left -= used;
			switch (ev.type) {
			case HTTP_EV_HEAD:
				status = http_parser_head(hp)->status;
				break;
			case HTTP_EV_BODY:
				/* Body bytes are in the answer, after the head:
				 * move them down. */
				memmove(ans + blen_got, ev.data, ev.len);
				blen_got += ev.len;
				break;
			case HTTP_EV_END:
				done = 1;
				break;
			case HTTP_EV_MORE:
				http_parse_eof(hp, &ev);
				if (ev.type == HTTP_EV_ERROR && !(status != 0 &&
				    http_parser_head(hp)->has_length &&
				    blen_got == http_parser_head(hp)->
				    content_length)) {
					err_set(err, MTLS_ERR_PARSE, "%s: the "
					    "answer is cut short", where);
					goto out;
				}
				done = 1;
				break;
			case HTTP_EV_ERROR:
				err_set(err, MTLS_ERR_PARSE, "%s: a malformed "
				    "answer: %s", where, http_parser_error(hp));
				goto out;
			}
		}
	}
	if (status != 200) {
		size_t show = blen_got > 200 ? 200 : blen_got;
		while (show > 0 && (ans[show - 1] == '\n' ||
		    ans[show - 1] == '\r'))
			show--;
		for (size_t i = 0; i < show; i++)
			if ((unsigned char)ans[i] < 0x20 ||
			    (unsigned char)ans[i] >= 0x7f)
				ans[i] = '?';
		err_set(err, status == 401 || status == 403 ?
		    MTLS_ERR_POLICY : MTLS_ERR_IO, "%s: HTTP %d%s%.*s", where,
		    status, show > 0 ? ": " : "", (int)show, ans);
		goto out;
	}
	*out = ans;
	*outlen = blen_got;
	ans = NULL;
	ret = 0;
out:
	if (tls != NULL && ret == 0)
		(void)mtls_close(tls);
	mtls_free(tls);
	mtls_config_free(cfg);
	if (fd != -1)
		close(fd);
	http_parser_free(hp);
	http_buf_free(&req);
	free(ans);
	return ret;
}

int
mtls_est_get(const struct mtls_est_client *c, const char *path, char **body,
    size_t *len, struct mtls_error *err)
{
	if (c == NULL || path == NULL || path[0] != '/')
		return err_set(err, MTLS_ERR_USAGE, "a path starting with /");
	return est_request(c, "GET", path, NULL, NULL, 0, body, len, err);
}

static STACK_OF(X509) *
get_cacerts(const struct mtls_est_client *c, struct mtls_error *err)
{
	char *body = NULL;
	size_t len = 0;
	STACK_OF(X509) *sk;

	if (est_request(c, "GET", "/.well-known/est/cacerts", NULL, NULL, 0,
	    &body, &len, err) == -1)
		return NULL;
	sk = est_p7_decode(body, len, err, "cacerts");
	free(body);
	return sk;
}

struct mtls_cert *
mtls_est_cacerts(const struct mtls_est_client *c, struct mtls_error *err)
{
	struct mtls_cert *out;
	STACK_OF(X509) *sk;

	if ((sk = get_cacerts(c, err)) == NULL)
		return NULL;
	if ((out = calloc(1, sizeof(*out))) == NULL) {
		sk_X509_pop_free(sk, X509_free);
		err_set(err, MTLS_ERR_NOMEM, "out of memory");
		return NULL;
	}
	out->certs = sk;
	return out;
}

/* leaf, then the certificates of cas that issued it, up to (without) a
 * self-signed root. */
static struct mtls_cert *
chain_of(X509 *leaf, STACK_OF(X509) *cas, struct mtls_error *err)
{
	struct mtls_cert *out = calloc(1, sizeof(*out));
	X509 *cur = leaf;

	if (out == NULL || (out->certs = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(out->certs, leaf))
		goto nomem;
	X509_up_ref(leaf);
	for (int depth = 0; depth < 8; depth++) {
		X509 *next = NULL;
		for (int i = 0; i < sk_X509_num(cas); i++) {
			X509 *x = sk_X509_value(cas, i);
			if (X509_check_issued(x, cur) == X509_V_OK) {
				next = x;
				break;
			}
		}
		if (next == NULL || (X509_get_extension_flags(next) &
		    EXFLAG_SS))
			break;
		if (!sk_X509_push(out->certs, next))
			goto nomem;
		X509_up_ref(next);
		cur = next;
	}
	ERR_clear_error();
	return out;
nomem:
	mtls_cert_free(out);
	err_set(err, MTLS_ERR_NOMEM, "out of memory");
	return NULL;
}

struct mtls_cert *
mtls_est_enroll(const struct mtls_est_client *c, const struct mtls_csr *csr,
    int reenroll, struct mtls_error *err)
{
	unsigned char *der = NULL;
	char *b64 = NULL, *body = NULL;
	size_t len = 0, blen = 0;
	STACK_OF(X509) *got = NULL, *cas = NULL;
	struct mtls_cert *out = NULL;
	X509 *leaf = NULL;
	int n;

	if (c == NULL || csr == NULL || csr->req == NULL) {
		err_set(err, MTLS_ERR_USAGE, "no CSR given");
		return NULL;
	}
	if ((n = i2d_X509_REQ(csr->req, &der)) <= 0) {
		err_set_ssl(err, MTLS_ERR_CRYPTO, "cannot encode the CSR");
		return NULL;
	}
	/* RFC 7030 4.2.1: base64 of the DER request. */
	if ((b64 = malloc((size_t)n / 3 * 4 + 8)) == NULL) {
		err_set(err, MTLS_ERR_NOMEM, "out of memory");
		goto out;
	}
	blen = (size_t)EVP_EncodeBlock((unsigned char *)b64, der, n);
	if (est_request(c, "POST", reenroll ?
	    "/.well-known/est/simplereenroll" : "/.well-known/est/simpleenroll",
	    "application/pkcs10", b64, blen, &body, &len, err) == -1)
		goto out;
	if ((got = est_p7_decode(body, len, err, reenroll ? "simplereenroll" :
	    "simpleenroll")) == NULL)
		goto out;
	/* The certificate for our key, whatever else the answer holds. */
	for (int i = 0; i < sk_X509_num(got); i++) {
		X509 *x = sk_X509_value(got, i);
		if (EVP_PKEY_eq(X509_get0_pubkey(x),
		    X509_REQ_get0_pubkey(csr->req)) == 1) {
			leaf = x;
			break;
		}
	}
	ERR_clear_error();
	if (leaf == NULL) {
		err_set(err, MTLS_ERR_VERIFY, "%s: the answer holds no "
		    "certificate for the requested key", c->url);
		goto out;
	}
	if ((cas = get_cacerts(c, err)) == NULL)
		goto out;
	out = chain_of(leaf, cas, err);
out:
	sk_X509_pop_free(got, X509_free);
	sk_X509_pop_free(cas, X509_free);
	OPENSSL_free(der);
	free(b64);
	free(body);
	return out;
}

/* A new key of the type of old. */
static struct mtls_key *
key_like(EVP_PKEY *old, struct mtls_error *err)
{
	enum mtls_key_type t = MTLS_KEY_EC_P256;
	char group[64];
	size_t glen = 0;

	if (EVP_PKEY_is_a(old, "RSA")) {
		int bits = EVP_PKEY_get_bits(old);
		t = bits >= 4096 ? MTLS_KEY_RSA_4096 : bits >= 3072 ?
		    MTLS_KEY_RSA_3072 : MTLS_KEY_RSA_2048;
	} else if (EVP_PKEY_is_a(old, "ED25519")) {
		t = MTLS_KEY_ED25519;
	} else if (EVP_PKEY_get_utf8_string_param(old, "group", group,
	    sizeof(group), &glen) && strcmp(group, "secp384r1") == 0) {
		t = MTLS_KEY_EC_P384;
	}
	return mtls_key_generate(t, err);
}

int
mtls_est_renew_files(const struct mtls_est_client *c, const char *cert_file,
    const char *key_file, int rekey, time_t *not_before, time_t *not_after,
    struct mtls_error *err)
{
	struct mtls_est_client cc;
	struct mtls_cert *cur = NULL, *got = NULL;
	struct mtls_key *key = NULL, *newkey = NULL;
	struct mtls_csr csr = { NULL };
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_EXTENSION *san;
	X509 *leaf;
	int i, ret = -1;

	if ((cur = mtls_cert_load_file(cert_file, err)) == NULL ||
	    (key = mtls_key_load_file(key_file, c->key_passphrase, err)) ==
	    NULL ||
	    mtls_cert_check_key(cur, key, err) == -1)
		goto out;
	leaf = sk_X509_value(cur->certs, 0);
	if (rekey && (newkey = key_like(key->pkey, err)) == NULL)
		goto out;
	/* RFC 7030 4.2.2: the subject and SANs of the certificate as they
	 * are. */
	if ((csr.req = X509_REQ_new()) == NULL ||
	    !X509_REQ_set_version(csr.req, 0) ||
	    !X509_REQ_set_subject_name(csr.req, X509_get_subject_name(leaf)) ||
	    !X509_REQ_set_pubkey(csr.req, (newkey != NULL ? newkey : key)->
	    pkey))
		goto ssl_fail;
	if ((i = X509_get_ext_by_NID(leaf, NID_subject_alt_name, -1)) >= 0) {
		san = X509_get_ext(leaf, i);
		if ((exts = sk_X509_EXTENSION_new_null()) == NULL ||
		    !sk_X509_EXTENSION_push(exts, san) ||
		    !X509_REQ_add_extensions(csr.req, exts))
			goto ssl_fail;
	}
	if (pki_sign_req(csr.req, (newkey != NULL ? newkey : key)->pkey) == -1)
		goto ssl_fail;
	cc = *c;
	cc.cert_file = cert_file;
	cc.key_file = key_file;
	cc.user = cc.password = NULL;
	if ((got = mtls_est_enroll(&cc, &csr, 1, err)) == NULL)
		goto out;
	/* The key first: a certificate without its key is useless, a key
	 * ahead of its certificate is replaced at the next renewal. */
	if (newkey != NULL && mtls_key_write_file(newkey, key_file,
	    c->key_passphrase, MTLS_WRITE_FORCE, err) == -1)
		goto out;
	if (mtls_cert_write_file(got, cert_file, MTLS_WRITE_FORCE, err) == -1)
		goto out;
	leaf = sk_X509_value(got->certs, 0);
	if (not_before != NULL)
		(void)x509_time(X509_get0_notBefore(leaf), not_before);
	if (not_after != NULL)
		(void)x509_time(X509_get0_notAfter(leaf), not_after);
	ret = 0;
	goto out;
ssl_fail:
	err_set_ssl(err, MTLS_ERR_CRYPTO, "%s: cannot make the renewal "
	    "request", cert_file);
out:
	sk_X509_EXTENSION_free(exts);
	X509_REQ_free(csr.req);
	mtls_cert_free(cur);
	mtls_cert_free(got);
	mtls_key_free(key);
	mtls_key_free(newkey);
	return ret;
}
