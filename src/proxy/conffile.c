/*
 * conffile.c - serve's configuration file: a YAML file (YAML 1.1, read with
 * libyaml's document loader) describing the services one process runs and
 * the settings they share:
 *
 *   workers: 2                      # optional; default one per core
 *   metrics: 127.0.0.1:9100         # optional; /metrics, /status.json, /
 *   log-format: text                # text or json
 *   drain-timeout: 10               # seconds
 *   services:
 *     api:                          # the name: [A-Za-z0-9_.-], 1-63
 *       listen: 127.0.0.1:8443
 *       cert: /etc/mtls/api/server.crt
 *       key: /etc/mtls/api/server.key
 *       ca: /etc/mtls/api/clients-ca.crt
 *       backend: 127.0.0.1:8080
 *       allow:                      # at least one rule
 *         cn: [billing, reports]    # a string or a list of strings
 *         dns: "*.internal.example"
 *         any: false
 *       crl: ...  proxy-protocol: true  client-auth: require|optional
 *       tls-min: "1.3"  max-conns: N  handshake-timeout: S  idle-timeout: S
 *       ticket-key-file: FILE  session-cache: N  unsafe-backend: false
 *       unsafe-start-anyway: false  ktls: false
 *
 * Relative paths are taken from the file's directory.  Every key is
 * declared once in the tables below with its type; anything
 * else is an error on one line naming the file, the line and the key's
 * path ("services.api.lisen").  YAML was chosen over TOML and INI because
 * lists of rules and nested services read naturally in it, it is what
 * Kubernetes and Ansible users write every day, and libyaml is the
 * long-maintained Debian-packaged C parser (no TOML library in Debian is).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "proxy_int.h"

#define NAME_MAX_LEN 63

/* What a plan's strings live in: copies of the scalars, freed together. */
struct conf_storage {
	char **strs;
	size_t n, cap;
};

struct conf {
	const char *file;
	yaml_document_t doc;
	struct proxy_plan *plan;
	struct conf_storage *store;
	char *err;
	size_t errlen;
};

static int PROXY_PRINTF(3, 4)
conf_fail(struct conf *c, const yaml_node_t *at, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (at != NULL)
		snprintf(c->err, c->errlen, "%s:%lu: %s", c->file,
		    (unsigned long)at->start_mark.line + 1, msg);
	else
		snprintf(c->err, c->errlen, "%s: %s", c->file, msg);
	return -1;
}

/* Adds P, from malloc, to what the plan frees; NULL (out of memory) if it
 * cannot, having freed P. */
static char *
conf_hold(struct conf *c, char *p)
{
	struct conf_storage *st = c->store;

	if (p != NULL && st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 32;
		char **n = realloc(st->strs, cap * sizeof(*n));
		if (n == NULL) {
			free(p);
			return NULL;
		}
		st->strs = n;
		st->cap = cap;
	}
	if (p != NULL)
		st->strs[st->n++] = p;
	return p;
}

static char *
conf_keep(struct conf *c, const char *s, size_t len)
{
	return conf_hold(c, strndup(s, len));
}

static const char *
scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* A plain (unquoted) scalar: the YAML 1.1 types int, float and bool are
 * only ever plain. */
static int
plain(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE &&
	    n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static const char *
node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE: return "a mapping";
	case YAML_SEQUENCE_NODE: return "a list";
	default: return "a scalar";
	}
}

enum conf_type {
	T_STRING,            /* a scalar kept as text */
	T_FILE,              /* a path */
	T_ADDR,              /* HOST:PORT, [v6]:PORT, :PORT, unix:/path */
	T_INT,
	T_SECONDS,
	T_BOOL,
	T_LOG_FORMAT,
	T_TLS_MIN,
	T_CLIENT_AUTH,
	T_ALLOW,             /* the rules mapping */
	T_HTTP_IDENTITY,     /* HTTP mode's identity header list */
	T_URL,               /* an https:// URL kept as text */
	T_SIZE,              /* a size_t between min and max */
	T_PREFIXES,          /* a string or a list: the header prefixes that
	                      * HTTP mode strips */
};

struct conf_key {
	const char *key;
	enum conf_type type;
	size_t off;          /* in struct proxy_options or struct proxy_plan */
	int required;
	long min, max;       /* T_INT */
};

