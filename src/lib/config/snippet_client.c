/*
 * snippet_client.c - mtls config curl|requests|openssl: the client side
 * of a mutual-TLS connection, as the line or the code a user runs, with
 * the server's CA as the only trust anchor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/snippet.h"

/*
 * curl's own options (curl(1)), for the command line we print for the user
 * to run.  They are output, not options of ours: the table keeps them apart
 * from the library's messages, which never name a command-line option.
 */
enum { CURL_CERT, CURL_KEY, CURL_CACERT };
static const char *const curl_option[] = {
	[CURL_CERT] = "cert",
	[CURL_KEY] = "key",
	[CURL_CACERT] = "cacert",
};

/* s quoted for a POSIX shell when it needs quoting, in buf. */
static const char *
shell_word(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	if (*s != '\0' && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == strlen(s)) {
		snprintf(buf, len, "%s", s);
		return buf;
	}
	if (len < 3)
		return "''";
	buf[n++] = '\'';
	for (; *s != '\0' && n + 6 < len; s++) {
		if (*s == '\'') {
			memcpy(buf + n, "'\\''", 4);
			n += 4;
		} else {
			buf[n++] = *s;
		}
	}
	buf[n++] = '\'';
	buf[n] = '\0';
	return buf;
}

/* s as a Python string literal (repr of a str) in buf. */
static const char *
python_str(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	buf[n++] = '"';
	for (; *s != '\0' && n + 6 < len; s++) {
		if (*s == '"' || *s == '\\')
			buf[n++] = '\\';
		buf[n++] = *s;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

/* HOST:PORT of an https:// URL (port 443 by default), for s_client. */
static int
url_hostport(const char *url, char *host, size_t hlen, char *hostport,
    size_t hplen)
{
	const char *p, *end, *colon;
	size_t n;

	if (strncmp(url, "https://", 8) != 0)
		return -1;
	p = url + 8;
	end = p + strcspn(p, "/?#");
	if (end == p || (size_t)(end - p) >= hlen)
		return -1;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (rb == NULL)
			return -1;
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		n = (size_t)(rb - p - 1);
		memcpy(host, p + 1, n);
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		n = (size_t)((colon != NULL ? colon : end) - p);
		memcpy(host, p, n);
	}
	host[n] = '\0';
	if (colon != NULL)
		snprintf(hostport, hplen, "%.*s", (int)(end - p), p);
	else
		snprintf(hostport, hplen, "%.*s:443", (int)(end - p), p);
	return 0;
}

int
snippet_client(struct mtls_snippet *s, enum mtls_software sw,
    const struct mtls_snippet_options *opt, struct mtls_error *err)
{
	const char *url = opt->url != NULL ? opt->url :
	    "https://localhost:8443/";
	const char *cert, *key, *ca;
	char host[256], hostport[300], a[1100], b[1100], c[1100], u[1100];
	char h[600], hp[700];

	if (url_hostport(url, host, sizeof(host), hostport,
	    sizeof(hostport)) != 0 || strpbrk(url, " \t\r\n'\"\\") != NULL)
		return err_set(err, MTLS_ERR_USAGE, "URL '%s': not "
		    "https://HOST[:PORT]/PATH", url);
	if ((cert = snippet_file(s, "client certificate", opt->cert_file,
	    0, err)) == NULL ||
	    (key = snippet_file(s, "client key", opt->key_file, 0,
	    err)) == NULL ||
	    (ca = snippet_file(s, "server CA", opt->ca_file, 0,
	    err)) == NULL)
		return -1;

	switch (sw) {
	case MTLS_SOFTWARE_CURL:
		snippet_line(s, "curl --%s %s --%s %s --%s %s %s",
		    curl_option[CURL_CERT], shell_word(cert, a, sizeof(a)),
		    curl_option[CURL_KEY], shell_word(key, b, sizeof(b)),
		    curl_option[CURL_CACERT], shell_word(ca, c, sizeof(c)),
		    shell_word(url, u, sizeof(u)));
		break;
	case MTLS_SOFTWARE_REQUESTS:
		snippet_line(s, "import requests");
		snippet_line(s, "%s", "");
		snippet_line(s, "# cert: the client certificate and its key; "
		    "verify: the only CA trusted for the server.");
		snippet_line(s, "r = requests.get(%s,", python_str(url, u,
		    sizeof(u)));
		snippet_line(s, "                 cert=(%s, %s),",
		    python_str(cert, a, sizeof(a)), python_str(key, b,
		    sizeof(b)));
		snippet_line(s, "                 verify=%s)", python_str(ca, c,
		    sizeof(c)));
		snippet_line(s, "print(r.status_code, r.text)");
		break;
	case MTLS_SOFTWARE_OPENSSL:
		snippet_line(s, "openssl s_client -connect %s -servername %s "
		    "-cert %s -key %s -CAfile %s -verify_return_error "
		    "-verify_hostname %s", shell_word(hostport, hp, sizeof(hp)),
		    shell_word(host, h, sizeof(h)), shell_word(cert, a,
		    sizeof(a)), shell_word(key, b, sizeof(b)),
		    shell_word(ca, c, sizeof(c)), h);
		break;
	default:
		return err_set(err, MTLS_ERR_USAGE, "not a client");
	}
	return 0;
}
