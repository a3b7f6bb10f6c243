/*
 * srvconf_audit.c - mtls doctor on the configuration of a server people
 * already run: nginx, Apache httpd or HAProxy.  Each TLS server it finds
 * (an nginx server block with ssl, an Apache <VirtualHost> with
 * SSLEngine on, an HAProxy bind line with ssl) becomes one endpoint, the
 * same facts in each server's words; the checks on the files it names (the
 * client CAs, the CRLs, the server certificate) and on the verify depth are
 * then shared.  What only one server can get wrong (nginx's
 * proxy_set_header inheritance, Apache's per-directory client auth and
 * RequestHeader actions, HAProxy's add-header) is checked in its part.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/x509v3.h>

#include "config/ca_set.h"
#include "doctor/doctor.h"
#include "doctor/srvconf.h"
#include "x509/inspect.h"

enum verify_mode { V_OFF, V_OPTIONAL, V_OPTIONAL_NO_CA, V_REQUIRE };
enum crl_mode { CRL_CHAIN, CRL_LEAF, CRL_NONE };

/* One TLS server of the configuration, in neutral terms. */
struct ep {
	char where[600];            /* "file:line" of its block or bind */
	enum verify_mode verify;
	char state[256];            /* the verify setting, in its words */
	const char *fix_on;         /* how to turn client auth on */
	const char *verify_var;     /* what a check of the result reads */
	const char *fix_check;      /* how to check it */
	int checked;                /* something reads verify_var */
	int per_location;           /* client auth asked in a section */
	const struct sc_node *ca, *trusted, *crl, *cert, *depth;
	char ca_path[PATH_MAX], trusted_path[PATH_MAX];
	char crl_path[PATH_MAX], cert_path[PATH_MAX];
	const char *ca_name, *trusted_name, *crl_name;
	const char *depth_name;     /* NULL: the server sets no limit */
	int depth_value;
	int depth_default;          /* depth_value was not set */
	int depth_counts_root;      /* mod_ssl counts the root; OpenSSL not */
	enum crl_mode crl_mode;
	int crl_missing_ok;         /* Apache no_crl_for_cert_ok */
	const char *revocation_how; /* the directive that names CRLs */
	const struct sc_node *old_tls;
	char old_tls_text[256];
};

static const char *
node_where(const struct sc_node *n, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%u", n->file, n->line);
	return buf;
}

static const char *
arg(const struct sc_node *n, size_t i)
{
	return n != NULL && i < n->nargs ? n->args[i] : NULL;
}

/* Some word of n or of a directive below it holds needle. */
static int
tree_mentions(const struct sc_node *n, const char *needle)
{
	for (size_t i = 0; i < n->nargs; i++)
		if (strstr(n->args[i], needle) != NULL)
			return 1;
	for (size_t i = 0; i < n->nkids; i++)
		if (tree_mentions(&n->kids[i], needle))
			return 1;
	return 0;
}

/* The path of a directive's file argument as the server opens it. */
static void
set_path(const struct sc_tree *t, char *out, size_t len, const char *base,
    const char *value)
{
	char *r;

	if (value == NULL) {
		out[0] = '\0';
		return;
	}
	if (base != NULL && value[0] != '/') {
		snprintf(out, len, "%s/%s", base, value);
		return;
	}
	r = sc_resolve(t, value);
	snprintf(out, len, "%s", r != NULL ? r : value);
	free(r);
}

/* ------------------------------------------------------------------ */
/* The checks every server shares                                     */
/* ------------------------------------------------------------------ */

/* The objects of path into o; -1 after adding conf-file-missing when it
 * cannot be read, or silently for a directory. */
static int
read_objects(struct mtls_doctor *d, const struct sc_node *n,
    const char *directive, const char *path, struct x509_objects *o)
{
	struct mtls_error err;
	struct stat sb;
	char where[600];
	const char *reason;

	memset(&err, 0, sizeof(err));
	memset(o, 0, sizeof(*o));
	/* HAProxy's crt and ca-file may name a directory of files, which
	 * these checks do not read (docs/doctor.md says so). */
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		return -1;
	if (x509_objects_read_file(path, o, &err) == 0)
		return 0;
	x509_objects_clear(o);
	/* The message starts with the path, already in the finding. */
	reason = err.msg;
	if (strncmp(reason, path, strlen(path)) == 0 &&
	    strncmp(reason + strlen(path), ": ", 2) == 0)
		reason += strlen(path) + 2;
	doctor_add(d, DR_CONF_FILE_MISSING, node_where(n, where, sizeof(where)),
	    where, directive, path, reason, NULL);
	return -1;
}

