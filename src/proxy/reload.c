/*
 * reload.c - configurations and their replacement.  A reload builds new
 * mtls_configs in the main thread, off the workers' loops, and hands each
 * worker a new table of services with a context per service made from
 * them (serve: the server context; tunnel: the client configuration for
 * new upstream connections).  Connections already open keep the context,
 * and so the service, they were accepted with.
 *
 * SIGHUP or a change to a service's certificate, key, CA or CRL file
 * rebuilds each service from its files; one whose files fail keeps its
 * previous configuration and says why.  With a configuration file, SIGHUP
 * or a change to it re-reads it and applies the new set of services (added,
 * removed, changed; listeners kept where a service's addresses did not
 * change) all at once, or nothing when anything in it fails.
 *
 * File changes are seen with inotify on the files' directories rather than
 * on the files: Kubernetes updates a mounted secret by swapping the
 * "..data" symlink in the directory, which a watch on the file would miss.
 * Events are gathered for a moment before reloading, so that a writer
 * replacing four files causes one reload.  Where inotify is not available
 * (or its limits are used up, common on busy Kubernetes nodes), the files
 * are polled with stat() every two seconds instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "proxy_int.h"

#define RELOAD_SETTLE 0.3 /* seconds of quiet before a file reload */
#define RELOAD_POLL 2.0   /* stat() interval without inotify */

struct mtls_config *
proxy_config_build(const struct proxy_options *opt, char *err, size_t errlen)
{
	struct mtls_config *cfg = mtls_config_new();

	if (cfg == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (opt->mode == PROXY_TUNNEL) {
		/* The client side: our certificate for the upstream, the CAs
		 * its certificate must chain to (nothing else is trusted). */
		if (mtls_config_set_cert_file(cfg, opt->cert_file) == -1 ||
		    mtls_config_set_key_file(cfg, opt->key_file,
		    opt->key_passphrase) == -1 ||
		    mtls_config_set_ca_file(cfg, opt->ca_file) == -1 ||
		    mtls_config_set_protocols(cfg, opt->tls_min, 0) == -1) {
			snprintf(err, errlen, "%s", mtls_config_error(cfg));
			mtls_config_free(cfg);
			return NULL;
		}
		return cfg;
	}
	if (mtls_config_set_cert_file(cfg, opt->cert_file) == -1 ||
	    mtls_config_set_key_file(cfg, opt->key_file, opt->key_passphrase) ==
	    -1 ||
	    mtls_config_set_ca_file(cfg, opt->ca_file) == -1 ||
	    (opt->crl_file != NULL &&
	    mtls_config_set_crl_file(cfg, opt->crl_file) == -1) ||
	    mtls_config_set_protocols(cfg, opt->tls_min, 0) == -1 ||
	    mtls_config_set_policy(cfg, opt->policy) == -1 ||
	    (opt->ticket_key_file != NULL &&
	    mtls_config_set_ticket_key_file(cfg, opt->ticket_key_file) ==
	    -1) ||
	    (opt->session_cache > 0 &&
	    mtls_config_set_session_cache_size(cfg,
	    (size_t)opt->session_cache) == -1)) {
		snprintf(err, errlen, "%s", mtls_config_error(cfg));
		mtls_config_free(cfg);
		return NULL;
	}
	/* kTLS only for the raw relay: HTTP mode parses every byte in user
	 * space anyway. */
	if (opt->ktls && !opt->http)
		mtls_config_enable_ktls(cfg);
	if (opt->client_auth_optional)
		mtls_config_verify_client_optional(cfg);
	else
		mtls_config_verify_client(cfg);
	return cfg;
}

static void
proxy_count_reload(struct proxy *px, int ok)
{
	pthread_mutex_lock(&px->svcs_lock);
	if (ok)
		px->reloads_ok++;
	else
		px->reloads_failed++;
	pthread_mutex_unlock(&px->svcs_lock);
}

/* A new table for each worker, n entries each. */
static struct worker_table **
tables_new(int nworkers, size_t n)
{
	struct worker_table **t = calloc((size_t)nworkers, sizeof(*t));

	if (t == NULL)
		return NULL;
	for (int i = 0; i < nworkers; i++) {
		if ((t[i] = calloc(1, sizeof(*t[i]))) == NULL ||
		    (t[i]->s = calloc(n ? n : 1, sizeof(*t[i]->s))) == NULL) {
			while (i >= 0) {
				if (t[i] != NULL)
					free(t[i]->s);
				free(t[i--]);
			}
			free(t);
			return NULL;
		}
		t[i]->n = n;
	}
	return t;
}

static void
tables_free(struct worker_table **t, int nworkers)
{
	if (t == NULL)
		return;
	for (int i = 0; i < nworkers; i++)
		worker_table_free(t[i]);
	free(t);
}

/* A unix listener is one socket that every worker watches (SO_REUSEPORT
 * does not spread unix connections); a file left by a proxy that died is
 * replaced, a socket something still answers on is not. */
static int
unix_listener_open(const struct proxy_addr *a, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(a->u.un.sun_path, &st) == 0) {
		int fd, busy;

		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "unix:%s: exists and is not a "
			    "socket", a->u.un.sun_path);
			return -1;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		busy = fd != -1 && connect(fd, &a->u.sa, a->len) == 0;
		if (fd != -1)
			close(fd);
		if (busy) {
			snprintf(err, errlen, "unix:%s: another process is "
			    "listening there", a->u.un.sun_path);
			return -1;
		}
		(void)unlink(a->u.un.sun_path);
	}
	return listener_open(a, LISTEN_ALONE, err, errlen);
}

