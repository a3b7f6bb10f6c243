/*
 * service.c - one service: a listener set, where its connections go, and
 * what it has seen.  A struct proxy_service is built once from its options
 * and never changes (a reload that changes a service builds a new one), so
 * connections read it without locks; its struct svc_state carries the
 * counters and the status page's facts across reloads while the service
 * keeps its name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtls_tools.h"
#include "proxy_int.h"

struct svc_state *
svc_state_new(const char *name, int nworkers)
{
	struct svc_state *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	if ((st->stats = calloc((size_t)nworkers, sizeof(*st->stats))) ==
	    NULL) {
		free(st);
		return NULL;
	}
	snprintf(st->name, sizeof(st->name), "%s", name);
	st->nworkers = nworkers;
	st->refs = 1;
	pthread_mutex_init(&st->lock, NULL);
	return st;
}

void
svc_state_unref(struct svc_state *st)
{
	if (st == NULL || __atomic_sub_fetch(&st->refs, 1, __ATOMIC_ACQ_REL)
	    != 0)
		return;
	pthread_mutex_destroy(&st->lock);
	free(st->stats);
	free(st);
}

void
svc_state_reload(struct svc_state *st, int ok, const char *what)
{
	struct status_reload *r;

	pthread_mutex_lock(&st->lock);
	r = &st->reloads[st->nreloads++ % STATUS_RELOADS_MAX];
	r->when = time(NULL);
	r->ok = ok;
	snprintf(r->what, sizeof(r->what), "%s", what);
	if (ok)
		st->gauges.reloads_ok++;
	else
		st->gauges.reloads_failed++;
	pthread_mutex_unlock(&st->lock);
}

void
svc_state_refused(struct svc_state *st, int r, const char *who,
    const char *why)
{
	time_t now = time(NULL), minute = now / 60;
	size_t slot = (size_t)minute % (STATUS_WINDOW / 60);
	struct status_refusal *f;

	pthread_mutex_lock(&st->lock);
	if (st->refusal_minute[slot] != minute) {
		memset(st->refusals[slot], 0, sizeof(st->refusals[slot]));
		st->refusal_minute[slot] = minute;
	}
	st->refusals[slot][r]++;
	f = &st->refused[st->nrefused++ % STATUS_REFUSED_MAX];
	f->when = now;
	f->reason = r;
	snprintf(f->who, sizeof(f->who), "%s", who);
	snprintf(f->why, sizeof(f->why), "%s", why != NULL ? why : "");
	pthread_mutex_unlock(&st->lock);
}

/* The table of client identities is small and bounded: once full, a new
 * identity replaces the least seen one (space-saving counting), so a
 * flood of distinct names cannot grow it. */
void
svc_state_client(struct svc_state *st, const char *who)
{
	size_t i, low = 0;

	pthread_mutex_lock(&st->lock);
	for (i = 0; i < st->ntop; i++) {
		if (strcmp(st->top[i].who, who) == 0) {
			st->top[i].conns++;
			goto out;
		}
		if (st->top[i].conns < st->top[low].conns)
			low = i;
	}
	if (st->ntop < STATUS_TOP_MAX) {
		low = st->ntop++;
		st->top[low].conns = 0;
	}
	snprintf(st->top[low].who, sizeof(st->top[low].who), "%s", who);
	st->top[low].conns++;
out:
	pthread_mutex_unlock(&st->lock);
}

/* What connections connect to, and how the sides are named in messages. */
static int
service_targets(struct proxy_service *svc, char *err, size_t errlen)
{
	const struct proxy_options *opt = &svc->opt;
	const char *host;
	int n;

	if (opt->mode == PROXY_SERVE) {
		svc->tls_side = "client";
		svc->plain_side = svc->target_side = "backend";
		if (proxy_check_backend(opt->backend, opt->unsafe_backend, err,
		    errlen) != 0 || addr_parse(opt->backend, ADDR_UNIX,
		    svc->target, 1, err, errlen) < 0)
			return -1;
		svc->ntarget = 1;
		return 0;
	}
	svc->tls_side = svc->target_side = "upstream";
	svc->plain_side = "client";
	if (opt->connect == NULL || (n = addr_parse(opt->connect, 0,
	    svc->target, ADDR_MAX, err, errlen)) < 0)
		return -1;
	svc->ntarget = (size_t)n;
	/* The name checked in the upstream's certificate: the server name,
	 * or the host as written in the upstream address (an IP address is
	 * then checked against the IP SANs). */
	host = opt->servername;
	if (host == NULL) {
		char why[256];
		unsigned port;
		if (mtls_hostport_parse(opt->connect, 0, svc->servername,
		    sizeof(svc->servername), &port, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s: no usable server name",
			    opt->connect);
			return -1;
		}
	} else if (snprintf(svc->servername, sizeof(svc->servername), "%s",
	    host) >= (int)sizeof(svc->servername)) {
		snprintf(err, errlen, "server name %.40s...: too long", host);
		return -1;
	}
	return 0;
}