/* The client CAs of the endpoint in cas; -1 when they cannot be read. */
static int
check_cas(struct mtls_doctor *d, const struct ep *e, struct ca_set *cas)
{
	struct x509_objects o, to;
	char where[600], name[256], names[1024];
	size_t used = 0;

	if (read_objects(d, e->ca, e->ca_name, e->ca_path, &o) != 0)
		return -1;
	node_where(e->ca, where, sizeof(where));
	if (o.certs == NULL || sk_X509_num(o.certs) == 0) {
		doctor_add(d, DR_CONF_FILE_MISSING, where, where, e->ca_name,
		    e->ca_path, "no certificate in it", NULL);
		x509_objects_clear(&o);
		return -1;
	}
	x509_objects_clear(&o);
	{
		struct mtls_error err;
		memset(&err, 0, sizeof(err));
		if (ca_set_add_file(cas, e->ca_path, &err) != 0)
			return -1;
	}
	if (cas->not_cas != NULL && sk_X509_num(cas->not_cas) > 0)
		doctor_add(d, DR_CONF_CA_NOT_CA, where, where, e->ca_path,
		    doctor_cert_name(sk_X509_value(cas->not_cas, 0), name,
		    sizeof(name)), NULL);
	ca_set_analyse(cas);
	if (cas->nroots > 1)
		doctor_add(d, DR_CONF_CA_MIXED_ROOTS, where, where, e->ca_path,
		    ca_set_roots_text(cas, names, sizeof(names)), NULL);
	if (e->trusted == NULL)
		return 0;

	/* CAs that verify but are not named in the CertificateRequest. */
	if (read_objects(d, e->trusted, e->trusted_name, e->trusted_path,
	    &to) != 0)
		return 0;
	names[0] = '\0';
	for (int i = 0; to.certs != NULL && i < sk_X509_num(to.certs); i++) {
		X509 *x = sk_X509_value(to.certs, i);
		int known = 0;
		if (!X509_check_ca(x))
			continue;
		for (int k = 0; k < sk_X509_num(cas->cas); k++)
			if (X509_cmp(sk_X509_value(cas->cas, k), x) == 0)
				known = 1;
		if (known)
			continue;
		if (used < sizeof(names)) {
			int n = snprintf(names + used, sizeof(names) - used,
			    "%s%s", used > 0 ? "; " : "",
			    doctor_cert_name(x, name, sizeof(name)));
			used += n > 0 ? (size_t)n : 0;
		}
		if (X509_up_ref(x) == 1 && !sk_X509_push(cas->cas, x))
			X509_free(x);
	}
	if (used > 0) {
		node_where(e->trusted, where, sizeof(where));
		doctor_add(d, DR_CONF_CA_NOT_SENT, where, where,
		    e->trusted_name, e->trusted_path, names, NULL);
		ca_set_analyse(cas);
	}
	x509_objects_clear(&to);
	return 0;
}

static void
check_depth(struct mtls_doctor *d, const struct ep *e,
    const struct ca_set *cas)
{
	char where[600], chain[1024], have[64], need[64];
	int needed;

	if (e->depth_name == NULL || cas->longest == 0)
		return;
	needed = e->depth_counts_root ? cas->longest : cas->longest - 1;
	if (e->depth_value >= needed)
		return;
	snprintf(have, sizeof(have), "%d%s", e->depth_value,
	    e->depth_default ? " (the default)" : "");
	snprintf(need, sizeof(need), "%d", needed);
	if (e->depth != NULL)
		node_where(e->depth, where, sizeof(where));
	else
		snprintf(where, sizeof(where), "%s", e->where);
	doctor_add(d, DR_CONF_VERIFY_DEPTH, where, where, e->depth_name, have,
	    ca_set_chain_text(cas, chain, sizeof(chain)), need, NULL);
}

static void
check_crls(struct mtls_doctor *d, struct doctor_state *st,
    const struct ep *e, const struct ca_set *cas)
{
	struct x509_objects o;
	char where[600], name[256], when[64], dur[64], chain[1024];

	if (e->crl == NULL) {
		doctor_add(d, DR_CONF_NO_REVOCATION, e->where, e->where,
		    e->revocation_how, NULL);
		return;
	}
	node_where(e->crl, where, sizeof(where));
	if (read_objects(d, e->crl, e->crl_name, e->crl_path, &o) != 0)
		return;
	if (o.crls == NULL || sk_X509_CRL_num(o.crls) == 0) {
		doctor_add(d, DR_CONF_FILE_MISSING, where, where, e->crl_name,
		    e->crl_path, "no CRL in it", NULL);
		goto out;
	}
	if (e->crl_mode == CRL_NONE) {
		doctor_add(d, DR_CONF_CRL_NOT_CHECKED, where, where,
		    e->crl_path, NULL);
		goto out;
	}
	if (e->crl_mode == CRL_LEAF && cas->longest > 1)
		doctor_add(d, DR_CONF_CRL_LEAF_ONLY, where, where,
		    ca_set_chain_text(cas, chain, sizeof(chain)), NULL);
	for (int i = 0; cas->cas != NULL && i < sk_X509_num(cas->cas); i++) {
		X509 *ca = sk_X509_value(cas->cas, i);
		X509_CRL *c;
		const ASN1_TIME *nu;
		/* "leaf" needs only the CRLs of the CAs that issue leaves. */
		if (e->crl_mode == CRL_LEAF && ca_set_issues_ca(cas, ca))
			continue;
		doctor_cert_name(ca, name, sizeof(name));
		if ((c = crl_of(o.crls, ca)) == NULL) {
			if (!e->crl_missing_ok)
				doctor_add(d, DR_CONF_CRL_MISSING_FOR_CA, where,
				    where, e->crl_path, name, NULL);
			continue;
		}
		nu = X509_CRL_get0_nextUpdate(c);
		if (nu != NULL && asn1_time(nu) < st->now)
			doctor_add(d, DR_CRL_EXPIRED, where, name, e->crl_path,
			    date_text(asn1_time(nu), when, sizeof(when)),
			    doctor_duration((long)(st->now - asn1_time(nu)),
			    dur, sizeof(dur)), NULL);
	}
out:
	x509_objects_clear(&o);
}

