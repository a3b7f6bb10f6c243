/*
 * engine.c - proxy_serve(): resolves what connections go to (the backend,
 * or the tunnel's upstream), binds, starts the workers, then runs the main
 * loop, which owns everything that is not a connection: signals (SIGHUP
 * reload, SIGTERM/SIGINT graceful stop), file watching, the metrics
 * listener and the stop deadline.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mtls_tools.h"
#include "proxy_int.h"

struct engine {
	struct proxy *px;
	struct ev_loop *loop;
	ev_signal term, intr;
	ev_timer deadline;
	ev_timer poll_done;
	int stopping;
};

static void
engine_stop_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	struct engine *e = s->data;
	struct proxy *px = e->px;

	if (e->stopping) {
		/* A second signal: do not wait for the deadline. */
		for (int i = 0; i < px->nworkers; i++) {
			struct worker_mail m = { .force = 1 };
			worker_post(&px->workers[i], &m);
		}
		return;
	}
	e->stopping = 1;
	log_msg(px->opt.log_format, "info", "%s: no new connections; "
	    "waiting up to %gs for %lld open ones",
	    s->signum == SIGTERM ? "SIGTERM" : "SIGINT",
	    px->opt.drain_timeout,
	    (long long)__atomic_load_n(&px->active, __ATOMIC_RELAXED));
	for (int i = 0; i < px->nworkers; i++) {
		struct worker_mail m = { .stop = 1 };
		worker_post(&px->workers[i], &m);
	}
	ev_timer_start(loop, &e->deadline);
	ev_timer_start(loop, &e->poll_done);
}

static void
engine_deadline_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct engine *e = t->data;
	struct proxy *px = e->px;

	log_msg(px->opt.log_format, "info", "stop deadline passed: closing "
	    "%lld open connections",
	    (long long)__atomic_load_n(&px->active, __ATOMIC_RELAXED));
	for (int i = 0; i < px->nworkers; i++) {
		struct worker_mail m = { .force = 1 };
		worker_post(&px->workers[i], &m);
	}
}

/* The main loop ends when every worker has drained. */
static void
engine_poll_done_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct engine *e = t->data;

	if (__atomic_load_n(&e->px->workers_done, __ATOMIC_ACQUIRE) ==
	    e->px->nworkers)
		ev_break(loop, EVBREAK_ALL);
}

/* What connections connect to, and how the sides are named in messages. */
static int
engine_targets(struct proxy *px, char *err, size_t errlen)
{
	const struct proxy_options *opt = &px->opt;
	const char *host;
	int n;

	if (opt->mode == PROXY_SERVE) {
		px->tls_side = "client";
		px->plain_side = px->target_side = "backend";
		if (proxy_check_backend(opt->backend, opt->unsafe_backend, err,
		    errlen) == -1 || addr_parse(opt->backend, ADDR_UNIX,
		    px->target, 1, err, errlen) < 0)
			return -1;
		px->ntarget = 1;
		return 0;
	}
	px->tls_side = px->target_side = "upstream";
	px->plain_side = "client";
	if (opt->connect == NULL || (n = addr_parse(opt->connect, 0,
	    px->target, ADDR_MAX, err, errlen)) < 0)
		return -1;
	px->ntarget = (size_t)n;
	/* The name checked in the upstream's certificate: --servername, or
	 * the host as written in --connect (an IP address is then checked
	 * against the IP SANs). */
	host = opt->servername;
	if (host == NULL) {
		char why[256];
		unsigned port;
		if (mtls_hostport_parse(opt->connect, 0, px->servername,
		    sizeof(px->servername), &port, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "--connect %s: no usable server "
			    "name", opt->connect);
			return -1;
		}
	} else if (snprintf(px->servername, sizeof(px->servername), "%s",
	    host) >= (int)sizeof(px->servername)) {
		snprintf(err, errlen, "--servername: too long");
		return -1;
	}
	return 0;
}

/* A unix listener is one socket that every worker watches (SO_REUSEPORT
 * does not spread unix connections); a file left by a proxy that died is
 * replaced, a socket something still answers on is not. */
