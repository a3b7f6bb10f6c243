/*
 * engine.c - proxy_run(): builds the services of a plan (their listeners,
 * targets and first configurations), starts the workers, then runs the
 * main loop, which owns everything that is not a connection: signals
 * (SIGHUP reload, SIGTERM/SIGINT graceful stop), file watching, the
 * metrics listener and the stop deadline.  Three steps: engine_start,
 * engine_run, engine_teardown, the last reached from every path.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "mtls_tools.h"
#include "proxy_int.h"

struct engine {
	struct proxy *px;
	struct ev_loop *loop;
	struct reloader *rl;
	struct renewer *rn;
	struct metrics_server *ms;
	struct worker_table **first; /* [nworkers] until the workers take
	                              * them */
	int started;                 /* workers running */
	ev_signal term, intr;
	ev_timer deadline;
	ev_timer poll_done;
	int stopping;
};

static void
engine_post_all(struct proxy *px, const struct worker_mail *m)
{
	for (int i = 0; i < px->nworkers; i++)
		worker_post(&px->workers[i], m);
}

static void
engine_stop_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	(void)revents;
	struct engine *e = s->data;
	struct proxy *px = e->px;

	if (e->stopping) {
		/* A second signal: do not wait for the deadline. */
		struct worker_mail m = { .force = 1 };
		engine_post_all(px, &m);
		return;
	}
	e->stopping = 1;
	(void)sd_notify(0, "STOPPING=1");
	log_msg(px->log_format, "info", "%s: no new connections; "
	    "waiting up to %gs for %lld open ones",
	    s->signum == SIGTERM ? "SIGTERM" : "SIGINT",
	    px->plan.drain_timeout,
	    (long long)__atomic_load_n(&px->active, __ATOMIC_RELAXED));
	{
		struct worker_mail m = { .stop = 1 };
		engine_post_all(px, &m);
	}
	ev_timer_start(loop, &e->deadline);
	ev_timer_start(loop, &e->poll_done);
}

static void
engine_deadline_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	struct engine *e = t->data;
	struct proxy *px = e->px;
	struct worker_mail m = { .force = 1 };

	log_msg(px->log_format, "info", "stop deadline passed: closing "
	    "%lld open connections",
	    (long long)__atomic_load_n(&px->active, __ATOMIC_RELAXED));
	engine_post_all(px, &m);
}

/* The main loop ends when every worker has drained. */
static void
engine_poll_done_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)revents;
	struct engine *e = t->data;

	if (__atomic_load_n(&e->px->workers_done, __ATOMIC_ACQUIRE) ==
	    e->px->nworkers)
		ev_break(loop, EVBREAK_ALL);
}

static int
engine_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

/* "CN=localhost (DNS:localhost, IP:127.0.0.1) until 2027-03-07T00:16:12Z"
 * for the first certificate of file, or the subjects of all of them (a CA
 * file); the file's name when it does not load (the checks at start have
 * already said why). */
static void
engine_cert_words(const char *file, int all, char *buf, size_t cap)
{
	struct mtls_error e = { 0 };
	struct mtls_cert *cert = mtls_cert_load_file(file, &e);
	size_t len = 0, n = cert != NULL ? mtls_cert_count(cert) : 0;

	snprintf(buf, cap, "%s", file);
	for (size_t i = 0; i < (all ? n : n > 0 ? 1 : 0) && len < cap; i++) {
		struct mtls_cert_info ci;
		struct tm tm;
		char until[32] = "?";
		int k;

		if (mtls_cert_info(cert, i, &ci, &e) != 0)
			continue;
		if (gmtime_r(&ci.not_after, &tm) != NULL)
			strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ",
			    &tm);
		k = snprintf(buf + len, cap - len, "%s%s", i ? ", " : "",
		    ci.subject);
		len += k > 0 ? (size_t)k : 0;
		for (size_t j = 0; !all && j < ci.nsans && len < cap; j++) {
			k = snprintf(buf + len, cap - len, "%s%s:%s",
			    j ? ", " : " (", mtls_san_type_name(ci.sans[j].type),
			    ci.sans[j].value);
			len += k > 0 ? (size_t)k : 0;
			if (j + 1 == ci.nsans && len < cap)
				len += (size_t)snprintf(buf + len, cap - len,
				    ")");
		}
		if (len < cap) {
			k = snprintf(buf + len, cap - len, " until %s", until);
			len += k > 0 ? (size_t)k : 0;
		}
		mtls_cert_info_clear(&ci);
	}
	mtls_cert_free(cert);
}

/* One line for a plan of one service, as before there were several; a
 * line per service otherwise.  It says what the service does: where it
 * listens, where it forwards, with which certificate, trusting which CA,
 * letting whom in, and where the metrics are. */