static void
check_server_cert(struct mtls_doctor *d, struct doctor_state *st,
    const struct ep *e, const char *directive)
{
	struct x509_objects o;
	char where[600], name[256], when[64], dur[64];
	X509 *leaf;
	time_t na;

	if (e->cert == NULL)
		return;
	node_where(e->cert, where, sizeof(where));
	if (read_objects(d, e->cert, directive, e->cert_path, &o) != 0)
		return;
	if (o.certs == NULL || sk_X509_num(o.certs) == 0) {
		doctor_add(d, DR_CONF_FILE_MISSING, where, where, directive,
		    e->cert_path, "no certificate in it", NULL);
		goto out;
	}
	leaf = sk_X509_value(o.certs, 0);
	doctor_cert_name(leaf, name, sizeof(name));
	if ((X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) &&
	    !(X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER)) {
		EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(leaf,
		    NID_ext_key_usage, NULL, NULL);
		char *t = eku != NULL ? x509_eku_text(eku) : NULL;
		doctor_add(d, DR_USAGE_NO_SERVERAUTH, where, name, e->cert_path,
		    t != NULL ? t : "?", NULL);
		free(t);
		EXTENDED_KEY_USAGE_free(eku);
	}
	na = asn1_time(X509_get0_notAfter(leaf));
	date_text(na, when, sizeof(when));
	if (na != 0 && na < st->now)
		doctor_add(d, DR_CERT_EXPIRED, where, name, e->cert_path, when,
		    doctor_duration((long)(st->now - na), dur, sizeof(dur)),
		    NULL);
	else if (na != 0 && na - st->now < (time_t)st->warn_days * 86400)
		doctor_add(d, DR_CERT_EXPIRES_SOON, where, name, e->cert_path,
		    when, doctor_duration((long)(na - st->now), dur,
		    sizeof(dur)), NULL);
out:
	x509_objects_clear(&o);
}

/* The shared checks of e; errors is the error count before the checks of
 * the server's own part ran, so that ok-conf-mtls means no error at all. */
static void
audit_ep(struct mtls_doctor *d, struct doctor_state *st, const struct ep *e,
    const char *cert_directive, size_t errors)
{
	struct ca_set cas;
	char chain[1024];

	memset(&cas, 0, sizeof(cas));
	check_server_cert(d, st, e, cert_directive);
	if (e->old_tls != NULL) {
		char where[600];
		doctor_add(d, DR_CONF_OLD_TLS, node_where(e->old_tls, where,
		    sizeof(where)), where, e->old_tls_text, NULL);
	} else if (e->old_tls_text[0] != '\0') {
		doctor_add(d, DR_CONF_OLD_TLS, e->where, e->where,
		    e->old_tls_text, NULL);
	}
	if (e->verify == V_OFF) {
		if (!e->per_location)
			doctor_add(d, DR_CONF_CLIENT_AUTH_OFF, e->where,
			    e->where, e->state, e->fix_on, NULL);
		return;
	}
	if (e->verify != V_REQUIRE && !e->checked)
		doctor_add(d, DR_CONF_OPTIONAL_UNCHECKED, e->where, e->where,
		    e->state, e->verify_var, e->fix_check, NULL);
	if (e->ca == NULL && e->trusted == NULL) {
		if (e->verify != V_OPTIONAL_NO_CA)
			doctor_add(d, DR_CONF_CLIENT_CA_MISSING, e->where,
			    e->where, e->ca_name, NULL);
		return;
	}
	if (e->ca == NULL) {
		/* Only trusted CAs: their names are never sent. */
		struct ep copy = *e;
		copy.ca = e->trusted;
		copy.trusted = NULL;
		copy.ca_name = e->trusted_name;
		snprintf(copy.ca_path, sizeof(copy.ca_path), "%s",
		    e->trusted_path);
		if (check_cas(d, &copy, &cas) != 0)
			goto out;
		char where[600], names[1024];
		doctor_add(d, DR_CONF_CA_NOT_SENT, node_where(e->trusted,
		    where, sizeof(where)), where, e->trusted_name,
		    e->trusted_path, ca_set_roots_text(&cas, names,
		    sizeof(names)), NULL);
	} else if (check_cas(d, e, &cas) != 0) {
		goto out;
	}
	check_depth(d, e, &cas);
	check_crls(d, st, e, &cas);
	if (mtls_doctor_count_severity(d, MTLS_SEVERITY_ERROR) == errors &&
	    cas.longest > 0)
		doctor_add(d, DR_OK_CONF_MTLS, e->where, e->where,
		    ca_set_chain_text(&cas, chain, sizeof(chain)), NULL);
out:
	ca_set_clear(&cas);
}

/* ------------------------------------------------------------------ */
/* nginx                                                              */
/* ------------------------------------------------------------------ */

/* The directive name in the block, else at the http level. */
static const struct sc_node *
ngx_find(const struct sc_node *server, const struct sc_node *http,
    const char *name)
{
	for (size_t i = 0; i < server->nkids; i++)
		if (!server->kids[i].block &&
		    strcmp(server->kids[i].name, name) == 0)
			return &server->kids[i];
	for (size_t i = 0; http != NULL && i < http->nkids; i++)
		if (!http->kids[i].block &&
		    strcmp(http->kids[i].name, name) == 0)
			return &http->kids[i];
	return NULL;
}

static int
ngx_has(const struct sc_node *block, const char *name)
{
	for (size_t i = 0; i < block->nkids; i++)
		if (!block->kids[i].block &&
		    strcmp(block->kids[i].name, name) == 0)
			return 1;
	return 0;
}

/* Identity headers: proxy_set_header NAME with a $ssl_client_ value. */
static void
ngx_identity_names(const struct sc_node *n, const char **names, size_t *k,
    size_t max)
{
	for (size_t i = 0; i < n->nkids; i++) {
		const struct sc_node *c = &n->kids[i];
		if (c->block && strcmp(c->name, "server") != 0) {
			ngx_identity_names(c, names, k, max);
			continue;
		}
		if (strcmp(c->name, "proxy_set_header") != 0 || c->nargs < 2 ||
		    strstr(c->args[1], "$ssl_client_") == NULL)
			continue;
		size_t j;
		for (j = 0; j < *k; j++)
			if (strcasecmp(names[j], c->args[0]) == 0)
				break;
		if (j == *k && *k < max)
			names[(*k)++] = c->args[0];
	}
}