#define OPT(f) offsetof(struct proxy_options, f)
#define PLAN(f) offsetof(struct proxy_plan, f)

static const struct conf_key global_keys[] = {
	{ "workers", T_INT, PLAN(workers), 0, 1, 256 },
	{ "metrics", T_ADDR, PLAN(metrics), 0, 0, 0 },
	{ "log-format", T_LOG_FORMAT, PLAN(log_format), 0, 0, 0 },
	{ "drain-timeout", T_SECONDS, PLAN(drain_timeout), 0, 0, 0 },
	{ "services", T_ALLOW /* handled apart */, 0, 1, 0, 0 },
};

static const struct conf_key service_keys[] = {
	{ "listen", T_ADDR, OPT(listen), 1, 0, 0 },
	{ "cert", T_FILE, OPT(cert_file), 1, 0, 0 },
	{ "key", T_FILE, OPT(key_file), 1, 0, 0 },
	{ "ca", T_FILE, OPT(ca_file), 1, 0, 0 },
	{ "backend", T_ADDR, OPT(backend), 1, 0, 0 },
	{ "allow", T_ALLOW, OPT(policy), 1, 0, 0 },
	{ "crl", T_FILE, OPT(crl_file), 0, 0, 0 },
	{ "proxy-protocol", T_BOOL, OPT(proxy_protocol), 0, 0, 0 },
	{ "ktls", T_BOOL, OPT(ktls), 0, 0, 0 },
	{ "client-auth", T_CLIENT_AUTH, OPT(client_auth_optional), 0, 0, 0 },
	{ "tls-min", T_TLS_MIN, OPT(tls_min), 0, 0, 0 },
	{ "max-conns", T_INT, OPT(max_conns), 0, 1, 10000000 },
	{ "handshake-timeout", T_SECONDS, OPT(handshake_timeout), 0, 0, 0 },
	{ "idle-timeout", T_SECONDS, OPT(idle_timeout), 0, 0, 0 },
	{ "ticket-key-file", T_FILE, OPT(ticket_key_file), 0, 0, 0 },
	{ "session-cache", T_INT, OPT(session_cache), 0, 1, 10000000 },
	{ "unsafe-backend", T_BOOL, OPT(unsafe_backend), 0, 0, 0 },
	{ "unsafe-start-anyway", T_BOOL, OPT(unsafe_start_anyway), 0, 0, 0 },
	{ "http", T_BOOL, OPT(http), 0, 0, 0 },
	{ "http-identity", T_HTTP_IDENTITY, OPT(http_identity), 0, 0, 0 },
	{ "strip-header-prefix", T_PREFIXES, OPT(strip_prefix), 0, 1,
	    PROXY_MAX_STRIP_PREFIX },
	{ "http-timeout", T_SECONDS, OPT(http_timeout), 0, 0, 0 },
	{ "http-max-request-line", T_SIZE, OPT(http_max_line), 0, 64,
	    1024 * 1024 },
	{ "http-max-header-size", T_SIZE, OPT(http_max_head), 0, 1024,
	    1024 * 1024 },
	{ "http-max-headers", T_SIZE, OPT(http_max_fields), 0, 1, 10000 },
	{ "renew-from", T_URL, OPT(renew_from), 0, 0, 0 },
	{ "crl-from", T_URL, OPT(crl_from), 0, 0, 0 },
};

static const struct {
	const char *key;
	enum mtls_rule_kind kind;
} rule_keys[] = {
	{ "cn", MTLS_ALLOW_CN },
	{ "dns", MTLS_ALLOW_DNS },
	{ "uri", MTLS_ALLOW_URI },
	{ "ou", MTLS_ALLOW_OU },
	{ "email", MTLS_ALLOW_EMAIL },
	{ "fingerprint", MTLS_ALLOW_FINGERPRINT },
	{ "any", MTLS_ALLOW_ANY },
};

static int
conf_bool(struct conf *c, const yaml_node_t *v, const char *path, int *out)
{
	if (plain(v) && strcmp(scalar(v), "true") == 0) {
		*out = 1;
		return 0;
	}
	if (plain(v) && strcmp(scalar(v), "false") == 0) {
		*out = 0;
		return 0;
	}
	if (v->type != YAML_SCALAR_NODE)
		return conf_fail(c, v, "%s: expected true or false, got %s",
		    path, node_kind(v));
	return conf_fail(c, v, "%s: expected true or false, got \"%s\"",
	    path, scalar(v));
}