static void
engine_log_started(struct proxy *px)
{
	for (size_t i = 0; i < px->nsvcs; i++) {
		const struct proxy_service *svc = px->svcs[i];
		char name[ADDR_STRLEN], label[80] = "";
		char cert[512], anchors[512], ca[800], rules[512];
		char metrics[300] = "";

		addr_format(&svc->target[0].u.sa, svc->target[0].len, name,
		    sizeof(name));
		if (px->file != NULL)
			snprintf(label, sizeof(label), "service %s: ",
			    svc->st->name);
		engine_cert_words(svc->opt.cert_file, 0, cert, sizeof(cert));
		engine_cert_words(svc->opt.ca_file, 1, anchors,
		    sizeof(anchors));
		if (strcmp(anchors, svc->opt.ca_file) == 0)
			snprintf(ca, sizeof(ca), "%s", anchors);
		else
			snprintf(ca, sizeof(ca), "%s (%s)", svc->opt.ca_file,
			    anchors);
		if (px->plan.metrics != NULL && i == 0)
			snprintf(metrics, sizeof(metrics), "; metrics on %s",
			    px->plan.metrics);
		if (svc->opt.mode == PROXY_TUNNEL)
			log_msg(px->log_format, "info", "%slistening on %s "
			    "with %d worker%s, tunnelling over mTLS to %s "
			    "(server name %s); client certificate %s; server "
			    "verified against %s%s", label, svc->opt.listen,
			    px->nworkers, px->nworkers == 1 ? "" : "s", name,
			    svc->servername, cert, ca, metrics);
		else
			log_msg(px->log_format, "info", "%slistening on %s "
			    "with %d worker%s, forwarding to %s%s%s; "
			    "certificate %s; clients verified against %s, "
			    "allowing %s%s%s", label,
			    svc->opt.listen, px->nworkers,
			    px->nworkers == 1 ? "" : "s", name,
			    svc->opt.proxy_protocol ? " with PROXY v2" : "",
			    svc->opt.ktls ? " (kernel TLS asked for; each "
			    "connection's log line says whether it was used)" :
			    "",
			    cert, ca, mtls_policy_text(svc->opt.policy, rules,
			    sizeof(rules)), svc->opt.client_auth_optional ?
			    " (certificate optional)" : "", metrics);
	}
}

static int
engine_sandbox(struct proxy *px, char *err, size_t errlen)
{
	struct proxy_addr a[ADDR_MAX];
	int ports[ADDR_MAX], n = 0;
	char why[512];

	if (px->plan.metrics != NULL &&
	    (n = addr_parse(px->plan.metrics, ADDR_LISTEN, a, ADDR_MAX, why,
	    sizeof(why))) < 0)
		n = 0;
	for (int i = 0; i < n; i++)
		ports[i] = ntohs(a[i].u.sa.sa_family == AF_INET6 ?
		    a[i].u.in6.sin6_port : a[i].u.in.sin_port);
	if (sandbox_enter(px, ports, (size_t)n, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "sandbox: %s", why);
		return -1;
	}
	return 0;
}

static int
engine_start(struct engine *e, const struct proxy_plan *plan,
    enum proxy_part *part, char *err, size_t errlen)
{
	struct proxy *px;
	struct proxy_plan first = *plan;
	sigset_t block, old;