static int
ngx_sets_header(const struct sc_node *block, const char *name)
{
	for (size_t i = 0; i < block->nkids; i++)
		if (strcmp(block->kids[i].name, "proxy_set_header") == 0 &&
		    block->kids[i].nargs >= 1 &&
		    strcasecmp(block->kids[i].args[0], name) == 0)
			return 1;
	return 0;
}

/*
 * proxy_set_header is inherited from the enclosing level only by a level
 * that has none of its own: a location with one proxy_set_header drops
 * the server's identity headers, and the client's copies then pass.
 */
static void
ngx_check_locations(struct mtls_doctor *d, const struct sc_node *block,
    const struct sc_node *effective, const char **names, size_t nnames)
{
	char where[600];

	for (size_t i = 0; i < block->nkids; i++) {
		const struct sc_node *loc = &block->kids[i];
		const struct sc_node *eff;
		if (!loc->block || strcmp(loc->name, "location") != 0)
			continue;
		eff = ngx_has(loc, "proxy_set_header") ? loc : effective;
		if (ngx_has(loc, "proxy_pass")) {
			for (size_t k = 0; k < nnames; k++) {
				if (eff != NULL && ngx_sets_header(eff,
				    names[k]))
					continue;
				doctor_add(d, DR_CONF_IDENTITY_HEADER_SPOOFABLE,
				    node_where(loc, where, sizeof(where)),
				    where, names[k], "is not set in this "
				    "location, whose own proxy_set_header lines "
				    "replace all of the enclosing level's, and "
				    "the client's copy is passed on",
				    "Repeat the proxy_set_header of the "
				    "identity headers in this location, or keep "
				    "all proxy_set_header lines at one level",
				    NULL);
			}
		}
		ngx_check_locations(d, loc, eff, names, nnames);
	}
}

/* ssl_verify_client inside a location: nginx refuses it, but say why. */
static int
ngx_per_location(struct mtls_doctor *d, const struct sc_node *block)
{
	char where[600];
	int found = 0;

	for (size_t i = 0; i < block->nkids; i++) {
		const struct sc_node *c = &block->kids[i];
		if (c->block) {
			found |= ngx_per_location(d, c);
		} else if (strcmp(c->name, "ssl_verify_client") == 0 &&
		    strcmp(block->name, "location") == 0) {
			doctor_add(d, DR_CONF_CLIENT_AUTH_PER_LOCATION,
			    node_where(c, where, sizeof(where)), where,
			    "ssl_verify_client in a location", NULL);
			found = 1;
		}
	}
	return found;
}

static int
ngx_is_tls(const struct sc_node *server, const struct sc_node *http)
{
	const struct sc_node *ssl = ngx_find(server, http, "ssl");

	for (size_t i = 0; i < server->nkids; i++) {
		const struct sc_node *c = &server->kids[i];
		if (strcmp(c->name, "listen") != 0)
			continue;
		for (size_t k = 1; k < c->nargs; k++)
			if (strcmp(c->args[k], "ssl") == 0)
				return 1;
	}
	return (ssl != NULL && arg(ssl, 0) != NULL &&
	    strcmp(arg(ssl, 0), "on") == 0);
}

static void
ngx_server(struct mtls_doctor *d, struct doctor_state *st,
    const struct sc_tree *t, const struct sc_node *http,
    const struct sc_node *server)
{
	size_t errors = mtls_doctor_count_severity(d, MTLS_SEVERITY_ERROR);
	struct ep e;
	const struct sc_node *n;
	const char *names[32];
	size_t nnames = 0;

	memset(&e, 0, sizeof(e));
	node_where(server, e.where, sizeof(e.where));
	e.fix_on = "ssl_verify_client on; with ssl_client_certificate naming "
	    "the CAs that issue your client certificates";
	e.verify_var = "$ssl_client_verify";
	e.fix_check = "if ($ssl_client_verify != SUCCESS) { return 403; } in "
	    "the server block";
	e.ca_name = "ssl_client_certificate";
	e.trusted_name = "ssl_trusted_certificate";
	e.crl_name = "ssl_crl";
	e.revocation_how = "ssl_crl";
	e.depth_name = "ssl_verify_depth";
	e.crl_mode = CRL_CHAIN;

	n = ngx_find(server, http, "ssl_verify_client");
	if (n == NULL) {
		snprintf(e.state, sizeof(e.state), "no ssl_verify_client: off "
		    "by default");
	} else {
		snprintf(e.state, sizeof(e.state), "ssl_verify_client %s",
		    arg(n, 0) != NULL ? arg(n, 0) : "");
		if (arg(n, 0) != NULL && strcmp(arg(n, 0), "on") == 0)
			e.verify = V_REQUIRE;
		else if (arg(n, 0) != NULL &&
		    strcmp(arg(n, 0), "optional") == 0)
			e.verify = V_OPTIONAL;
		else if (arg(n, 0) != NULL &&
		    strcmp(arg(n, 0), "optional_no_ca") == 0)
			e.verify = V_OPTIONAL_NO_CA;
	}
	e.per_location = ngx_per_location(d, server);
	e.checked = tree_mentions(server, "$ssl_client_verify") ||
	    (http != NULL && tree_mentions(http, "$ssl_client_verify"));
	if ((e.ca = ngx_find(server, http, "ssl_client_certificate")) != NULL)
		set_path(t, e.ca_path, sizeof(e.ca_path), NULL, arg(e.ca, 0));
	if ((e.trusted = ngx_find(server, http,
	    "ssl_trusted_certificate")) != NULL)
		set_path(t, e.trusted_path, sizeof(e.trusted_path), NULL,
		    arg(e.trusted, 0));
	if ((e.crl = ngx_find(server, http, "ssl_crl")) != NULL)
		set_path(t, e.crl_path, sizeof(e.crl_path), NULL,
		    arg(e.crl, 0));
	if ((e.cert = ngx_find(server, http, "ssl_certificate")) != NULL)
		set_path(t, e.cert_path, sizeof(e.cert_path), NULL,
		    arg(e.cert, 0));
	e.depth_value = 1;
	e.depth_default = 1;
	if ((e.depth = ngx_find(server, http, "ssl_verify_depth")) != NULL &&
	    arg(e.depth, 0) != NULL) {
		e.depth_value = atoi(arg(e.depth, 0));
		e.depth_default = 0;
	}
	if ((n = ngx_find(server, http, "ssl_protocols")) == NULL) {
		snprintf(e.old_tls_text, sizeof(e.old_tls_text), "no "
		    "ssl_protocols: nginx before 1.23.4 enables TLSv1 and "
		    "TLSv1.1 by default");
	} else {
		for (size_t i = 0; i < n->nargs; i++)
			if (strcmp(n->args[i], "TLSv1") == 0 ||
			    strcmp(n->args[i], "TLSv1.1") == 0)
				e.old_tls = n;
		if (e.old_tls != NULL)
			snprintf(e.old_tls_text, sizeof(e.old_tls_text),
			    "ssl_protocols with TLSv1 or TLSv1.1");
	}
	/* Identity headers, from the levels that can hold proxy_set_header. */
	if (http != NULL)
		ngx_identity_names(http, names, &nnames, nitems(names));
	ngx_identity_names(server, names, &nnames, nitems(names));
	if (nnames > 0)
		ngx_check_locations(d, server, ngx_has(server,
		    "proxy_set_header") ? server : (http != NULL &&
		    ngx_has(http, "proxy_set_header") ? http : NULL), names,
		    nnames);
	audit_ep(d, st, &e, "ssl_certificate", errors);
}