/* The listening sockets of svc for every worker: each its own TCP socket
 * (SO_REUSEPORT), or a copy of the one unix socket.  *bound_unix is set
 * when a unix socket's file was made. */
static int
listeners_open(struct proxy *px, struct proxy_service *svc,
    struct worker_table **t, size_t k, int *bound_unix, char *err,
    size_t errlen)
{
	/* Our workers share the port; nobody else may (listener.c). */
	for (size_t i = 0; i < svc->nlisten; i++)
		if (listener_check_free(&svc->listen[i], err, errlen) == -1)
			return -1;
	for (size_t i = 0; i < svc->nlisten; i++) {
		const struct proxy_addr *a = &svc->listen[i];
		int shared = -1;

		if (a->u.sa.sa_family == AF_UNIX) {
			if ((shared = unix_listener_open(a, err, errlen)) ==
			    -1)
				return -1;
			*bound_unix = 1;
		}
		for (int w = 0; w < px->nworkers; w++) {
			struct slot_plan *p = &t[w]->s[k];
			int fd;

			if (shared != -1)
				fd = fcntl(shared, F_DUPFD_CLOEXEC, 0);
			else
				fd = listener_open(a, LISTEN_WORKERS, err,
				    errlen);
			if (fd == -1) {
				if (shared != -1) {
					snprintf(err, errlen, "dup: %s",
					    strerror(errno));
					close(shared);
				}
				return -1;
			}
			p->lfd[p->nlisten++] = fd;
		}
		/* Each worker has its own copy: once they close theirs, nothing
		 * may queue on the socket any more. */
		if (shared != -1)
			close(shared);
	}
	return 0;
}

static void
unix_unlink(const struct proxy_service *svc)
{
	for (size_t i = 0; i < svc->nlisten; i++)
		if (svc->listen[i].u.sa.sa_family == AF_UNIX)
			(void)unlink(svc->listen[i].u.un.sun_path);
}

static struct proxy_service *
proxy_find(struct proxy *px, const char *name)
{
	for (size_t i = 0; i < px->nsvcs; i++)
		if (strcmp(px->svcs[i]->st->name, name) == 0)
			return px->svcs[i];
	return NULL;
}

static int
service_listed(struct proxy_service *const *svcs, size_t n,
    const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(svcs[i]->st->name, name) == 0)
			return 1;
	return 0;
}

static int
prefixes_same(const struct proxy_options *x, const struct proxy_options *y)
{
	if (x->nstrip_prefix != y->nstrip_prefix)
		return 0;
	for (size_t i = 0; i < x->nstrip_prefix; i++)
		if (!str_same(x->strip_prefix[i], y->strip_prefix[i]))
			return 0;
	return 1;
}

/* Whether a reload changed what a service is (its files' contents aside:
 * every reload reads them again). */