static int
engine_unix_listeners(struct proxy *px, char *err, size_t errlen)
{
	for (size_t i = 0; i < px->nlisten; i++) {
		const struct proxy_addr *a = &px->listen[i];
		struct stat st;

		if (a->u.sa.sa_family != AF_UNIX)
			continue;
		if (lstat(a->u.un.sun_path, &st) == 0) {
			int fd, busy;

			if (!S_ISSOCK(st.st_mode)) {
				snprintf(err, errlen, "--listen unix:%s: "
				    "exists and is not a socket",
				    a->u.un.sun_path);
				return -1;
			}
			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			busy = fd != -1 && connect(fd, &a->u.sa, a->len) == 0;
			if (fd != -1)
				close(fd);
			if (busy) {
				snprintf(err, errlen, "--listen unix:%s: "
				    "another process is listening there",
				    a->u.un.sun_path);
				return -1;
			}
			(void)unlink(a->u.un.sun_path);
		}
		if ((px->listen_fd[i] = listener_open(a, LISTEN_ALONE, err,
		    errlen)) == -1)
			return -1;
		px->listen_unix = 1;
	}
	return 0;
}

/* Closes what is left of the unix listeners and removes their files. */
static void
engine_unix_close(struct proxy *px)
{
	for (size_t i = 0; i < px->nlisten; i++) {
		if (px->listen_fd[i] != -1)
			close(px->listen_fd[i]);
		px->listen_fd[i] = -1;
		if (px->listen_unix &&
		    px->listen[i].u.sa.sa_family == AF_UNIX)
			(void)unlink(px->listen[i].u.un.sun_path);
	}
}

static int
engine_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