static void
audit_nginx(struct mtls_doctor *d, struct doctor_state *st,
    const struct sc_tree *t)
{
	int found = 0;

	for (size_t i = 0; i < t->root.nkids; i++) {
		const struct sc_node *n = &t->root.kids[i];
		const struct sc_node *http = NULL;
		if (n->block && strcmp(n->name, "http") == 0)
			http = n;
		else if (!(n->block && strcmp(n->name, "server") == 0))
			continue;
		if (http == NULL) {
			/* A site file given alone: its server blocks. */
			if (ngx_is_tls(n, NULL)) {
				ngx_server(d, st, t, NULL, n);
				found = 1;
			}
			continue;
		}
		for (size_t k = 0; k < http->nkids; k++) {
			const struct sc_node *s = &http->kids[k];
			if (s->block && strcmp(s->name, "server") == 0 &&
			    ngx_is_tls(s, http)) {
				ngx_server(d, st, t, http, s);
				found = 1;
			}
		}
	}
	if (!found)
		doctor_add(d, DR_CONF_NO_TLS_SERVER, t->files[0], t->files[0],
		    "nginx", "no server block with listen ... ssl", NULL);
}

/* ------------------------------------------------------------------ */
/* Apache httpd                                                       */
/* ------------------------------------------------------------------ */

/* Conditional sections whose contents we take as active. */
static int
apache_transparent(const struct sc_node *n)
{
	static const char *const names[] = {
		"IfModule", "IfDefine", "IfVersion", "IfFile", "IfDirective",
		"IfSection",
	};

	for (size_t i = 0; i < nitems(names); i++)
		if (sc_is(n, names[i]))
			return 1;
	return 0;
}

/* Per-directory sections: client auth there means renegotiation. */
static int
apache_directory(const struct sc_node *n)
{
	static const char *const names[] = {
		"Location", "LocationMatch", "Directory", "DirectoryMatch",
		"Files", "FilesMatch", "If", "ElseIf", "Else", "Proxy",
		"ProxyMatch",
	};

	for (size_t i = 0; i < nitems(names); i++)
		if (sc_is(n, names[i]))
			return 1;
	return 0;
}

/* The last directive name directly in block (through conditionals). */
static const struct sc_node *
apache_last(const struct sc_node *block, const char *name)
{
	const struct sc_node *found = NULL;

	for (size_t i = 0; i < block->nkids; i++) {
		const struct sc_node *c = &block->kids[i];
		if (c->block && apache_transparent(c)) {
			const struct sc_node *in = apache_last(c, name);
			if (in != NULL)
				found = in;
		} else if (!c->block && sc_is(c, name)) {
			found = c;
		}
	}
	return found;
}

static const struct sc_node *
apache_find(const struct sc_node *vhost, const struct sc_node *root,
    const char *name)
{
	const struct sc_node *n = apache_last(vhost, name);

	return n != NULL ? n : apache_last(root, name);
}

static int
apache_per_directory(struct mtls_doctor *d, const struct sc_node *block,
    int inside)
{
	char where[600];
	int found = 0;

	for (size_t i = 0; i < block->nkids; i++) {
		const struct sc_node *c = &block->kids[i];
		if (c->block && sc_is(c, "VirtualHost"))
			continue;
		if (c->block) {
			found |= apache_per_directory(d, c, inside ||
			    apache_directory(c));
		} else if (inside && sc_is(c, "SSLVerifyClient") &&
		    arg(c, 0) != NULL && strcasecmp(arg(c, 0), "none") != 0) {
			char what[128];
			snprintf(what, sizeof(what), "SSLVerifyClient %s in "
			    "<%s>", arg(c, 0), block->name);
			doctor_add(d, DR_CONF_CLIENT_AUTH_PER_LOCATION,
			    node_where(c, where, sizeof(where)), where, what,
			    NULL);
			found = 1;
		}
	}
	return found;
}