/* The rules: each kind a string or a list of strings; any: a bool.  The
 * text of the rules is kept too, so that a reload can tell whether they
 * changed. */
static int
conf_allow(struct conf *c, const yaml_node_t *v, const char *path,
    struct proxy_options *o)
{
	char text[4096];
	size_t tl = 0;
	struct mtls_error e = { 0 };

	if (v->type != YAML_MAPPING_NODE)
		return conf_fail(c, v, "%s: expected a mapping of rules (cn, "
		    "dns, uri, ou, email, fingerprint, any), got %s", path,
		    node_kind(v));
	if ((o->policy = mtls_policy_new()) == NULL)
		return conf_fail(c, NULL, "out of memory");
	text[0] = '\0';
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start;
	    p < v->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&c->doc, p->key);
		yaml_node_t *val = yaml_document_get_node(&c->doc, p->value);
		size_t r, nitems;
		yaml_node_t *items[256];

		if (k->type != YAML_SCALAR_NODE)
			return conf_fail(c, k, "%s: a key must be a scalar",
			    path);
		for (r = 0; r < sizeof(rule_keys) / sizeof(rule_keys[0]); r++)
			if (strcmp(scalar(k), rule_keys[r].key) == 0)
				break;
		if (r == sizeof(rule_keys) / sizeof(rule_keys[0]))
			return conf_fail(c, k, "%s.%s: unknown rule (cn, dns, "
			    "uri, ou, email, fingerprint, any)", path,
			    scalar(k));
		if (rule_keys[r].kind == MTLS_ALLOW_ANY) {
			int any;
			char sub[160];
			snprintf(sub, sizeof(sub), "%s.any", path);
			if (conf_bool(c, val, sub, &any) == -1)
				return -1;
			if (any && mtls_policy_allow(o->policy, MTLS_ALLOW_ANY,
			    NULL, &e) == -1)
				return conf_fail(c, val, "%s: %s", sub, e.msg);
			if (any)
				tl += (size_t)snprintf(text + tl, tl <
				    sizeof(text) ? sizeof(text) - tl : 0,
				    "any\n");
			continue;
		}
		nitems = 0;
		if (val->type == YAML_SCALAR_NODE) {
			items[nitems++] = val;
		} else if (val->type == YAML_SEQUENCE_NODE) {
			for (yaml_node_item_t *it = val->data.sequence.items.start;
			    it < val->data.sequence.items.top &&
			    nitems < 256; it++)
				items[nitems++] = yaml_document_get_node(
				    &c->doc, *it);
		} else {
			return conf_fail(c, val, "%s.%s: expected a string or "
			    "a list of strings, got %s", path, scalar(k),
			    node_kind(val));
		}
		for (size_t i = 0; i < nitems; i++) {
			if (items[i]->type != YAML_SCALAR_NODE)
				return conf_fail(c, items[i], "%s.%s: expected "
				    "a string, got %s", path, scalar(k),
				    node_kind(items[i]));
			if (mtls_policy_allow(o->policy, rule_keys[r].kind,
			    scalar(items[i]), &e) == -1)
				return conf_fail(c, items[i], "%s.%s: %s", path,
				    scalar(k), e.msg);
			tl += (size_t)snprintf(text + tl, tl < sizeof(text) ?
			    sizeof(text) - tl : 0, "%s=%s\n", scalar(k),
			    scalar(items[i]));
		}
	}
	if (mtls_policy_count(o->policy) == 0)
		return conf_fail(c, v, "%s: no rule allows any client", path);
	if (tl >= sizeof(text))
		tl = sizeof(text) - 1;
	if ((o->policy_text = conf_keep(c, text, tl)) == NULL)
		return conf_fail(c, NULL, "out of memory");
	return 0;
}

/* strip-header-prefix: one prefix or a list of them, none empty; the
 * array of pointers is kept in the storage like the strings. */
