/*
 * reload.c - configurations and their replacement.  A reload (SIGHUP, or a
 * change to any certificate, key, CA or CRL file) builds a whole new
 * mtls_config in the main thread, off the workers' loops, and hands each
 * worker a new context made from it (serve: the server context; tunnel:
 * the client configuration for new upstream connections).  Connections already open keep
 * the context they were accepted with.  A reload that fails changes
 * nothing and says why.
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
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "proxy_int.h"

#define RELOAD_SETTLE 0.3 /* seconds of quiet before a file reload */
#define RELOAD_POLL 2.0   /* stat() interval without inotify */
#define WATCH_MAX 5

struct proxy_config_facts {
	time_t cert_not_after;
	time_t crl_next_update;
	char sig_alg[64];
	char key_alg[32];
	char by_uri[256];
};

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
		    mtls_config_set_key_file(cfg, opt->key_file, NULL) == -1 ||
		    mtls_config_set_ca_file(cfg, opt->ca_file) == -1 ||
		    mtls_config_set_protocols(cfg, opt->tls_min, 0) == -1) {
			snprintf(err, errlen, "%s", mtls_config_error(cfg));
			mtls_config_free(cfg);
			return NULL;
		}
		return cfg;
	}
	if (mtls_config_set_cert_file(cfg, opt->cert_file) == -1 ||
	    mtls_config_set_key_file(cfg, opt->key_file, NULL) == -1 ||
	    mtls_config_set_ca_file(cfg, opt->ca_file) == -1 ||
	    (opt->crl_file != NULL &&
	    mtls_config_set_crl_file(cfg, opt->crl_file) == -1) ||
	    mtls_config_set_protocols(cfg, opt->tls_min, 0) == -1 ||
	    mtls_config_set_policy(cfg, opt->policy) == -1 ||
	    (opt->ticket_key_file != NULL &&
	    mtls_config_set_ticket_key_file(cfg, opt->ticket_key_file) ==
	    -1)) {
		snprintf(err, errlen, "%s", mtls_config_error(cfg));
		mtls_config_free(cfg);
		return NULL;
	}
	if (opt->client_auth_optional)
		mtls_config_verify_client_optional(cfg);
	else
		mtls_config_verify_client(cfg);
	return cfg;
}

/* What the metrics and the PROXY header say about our own files: the
 * server certificate's expiry and algorithms, the CRLs' nextUpdate.  Only
 * informative, so a failure leaves the fields empty. */
static void
proxy_config_facts(const struct proxy_options *opt,
    struct proxy_config_facts *f)
{
	struct mtls_error e = { 0 };
	struct mtls_cert_info info;
	struct mtls_cert *cert;
	struct mtls_crl *crl;

	memset(f, 0, sizeof(*f));
	if ((cert = mtls_cert_load_file(opt->cert_file, &e)) != NULL) {
		memset(&info, 0, sizeof(info));
		if (mtls_cert_info(cert, 0, &info, &e) == 0) {
			const char *kt = info.key_type ? info.key_type : "";
			f->cert_not_after = info.not_after;
			if (info.signature_algorithm != NULL)
				snprintf(f->sig_alg, sizeof(f->sig_alg), "%s",
				    info.signature_algorithm);
			/* HAProxy's form: "RSA2048", "EC256". */
			if (strncmp(kt, "EC", 2) == 0)
				snprintf(f->key_alg, sizeof(f->key_alg),
				    "EC%d", info.key_bits);
			else if (strcmp(kt, "RSA") == 0)
				snprintf(f->key_alg, sizeof(f->key_alg),
				    "RSA%d", info.key_bits);
			else
				snprintf(f->key_alg, sizeof(f->key_alg), "%s",
				    kt);
			for (size_t i = 0; i < info.nsans; i++)
				if (info.sans[i].type == MTLS_SAN_URI) {
					snprintf(f->by_uri, sizeof(f->by_uri),
					    "%s", info.sans[i].value);
					break;
				}
			mtls_cert_info_clear(&info);
		}
		mtls_cert_free(cert);
	}
	if (opt->crl_file != NULL &&
	    (crl = mtls_crl_load_file(opt->crl_file, &e)) != NULL) {
		for (size_t i = 0; i < mtls_crl_count(crl); i++) {
			struct mtls_crl_info ci;
			memset(&ci, 0, sizeof(ci));
			if (mtls_crl_info(crl, i, &ci, &e) != 0)
				continue;
			if (ci.next_update != 0 && (f->crl_next_update == 0 ||
			    ci.next_update < f->crl_next_update))
				f->crl_next_update = ci.next_update;
			mtls_crl_info_clear(&ci);
		}
		mtls_crl_free(crl);
	}
}

static struct proxy_gen *
gen_new(enum proxy_mode mode, struct mtls_config *cfg,
    const struct proxy_config_facts *f, char *err, size_t errlen)
{
	struct proxy_gen *g = calloc(1, sizeof(*g));

	if (g == NULL || (g->tls = mode == PROXY_TUNNEL ? mtls_client() :
	    mtls_server()) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(g);
		return NULL;
	}
	/* Builds the TLS context now, in the main thread: a bad file fails
	 * the reload here rather than a connection later. */
	if (mtls_configure(g->tls, cfg) == -1) {
		snprintf(err, errlen, "%s", mtls_error(g->tls));
		proxy_gen_free(g);
		return NULL;
	}
	g->cfg = cfg;
	g->refs = 1; /* the worker's "current" reference */
	memcpy(g->sig_alg, f->sig_alg, sizeof(g->sig_alg));
	memcpy(g->key_alg, f->key_alg, sizeof(g->key_alg));
	memcpy(g->by_uri, f->by_uri, sizeof(g->by_uri));
	return g;
}