static int
service_same(const struct proxy_service *a, const struct proxy_service *b)
{
	const struct proxy_options *x = &a->opt, *y = &b->opt;

	return str_same(x->listen, y->listen) &&
	    str_same(x->backend, y->backend) &&
	    str_same(x->connect, y->connect) &&
	    str_same(x->servername, y->servername) &&
	    str_same(x->cert_file, y->cert_file) &&
	    str_same(x->key_file, y->key_file) &&
	    str_same(x->ca_file, y->ca_file) &&
	    str_same(x->crl_file, y->crl_file) &&
	    str_same(x->ticket_key_file, y->ticket_key_file) &&
	    x->policy_text != NULL && str_same(x->policy_text,
	    y->policy_text) &&
	    x->client_auth_optional == y->client_auth_optional &&
	    x->tls_min == y->tls_min &&
	    x->proxy_protocol == y->proxy_protocol &&
	    x->unsafe_backend == y->unsafe_backend &&
	    x->max_conns == y->max_conns &&
	    x->session_cache == y->session_cache &&
	    x->handshake_timeout == y->handshake_timeout &&
	    x->idle_timeout == y->idle_timeout &&
	    x->backend_timeout == y->backend_timeout &&
	    str_same(x->renew_from, y->renew_from) &&
	    str_same(x->crl_from, y->crl_from) &&
	    x->http == y->http &&
	    str_same(x->http_identity, y->http_identity) &&
	    prefixes_same(x, y) &&
	    x->http_max_line == y->http_max_line &&
	    x->http_max_head == y->http_max_head &&
	    x->http_max_fields == y->http_max_fields &&
	    x->http_timeout == y->http_timeout;
}

/* Why the service name could not be set up.  A service of one from the
 * command line is named by its options, not by a label the user never
 * gave. */
static void
service_failed(const struct proxy *px, const char *name, const char *why,
    char *err, size_t errlen)
{
	if (px->file != NULL)
		snprintf(err, errlen, "service %s: %s", name, why);
	else
		snprintf(err, errlen, "%s", why);
}

int
proxy_apply(struct proxy *px, struct proxy_plan *plan,
    struct worker_table **first, char *err, size_t errlen)
{
	size_t n = plan->nsvc;
	struct worker_table **t = NULL;
	struct proxy_service **svcs = calloc(n ? n : 1, sizeof(*svcs));
	int *bound = calloc(n ? n : 1, sizeof(*bound));
	struct proxy_gen **gens = calloc((size_t)px->nworkers, sizeof(*gens));
	char why[1024];
	size_t i;