static int
conf_prefixes(struct conf *c, const struct conf_key *k, const yaml_node_t *v,
    const char *path, struct proxy_options *o)
{
	const yaml_node_t *items[PROXY_MAX_STRIP_PREFIX];
	size_t n = 0;
	char *arr;

	if (v->type == YAML_SCALAR_NODE) {
		items[n++] = v;
	} else if (v->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *i = v->data.sequence.items.start;
		    i < v->data.sequence.items.top; i++) {
			if (n == (size_t)k->max)
				return conf_fail(c, v, "%s: at most %ld "
				    "prefixes", path, k->max);
			items[n++] = yaml_document_get_node(&c->doc, *i);
		}
	} else {
		return conf_fail(c, v, "%s: expected a string or a list of "
		    "strings, got %s", path, node_kind(v));
	}
	if (n == 0)
		return conf_fail(c, v, "%s: an empty list", path);
	/* Kept as one block of n pointers, freed with the strings. */
	if ((arr = conf_hold(c, calloc(n, sizeof(char *)))) == NULL)
		return conf_fail(c, NULL, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (items[i]->type != YAML_SCALAR_NODE ||
		    *scalar(items[i]) == '\0')
			return conf_fail(c, items[i], "%s: each prefix is a "
			    "non-empty string", path);
		if ((((const char **)(void *)arr)[i] = conf_keep(c,
		    scalar(items[i]), items[i]->data.scalar.length)) == NULL)
			return conf_fail(c, NULL, "out of memory");
	}
	o->strip_prefix = (const char *const *)(void *)arr;
	o->nstrip_prefix = n;
	return 0;
}

static int
conf_value(struct conf *c, const struct conf_key *k, const yaml_node_t *v,
    const char *path, void *base)
{
	char why[512], *end;
	const char *s;
	void *field = (char *)base + k->off;

	if (k->type == T_ALLOW)
		return conf_allow(c, v, path, base);
	if (k->type == T_BOOL)
		return conf_bool(c, v, path, field);
	if (k->type == T_PREFIXES)
		return conf_prefixes(c, k, v, path, base);
	if (v->type != YAML_SCALAR_NODE)
		return conf_fail(c, v, "%s: expected %s, got %s", path,
		    k->type == T_INT || k->type == T_SIZE ? "an integer" :
		    k->type == T_SECONDS ?
		    "a number of seconds" : "a string", node_kind(v));
	s = scalar(v);
	switch (k->type) {
	case T_INT:
	case T_SIZE: {
		long n;
		errno = 0;
		n = strtol(s, &end, 10);
		if (!plain(v) || errno != 0 || end == s || *end != '\0')
			return conf_fail(c, v, "%s: expected an integer, got "
			    "\"%s\"", path, s);
		if (n < k->min || n > k->max)
			return conf_fail(c, v, "%s: %ld is not between %ld and "
			    "%ld", path, n, k->min, k->max);
		if (k->type == T_SIZE)
			*(size_t *)field = (size_t)n;
		else
			*(int *)field = (int)n;
		return 0;
	}
	case T_SECONDS: {
		double d;
		errno = 0;
		d = strtod(s, &end);
		if (!plain(v) || errno != 0 || end == s || *end != '\0' ||
		    !isfinite(d))
			return conf_fail(c, v, "%s: expected a number of "
			    "seconds, got \"%s\"", path, s);
		if (d <= 0 || d > 86400)
			return conf_fail(c, v, "%s: %s is not above 0 and at "
			    "most 86400 seconds", path, s);
		*(double *)field = d;
		return 0;
	}
	case T_LOG_FORMAT:
		if (strcmp(s, "text") != 0 && strcmp(s, "json") != 0)
			return conf_fail(c, v, "%s: \"%s\" is not text or "
			    "json", path, s);
		*(enum proxy_log_format *)field = strcmp(s, "json") == 0 ?
		    PROXY_LOG_JSON : PROXY_LOG_TEXT;
		return 0;
	case T_TLS_MIN:
		if (strcmp(s, "1.2") != 0 && strcmp(s, "1.3") != 0)
			return conf_fail(c, v, "%s: \"%s\" is not 1.2 or 1.3",
			    path, s);
		*(int *)field = strcmp(s, "1.3") == 0 ? MTLS_TLS1_3 :
		    MTLS_TLS1_2;
		return 0;
	case T_CLIENT_AUTH:
		if (strcmp(s, "require") != 0 && strcmp(s, "optional") != 0)
			return conf_fail(c, v, "%s: \"%s\" is not require or "
			    "optional", path, s);
		*(int *)field = strcmp(s, "optional") == 0;
		return 0;
	case T_HTTP_IDENTITY:
		if (proxy_check_http_identity(s, why, sizeof(why)) == -1)
			return conf_fail(c, v, "%s: %s", path, why);
		if ((*(const char **)field = conf_keep(c, s,
		    v->data.scalar.length)) == NULL)
			return conf_fail(c, NULL, "out of memory");
		return 0;
	case T_URL:
		if (strncmp(s, "https://", 8) != 0 || s[8] == '\0')
			return conf_fail(c, v, "%s: \"%s\" is not an https:// "
			    "URL", path, s);
		if ((*(const char **)field = conf_keep(c, s,
		    v->data.scalar.length)) == NULL)
			return conf_fail(c, NULL, "out of memory");
		return 0;
	case T_ADDR:
		if (proxy_check_listen(s, why, sizeof(why)) == -1 &&
		    strncmp(s, "unix:", 5) != 0)
			return conf_fail(c, v, "%s: %s", path, why);
		__attribute__((fallthrough)); /* kept as text */
	case T_STRING:
	case T_FILE:
		if (*s == '\0')
			return conf_fail(c, v, "%s: empty", path);
		if (k->type == T_FILE && s[0] != '/' &&
		    strrchr(c->file, '/') != NULL) {
			/* Relative to the file's directory, whatever the
			 * working directory of the process. */
			const char *slash = strrchr(c->file, '/');
			size_t dl = (size_t)(slash - c->file) + 1;
			char *j = malloc(dl + v->data.scalar.length + 1);
			if (j == NULL)
				return conf_fail(c, NULL, "out of memory");
			memcpy(j, c->file, dl);
			memcpy(j + dl, s, v->data.scalar.length + 1);
			*(const char **)field = conf_keep(c, j,
			    dl + v->data.scalar.length);
			free(j);
			if (*(const char **)field == NULL)
				return conf_fail(c, NULL, "out of memory");
			return 0;
		}
		if ((*(const char **)field = conf_keep(c, s,
		    v->data.scalar.length)) == NULL)
			return conf_fail(c, NULL, "out of memory");
		return 0;
	default:
		return conf_fail(c, v, "%s: unsupported", path);
	}
}

