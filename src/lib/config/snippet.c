/*
 * snippet.c - mtls config for the servers people already run: a complete,
 * minimal nginx, Apache httpd or HAProxy configuration for mutual TLS,
 * computed from the files rather than copied from a guide.  The verify
 * depth comes from the chain the CA file forms, a CRL file must cover
 * every CA of it (the three servers check the whole chain and fail closed
 * otherwise), identity headers replace whatever the client sent, and
 * access rules become the server's own map, Require or ACL lines, or a
 * comment when the server cannot express them (those clients are then
 * refused, never let through).  Each line that is not obvious has a
 * one-line comment saying why it is there.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/ca_set.h"
#include "config/snippet.h"
#include "doctor/doctor.h"
#include "tools/mtls_tools.h"
#include "x509/inspect.h"

static const char *const software_names[] = {
	[MTLS_SOFTWARE_GUESS] = "guess",
	[MTLS_SOFTWARE_NGINX] = "nginx",
	[MTLS_SOFTWARE_APACHE] = "apache",
	[MTLS_SOFTWARE_HAPROXY] = "haproxy",
	[MTLS_SOFTWARE_CURL] = "curl",
	[MTLS_SOFTWARE_REQUESTS] = "requests",
	[MTLS_SOFTWARE_OPENSSL] = "openssl",
};

int
mtls_software_parse(const char *name, enum mtls_software *sw)
{
	for (size_t i = 1; name != NULL && i < nitems(software_names); i++) {
		if (strcmp(name, software_names[i]) == 0) {
			*sw = (enum mtls_software)i;
			return 0;
		}
	}
	if (name != NULL && (strcmp(name, "httpd") == 0 ||
	    strcmp(name, "apache2") == 0)) {
		*sw = MTLS_SOFTWARE_APACHE;
		return 0;
	}
	return -1;
}

const char *
mtls_software_name(enum mtls_software sw)
{
	return (size_t)sw < nitems(software_names) ? software_names[sw] :
	    "unknown";
}

/* ------------------------------------------------------------------ */
/* The builder                                                        */
/* ------------------------------------------------------------------ */

void
snippet_line(struct mtls_snippet *s, const char *fmt, ...)
{
	va_list ap;
	char *line;

	if (s->oom)
		return;
	if (s->nlines == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		char **l = realloc(s->lines, cap * sizeof(*l));
		if (l == NULL) {
			s->oom = 1;
			return;
		}
		s->lines = l;
		s->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) == -1) {
		s->oom = 1;
		line = NULL;
	}
	va_end(ap);
	if (line != NULL)
		s->lines[s->nlines++] = line;
}