	if (svcs == NULL || bound == NULL || gens == NULL ||
	    (t = tables_new(px->nworkers, n)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (i = 0; i < n; i++) {
		struct proxy_options *o = &plan->svc[i];
		const char *name = o->name != NULL ? o->name : "default";
		struct proxy_service *old = proxy_find(px, name);
		struct svc_state *st = old != NULL ? old->st :
		    svc_state_new(name, px->nworkers);
		struct mtls_config *cfg;
		int keep;

		if (st == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		svcs[i] = service_new(o, plan, st, 0, why, sizeof(why));
		if (old == NULL)
			svc_state_unref(st); /* the service holds it */
		if (svcs[i] == NULL) {
			service_failed(px, name, why, err, errlen);
			goto fail;
		}
		if ((cfg = proxy_config_build(&svcs[i]->opt, why,
		    sizeof(why))) == NULL || gen_new_set(svcs[i], cfg, gens,
		    px->nworkers, why, sizeof(why)) == -1) {
			mtls_config_free(cfg);
			service_failed(px, name, why, err, errlen);
			goto fail;
		}
		/* The generations hold their own references to cfg. */
		mtls_config_free(cfg);
		keep = old != NULL && service_same_listen(old, svcs[i]);
		for (int w = 0; w < px->nworkers; w++) {
			struct slot_plan *p = &t[w]->s[i];
			snprintf(p->name, sizeof(p->name), "%s", name);
			p->gen = gens[w];
			p->keep = keep;
		}
		if (!keep && listeners_open(px, svcs[i], t, i, &bound[i], why,
		    sizeof(why)) == -1) {
			service_failed(px, name, why, err, errlen);
			goto fail;
		}
	}

	/* Nothing can fail from here on. */
	for (i = 0; i < n; i++) {
		struct proxy_service *old = proxy_find(px, svcs[i]->st->name);
		const char *what = old == NULL ? "added" :
		    service_same(old, svcs[i]) ? "reloaded" : "changed";

		if (plan->owns_policies) {
			svcs[i]->own_policy = 1;
			plan->svc[i].policy = NULL;
		}
		if (first != NULL) {
			svc_state_reload(svcs[i]->st, 1, "started");
		} else {
			svc_state_reload(svcs[i]->st, 1, what);
			log_msg(px->log_format, "info", "service %s: %s",
			    svcs[i]->st->name, what);
		}
	}
	for (size_t k = 0; k < px->nsvcs; k++) {
		const char *name = px->svcs[k]->st->name;
		int kept = 0;
		for (i = 0; i < n; i++)
			if (strcmp(svcs[i]->st->name, name) == 0)
				kept = service_same_listen(px->svcs[k],
				    svcs[i]);
		if (!kept && px->svc_unix[k])
			unix_unlink(px->svcs[k]);
		for (i = 0; i < n; i++)
			if (strcmp(svcs[i]->st->name, name) == 0 && kept)
				bound[i] = px->svc_unix[k];
		if (!service_listed(svcs, n, name))
			log_msg(px->log_format, "info", "service %s: removed",
			    name);
	}
	if (first != NULL) {
		for (int w = 0; w < px->nworkers; w++)
			first[w] = t[w];
	} else {
		for (int w = 0; w < px->nworkers; w++) {
			struct worker_mail m = { .table = t[w] };
			worker_post(&px->workers[w], &m);
		}
	}
	free(t);
	pthread_mutex_lock(&px->svcs_lock);
	for (size_t k = 0; k < px->nsvcs; k++)
		service_unref(px->svcs[k]);
	free(px->svcs);
	free(px->svc_unix);
	px->svcs = svcs;
	px->svc_unix = bound;
	px->nsvcs = n;
	pthread_mutex_unlock(&px->svcs_lock);
	free(gens);
	return 0;
fail:
	tables_free(t, px->nworkers);
	for (i = 0; svcs != NULL && i < n; i++) {
		if (svcs[i] != NULL && bound != NULL && bound[i])
			unix_unlink(svcs[i]);
		service_unref(svcs[i]);
	}
	free(svcs);
	free(bound);
	free(gens);
	return -1;
}

void
proxy_unix_cleanup(struct proxy *px)
{
	for (size_t k = 0; k < px->nsvcs; k++)
		if (px->svc_unix[k])
			unix_unlink(px->svcs[k]);
}

/* A reload that re-reads the configuration file: all or nothing. */
static int
proxy_reload_file(struct proxy *px, const char *why)
{
	struct proxy_plan *plan;
	char err[1024];
	int ret = -1;

	if ((plan = proxy_plan_load(px->file, err, sizeof(err))) != NULL)
		proxy_plan_set_key_passphrase(plan, px->plan.key_passphrase);
	if (plan != NULL && proxy_plan_check(plan, err, sizeof(err)) == -1) {
		proxy_plan_free(plan);
		plan = NULL;
	}
	if (plan != NULL) {
		if (plan->workers != px->plan.workers ||
		    !str_same(plan->metrics, px->plan.metrics))
			log_msg(px->log_format, "warning", "%s: workers and "
			    "the metrics address change at the next start",
			    px->file);
		ret = proxy_apply(px, plan, NULL, err, sizeof(err));
		proxy_plan_free(plan);
	}
	proxy_count_reload(px, ret == 0);
	if (ret == 0) {
		log_msg(px->log_format, "info", "reloaded %s (%s)", px->file,
		    why);
		reloader_rewatch(px->reloader);
		if (px->renewer != NULL &&
		    renewer_sync(px->renewer, err, sizeof(err)) == -1)
			log_msg(px->log_format, "error", "%s: renewals and "
			    "CRL fetches not updated: %s", px->file, err);
	} else {
		log_msg(px->log_format, "error", "reload (%s) failed, keeping "
		    "the previous configuration: %s", why, err);
	}
	return ret;
}

int
proxy_reload(struct proxy *px, const char *why)
{
	struct worker_table **t;
	struct proxy_gen **gens;
	int failed = 0;

	if (px->file != NULL)
		return proxy_reload_file(px, why);
	gens = calloc((size_t)px->nworkers, sizeof(*gens));
	t = tables_new(px->nworkers, px->nsvcs);
	if (gens == NULL || t == NULL) {
		free(gens);
		tables_free(t, px->nworkers);
		proxy_count_reload(px, 0);
		log_msg(px->log_format, "error", "reload (%s) failed, keeping "
		    "the previous configuration: out of memory", why);
		return -1;
	}
	/* Service by service: one whose files are broken keeps its previous
	 * configuration, the others move on. */
	for (size_t i = 0; i < px->nsvcs; i++) {
		struct proxy_service *svc = px->svcs[i];
		struct mtls_config *cfg;
		char err[1024];

		cfg = NULL;
		if (proxy_start_check_line(&svc->opt, err, sizeof(err)) ==
		    -1 || (cfg = proxy_config_build(&svc->opt, err,
		    sizeof(err))) == NULL || gen_new_set(svc, cfg, gens,
		    px->nworkers, err,
		    sizeof(err)) == -1) {
			memset(gens, 0, (size_t)px->nworkers * sizeof(*gens));
			failed = 1;
			svc_state_reload(svc->st, 0, err);
			log_msg(px->log_format, "error", "reload (%s) failed, "
			    "keeping the previous configuration: %s%s%s", why,
			    px->nsvcs > 1 ? svc->st->name : "",
			    px->nsvcs > 1 ? ": " : "", err);
		} else {
			svc_state_reload(svc->st, 1, why);
		}
		mtls_config_free(cfg);
		for (int w = 0; w < px->nworkers; w++) {
			struct slot_plan *p = &t[w]->s[i];
			snprintf(p->name, sizeof(p->name), "%s",
			    svc->st->name);
			p->gen = gens[w];
			p->keep = 1;
		}
	}
	for (int w = 0; w < px->nworkers; w++) {
		struct worker_mail m = { .table = t[w] };
		worker_post(&px->workers[w], &m);
	}
	free(t);
	free(gens);
	proxy_count_reload(px, !failed);
	if (!failed)
		log_msg(px->log_format, "info", "reloaded the configuration "
		    "(%s)", why);
	return failed ? -1 : 0;
}

/* ---- watching the files ------------------------------------------ */

struct reloader {
	struct proxy *px;
	struct ev_loop *loop;
	int ifd;
	ev_io io;
	ev_timer settle;
	ev_signal hup;
	char **names;                /* base names of the watched files */
	size_t nnames;
	ev_stat *poll;               /* the fallback */
	size_t npoll;
};

static void
reloader_settle_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	struct reloader *r = t->data;

	proxy_reload(r->px, "a file changed");
}

static void
reloader_settle_soon(struct reloader *r)
{
	/* Wait for the writer to finish: restart the settle timer on every
	 * event. */
	ev_timer_stop(r->loop, &r->settle);
	ev_timer_set(&r->settle, RELOAD_SETTLE, 0);
	ev_timer_start(r->loop, &r->settle);
}

static void
reloader_poll_cb(struct ev_loop *loop, ev_stat *w, int revents)
{
	(void)loop;
	(void)revents;
	reloader_settle_soon(w->data);
}

/* systemd's Type=notify reload protocol: RELOADING=1 with the monotonic
 * time, then READY=1 whatever the outcome (the old configuration still
 * serves when the new one failed). */
static void
reloader_hup_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	(void)loop;
	(void)revents;
	struct reloader *r = s->data;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	(void)sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000);
	proxy_reload(r->px, "SIGHUP");
	(void)sd_notify(0, "READY=1");
}