/* Reads a mapping against a table of keys: unknown keys, duplicates and
 * missing required keys are errors.  "services" is left to the caller. */
static int
conf_mapping(struct conf *c, const yaml_node_t *m, const char *path,
    const struct conf_key *keys, size_t nkeys, void *base,
    const yaml_node_t **services)
{
	const yaml_node_t *seen[32] = { 0 };

	for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
	    p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&c->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&c->doc, p->value);
		char sub[160];
		size_t i;

		if (k->type != YAML_SCALAR_NODE)
			return conf_fail(c, k, "%s: a key must be a scalar, "
			    "not %s", *path ? path : "top level",
			    node_kind(k));
		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "",
		    scalar(k));
		for (i = 0; i < nkeys; i++)
			if (strcmp(scalar(k), keys[i].key) == 0)
				break;
		if (i == nkeys)
			return conf_fail(c, k, "%s: unknown key", sub);
		if (seen[i] != NULL)
			return conf_fail(c, k, "%s: given twice (first on "
			    "line %lu)", sub,
			    (unsigned long)seen[i]->start_mark.line + 1);
		seen[i] = k;
		if (services != NULL && strcmp(keys[i].key, "services") == 0) {
			*services = v;
			continue;
		}
		if (conf_value(c, &keys[i], v, sub, base) == -1)
			return -1;
	}
	for (size_t i = 0; i < nkeys; i++)
		if (keys[i].required && seen[i] == NULL)
			return conf_fail(c, m, "%s: missing key \"%s\"",
			    *path ? path : "top level", keys[i].key);
	return 0;
}

static int
conf_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAME_MAX_LEN)
		return 0;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-") == n;
}