/* Whether RequestHeader unset name appears in block or below. */
static int
apache_unsets(const struct sc_node *block, const char *name)
{
	for (size_t i = 0; i < block->nkids; i++) {
		const struct sc_node *c = &block->kids[i];
		if (c->block && apache_unsets(c, name))
			return 1;
		if (!c->block && sc_is(c, "RequestHeader") &&
		    arg(c, 0) != NULL && strcasecmp(arg(c, 0), "unset") == 0 &&
		    arg(c, 1) != NULL && strcasecmp(arg(c, 1), name) == 0)
			return 1;
	}
	return 0;
}

static void
apache_headers(struct mtls_doctor *d, const struct sc_node *block,
    const struct sc_node *vhost, const struct sc_node *root)
{
	char where[600], how[256];

	for (size_t i = 0; i < block->nkids; i++) {
		const struct sc_node *c = &block->kids[i];
		const char *action, *name;
		if (c->block) {
			if (!sc_is(c, "VirtualHost"))
				apache_headers(d, c, vhost, root);
			continue;
		}
		if (!sc_is(c, "RequestHeader") || c->nargs < 3 ||
		    strstr(c->args[2], "SSL_CLIENT") == NULL)
			continue;
		action = c->args[0];
		name = c->args[1];
		if (strcasecmp(action, "set") == 0 && c->nargs == 3)
			continue;      /* set replaces the client's copy */
		if (apache_unsets(vhost, name) || apache_unsets(root, name))
			continue;
		if (strcasecmp(action, "set") == 0)
			snprintf(how, sizeof(how), "is set only under a "
			    "condition (%s), and otherwise the client's copy "
			    "is passed on", c->args[3]);
		else
			snprintf(how, sizeof(how), "is added with RequestHeader "
			    "%s, which keeps the client's own copy", action);
		doctor_add(d, DR_CONF_IDENTITY_HEADER_SPOOFABLE,
		    node_where(c, where, sizeof(where)), where, name, how,
		    "Remove the client's copy first (RequestHeader unset "
		    "<name> early), then RequestHeader set it", NULL);
	}
}

static void
apache_vhost(struct mtls_doctor *d, struct doctor_state *st,
    const struct sc_tree *t, const struct sc_node *root,
    const struct sc_node *vh)
{
	size_t errors = mtls_doctor_count_severity(d, MTLS_SEVERITY_ERROR);
	struct ep e;
	const struct sc_node *n;

	memset(&e, 0, sizeof(e));
	node_where(vh, e.where, sizeof(e.where));
	e.fix_on = "SSLVerifyClient require, with SSLCACertificateFile naming "
	    "the CAs that issue your client certificates";
	e.verify_var = "SSL_CLIENT_VERIFY";
	e.fix_check = "Require expr \"%{SSL_CLIENT_VERIFY} == 'SUCCESS'\"";
	e.ca_name = "SSLCACertificateFile";
	e.trusted_name = "SSLCACertificateFile";
	e.crl_name = "SSLCARevocationFile";
	e.revocation_how = "SSLCARevocationFile and SSLCARevocationCheck "
	    "chain";
	e.depth_name = "SSLVerifyDepth";
	e.depth_counts_root = 1;
	e.crl_mode = CRL_NONE;

	n = apache_find(vh, root, "SSLVerifyClient");
	if (n == NULL) {
		snprintf(e.state, sizeof(e.state), "no SSLVerifyClient: none "
		    "by default");
	} else {
		const char *v = arg(n, 0) != NULL ? arg(n, 0) : "";
		snprintf(e.state, sizeof(e.state), "SSLVerifyClient %s", v);
		if (strcasecmp(v, "require") == 0)
			e.verify = V_REQUIRE;
		else if (strcasecmp(v, "optional") == 0)
			e.verify = V_OPTIONAL;
		else if (strcasecmp(v, "optional_no_ca") == 0)
			e.verify = V_OPTIONAL_NO_CA;
	}
	e.per_location = apache_per_directory(d, vh, 0);
	e.checked = tree_mentions(vh, "SSL_CLIENT_VERIFY");
	if ((e.ca = apache_find(vh, root, "SSLCACertificateFile")) != NULL)
		set_path(t, e.ca_path, sizeof(e.ca_path), NULL, arg(e.ca, 0));
	if ((e.crl = apache_find(vh, root, "SSLCARevocationFile")) != NULL)
		set_path(t, e.crl_path, sizeof(e.crl_path), NULL,
		    arg(e.crl, 0));
	if ((e.cert = apache_find(vh, root, "SSLCertificateFile")) != NULL)
		set_path(t, e.cert_path, sizeof(e.cert_path), NULL,
		    arg(e.cert, 0));
	if ((n = apache_find(vh, root, "SSLCARevocationCheck")) != NULL) {
		if (arg(n, 0) != NULL && strcasecmp(arg(n, 0), "chain") == 0)
			e.crl_mode = CRL_CHAIN;
		else if (arg(n, 0) != NULL && strcasecmp(arg(n, 0), "leaf") == 0)
			e.crl_mode = CRL_LEAF;
		for (size_t i = 1; i < n->nargs; i++)
			if (strcasecmp(n->args[i], "no_crl_for_cert_ok") == 0)
				e.crl_missing_ok = 1;
	}
	e.depth_value = 1;
	e.depth_default = 1;
	if ((e.depth = apache_find(vh, root, "SSLVerifyDepth")) != NULL &&
	    arg(e.depth, 0) != NULL) {
		e.depth_value = atoi(arg(e.depth, 0));
		e.depth_default = 0;
	}
	if ((n = apache_find(vh, root, "SSLProtocol")) != NULL) {
		int old = 0;
		for (size_t i = 0; i < n->nargs; i++) {
			const char *p = n->args[i];
			int sign = *p == '-' ? -1 : 1;
			if (*p == '+' || *p == '-')
				p++;
			if (strcasecmp(p, "all") == 0)
				old = sign > 0 ? 3 : 0;
			else if (strcasecmp(p, "TLSv1") == 0)
				old = sign > 0 ? old | 1 : old & ~1;
			else if (strcasecmp(p, "TLSv1.1") == 0)
				old = sign > 0 ? old | 2 : old & ~2;
		}
		if (old) {
			e.old_tls = n;
			snprintf(e.old_tls_text, sizeof(e.old_tls_text),
			    "SSLProtocol leaves TLSv1 or TLSv1.1 on");
		}
	}
	apache_headers(d, vh, vh, root);
	audit_ep(d, st, &e, "SSLCertificateFile", errors);
}