int
proxy_serve(const struct proxy_options *opt, struct mtls_config *cfg,
    char *err, size_t errlen)
{
	struct proxy *px = NULL;
	struct engine e = { 0 };
	struct reloader *rl = NULL;
	struct metrics_server *ms = NULL;
	char why[512], name[ADDR_STRLEN];
	sigset_t block, old;
	int n, started = 0, ret = -1;

	if ((px = calloc(1, sizeof(*px))) == NULL) {
		snprintf(err, errlen, "out of memory");
		mtls_config_free(cfg);
		return -1;
	}
	px->opt = *opt;
	px->cfg = cfg;
	pthread_mutex_init(&px->gauges_lock, NULL);
	px->gauges.tunnel = opt->mode == PROXY_TUNNEL;
	if (px->opt.workers <= 0)
		px->opt.workers = engine_workers();
	if (px->opt.handshake_timeout <= 0)
		px->opt.handshake_timeout = PROXY_HANDSHAKE_TIMEOUT;
	if (px->opt.idle_timeout <= 0)
		px->opt.idle_timeout = PROXY_IDLE_TIMEOUT;
	if (px->opt.backend_timeout <= 0)
		px->opt.backend_timeout = PROXY_BACKEND_TIMEOUT;
	if (px->opt.drain_timeout <= 0)
		px->opt.drain_timeout = PROXY_DRAIN_TIMEOUT;

	for (size_t i = 0; i < ADDR_MAX; i++)
		px->listen_fd[i] = -1;
	n = addr_parse(opt->listen, ADDR_LISTEN | ADDR_UNIX, px->listen,
	    ADDR_MAX, why, sizeof(why));
	if (n < 0) {
		snprintf(err, errlen, "--listen %s", why);
		goto out;
	}
	px->nlisten = (size_t)n;
	if (engine_targets(px, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s", why);
		goto out;
	}

	/* A writer to a closed peer gets EPIPE, not a signal that ends the
	 * process; the workers leave the other signals to the main loop. */
	signal(SIGPIPE, SIG_IGN);
	e.px = px;
	e.loop = ev_default_loop(EVFLAG_AUTO);
	if (e.loop == NULL) {
		snprintf(err, errlen, "cannot create the main event loop");
		goto out;
	}

	if ((px->workers = calloc((size_t)px->opt.workers,
	    sizeof(*px->workers))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	{
		struct proxy_gen *gens[256];

		if (proxy_gens_new(px, cfg, gens, px->opt.workers, why,
		    sizeof(why)) == -1) {
			snprintf(err, errlen, "%s", why);
			goto out;
		}
		for (int i = 0; i < px->opt.workers; i++) {
			px->workers[i].px = px;
			px->workers[i].id = i;
			px->workers[i].gen = gens[i];
		}
	}
	px->nworkers = px->opt.workers;

	if (engine_unix_listeners(px, err, errlen) == -1)
		goto out;
	/* Our workers share the port; nobody else may (listener.c). */
	for (size_t i = 0; i < px->nlisten; i++)
		if (listener_check_free(&px->listen[i], err, errlen) == -1)
			goto out;
	proxy_raise_nofile(px->opt.log_format);
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (int i = 0; i < px->nworkers; i++) {
		if (worker_start(&px->workers[i], err, errlen) == -1)
			break;
		started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (started < px->nworkers)
		goto out;
	/* Each worker has its own copy of the unix listeners: once they
	 * close theirs (stop), nothing may queue on the socket any more. */
	for (size_t i = 0; i < px->nlisten; i++) {
		if (px->listen_fd[i] != -1) {
			close(px->listen_fd[i]);
			px->listen_fd[i] = -1;
		}
	}

	if (opt->metrics != NULL &&
	    (ms = metrics_server_new(px, e.loop, err, errlen)) == NULL)
		goto out;
	if ((rl = reloader_new(px, e.loop, err, errlen)) == NULL)
		goto out;
	ev_signal_init(&e.term, engine_stop_cb, SIGTERM);
	e.term.data = &e;
	ev_signal_start(e.loop, &e.term);
	ev_signal_init(&e.intr, engine_stop_cb, SIGINT);
	e.intr.data = &e;
	ev_signal_start(e.loop, &e.intr);
	ev_timer_init(&e.deadline, engine_deadline_cb, px->opt.drain_timeout,
	    0);
	e.deadline.data = &e;
	ev_timer_init(&e.poll_done, engine_poll_done_cb, 0.05, 0.05);
	e.poll_done.data = &e;

	addr_format(&px->target[0].u.sa, px->target[0].len, name,
	    sizeof(name));
	if (opt->mode == PROXY_TUNNEL)
		log_msg(px->opt.log_format, "info", "listening on %s with %d "
		    "worker%s, tunnelling over mTLS to %s (server name %s)",
		    opt->listen, px->nworkers, px->nworkers == 1 ? "" : "s",
		    name, px->servername);
	else
		log_msg(px->opt.log_format, "info", "listening on %s with %d "
		    "worker%s, forwarding to %s%s", opt->listen,
		    px->nworkers, px->nworkers == 1 ? "" : "s", name,
		    opt->proxy_protocol ? " with PROXY v2" : "");

	ev_run(e.loop, 0);
	ret = 0;
	log_msg(px->opt.log_format, "info", "stopped");
out:
	for (int i = 0; i < started; i++) {
		struct worker_mail m = { .force = 1 };
		if (ret != 0)
			worker_post(&px->workers[i], &m);
	}
	for (int i = 0; i < started; i++) {
		struct worker *w = &px->workers[i];
		pthread_join(w->thread, NULL);
		pthread_mutex_lock(&w->lock);
		proxy_gen_free(w->mail.gen);
		w->mail.gen = NULL;
		pthread_mutex_unlock(&w->lock);
		pthread_mutex_destroy(&w->lock);
	}
	if (px->workers != NULL) {
		for (int i = 0; i < px->opt.workers; i++) {
			struct worker *w = &px->workers[i];
			if (w->gen != NULL)
				worker_gen_unref(w, w->gen);
			for (size_t j = 0; j < LISTEN_MAX && i >= started;
			    j++)
				if (w->lfd[j] > 0)
					close(w->lfd[j]);
			if (w->loop != NULL) {
				ev_async_stop(w->loop, &w->wake);
				ev_loop_destroy(w->loop);
			}
			relay_pool_clear(&w->pool);
		}
	}
	reloader_free(rl);
	metrics_server_free(ms);
	engine_unix_close(px);
	if (e.loop != NULL) {
		ev_signal_stop(e.loop, &e.term);
		ev_signal_stop(e.loop, &e.intr);
		ev_timer_stop(e.loop, &e.deadline);
		ev_timer_stop(e.loop, &e.poll_done);
		/* Its epoll and eventfd descriptors would outlive the call
		 * (valgrind --track-fds sees them). */
		ev_loop_destroy(e.loop);
	}
	free(px->workers);
	mtls_config_free(px->cfg);
	pthread_mutex_destroy(&px->gauges_lock);
	free(px);
	return ret;
}