int
proxy_gens_new(struct proxy *px, struct mtls_config *cfg,
    struct proxy_gen **gens, int n, char *err, size_t errlen)
{
	struct proxy_config_facts f;
	int i;

	proxy_config_facts(&px->opt, &f);
	/* Every worker's context first: either all of them change, or
	 * none does. */
	for (i = 0; i < n; i++)
		if ((gens[i] = gen_new(px->opt.mode, cfg, &f, err,
		    errlen)) == NULL)
			break;
	if (i < n) {
		while (i-- > 0) {
			proxy_gen_free(gens[i]);
			gens[i] = NULL;
		}
		return -1;
	}
	pthread_mutex_lock(&px->gauges_lock);
	px->gauges.cert_not_after = f.cert_not_after;
	px->gauges.crl_next_update = f.crl_next_update;
	pthread_mutex_unlock(&px->gauges_lock);
	return 0;
}

void
proxy_gen_free(struct proxy_gen *g)
{
	if (g == NULL)
		return;
	mtls_free(g->tls);
	free(g);
}

int
proxy_reload(struct proxy *px, const char *why)
{
	struct proxy_gen **gens;
	struct mtls_config *cfg = NULL;
	char err[1024];

	if ((gens = calloc((size_t)px->nworkers, sizeof(*gens))) == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	if ((cfg = proxy_config_build(&px->opt, err, sizeof(err))) == NULL)
		goto fail;
	if (proxy_gens_new(px, cfg, gens, px->nworkers, err, sizeof(err)) ==
	    -1)
		goto fail;
	for (int i = 0; i < px->nworkers; i++) {
		struct worker_mail m = { .gen = gens[i] };
		worker_post(&px->workers[i], &m);
	}
	/* The new contexts hold their own references to cfg. */
	mtls_config_free(px->cfg);
	px->cfg = cfg;
	free(gens);
	pthread_mutex_lock(&px->gauges_lock);
	px->gauges.reloads_ok++;
	pthread_mutex_unlock(&px->gauges_lock);
	log_msg(px->opt.log_format, "info", "reloaded the configuration "
	    "(%s)", why);
	return 0;
fail:
	free(gens);
	mtls_config_free(cfg);
	pthread_mutex_lock(&px->gauges_lock);
	px->gauges.reloads_failed++;
	pthread_mutex_unlock(&px->gauges_lock);
	log_msg(px->opt.log_format, "error", "reload (%s) failed, keeping "
	    "the previous configuration: %s", why, err);
	return -1;
}

/* ---- watching the files ------------------------------------------ */

struct reloader {
	struct proxy *px;
	struct ev_loop *loop;
	int ifd;
	ev_io io;
	ev_timer settle;
	ev_signal hup;
	size_t nfiles;
	char *names[WATCH_MAX];      /* base names of the watched files */
	ev_stat poll[WATCH_MAX];     /* the fallback */
	size_t npoll;
};

static void
reloader_settle_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
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
	reloader_settle_soon(w->data);
}

static void
reloader_hup_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	struct reloader *r = s->data;

	proxy_reload(r->px, "SIGHUP");
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
	for (size_t i = 0; i < r->nfiles; i++)
		if (strcmp(ev->name, r->names[i]) == 0)
			return 1;
	return 0;
}

static void
reloader_inotify_cb(struct ev_loop *loop, ev_io *io, int revents)
{
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
	if ((r->names[r->nfiles] = strdup(basename(d2))) == NULL)
		goto out;
	r->nfiles++;
	ret = 0;
out:
	free(d1);
	free(d2);
	return ret;
}

struct reloader *
reloader_new(struct proxy *px, struct ev_loop *loop, char *err,
    size_t errlen)
{
	const char *files[WATCH_MAX] = { px->opt.cert_file, px->opt.key_file,
	    px->opt.ca_file, px->opt.crl_file, px->opt.ticket_key_file };
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
		log_msg(px->opt.log_format, "warning", "inotify: %s; polling "
		    "the files every %gs instead", strerror(errno),
		    RELOAD_POLL);
	for (size_t i = 0; i < WATCH_MAX; i++) {
		if (files[i] == NULL)
			continue;
		if (r->ifd != -1 && reloader_watch(r, files[i]) == 0)
			continue;
		if (r->ifd != -1)
			log_msg(px->opt.log_format, "warning", "%s: cannot "
			    "watch for changes (%s); polling it every %gs",
			    files[i], strerror(errno), RELOAD_POLL);
		ev_stat_init(&r->poll[r->npoll], reloader_poll_cb, files[i],
		    RELOAD_POLL);
		r->poll[r->npoll].data = r;
		ev_stat_start(loop, &r->poll[r->npoll]);
		r->npoll++;
	}
	if (r->ifd != -1) {
		ev_io_init(&r->io, reloader_inotify_cb, r->ifd, EV_READ);
		r->io.data = r;
		ev_io_start(loop, &r->io);
	}
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
	for (size_t i = 0; i < r->npoll; i++)
		ev_stat_stop(r->loop, &r->poll[i]);
	for (size_t i = 0; i < r->nfiles; i++)
		free(r->names[i]);
	free(r);
}