/* Copies the option strings, and HTTP mode's header prefixes, into one
 * allocation owned by the service: the array of prefix pointers first
 * (malloc's alignment), then the text.  A reload frees the plan the
 * options came from while the service may live on. */
static int
service_copy_strings(struct proxy_service *svc)
{
	const char **f[] = { &svc->opt.name, &svc->opt.listen,
	    &svc->opt.backend, &svc->opt.connect, &svc->opt.servername,
	    &svc->opt.cert_file, &svc->opt.key_file, &svc->opt.ca_file,
	    &svc->opt.crl_file, &svc->opt.ticket_key_file,
	    &svc->opt.renew_from, &svc->opt.crl_from,
	    &svc->opt.http_identity, &svc->opt.policy_text };
	size_t nf = sizeof(f) / sizeof(f[0]), ns = svc->opt.nstrip_prefix;
	size_t n = ns * sizeof(char *);
	const char **prefixes;
	char *p;

	for (size_t i = 0; i < nf; i++)
		if (*f[i] != NULL)
			n += strlen(*f[i]) + 1;
	for (size_t i = 0; i < ns; i++)
		n += strlen(svc->opt.strip_prefix[i]) + 1;
	if ((svc->strings = malloc(n + 1)) == NULL)
		return -1;
	prefixes = (const char **)(void *)svc->strings;
	p = svc->strings + ns * sizeof(char *);
	for (size_t i = 0; i < nf; i++) {
		size_t len;
		if (*f[i] == NULL)
			continue;
		len = strlen(*f[i]) + 1;
		memcpy(p, *f[i], len);
		*f[i] = p;
		p += len;
	}
	for (size_t i = 0; i < ns; i++) {
		size_t len = strlen(svc->opt.strip_prefix[i]) + 1;
		memcpy(p, svc->opt.strip_prefix[i], len);
		prefixes[i] = p;
		p += len;
	}
	svc->opt.strip_prefix = ns > 0 ? prefixes : NULL;
	svc->opt.metrics = NULL;
	return 0;
}

struct proxy_service *
service_new(const struct proxy_options *opt, const struct proxy_plan *plan,
    struct svc_state *st, int take_policy, char *err, size_t errlen)
{
	struct proxy_service *svc = calloc(1, sizeof(*svc));
	int n;

	if (svc == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	svc->refs = 1;
	svc->opt = *opt;
	svc->opt.mode = plan->mode;
	svc->opt.log_format = plan->log_format;
	svc->opt.drain_timeout = plan->drain_timeout;
	svc->opt.workers = plan->workers;
	if (svc->opt.handshake_timeout <= 0)
		svc->opt.handshake_timeout = PROXY_HANDSHAKE_TIMEOUT;
	if (svc->opt.idle_timeout <= 0)
		svc->opt.idle_timeout = PROXY_IDLE_TIMEOUT;
	if (svc->opt.backend_timeout <= 0)
		svc->opt.backend_timeout = PROXY_BACKEND_TIMEOUT;
	if (service_copy_strings(svc) == -1) {
		free(svc);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	svc->st = st;
	__atomic_add_fetch(&st->refs, 1, __ATOMIC_ACQ_REL);
	n = addr_parse(svc->opt.listen, ADDR_LISTEN | ADDR_UNIX, svc->listen,
	    ADDR_MAX, err, errlen);
	if (n < 0 || service_targets(svc, err, errlen) == -1) {
		service_unref(svc);
		return NULL;
	}
	svc->nlisten = (size_t)n;
	/* Taken only on success: on failure the caller still owns it. */
	svc->own_policy = take_policy;
	return svc;
}

void
service_ref(struct proxy_service *svc)
{
	__atomic_add_fetch(&svc->refs, 1, __ATOMIC_ACQ_REL);
}

void
service_unref(struct proxy_service *svc)
{
	if (svc == NULL || __atomic_sub_fetch(&svc->refs, 1,
	    __ATOMIC_ACQ_REL) != 0)
		return;
	if (svc->own_policy)
		mtls_policy_free(svc->opt.policy);
	svc_state_unref(svc->st);
	free(svc->strings);
	free(svc);
}

int
service_same_listen(const struct proxy_service *a,
    const struct proxy_service *b)
{
	if (a->nlisten != b->nlisten)
		return 0;
	for (size_t i = 0; i < a->nlisten; i++)
		if (a->listen[i].len != b->listen[i].len ||
		    memcmp(&a->listen[i].u, &b->listen[i].u,
		    a->listen[i].len) != 0)
			return 0;
	return 1;
}

int
str_same(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}