const char *
snippet_file(struct mtls_snippet *s, const char *role, const char *path,
    int absolute, struct mtls_error *err)
{
	char *abs;

	if (path == NULL || *path == '\0') {
		err_set(err, MTLS_ERR_USAGE, "no %s file given", role);
		return NULL;
	}
	if ((abs = realpath(path, NULL)) == NULL) {
		err_set(err, errno == ENOENT ? MTLS_ERR_NOT_FOUND : MTLS_ERR_IO,
		    "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!absolute) {
		free(abs);
		if ((abs = strdup(path)) == NULL) {
			err_set(err, MTLS_ERR_NOMEM, "out of memory");
			return NULL;
		}
	}
	/* Quotes, backslashes, control characters and the servers' variable
	 * markers cannot be written safely in all three languages. */
	for (const char *p = abs; *p; p++) {
		if (*p == '"' || *p == '\'' || *p == '\\' || *p == '$' ||
		    *p == '%' || *p == '{' || *p == '}' || *p == ';' ||
		    *p == '#' || iscntrl((unsigned char)*p)) {
			err_set(err, MTLS_ERR_USAGE, "%s: the path holds '%c', "
			    "which a server configuration cannot carry "
			    "safely; move the file", abs, *p);
			free(abs);
			return NULL;
		}
	}
	if (s->nfiles == nitems(s->files)) {
		free(abs);
		err_set(err, MTLS_ERR_USAGE, "too many files");
		return NULL;
	}
	s->files[s->nfiles].role = strdup(role);
	s->files[s->nfiles].path = abs;
	if (s->files[s->nfiles].role == NULL)
		s->oom = 1;
	s->nfiles++;
	return abs;
}

int
snippet_finish(struct mtls_snippet *s, struct mtls_error *err)
{
	size_t len = 1;
	char *o;

	for (size_t i = 0; i < s->nlines; i++)
		len += strlen(s->lines[i]) + 1;
	if (s->oom || (s->text = malloc(len)) == NULL)
		return err_set(err, MTLS_ERR_NOMEM, "out of memory");
	o = s->text;
	for (size_t i = 0; i < s->nlines; i++) {
		size_t n = strlen(s->lines[i]);
		memcpy(o, s->lines[i], n);
		o += n;
		*o++ = '\n';
	}
	*o = '\0';
	return 0;
}

/* ------------------------------------------------------------------ */
/* What every server target needs                                     */
/* ------------------------------------------------------------------ */

struct facts {
	const struct mtls_snippet_options *opt;
	const char *cert, *key, *ca, *crl;  /* absolute */
	const char *name;
	char host[256], port[8];            /* where to listen; host may be "" */
	char bhost[256], bport[8];          /* the backend */
	struct ca_set cas;
	char chain[1024];
	int nrules_ok;                      /* rules the server can express */
};

/*
 * "PORT", "HOST:PORT" or "[IPv6]:PORT" (the one parser, core/hostport.c)
 * into host, an IPv6 address in brackets as configurations write it, and
 * port.  The host is written into configuration files: only the
 * characters of names and addresses.
 */
static int
split_hostport(const char *s, char *host, size_t hlen, char *port,
    size_t plen)
{
	char buf[300], h[256], why[300];
	unsigned p;
	int n;

	if (strchr(s, ':') == NULL) {
		snprintf(buf, sizeof(buf), ":%s", s);
		s = buf;
	}
	if (mtls_hostport_parse(s, MTLS_HOSTPORT_EMPTY_HOST, h, sizeof(h), &p,
	    why, sizeof(why)) != 0)
		return -1;
	if (strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-:*") != strlen(h))
		return -1;
	if (strchr(h, ':') != NULL)
		n = snprintf(host, hlen, "[%s]", h);
	else
		n = snprintf(host, hlen, "%s", h);
	if (n < 0 || (size_t)n >= hlen)
		return -1;
	snprintf(port, plen, "%u", p);
	return 0;
}

static int
gather(struct facts *f, struct mtls_snippet *s,
    const struct mtls_snippet_options *opt, const char *server,
    struct mtls_error *err)
{
	const char *listen = opt->listen != NULL ? opt->listen : "8443";
	const char *backend = opt->backend != NULL ? opt->backend :
	    "http://127.0.0.1:8080";
	struct x509_objects o;
	const char *rest;
	char bhp[300];
	size_t n;

	memset(f, 0, sizeof(*f));
	f->opt = opt;
	f->name = opt->server_name != NULL ? opt->server_name : "localhost";
	if (strspn(f->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
	    "WXYZ0123456789.-*") != strlen(f->name) || *f->name == '\0')
		return err_set(err, MTLS_ERR_USAGE, "server name '%s': only "
		    "letters, digits, '.', '-' and '*'", f->name);
	if (split_hostport(listen, f->host, sizeof(f->host), f->port,
	    sizeof(f->port)) != 0)
		return err_set(err, MTLS_ERR_USAGE, "listen address '%s': not "
		    "PORT, HOST:PORT or [IPv6]:PORT", listen);
	if (strncmp(backend, "http://", 7) != 0)
		return err_set(err, MTLS_ERR_USAGE, "backend '%s': not "
		    "http://HOST:PORT (the backend speaks plain HTTP)",
		    backend);
	rest = backend + 7;
	n = strcspn(rest, "/");
	if (n >= sizeof(bhp) || (rest[n] != '\0' && strcmp(rest + n, "/") !=
	    0))
		return err_set(err, MTLS_ERR_USAGE, "backend '%s': give "
		    "http://HOST:PORT, without a path", backend);
	memcpy(bhp, rest, n);
	bhp[n] = '\0';
	if (split_hostport(bhp, f->bhost, sizeof(f->bhost), f->bport,
	    sizeof(f->bport)) != 0 ||
	    f->bhost[0] == '\0')
		return err_set(err, MTLS_ERR_USAGE, "backend '%s': not "
		    "http://HOST:PORT", backend);
	if (f->bport[0] == '\0')
		return err_set(err, MTLS_ERR_USAGE, "backend '%s': give the "
		    "port (http://HOST:PORT)", backend);

	if ((f->cert = snippet_file(s, "certificate", opt->cert_file,
	    1, err)) == NULL ||
	    (f->key = snippet_file(s, "key", opt->key_file, 1, err)) == NULL ||
	    (f->ca = snippet_file(s, "client CA", opt->ca_file, 1, err)) == NULL)
		return -1;
	if (opt->crl_file != NULL &&
	    (f->crl = snippet_file(s, "CRL", opt->crl_file, 1, err)) == NULL)
		return -1;
	if (ca_set_add_file(&f->cas, f->ca, err) != 0)
		return -1;
	ca_set_analyse(&f->cas);
	if (f->cas.longest == 0)
		return err_set(err, MTLS_ERR_PARSE, "%s: holds no CA "
		    "certificate, so it cannot verify clients", f->ca);
	ca_set_chain_text(&f->cas, f->chain, sizeof(f->chain));
	if (f->crl == NULL)
		return 0;

	/* The three servers check a CRL for every CA of the chain once a
	 * CRL file is given: one missing or expired refuses every client. */
	memset(&o, 0, sizeof(o));
	if (x509_objects_read_file(f->crl, &o, err) != 0)
		return -1;
	int ret = 0;
	X509 *missing = ca_set_without_crl(&f->cas, o.crls, 0);
	time_t now = opt->now != 0 ? opt->now : time(NULL);
	char name[256], when[64];
	if (o.crls == NULL || sk_X509_CRL_num(o.crls) == 0) {
		ret = err_set(err, MTLS_ERR_PARSE, "%s: no CRL found", f->crl);
	} else if (missing != NULL) {
		ret = err_set(err, MTLS_ERR_NOT_FOUND, "%s holds no CRL of the "
		    "CA %s, and %s checks a CRL for every CA of the chain, so "
		    "every client would be refused: add that CA's CRL (mtls "
		    "ca crl) to the file", f->crl,
		    doctor_cert_name(missing, name, sizeof(name)), server);
	} else {
		for (int i = 0; i < sk_X509_num(f->cas.cas); i++) {
			X509 *ca = sk_X509_value(f->cas.cas, i);
			X509_CRL *c = crl_of(o.crls, ca);
			const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(c);
			if (nu != NULL && asn1_time(nu) < now) {
				ret = err_set(err, MTLS_ERR_VERIFY, "%s: the "
				    "CRL of %s expired on %s, and %s would "
				    "refuse every client: publish a fresh one",
				    f->crl, doctor_cert_name(ca, name,
				    sizeof(name)), date_text(asn1_time(nu), when,
				    sizeof(when)), server);
				break;
			}
		}
	}
	x509_objects_clear(&o);
	return ret;
}

/* A rule value that can be written in a regular expression, a quoted
 * string and an ACL pattern of all three languages without escaping. */
static int
plain_value(const char *v)
{
	return *v != '\0' && strspn(v, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._@-") == strlen(v) &&
	    v[0] != ' ' && v[strlen(v) - 1] != ' ';
}

static const char *
rule_name(enum mtls_rule_kind k)
{
	switch (k) {
	case MTLS_ALLOW_ANY: return "any";
	case MTLS_ALLOW_CN: return "CN";
	case MTLS_ALLOW_DNS: return "DNS SAN";
	case MTLS_ALLOW_URI: return "URI SAN";
	case MTLS_ALLOW_OU: return "OU";
	case MTLS_ALLOW_FINGERPRINT: return "fingerprint";
	case MTLS_ALLOW_EMAIL: return "e-mail SAN";
	}
	return "?";
}

/* 1 when one of the rules is "any": no access rule lines at all. */
static int
rules_allow_any(const struct mtls_snippet_options *opt)
{
	if (opt->nrules == 0)
		return 1;
	for (size_t i = 0; i < opt->nrules; i++)
		if (opt->rules[i].kind == MTLS_ALLOW_ANY)
			return 1;
	return 0;
}

/* "sha256:AB:CD..." or "ABCD..." as 64 lowercase hex digits in out. */
static int
fingerprint_hex(const char *v, char out[65])
{
	size_t n = 0;

	if (strncasecmp(v, "sha256:", 7) == 0)
		v += 7;
	for (; *v; v++) {
		if (*v == ':')
			continue;
		if (!isxdigit((unsigned char)*v) || n == 64)
			return -1;
		out[n++] = (char)tolower((unsigned char)*v);
	}
	out[n] = '\0';
	return n == 64 ? 0 : -1;
}

/* The header comment every server snippet starts with. */
static void
preamble(struct mtls_snippet *s, const struct facts *f, const char *what,
    const char *where)
{
	snippet_line(s, "# mutual TLS for %s, made by mtls config from %s.",
	    what, f->ca);
	snippet_line(s, "# %s", where);
	snippet_line(s, "# Client CA chain: %s.", f->chain);
}

/* ------------------------------------------------------------------ */
/* nginx                                                              */
/* ------------------------------------------------------------------ */

static void
nginx_rules(struct mtls_snippet *s, struct facts *f, const char *var)
{
	const struct mtls_snippet_options *o = f->opt;

	snippet_line(s, "# Access rules: $%s is 1 for a client they allow, "
	    "else 0 (refused below).", var);
	snippet_line(s, "map $ssl_client_s_dn $%s {", var);
	snippet_line(s, "    default 0;");
	for (size_t i = 0; i < o->nrules; i++) {
		const char *v = o->rules[i].value;
		const char *attr = o->rules[i].kind == MTLS_ALLOW_CN ? "CN" :
		    o->rules[i].kind == MTLS_ALLOW_OU ? "OU" : NULL;
		if (attr != NULL && plain_value(v)) {
			char re[512];
			size_t n = 0;
			for (const char *p = v; *p && n + 3 < sizeof(re); p++) {
				if (*p == '.')
					re[n++] = '\\';
				re[n++] = *p;
			}
			re[n] = '\0';
			/* RFC 2253 escapes a comma inside a value
			 * ("CN=x\,CN=alice"): only an unescaped one
			 * starts the attribute. */
			snippet_line(s, "    \"~(^|[^\\\\\\\\],)%s=%s(,|$)\" 1;",
			    attr, re);
			f->nrules_ok++;
		} else {
			snippet_line(s, "    # %s %s: nginx has no variable for "
			    "it, so these clients are refused.",
			    rule_name(o->rules[i].kind), v);
		}
	}
	snippet_line(s, "}");
}

static void
nginx_headers(struct mtls_snippet *s)
{
	snippet_line(s, "        # The verified identity; proxy_set_header "
	    "replaces any copy the client sent.");
	snippet_line(s, "        proxy_set_header X-SSL-Client-Verify "
	    "$ssl_client_verify;");
	snippet_line(s, "        proxy_set_header X-SSL-Client-Subject "
	    "$ssl_client_s_dn;");
	snippet_line(s, "        proxy_set_header X-SSL-Client-Issuer "
	    "$ssl_client_i_dn;");
	snippet_line(s, "        # Spellings with '_' never reach the backend: "
	    "nginx drops them (underscores_in_headers off).");
}

static int
make_nginx(struct mtls_snippet *s, const struct mtls_snippet_options *opt,
    struct mtls_error *err)
{
	struct facts f;
	char var[64];
	int any, depth, ret = -1;

	if (gather(&f, s, opt, "nginx", err) != 0)
		goto out;
	any = rules_allow_any(opt);
	snprintf(var, sizeof(var), "mtls_allowed_%s", f.port);
	preamble(s, &f, "nginx",
	    "Paste it inside http { }; nginx -t checks it.");
	if (!any)
		nginx_rules(s, &f, var);
	snippet_line(s, "server {");
	snippet_line(s, "    listen %s%s%s ssl;", f.host, f.host[0] ? ":" : "",
	    f.port);
	snippet_line(s, "    server_name %s;", f.name);
	snippet_line(s, "    # The server's certificate (leaf, then its "
	    "intermediates) and key.");
	snippet_line(s, "    ssl_certificate \"%s\";", f.cert);
	snippet_line(s, "    ssl_certificate_key \"%s\";", f.key);
	snippet_line(s, "    # TLS 1.2 at least: 1.0 and 1.1 are deprecated "
	    "(RFC 8996).");
	snippet_line(s, "    ssl_protocols TLSv1.2 TLSv1.3;");
	snippet_line(s, "    # Every client must present a certificate; nginx "
	    "answers 400 (not a TLS alert) otherwise.");
	snippet_line(s, "    ssl_verify_client on;");
	snippet_line(s, "    # The CAs that issue client certificates; their "
	    "names go into the CertificateRequest.");
	snippet_line(s, "    ssl_client_certificate \"%s\";", f.ca);
	/* OpenSSL's depth counts the CAs between the leaf and the trust
	 * anchor: leaf <- one intermediate <- root is depth 1. */
	depth = f.cas.longest - 1 > 1 ? f.cas.longest - 1 : 1;
	snippet_line(s, "    # %d intermediate CA%s between client and root "
	    "(%s); OpenSSL counts those.", f.cas.longest - 1,
	    f.cas.longest - 1 == 1 ? "" : "s", f.chain);
	snippet_line(s, "    ssl_verify_depth %d;", depth);
	if (f.crl != NULL) {
		snippet_line(s, "    # Revocation: nginx checks a CRL for every "
		    "CA of the chain (each one is in this file).");
		snippet_line(s, "    ssl_crl \"%s\";", f.crl);
	} else {
		snippet_line(s, "    # No CRL given: a revoked client "
		    "certificate gets in until it expires.");
	}
	if (!any) {
		if (f.nrules_ok == 0)
			snippet_line(s, "    # No rule could be expressed in "
			    "nginx: every client is refused.");
		snippet_line(s, "    # Refuse the clients no access rule "
		    "allows.");
		snippet_line(s, "    if ($%s = 0) { return 403; }", var);
	} else {
		snippet_line(s, "    # No access rule: every client certificate "
		    "these CAs issued gets in.");
	}
	snippet_line(s, "    location / {");
	snippet_line(s, "        proxy_pass http://%s:%s;", f.bhost, f.bport);
	if (opt->identity_headers)
		nginx_headers(s);
	snippet_line(s, "    }");
	snippet_line(s, "}");
	ret = 0;
out:
	ca_set_clear(&f.cas);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Apache httpd                                                       */
/* ------------------------------------------------------------------ */

static const char *const identity_names[] = {
	"X-SSL-Client-Verify", "X-SSL-Client-Subject", "X-SSL-Client-Issuer",
};

/* "X_SSL_Client_Verify": the spelling some backends (CGI, WSGI) cannot
 * tell from the real one. */
static void
underscored(const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s", name);
	for (char *p = out; *p; p++)
		if (*p == '-')
			*p = '_';
}

static void
apache_rules(struct mtls_snippet *s, struct facts *f)
{
	const struct mtls_snippet_options *o = f->opt;

	snippet_line(s, "    <Location \"/\">");
	snippet_line(s, "        # Access rules: any one of them lets a "
	    "client in; the others get 403.");
	snippet_line(s, "        <RequireAny>");
	for (size_t i = 0; i < o->nrules; i++) {
		const char *v = o->rules[i].value;
		const char *var = o->rules[i].kind == MTLS_ALLOW_CN ?
		    "SSL_CLIENT_S_DN_CN" : o->rules[i].kind == MTLS_ALLOW_OU ?
		    "SSL_CLIENT_S_DN_OU" : NULL;
		if (var != NULL && plain_value(v)) {
			snippet_line(s, "            Require expr \"%%{%s} == "
			    "'%s'\"", var, v);
			f->nrules_ok++;
		} else {
			snippet_line(s, "            # %s %s: mod_ssl has no "
			    "single variable for it, so these clients are "
			    "refused.", rule_name(o->rules[i].kind), v);
		}
	}
	if (f->nrules_ok == 0)
		snippet_line(s, "            Require all denied");
	snippet_line(s, "        </RequireAny>");
	snippet_line(s, "    </Location>");
}

static void
apache_headers(struct mtls_snippet *s)
{
	static const char *const vars[] = {
		"SSL_CLIENT_VERIFY", "SSL_CLIENT_S_DN", "SSL_CLIENT_I_DN",
	};
	char u[64];

	snippet_line(s, "    # The verified identity: the client's own copies "
	    "(either spelling) go first.");
	for (size_t i = 0; i < nitems(identity_names); i++) {
		underscored(identity_names[i], u, sizeof(u));
		snippet_line(s, "    RequestHeader unset %s early",
		    identity_names[i]);
		snippet_line(s, "    RequestHeader unset %s early", u);
	}
	for (size_t i = 0; i < nitems(identity_names); i++)
		snippet_line(s, "    RequestHeader set %s \"%%{%s}s\"",
		    identity_names[i], vars[i]);
}

static int
make_apache(struct mtls_snippet *s, const struct mtls_snippet_options *opt,
    struct mtls_error *err)
{
	struct facts f;
	int ret = -1;

	if (gather(&f, s, opt, "Apache httpd", err) != 0)
		goto out;
	preamble(s, &f, "Apache httpd", "Needs mod_ssl, mod_headers, "
	    "mod_proxy and mod_proxy_http (a2enmod ssl headers proxy_http).");
	snippet_line(s, "# Drop this Listen line if ports.conf already "
	    "listens there.");
	snippet_line(s, "Listen %s%s%s", f.host, f.host[0] ? ":" : "", f.port);
	snippet_line(s, "<VirtualHost %s:%s>", f.host[0] ? f.host : "*",
	    f.port);
	snippet_line(s, "    ServerName %s", f.name);
	snippet_line(s, "    SSLEngine on");
	snippet_line(s, "    # The server's certificate (leaf, then its "
	    "intermediates) and key.");
	snippet_line(s, "    SSLCertificateFile \"%s\"", f.cert);
	snippet_line(s, "    SSLCertificateKeyFile \"%s\"", f.key);
	snippet_line(s, "    # TLS 1.2 at least: 1.0 and 1.1 are deprecated "
	    "(RFC 8996).");
	snippet_line(s, "    SSLProtocol -all +TLSv1.2 +TLSv1.3");
	snippet_line(s, "    # Here, for the whole host: in a <Location> it "
	    "would need renegotiation or post-handshake auth.");
	snippet_line(s, "    SSLVerifyClient require");
	snippet_line(s, "    # The CAs that issue client certificates; their "
	    "names go into the CertificateRequest.");
	snippet_line(s, "    SSLCACertificateFile \"%s\"", f.ca);
	snippet_line(s, "    # mod_ssl counts every CA up to the root (%s).",
	    f.chain);
	snippet_line(s, "    SSLVerifyDepth %d", f.cas.longest);
	if (f.crl != NULL) {
		snippet_line(s, "    # Revocation, for every CA of the chain "
		    "(the default, none, checks nothing).");
		snippet_line(s, "    SSLCARevocationFile \"%s\"", f.crl);
		snippet_line(s, "    SSLCARevocationCheck chain");
	} else {
		snippet_line(s, "    # No CRL given: a revoked client "
		    "certificate gets in until it expires.");
	}
	if (opt->identity_headers)
		apache_headers(s);
	if (!rules_allow_any(opt))
		apache_rules(s, &f);
	else
		snippet_line(s, "    # No access rule: every client "
		    "certificate these CAs issued gets in.");
	snippet_line(s, "    ProxyPass \"/\" \"http://%s:%s/\"", f.bhost,
	    f.bport);
	snippet_line(s, "    ProxyPassReverse \"/\" \"http://%s:%s/\"",
	    f.bhost, f.bport);
	snippet_line(s, "</VirtualHost>");
	ret = 0;
out:
	ca_set_clear(&f.cas);
	return ret;
}

/* ------------------------------------------------------------------ */
/* HAProxy                                                            */
/* ------------------------------------------------------------------ */

static int
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void
haproxy_rules(struct mtls_snippet *s, struct facts *f)
{
	const struct mtls_snippet_options *o = f->opt;
	char hex[65];

	snippet_line(s, "    # Access rules: lines with the same ACL name are "
	    "alternatives.");
	for (size_t i = 0; i < o->nrules; i++) {
		const char *v = o->rules[i].value;
		enum mtls_rule_kind k = o->rules[i].kind;
		if ((k == MTLS_ALLOW_CN || k == MTLS_ALLOW_OU) &&
		    plain_value(v) && strchr(v, ' ') == NULL) {
			snippet_line(s, "    acl mtls_allowed ssl_c_s_dn(%s) -m "
			    "str %s", k == MTLS_ALLOW_CN ? "CN" : "OU", v);
			f->nrules_ok++;
		} else if (k == MTLS_ALLOW_FINGERPRINT &&
		    fingerprint_hex(v, hex) == 0) {
			snippet_line(s, "    acl mtls_allowed ssl_c_der,digest("
			    "sha256),hex -m str -i %s", hex);
			f->nrules_ok++;
		} else {
			snippet_line(s, "    # %s %s: no HAProxy fetch matches "
			    "it, so these clients are refused.", rule_name(k),
			    v);
		}
	}
	if (f->nrules_ok > 0)
		snippet_line(s, "    http-request deny deny_status 403 unless "
		    "mtls_allowed");
	else
		snippet_line(s, "    http-request deny deny_status 403");
}

static void
haproxy_headers(struct mtls_snippet *s)
{
	static const char *const fetch[] = {
		"SUCCESS", "%[ssl_c_s_dn(,0,rfc2253)]",
		"%[ssl_c_i_dn(,0,rfc2253)]",
	};
	char u[64];

	snippet_line(s, "    # The verified identity: the client's own copies "
	    "(either spelling) go first.");
	for (size_t i = 0; i < nitems(identity_names); i++) {
		underscored(identity_names[i], u, sizeof(u));
		snippet_line(s, "    http-request del-header %s",
		    identity_names[i]);
		snippet_line(s, "    http-request del-header %s", u);
	}
	snippet_line(s, "    # verify required: a request that gets here "
	    "came with a verified certificate.");
	for (size_t i = 0; i < nitems(identity_names); i++)
		snippet_line(s, "    http-request set-header %s %s",
		    identity_names[i], fetch[i]);
}

static int
make_haproxy(struct mtls_snippet *s, const struct mtls_snippet_options *opt,
    struct mtls_error *err)
{
	struct facts f;
	char base[PATH_MAX];
	int del_ext = 0, ret = -1;

	if (gather(&f, s, opt, "HAProxy", err) != 0)
		goto out;
	/* HAProxy reads the key from the crt file itself, or from a file
	 * next to it: crt + ".key", or with ssl-load-extra-del-ext,
	 * name.crt -> name.key. */
	snprintf(base, sizeof(base), "%s", f.cert);
	if (ends_with(base, ".crt"))
		strcpy(base + strlen(base) - 4, ".key");
	if (strcmp(f.key, f.cert) != 0 && !(strlen(f.key) == strlen(f.cert) +
	    4 && strncmp(f.key, f.cert, strlen(f.cert)) == 0 &&
	    ends_with(f.key, ".key"))) {
		if (!ends_with(f.cert, ".crt") || strcmp(base, f.key) != 0) {
			err_set(err, MTLS_ERR_USAGE, "HAProxy reads the key "
			    "from the certificate file or from a file next to "
			    "it (name.crt and name.key); %s is neither: join "
			    "them (cat cert key > server.pem)", f.key);
			goto out;
		}
		del_ext = 1;
	}
	preamble(s, &f, "HAProxy", "Sections to add to haproxy.cfg; "
	    "haproxy -c checks them.");
	if (del_ext) {
		snippet_line(s, "global");
		snippet_line(s, "    # Find the key %s next to the certificate "
		    "(name.crt -> name.key).", f.key);
		snippet_line(s, "    ssl-load-extra-del-ext");
	}
	snippet_line(s, "frontend mtls_%s", f.port);
	snippet_line(s, "    mode http");
	snippet_line(s, "    timeout client 30s");
	snippet_line(s, "    # verify required: the handshake fails with a "
	    "TLS alert for a missing or bad certificate.");
	snippet_line(s, "    # ca-file names go into the CertificateRequest; "
	    "HAProxy sets no depth limit (%s).", f.chain);
	if (f.crl != NULL)
		snippet_line(s, "    # crl-file: HAProxy checks a CRL for every "
		    "CA of the chain (each one is in the file).");
	else
		snippet_line(s, "    # No CRL given: a revoked client "
		    "certificate gets in until it expires.");
	snippet_line(s, "    bind %s:%s ssl crt \"%s\" ca-file \"%s\" verify "
	    "required%s%s%s ssl-min-ver TLSv1.2", f.host, f.port, f.cert, f.ca,
	    f.crl != NULL ? " crl-file \"" : "", f.crl != NULL ? f.crl : "",
	    f.crl != NULL ? "\"" : "");
	if (opt->identity_headers)
		haproxy_headers(s);
	if (!rules_allow_any(opt))
		haproxy_rules(s, &f);
	else
		snippet_line(s, "    # No access rule: every client certificate "
		    "these CAs issued gets in.");
	snippet_line(s, "    default_backend mtls_%s_app", f.port);
	snippet_line(s, "backend mtls_%s_app", f.port);
	snippet_line(s, "    mode http");
	snippet_line(s, "    timeout connect 5s");
	snippet_line(s, "    timeout server 30s");
	snippet_line(s, "    server app %s:%s", f.bhost, f.bport);
	ret = 0;
out:
	ca_set_clear(&f.cas);
	return ret;
}

/* ------------------------------------------------------------------ */
/* The public face                                                    */
/* ------------------------------------------------------------------ */

struct mtls_snippet *
mtls_snippet_make(enum mtls_software sw, const struct mtls_snippet_options *opt,
    struct mtls_error *err)
{
	struct mtls_snippet *s;
	int r;

	if (opt == NULL) {
		err_set(err, MTLS_ERR_USAGE, "no options");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		err_set(err, MTLS_ERR_NOMEM, "out of memory");
		return NULL;
	}
	switch (sw) {
	case MTLS_SOFTWARE_NGINX: r = make_nginx(s, opt, err); break;
	case MTLS_SOFTWARE_APACHE: r = make_apache(s, opt, err); break;
	case MTLS_SOFTWARE_HAPROXY: r = make_haproxy(s, opt, err); break;
	case MTLS_SOFTWARE_CURL:
	case MTLS_SOFTWARE_REQUESTS:
	case MTLS_SOFTWARE_OPENSSL:
		r = snippet_client(s, sw, opt, err);
		break;
	default:
		r = err_set(err, MTLS_ERR_USAGE, "no configuration for '%s'",
		    mtls_software_name(sw));
		break;
	}
	if (r != 0 || snippet_finish(s, err) != 0) {
		mtls_snippet_free(s);
		return NULL;
	}
	return s;
}

const char *
mtls_snippet_text(const struct mtls_snippet *s)
{
	return s != NULL ? s->text : NULL;
}

size_t
mtls_snippet_line_count(const struct mtls_snippet *s)
{
	return s != NULL ? s->nlines : 0;
}

const char *
mtls_snippet_line(const struct mtls_snippet *s, size_t i)
{
	return s != NULL && i < s->nlines ? s->lines[i] : NULL;
}

size_t
mtls_snippet_file_count(const struct mtls_snippet *s)
{
	return s != NULL ? s->nfiles : 0;
}

const char *
mtls_snippet_file(const struct mtls_snippet *s, size_t i, const char **role)
{
	if (s == NULL || i >= s->nfiles)
		return NULL;
	if (role != NULL)
		*role = s->files[i].role;
	return s->files[i].path;
}

void
mtls_snippet_free(struct mtls_snippet *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nlines; i++)
		free(s->lines[i]);
	for (size_t i = 0; i < s->nfiles; i++) {
		free(s->files[i].role);
		free(s->files[i].path);
	}
	free(s->lines);
	free(s->text);
	free(s);
}