static int
conf_services(struct conf *c, const yaml_node_t *m)
{
	struct proxy_plan *plan = c->plan;
	size_t n;

	if (m->type != YAML_MAPPING_NODE)
		return conf_fail(c, m, "services: expected a mapping of "
		    "service names to services, got %s", node_kind(m));
	n = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
	if (n == 0)
		return conf_fail(c, m, "services: no service");
	if ((plan->svc = calloc(n, sizeof(*plan->svc))) == NULL)
		return conf_fail(c, NULL, "out of memory");
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
	    p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&c->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&c->doc, p->value);
		struct proxy_options *o = &plan->svc[plan->nsvc];
		char path[160];

		if (k->type != YAML_SCALAR_NODE || !conf_name_ok(scalar(k)))
			return conf_fail(c, k, "services: a service name is "
			    "1 to %d letters, digits, '_', '.' or '-'",
			    NAME_MAX_LEN);
		for (size_t i = 0; i < plan->nsvc; i++)
			if (strcmp(plan->svc[i].name, scalar(k)) == 0)
				return conf_fail(c, k, "services.%s: given "
				    "twice", scalar(k));
		if ((o->name = conf_keep(c, scalar(k),
		    k->data.scalar.length)) == NULL)
			return conf_fail(c, NULL, "out of memory");
		plan->nsvc++;
		snprintf(path, sizeof(path), "services.%s", o->name);
		if (v->type != YAML_MAPPING_NODE)
			return conf_fail(c, v, "%s: expected a mapping, got "
			    "%s", path, node_kind(v));
		if (conf_mapping(c, v, path, service_keys,
		    sizeof(service_keys) / sizeof(service_keys[0]), o,
		    NULL) == -1)
			return -1;
		{
			char why[512];
			const yaml_node_t *at = v;
			if (proxy_check_backend(o->backend, o->unsafe_backend,
			    why, sizeof(why)) != 0)
				return conf_fail(c, at, "%s.backend: %s", path,
				    why);
		}
		/* The same combinations the command line refuses. */
		if (o->http && o->proxy_protocol)
			return conf_fail(c, v, "%s: http and proxy-protocol "
			    "cannot both be true: in HTTP mode the identity "
			    "goes in headers", path);
		if (o->http && o->ktls)
			return conf_fail(c, v, "%s: http and ktls cannot both "
			    "be true: kernel TLS is for the raw relay (HTTP "
			    "mode reads every request)", path);
		if (!o->http && (o->http_identity != NULL ||
		    o->nstrip_prefix > 0 || o->http_timeout > 0 ||
		    o->http_max_line > 0 || o->http_max_head > 0 ||
		    o->http_max_fields > 0))
			return conf_fail(c, v, "%s: http-identity, "
			    "strip-header-prefix and http-* need http: true",
			    path);
		if (o->crl_from != NULL && o->crl_file == NULL)
			return conf_fail(c, v, "%s: crl-from needs crl, the "
			    "file where the fetched CRL is kept", path);
	}
	return 0;
}