/* Is this event about one of our files (or the Kubernetes "..data"
 * symlink through which they are reached)? */
static int
reloader_relevant(struct reloader *r, const struct inotify_event *ev)
{
	if (ev->mask & IN_Q_OVERFLOW)
		return 1;
	if (ev->len == 0)
		return 0;
	if (strncmp(ev->name, "..data", 6) == 0)
		return 1;
	for (size_t i = 0; i < r->nnames; i++)
		if (strcmp(ev->name, r->names[i]) == 0)
			return 1;
	return 0;
}

static void
reloader_inotify_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop;
	(void)revents;
	struct reloader *r = io->data;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int hit = 0;

	for (;;) {
		ssize_t n = read(r->ifd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;
			if (reloader_relevant(r, ev))
				hit = 1;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (hit)
		reloader_settle_soon(r);
}

static int
reloader_watch(struct reloader *r, const char *path)
{
	char *d1 = strdup(path), *d2 = strdup(path);
	int ret = -1;

	if (d1 == NULL || d2 == NULL)
		goto out;
	if (inotify_add_watch(r->ifd, dirname(d1), IN_CLOSE_WRITE |
	    IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB) == -1)
		goto out;
	if ((r->names[r->nnames] = strdup(basename(d2))) == NULL)
		goto out;
	r->nnames++;
	ret = 0;
out:
	free(d1);
	free(d2);
	return ret;
}

static void
reloader_unwatch(struct reloader *r)
{
	for (size_t i = 0; i < r->npoll; i++)
		ev_stat_stop(r->loop, &r->poll[i]);
	for (size_t i = 0; i < r->nnames; i++)
		free(r->names[i]);
	free(r->poll);
	free(r->names);
	r->poll = NULL;
	r->names = NULL;
	r->npoll = r->nnames = 0;
}

/* The configuration file and every service's files.  A directory watched
 * twice is one watch (inotify returns the same one), so nothing needs to
 * be removed when services go; a stale watch costs an early reload at
 * most. */
void
reloader_rewatch(struct reloader *r)
{
	struct proxy *px = r->px;
	size_t max = 1 + 5 * px->nsvcs, nfiles = 0;
	const char **files;

	reloader_unwatch(r);
	files = calloc(max, sizeof(*files));
	r->names = calloc(max, sizeof(*r->names));
	r->poll = calloc(max, sizeof(*r->poll));
	if (files == NULL || r->names == NULL || r->poll == NULL) {
		log_msg(px->log_format, "warning", "out of memory: files are "
		    "no longer watched for changes (SIGHUP still reloads)");
		free(files);
		reloader_unwatch(r);
		return;
	}
	if (px->file != NULL)
		files[nfiles++] = px->file;
	for (size_t i = 0; i < px->nsvcs; i++) {
		const struct proxy_options *o = &px->svcs[i]->opt;
		const char *f[] = { o->cert_file, o->key_file, o->ca_file,
		    o->crl_file, o->ticket_key_file };
		for (size_t j = 0; j < 5; j++)
			if (f[j] != NULL)
				files[nfiles++] = f[j];
	}
	for (size_t i = 0; i < nfiles; i++) {
		if (r->ifd != -1 && reloader_watch(r, files[i]) == 0)
			continue;
		if (r->ifd != -1)
			log_msg(px->log_format, "warning", "%s: cannot watch "
			    "for changes (%s); polling it every %gs",
			    files[i], strerror(errno), RELOAD_POLL);
		/* ev_stat keeps the path pointer: the services' strings
		 * outlive the watch (rewatched after every change). */
		ev_stat_init(&r->poll[r->npoll], reloader_poll_cb, files[i],
		    RELOAD_POLL);
		r->poll[r->npoll].data = r;
		ev_stat_start(r->loop, &r->poll[r->npoll]);
		r->npoll++;
	}
	free(files);
}

struct reloader *
reloader_new(struct proxy *px, struct ev_loop *loop, char *err,
    size_t errlen)
{
	struct reloader *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->px = px;
	r->loop = loop;
	ev_timer_init(&r->settle, reloader_settle_cb, RELOAD_SETTLE, 0);
	r->settle.data = r;
	ev_signal_init(&r->hup, reloader_hup_cb, SIGHUP);
	r->hup.data = r;
	ev_signal_start(loop, &r->hup);
	r->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (r->ifd == -1)
		log_msg(px->log_format, "warning", "inotify: %s; polling "
		    "the files every %gs instead", strerror(errno),
		    RELOAD_POLL);
	if (r->ifd != -1) {
		ev_io_init(&r->io, reloader_inotify_cb, r->ifd, EV_READ);
		r->io.data = r;
		ev_io_start(loop, &r->io);
	}
	px->reloader = r;
	reloader_rewatch(r);
	return r;
}

void
reloader_free(struct reloader *r)
{
	if (r == NULL)
		return;
	ev_signal_stop(r->loop, &r->hup);
	ev_timer_stop(r->loop, &r->settle);
	if (r->ifd != -1) {
		ev_io_stop(r->loop, &r->io);
		close(r->ifd);
	}
	reloader_unwatch(r);
	free(r);
}