static int
apache_ssl_on(const struct sc_node *block)
{
	const struct sc_node *n = apache_last(block, "SSLEngine");

	return n != NULL && arg(n, 0) != NULL &&
	    strcasecmp(arg(n, 0), "on") == 0;
}

/* Virtual hosts, also inside conditional sections. */
static int
apache_walk(struct mtls_doctor *d, struct doctor_state *st,
    const struct sc_tree *t, const struct sc_node *block)
{
	int found = 0;

	for (size_t i = 0; i < block->nkids; i++) {
		const struct sc_node *c = &block->kids[i];
		if (c->block && sc_is(c, "VirtualHost") && (apache_ssl_on(c) ||
		    apache_ssl_on(&t->root))) {
			apache_vhost(d, st, t, &t->root, c);
			found = 1;
		} else if (c->block && apache_transparent(c)) {
			found |= apache_walk(d, st, t, c);
		}
	}
	return found;
}

static void
audit_apache(struct mtls_doctor *d, struct doctor_state *st,
    const struct sc_tree *t)
{
	if (!apache_walk(d, st, t, &t->root))
		doctor_add(d, DR_CONF_NO_TLS_SERVER, t->files[0], t->files[0],
		    "Apache httpd", "no <VirtualHost> with SSLEngine on", NULL);
	/* Client auth asked per directory outside any virtual host. */
	apache_per_directory(d, &t->root, 0);
}

/* ------------------------------------------------------------------ */
/* HAProxy                                                            */
/* ------------------------------------------------------------------ */

static const struct sc_node *
hap_section_find(const struct sc_node *sec, const char *name)
{
	for (size_t i = 0; sec != NULL && i < sec->nkids; i++)
		if (strcmp(sec->kids[i].name, name) == 0)
			return &sec->kids[i];
	return NULL;
}

/* The value after the bind keyword kw, or NULL. */
static const char *
bind_opt(const struct sc_node *bind, const char *kw)
{
	for (size_t i = 1; i + 1 < bind->nargs; i++)
		if (strcmp(bind->args[i], kw) == 0)
			return bind->args[i + 1];
	return NULL;
}

static int
bind_flag(const struct sc_node *bind, const char *kw)
{
	for (size_t i = 1; i < bind->nargs; i++)
		if (strcmp(bind->args[i], kw) == 0)
			return 1;
	return 0;
}

static int
tls_old_version(const char *v)
{
	return v != NULL && (strcmp(v, "TLSv1.0") == 0 ||
	    strcmp(v, "TLSv1.1") == 0 || strcmp(v, "SSLv3") == 0);
}

/* http-request add-header (or a conditional set-header) of an identity
 * header, with no del-header of it before. */
static void
hap_headers(struct mtls_doctor *d, const struct sc_node *sec)
{
	char where[600], how[256];

	for (size_t i = 0; i < sec->nkids; i++) {
		const struct sc_node *c = &sec->kids[i];
		const char *action = arg(c, 0), *name = arg(c, 1);
		int deleted = 0;
		if (strcmp(c->name, "http-request") != 0 || c->nargs < 3 ||
		    strstr(c->args[2], "ssl_c_") == NULL)
			continue;
		if (strcmp(action, "set-header") == 0 && c->nargs == 3)
			continue;
		if (strcmp(action, "add-header") != 0 &&
		    strcmp(action, "set-header") != 0)
			continue;
		for (size_t k = 0; k < i; k++) {
			const struct sc_node *p = &sec->kids[k];
			if (strcmp(p->name, "http-request") == 0 &&
			    arg(p, 0) != NULL &&
			    strcmp(arg(p, 0), "del-header") == 0 &&
			    arg(p, 1) != NULL && strcasecmp(arg(p, 1), name) == 0)
				deleted = 1;
		}
		if (deleted)
			continue;
		if (strcmp(action, "add-header") == 0)
			snprintf(how, sizeof(how), "is added with http-request "
			    "add-header, which keeps the client's own copy");
		else
			snprintf(how, sizeof(how), "is set only under a "
			    "condition (%s ...), and otherwise the client's "
			    "copy is passed on", c->args[3]);
		doctor_add(d, DR_CONF_IDENTITY_HEADER_SPOOFABLE,
		    node_where(c, where, sizeof(where)), where, name, how,
		    "Delete the client's copy first (http-request del-header "
		    "<name>), then set it with http-request set-header", NULL);
	}
}