struct proxy_plan *
proxy_plan_load(const char *file, char *err, size_t errlen)
{
	struct conf c = { .file = file, .err = err, .errlen = errlen };
	yaml_parser_t parser;
	yaml_node_t *root;
	const yaml_node_t *services = NULL;
	FILE *f;
	int loaded = 0, ok = -1;

	if ((f = fopen(file, "rb")) == NULL) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return NULL;
	}
	if ((c.plan = calloc(1, sizeof(*c.plan))) == NULL ||
	    (c.store = calloc(1, sizeof(*c.store))) == NULL) {
		free(c.plan);
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c.plan->storage = c.store;
	c.plan->owns_policies = 1;
	c.plan->mode = PROXY_SERVE;
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &c.doc)) {
		snprintf(err, errlen, "%s:%lu: YAML: %s%s%s", file,
		    (unsigned long)parser.problem_mark.line + 1,
		    parser.problem != NULL ? parser.problem : "syntax error",
		    parser.context != NULL ? " " : "",
		    parser.context != NULL ? parser.context : "");
		yaml_parser_delete(&parser);
		goto out;
	}
	loaded = 1;
	yaml_parser_delete(&parser);
	root = yaml_document_get_root_node(&c.doc);
	if (root == NULL) {
		conf_fail(&c, NULL, "empty: expected a mapping with "
		    "\"services\"");
		goto out;
	}
	if (root->type != YAML_MAPPING_NODE) {
		conf_fail(&c, root, "top level: expected a mapping, got %s",
		    node_kind(root));
		goto out;
	}
	if ((c.plan->file = conf_keep(&c, file, strlen(file))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (conf_mapping(&c, root, "", global_keys, sizeof(global_keys) /
	    sizeof(global_keys[0]), c.plan, &services) == -1 ||
	    conf_services(&c, services) == -1)
		goto out;
	ok = 0;
out:
	if (loaded)
		yaml_document_delete(&c.doc);
	fclose(f);
	if (ok != 0) {
		proxy_plan_free(c.plan);
		return NULL;
	}
	return c.plan;
}

void
proxy_plan_set_key_passphrase(struct proxy_plan *plan, const char *passphrase)
{
	plan->key_passphrase = passphrase;
	for (size_t i = 0; i < plan->nsvc; i++)
		plan->svc[i].key_passphrase = passphrase;
}

void
proxy_plan_free(struct proxy_plan *plan)
{
	struct conf_storage *st;

	if (plan == NULL)
		return;
	if (plan->owns_policies)
		for (size_t i = 0; i < plan->nsvc; i++)
			mtls_policy_free(plan->svc[i].policy);
	if ((st = plan->storage) != NULL) {
		for (size_t i = 0; i < st->n; i++)
			free(st->strs[i]);
		free(st->strs);
		free(st);
	}
	free(plan->svc);
	free(plan);
}

/* The CRLs of a service against its CA, as doctor checks a CA file and a
 * CRL file: each CRL signed by a CA of the file. */
static int
check_crl(const struct proxy_options *o, char *err, size_t errlen)
{
	struct mtls_doctor_options dopt = { .ca_file = o->ca_file,
	    .crl_file = o->crl_file };
	struct mtls_error e = { 0 };
	struct mtls_doctor *d = mtls_doctor_run(&dopt, &e);
	int ret = 0;

	if (d == NULL) {
		snprintf(err, errlen, "%s", e.msg);
		return -1;
	}
	for (size_t i = 0; i < mtls_doctor_count(d); i++) {
		if (mtls_doctor_severity(d, i) == MTLS_SEVERITY_ERROR) {
			snprintf(err, errlen, "%s",
			    mtls_doctor_explanation(d, i));
			ret = -1;
			break;
		}
	}
	mtls_doctor_free(d);
	return ret;
}

int
proxy_plan_check(const struct proxy_plan *plan, char *err, size_t errlen)
{
	/* Two services on one address would share its connections. */
	for (size_t i = 0; i < plan->nsvc; i++)
		for (size_t j = i + 1; j < plan->nsvc; j++)
			if (strcmp(plan->svc[i].listen, plan->svc[j].listen) ==
			    0) {
				snprintf(err, errlen, "services %s and %s both "
				    "listen on %s", plan->svc[i].name,
				    plan->svc[j].name, plan->svc[i].listen);
				return -1;
			}
	for (size_t i = 0; i < plan->nsvc; i++) {
		const struct proxy_options *o = &plan->svc[i];
		struct mtls_config *cfg;
		struct mtls *tls;
		char why[1024];

		/* The files as a reload reads them: present, readable, the
		 * key matching the certificate, the CRLs parsed. */
		if ((cfg = proxy_config_build(o, why, sizeof(why))) == NULL) {
			snprintf(err, errlen, "service %s: %s", o->name, why);
			return -1;
		}
		/* The context a worker would make: the key must match. */
		if ((tls = mtls_server()) == NULL ||
		    mtls_configure(tls, cfg) == -1) {
			snprintf(err, errlen, "service %s: %s", o->name,
			    tls != NULL ? mtls_error(tls) : "out of memory");
			mtls_free(tls);
			mtls_config_free(cfg);
			return -1;
		}
		mtls_free(tls);
		mtls_config_free(cfg);
		if (o->crl_file != NULL && check_crl(o, why, sizeof(why)) ==
		    -1) {
			snprintf(err, errlen, "service %s: %s", o->name, why);
			return -1;
		}
		/* The checks the command line runs at start. */
		if (proxy_start_check_line(o, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "service %s: %s", o->name, why);
			return -1;
		}
	}
	return 0;
}
