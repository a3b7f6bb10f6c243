/*
 * worker.c - one thread, one libev loop, its own SO_REUSEPORT listeners.
 * The main thread talks to a worker only through its mailbox (a new
 * configuration, stop, force) and an ev_async wake-up; everything else a
 * worker touches is its own.
 */
#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy_int.h"

/* How long accepting pauses when the process is out of descriptors. */
#define ACCEPT_PAUSE 0.1
/* Refusals past --max-conns are logged at most this often. */
#define LIMIT_LOG_INTERVAL 5.0
/* How often a worker looks whether its connections settled. */
#define TRIM_INTERVAL 1.0

void
worker_gen_unref(struct worker *w, struct proxy_gen *g)
{
	if (--g->refs == 0)
		proxy_gen_free(g);
}

static void
worker_accept_pause(struct worker *w)
{
	for (size_t i = 0; i < w->nlisten; i++)
		ev_io_stop(w->loop, &w->lio[i]);
	/* A stopped libev timer keeps what was left of it, nothing here:
	 * set the full pause each time. */
	ev_timer_set(&w->accept_resume, ACCEPT_PAUSE, 0);
	ev_timer_start(w->loop, &w->accept_resume);
}

static void
worker_accept_resume_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = t->data;

	if (w->stopping)
		return;
	for (size_t i = 0; i < w->nlisten; i++)
		ev_io_start(loop, &w->lio[i]);
}

static void
worker_accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	static __thread ev_tstamp last_limit_log, last_pause_log;
	struct worker *w = io->data;
	struct proxy *px = w->px;

	for (;;) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(io->fd, (struct sockaddr *)&peer, &plen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* Level-triggered accept would spin: pause
				 * and try again shortly. */
				if (ev_now(loop) - last_pause_log >=
				    LIMIT_LOG_INTERVAL) {
					last_pause_log = ev_now(loop);
					log_msg(px->opt.log_format, "warning",
					    "accept: %s; pausing new "
					    "connections for %gs at a time",
					    strerror(errno), ACCEPT_PAUSE);
				}
				worker_accept_pause(w);
			}
			return;
		}
		STAT_ADD(w->stats.conns_accepted, 1);
		if (px->opt.max_conns > 0 &&
		    __atomic_fetch_add(&px->active, 1, __ATOMIC_RELAXED) >=
		    px->opt.max_conns) {
			__atomic_fetch_sub(&px->active, 1, __ATOMIC_RELAXED);
			STAT_ADD(w->stats.conns_refused_limit, 1);
			close(fd);
			if (ev_now(loop) - last_limit_log >=
			    LIMIT_LOG_INTERVAL) {
				last_limit_log = ev_now(loop);
				log_msg(px->opt.log_format, "warning",
				    "--max-conns %d reached: new connections "
				    "are closed at once", px->opt.max_conns);
			}
			continue;
		}
		if (px->opt.max_conns <= 0)
			__atomic_fetch_add(&px->active, 1, __ATOMIC_RELAXED);
		conn_accept(w, fd, (struct sockaddr *)&peer, plen);
	}
}

/*
 * A handshake goes through far more memory than the connection keeps
 * (OpenSSL's handshake buffer, record buffers, the relay's buffers): 16
 * KiB here and there, freed between the small objects that live on.  glibc
 * keeps those holes resident, and after a burst of connections they are
 * most of the process's growth (2000 connections held idle after one
 * request each: 39 KiB per connection, 23 KiB after malloc_trim).  So once
 * a worker's connections have settled (accepts and closes stopped for a
 * tick, after a tick when they moved), the free pages go back to the
 * system.  Under steady traffic nothing is trimmed: the holes are reused.
 */
static void
worker_trim_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = t->data;
	uint64_t accepted = STAT_GET(w->stats.conns_accepted);
	int moved = accepted != w->trim_accepted ||
	    w->nconns != w->trim_nconns;

	w->trim_accepted = accepted;
	w->trim_nconns = w->nconns;
	if (!moved && w->trim_busy) {
#ifdef __GLIBC__
		malloc_trim(0);
#endif
	}
	w->trim_busy = moved;
}