static void
audit_haproxy(struct mtls_doctor *d, struct doctor_state *st,
    const struct sc_tree *t)
{
	const struct sc_node *global = NULL, *defopts = NULL, *n;
	const char *ca_base = NULL, *crt_base = NULL;
	int found = 0;

	for (size_t i = 0; i < t->root.nkids; i++)
		if (t->root.kids[i].block &&
		    strcmp(t->root.kids[i].name, "global") == 0) {
			global = &t->root.kids[i];
			if ((n = hap_section_find(global, "ca-base")) != NULL)
				ca_base = arg(n, 0);
			if ((n = hap_section_find(global, "crt-base")) != NULL)
				crt_base = arg(n, 0);
			if ((n = hap_section_find(global,
			    "ssl-default-bind-options")) != NULL)
				defopts = n;
		}
	for (size_t i = 0; i < t->root.nkids; i++) {
		const struct sc_node *sec = &t->root.kids[i];
		size_t errors = mtls_doctor_count_severity(d,
		    MTLS_SEVERITY_ERROR);
		if (!sec->block)
			continue;
		hap_headers(d, sec);
		if (strcmp(sec->name, "frontend") != 0 &&
		    strcmp(sec->name, "listen") != 0)
			continue;
		for (size_t k = 0; k < sec->nkids; k++) {
			const struct sc_node *b = &sec->kids[k];
			struct ep e;
			const char *v;
			if (strcmp(b->name, "bind") != 0 || !bind_flag(b, "ssl"))
				continue;
			found = 1;
			memset(&e, 0, sizeof(e));
			node_where(b, e.where, sizeof(e.where));
			e.fix_on = "verify required ca-file <the CAs that issue "
			    "your client certificates> on the bind line";
			e.verify_var = "ssl_c_used";
			e.fix_check = "http-request deny unless { ssl_c_used }";
			e.ca_name = "ca-file";
			e.trusted_name = "ca-verify-file";
			e.crl_name = "crl-file";
			e.revocation_how = "crl-file on the bind line";
			e.crl_mode = CRL_CHAIN;
			v = bind_opt(b, "verify");
			snprintf(e.state, sizeof(e.state), v != NULL ?
			    "verify %s" : "no verify: none by default",
			    v != NULL ? v : "");
			if (v != NULL && strcmp(v, "required") == 0)
				e.verify = V_REQUIRE;
			else if (v != NULL && strcmp(v, "optional") == 0)
				e.verify = V_OPTIONAL;
			e.checked = tree_mentions(sec, "ssl_c_used") ||
			    tree_mentions(sec, "ssl_c_verify");
			if ((v = bind_opt(b, "ca-file")) != NULL) {
				e.ca = b;
				set_path(t, e.ca_path, sizeof(e.ca_path),
				    ca_base, v);
			}
			if ((v = bind_opt(b, "ca-verify-file")) != NULL) {
				e.trusted = b;
				set_path(t, e.trusted_path,
				    sizeof(e.trusted_path), ca_base, v);
			}
			if ((v = bind_opt(b, "crl-file")) != NULL) {
				e.crl = b;
				set_path(t, e.crl_path, sizeof(e.crl_path),
				    ca_base, v);
			}
			if ((v = bind_opt(b, "crt")) != NULL) {
				e.cert = b;
				set_path(t, e.cert_path, sizeof(e.cert_path),
				    crt_base, v);
			}
			v = bind_opt(b, "ssl-min-ver");
			if (tls_old_version(v) || bind_flag(b, "force-tlsv10") ||
			    bind_flag(b, "force-tlsv11")) {
				e.old_tls = b;
				snprintf(e.old_tls_text, sizeof(e.old_tls_text),
				    "bind %s", v != NULL ? "ssl-min-ver below "
				    "TLSv1.2" : "force-tlsv10/11");
			} else if (v == NULL && defopts != NULL &&
			    tls_old_version(bind_opt(defopts, "ssl-min-ver"))) {
				e.old_tls = defopts;
				snprintf(e.old_tls_text, sizeof(e.old_tls_text),
				    "ssl-default-bind-options ssl-min-ver below "
				    "TLSv1.2");
			}
			audit_ep(d, st, &e, "crt", errors);
		}
	}
	if (!found)
		doctor_add(d, DR_CONF_NO_TLS_SERVER, t->files[0], t->files[0],
		    "HAProxy", "no bind line with ssl", NULL);
}

/* ------------------------------------------------------------------ */

void
doctor_check_server_config(struct mtls_doctor *d, struct doctor_state *st)
{
	const char *path = st->opt->server_config;
	enum mtls_software sw = st->opt->server_type;
	struct mtls_error err;
	struct sc_tree t;
	char line[32];

	memset(&err, 0, sizeof(err));
	if (sw == MTLS_SOFTWARE_GUESS) {
		char *buf = NULL;
		size_t len = 0;
		if (file_read(path, SC_MAX_FILE, &buf, &len, &err) != 0) {
			doctor_add(d, file_exists(path) ? DR_FILE_UNREADABLE :
			    DR_FILE_MISSING, path, "server configuration",
			    path, err.msg, NULL);
			return;
		}
		sw = sc_guess(path, buf, len);
		free(buf);
		if (sw == MTLS_SOFTWARE_GUESS)
			sw = MTLS_SOFTWARE_NGINX;
	}
	if (sc_parse(&t, path, sw, &err) != 0) {
		doctor_add(d, file_exists(path) ? DR_FILE_UNREADABLE :
			    DR_FILE_MISSING, path, "server configuration",
			    path, err.msg, NULL);
		sc_tree_free(&t);
		return;
	}
	if (t.failed) {
		snprintf(line, sizeof(line), "%u", t.err_line);
		doctor_add(d, DR_CONF_SYNTAX, t.err_file, t.err_file, line,
		    t.err_msg, NULL);
	}
	for (size_t i = 0; i < t.nmissing; i++)
		doctor_add(d, DR_CONF_INCLUDE_MISSING, t.missing[i].where,
		    t.missing[i].where, t.missing[i].pattern, NULL);
	switch (sw) {
	case MTLS_SOFTWARE_NGINX: audit_nginx(d, st, &t); break;
	case MTLS_SOFTWARE_APACHE: audit_apache(d, st, &t); break;
	case MTLS_SOFTWARE_HAPROXY: audit_haproxy(d, st, &t); break;
	default: break;
	}
	sc_tree_free(&t);
}