	if ((px = e->px = calloc(1, sizeof(*px))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	px->plan = *plan;
	px->plan.svc = NULL;
	px->plan.nsvc = 0;
	px->plan.storage = NULL;
	px->log_format = plan->log_format;
	px->started = time(NULL);
	pthread_mutex_init(&px->svcs_lock, NULL);
	if (plan->file != NULL && (px->file = strdup(plan->file)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	px->plan.file = px->file;
	if (px->plan.drain_timeout <= 0)
		px->plan.drain_timeout = PROXY_DRAIN_TIMEOUT;
	/* Sized from the count the caller asked for, whatever it is. */
	px->nworkers = plan->workers > 0 ? plan->workers : engine_workers();
	px->plan.workers = plan->workers;
	if ((px->workers = calloc((size_t)px->nworkers,
	    sizeof(*px->workers))) == NULL ||
	    (e->first = calloc((size_t)px->nworkers,
	    sizeof(*e->first))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < px->nworkers; i++) {
		px->workers[i].px = px;
		px->workers[i].id = i;
	}

	/* A writer to a closed peer gets EPIPE, not a signal that ends the
	 * process; the workers leave the other signals to the main loop.
	 * Until the reloader's watcher takes SIGHUP over, one that comes
	 * while the files are loaded and the listeners bound (a script that
	 * saw the port) is dropped instead of ending the process: the files
	 * being loaded are the newest anyway. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if ((e->loop = ev_default_loop(EVFLAG_AUTO)) == NULL) {
		snprintf(err, errlen, "cannot create the main event loop");
		return -1;
	}
	/* The policies stay the caller's: the engine borrows them while it
	 * runs, so its first copy of the plan must not take them. */
	first.owns_policies = 0;
	if (proxy_apply(px, &first, e->first, err, errlen) == -1)
		return -1;

	proxy_raise_nofile(px->log_format);
	if (plan->metrics != NULL &&
	    (e->ms = metrics_server_new(px, e->loop, err, errlen)) == NULL) {
		*part = PROXY_PART_METRICS;
		return -1;
	}
	if ((e->rl = reloader_new(px, e->loop, err, errlen)) == NULL)
		return -1;
	if ((e->rn = renewer_new(px, e->loop, err, errlen)) == NULL)
		return -1;
	/* Everything is bound and loaded: what the process may still do
	 * is narrowed before the workers start, so that they inherit it. */
	if (!plan->no_sandbox && engine_sandbox(px, err, errlen) == -1)
		return -1;

	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (int i = 0; i < px->nworkers; i++) {
		struct worker_table *t = e->first[i];

		e->first[i] = NULL;
		if (worker_start(&px->workers[i], t, err, errlen) == -1)
			break;
		e->started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e->started < px->nworkers)
		return -1;

	ev_signal_init(&e->term, engine_stop_cb, SIGTERM);
	e->term.data = e;
	ev_signal_start(e->loop, &e->term);
	ev_signal_init(&e->intr, engine_stop_cb, SIGINT);
	e->intr.data = e;
	ev_signal_start(e->loop, &e->intr);
	ev_timer_init(&e->deadline, engine_deadline_cb,
	    px->plan.drain_timeout, 0);
	e->deadline.data = e;
	ev_timer_init(&e->poll_done, engine_poll_done_cb, 0.05, 0.05);
	e->poll_done.data = e;
	engine_log_started(px);
	/* Type=notify: systemd considers the service started now (a no-op
	 * without $NOTIFY_SOCKET). */
	(void)sd_notifyf(0, "READY=1\nSTATUS=%zu service%s", px->nsvcs,
	    px->nsvcs == 1 ? "" : "s");
	return 0;
}

static void
engine_run(struct engine *e)
{
	ev_run(e->loop, 0);
	log_msg(e->px->log_format, "info", "stopped");
}

static void
engine_teardown(struct engine *e, int failed)
{
	struct proxy *px = e->px;

	if (px == NULL)
		return;
	if (failed) {
		struct worker_mail m = { .force = 1 };
		for (int i = 0; i < e->started; i++)
			worker_post(&px->workers[i], &m);
	}
	for (int i = 0; i < e->started; i++) {
		struct worker *w = &px->workers[i];
		pthread_join(w->thread, NULL);
		pthread_mutex_lock(&w->lock);
		worker_table_free(w->mail.table);
		w->mail.table = NULL;
		pthread_mutex_unlock(&w->lock);
		pthread_mutex_destroy(&w->lock);
	}
	for (int i = 0; px->workers != NULL && i < px->nworkers; i++) {
		struct worker *w = &px->workers[i];

		for (size_t k = 0; k < w->nslots; k++)
			worker_slot_free(w->slots[k]);
		free(w->slots);
		if (w->loop != NULL) {
			ev_async_stop(w->loop, &w->wake);
			ev_loop_destroy(w->loop);
		}
		relay_pool_clear(&w->pool);
		splice_pool_clear(&w->pipes);
		http_worker_clear(w);
		if (e->first != NULL)
			worker_table_free(e->first[i]);
	}
	renewer_free(e->rn);
	reloader_free(e->rl);
	sandbox_free(px);
	metrics_server_free(e->ms);
	proxy_unix_cleanup(px);
	for (size_t k = 0; k < px->nsvcs; k++)
		service_unref(px->svcs[k]);
	free(px->svcs);
	free(px->svc_unix);
	if (e->loop != NULL) {
		ev_signal_stop(e->loop, &e->term);
		ev_signal_stop(e->loop, &e->intr);
		ev_timer_stop(e->loop, &e->deadline);
		ev_timer_stop(e->loop, &e->poll_done);
		/* Its epoll and eventfd descriptors would outlive the call
		 * (valgrind's descriptor tracking sees them). */
		ev_loop_destroy(e->loop);
	}
	free(e->first);
	free(px->workers);
	free(px->file);
	pthread_mutex_destroy(&px->svcs_lock);
	free(px);
}

int
proxy_run(struct proxy_plan *plan, enum proxy_part *part, char *err,
    size_t errlen)
{
	struct engine e = { 0 };
	int ret = -1;

	*part = PROXY_PART_NONE;
	if (plan->nsvc == 0) {
		snprintf(err, errlen, "no service to run");
		return -1;
	}
	if (engine_start(&e, plan, part, err, errlen) == 0) {
		engine_run(&e);
		ret = 0;
	}
	engine_teardown(&e, ret != 0);
	return ret;
}

int
proxy_serve(const struct proxy_options *opt, struct mtls_config *cfg,
    enum proxy_part *part, char *err, size_t errlen)
{
	struct proxy_plan plan = {
		.mode = opt->mode,
		.workers = opt->workers,
		.metrics = opt->metrics,
		.log_format = opt->log_format,
		.drain_timeout = opt->drain_timeout,
		.no_sandbox = opt->no_sandbox,
		.key_passphrase = opt->key_passphrase,
		.svc = (struct proxy_options *)opt,
		.nsvc = 1,
	};

	/* The caller built it to report file errors before starting; the
	 * engine builds its own, as every reload does. */
	mtls_config_free(cfg);
	return proxy_run(&plan, part, err, errlen);
}