static void
worker_stop_listening(struct worker *w)
{
	ev_timer_stop(w->loop, &w->accept_resume);
	for (size_t i = 0; i < w->nlisten; i++) {
		ev_io_stop(w->loop, &w->lio[i]);
		if (w->lfd[i] != -1)
			close(w->lfd[i]);
		w->lfd[i] = -1;
	}
}

static void
worker_wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct worker *w = a->data;
	struct worker_mail m;

	pthread_mutex_lock(&w->lock);
	m = w->mail;
	memset(&w->mail, 0, sizeof(w->mail));
	pthread_mutex_unlock(&w->lock);

	if (m.gen != NULL) {
		/* New connections use the new configuration; the old one
		 * lives on until its last connection closes. */
		struct proxy_gen *old = w->gen;
		w->gen = m.gen;
		worker_gen_unref(w, old);
	}
	if (m.stop && !w->stopping) {
		w->stopping = 1;
		worker_stop_listening(w);
		if (w->nconns == 0)
			ev_break(loop, EVBREAK_ALL);
	}
	if (m.force) {
		w->stopping = 1;
		worker_stop_listening(w);
		conn_close_all(w, "stopped: the drain deadline passed");
		ev_break(loop, EVBREAK_ALL);
	}
}

void
worker_post(struct worker *w, const struct worker_mail *m)
{
	struct proxy_gen *stale = NULL;

	pthread_mutex_lock(&w->lock);
	if (m->gen != NULL) {
		/* Two reloads before the worker woke: the first one's
		 * generation was never used. */
		stale = w->mail.gen;
		w->mail.gen = m->gen;
	}
	w->mail.stop |= m->stop;
	w->mail.force |= m->force;
	pthread_mutex_unlock(&w->lock);
	if (stale != NULL)
		proxy_gen_free(stale);
	ev_async_send(w->loop, &w->wake);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	ev_run(w->loop, 0);
	/* Stopped: whatever is left (a forced stop) is already closed. */
	conn_close_all(w, "stopped");
	worker_stop_listening(w);
	__atomic_fetch_add(&w->px->workers_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

int
worker_start(struct worker *w, char *err, size_t errlen)
{
	struct proxy *px = w->px;

	w->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	if (w->loop == NULL) {
		snprintf(err, errlen, "worker %d: cannot create an event loop",
		    w->id);
		return -1;
	}
	for (size_t i = 0; i < LISTEN_MAX; i++)
		w->lfd[i] = -1;
	for (size_t i = 0; i < px->nlisten; i++) {
		int fd;

		if (px->listen_fd[i] != -1) {
			/* A unix socket: the engine's, shared. */
			if ((fd = fcntl(px->listen_fd[i], F_DUPFD_CLOEXEC,
			    0)) == -1) {
				snprintf(err, errlen, "worker %d: dup: %s",
				    w->id, strerror(errno));
				return -1;
			}
		} else if ((fd = listener_open(&px->listen[i],
		    LISTEN_WORKERS, err, errlen)) == -1) {
			return -1;
		}
		w->lfd[i] = fd;
		ev_io_init(&w->lio[i], worker_accept_cb, fd, EV_READ);
		w->lio[i].data = w;
		ev_io_start(w->loop, &w->lio[i]);
		w->nlisten++;
	}
	ev_timer_init(&w->accept_resume, worker_accept_resume_cb,
	    ACCEPT_PAUSE, 0);
	w->accept_resume.data = w;
	ev_timer_init(&w->trim, worker_trim_cb, TRIM_INTERVAL, TRIM_INTERVAL);
	w->trim.data = w;
	ev_timer_start(w->loop, &w->trim);
	ev_async_init(&w->wake, worker_wake_cb);
	w->wake.data = w;
	ev_async_start(w->loop, &w->wake);
	if (pthread_mutex_init(&w->lock, NULL) != 0) {
		snprintf(err, errlen, "worker %d: mutex: %s", w->id,
		    strerror(errno));
		return -1;
	}
	if ((errno = pthread_create(&w->thread, NULL, worker_main, w)) != 0) {
		snprintf(err, errlen, "worker %d: thread: %s", w->id,
		    strerror(errno));
		return -1;
	}
	return 0;
}
