/*
 * worker.c - one thread, one libev loop, its own SO_REUSEPORT listeners for
 * every service (a slot per service: listeners and current generation).
 * The main thread talks to a worker only through its mailbox (a new table
 * of services, stop, force) and an ev_async wake-up; everything else a
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
/* Refusals past the connection limit are logged at most this often. */
#define LIMIT_LOG_INTERVAL 5.0
/* Connections accepted per turn of the loop, at most. */
#define ACCEPT_BUDGET 64
/* How often a worker looks whether its connections settled. */
#define TRIM_INTERVAL 1.0

static void
worker_accept_pause(struct worker *w)
{
	for (size_t k = 0; k < w->nslots; k++)
		for (size_t i = 0; i < w->slots[k]->nlisten; i++)
			ev_io_stop(w->loop, &w->slots[k]->lio[i]);
	/* A stopped libev timer keeps what was left of it, nothing here:
	 * set the full pause each time. */
	ev_timer_set(&w->accept_resume, ACCEPT_PAUSE, 0);
	ev_timer_start(w->loop, &w->accept_resume);
}

static void
worker_accept_resume_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)revents;
	struct worker *w = t->data;

	if (w->stopping)
		return;
	for (size_t k = 0; k < w->nslots; k++)
		for (size_t i = 0; i < w->slots[k]->nlisten; i++)
			ev_io_start(loop, &w->slots[k]->lio[i]);
}

static void
worker_accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)revents;
	static __thread ev_tstamp last_limit_log, last_pause_log;
	struct worker_slot *s = io->data;
	struct worker *w = s->w;
	struct proxy_service *svc = s->gen->svc;
	struct svc_state *st = svc->st;
	int budget = ACCEPT_BUDGET;

	/* A burst of connections is taken a slice at a time: each one's
	 * handshake starts here, and draining the whole queue would hold
	 * the worker's open connections (and their timers) for as long.
	 * The listener is level-triggered: the rest comes next turn. */
	while (budget-- > 0) {
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
					log_msg(svc->opt.log_format, "warning",
					    "accept: %s; pausing new "
					    "connections for %gs at a time",
					    strerror(errno), ACCEPT_PAUSE);
				}
				worker_accept_pause(w);
			}
			return;
		}
		STAT_ADD(st->stats[w->id].conns_accepted, 1);
		w->accepted++;
		if (svc->opt.max_conns > 0 &&
		    __atomic_fetch_add(&st->active, 1, __ATOMIC_RELAXED) >=
		    svc->opt.max_conns) {
			__atomic_fetch_sub(&st->active, 1, __ATOMIC_RELAXED);
			STAT_ADD(st->stats[w->id].conns_refused_limit, 1);
			close(fd);
			if (ev_now(loop) - last_limit_log >=
			    LIMIT_LOG_INTERVAL) {
				last_limit_log = ev_now(loop);
				log_msg(svc->opt.log_format, "warning",
				    "connection limit %d reached: new "
				    "connections are closed at once",
				    svc->opt.max_conns);
			}
			continue;
		}
		if (svc->opt.max_conns <= 0)
			__atomic_fetch_add(&st->active, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&w->px->active, 1, __ATOMIC_RELAXED);
		conn_accept(w, s->gen, fd, (struct sockaddr *)&peer, plen);
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
 * Traffic counts as movement too: connections that exchange their first
 * request after the accepts have settled (a loaded machine, a slow client)
 * free their record buffers after the trim, and those holes stayed (2000
 * connections, one request each: 39.3 KiB per connection instead of 22).
 */
static void
worker_trim_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = t->data;
	uint64_t accepted = w->accepted;
	int moved = accepted != w->trim_accepted ||
	    w->nconns != w->trim_nconns || w->relayed != w->trim_relayed;

	(void)loop;
	(void)revents;
	w->trim_accepted = accepted;
	w->trim_relayed = w->relayed;
	w->trim_nconns = w->nconns;
	/* Buffers given back leave holes, trimmed like those of closed
	 * connections: now if nothing else moved, or at the next quiet tick. */
	if (conn_release_idle(w, ev_now(w->loop) - TRIM_INTERVAL) > 0)
		w->trim_busy = 1;
	if (!moved && w->trim_busy) {
		/* Under ASan the heap is the sanitizer's, and glibc's, never
		 * used, would be set up by the first malloc_trim: two workers
		 * doing that at once crash (seen in CI). */
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
		malloc_trim(0);
#endif
	}
	w->trim_busy = moved;
}

static void
worker_slot_close(struct worker_slot *s)
{
	for (size_t i = 0; i < s->nlisten; i++) {
		if (s->w->loop != NULL)
			ev_io_stop(s->w->loop, &s->lio[i]);
		if (s->lfd[i] != -1)
			close(s->lfd[i]);
		s->lfd[i] = -1;
	}
	s->nlisten = 0;
}

void
worker_slot_free(struct worker_slot *s)
{
	if (s == NULL)
		return;
	worker_slot_close(s);
	gen_unref(s->gen);
	free(s);
}

static void
worker_slot_listen(struct worker_slot *s, const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		s->lfd[i] = fds[i];
		ev_io_init(&s->lio[i], worker_accept_cb, fds[i], EV_READ);
		s->lio[i].data = s;
		if (!s->w->stopping)
			ev_io_start(s->w->loop, &s->lio[i]);
	}
	s->nlisten = n;
}

void
worker_table_free(struct worker_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++) {
		gen_unref(t->s[i].gen);
		for (size_t j = 0; j < t->s[i].nlisten; j++)
			close(t->s[i].lfd[j]);
	}
	free(t->s);
	free(t);
}

static struct worker_slot *
worker_slot_find(struct worker_slot **slots, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (slots[i] != NULL &&
		    strcmp(slots[i]->gen->svc->st->name, name) == 0)
			return slots[i];
	return NULL;
}

/* Moves the worker to a new table of services: slots of the same name are
 * kept (their listeners too, unless the table brings new ones), others
 * are opened, and those no longer listed are closed; their connections
 * finish with the generation they hold. */
static void
worker_apply(struct worker *w, struct worker_table *t)
{
	struct worker_slot **slots = calloc(t->n ? t->n : 1, sizeof(*slots));
	size_t n = 0;

	if (slots == NULL) {
		log_msg(w->px->log_format, "error", "worker %d: out of memory "
		    "for a new configuration; keeping the old one", w->id);
		worker_table_free(t);
		return;
	}
	for (size_t i = 0; i < t->n; i++) {
		struct slot_plan *p = &t->s[i];
		struct worker_slot *s;

		s = worker_slot_find(w->slots, w->nslots, p->name);
		if (s != NULL) {
			for (size_t k = 0; k < w->nslots; k++)
				if (w->slots[k] == s)
					w->slots[k] = NULL;
		} else if (p->gen == NULL ||
		    (s = calloc(1, sizeof(*s))) == NULL) {
			continue; /* nothing to keep; the table's own
			           * leftovers are freed below */
		} else {
			s->w = w;
		}
		if (p->gen != NULL) {
			gen_unref(s->gen);
			s->gen = p->gen;
			p->gen = NULL;
		}
		if (!p->keep || s->nlisten == 0) {
			worker_slot_close(s);
			worker_slot_listen(s, p->lfd, p->nlisten);
			p->nlisten = 0;
		}
		slots[n++] = s;
	}
	for (size_t k = 0; k < w->nslots; k++)
		worker_slot_free(w->slots[k]);
	free(w->slots);
	w->slots = slots;
	w->nslots = n;
	worker_table_free(t);
}

static void
worker_stop_listening(struct worker *w)
{
	ev_timer_stop(w->loop, &w->accept_resume);
	for (size_t k = 0; k < w->nslots; k++)
		worker_slot_close(w->slots[k]);
}

static void
worker_wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	(void)revents;
	struct worker *w = a->data;
	struct worker_mail m;

	pthread_mutex_lock(&w->lock);
	m = w->mail;
	memset(&w->mail, 0, sizeof(w->mail));
	pthread_mutex_unlock(&w->lock);

	/* New connections use the new generations; the old ones live on
	 * until their last connection closes. */
	if (m.table != NULL)
		worker_apply(w, m.table);
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

/* Two tables before the worker woke: the first was never applied, so what
 * the second keeps of it (a generation, new listeners) is taken from the
 * first, which is then freed with whatever is left in it. */
static void
worker_table_merge(struct worker_table *t, struct worker_table *stale)
{
	for (size_t i = 0; i < t->n; i++) {
		struct slot_plan *p = &t->s[i];

		for (size_t j = 0; j < stale->n; j++) {
			struct slot_plan *q = &stale->s[j];
			if (strcmp(p->name, q->name) != 0)
				continue;
			if (p->gen == NULL) {
				p->gen = q->gen;
				q->gen = NULL;
			}
			if (p->keep && !q->keep) {
				memcpy(p->lfd, q->lfd, sizeof(p->lfd));
				p->nlisten = q->nlisten;
				p->keep = 0;
				q->nlisten = 0;
			}
			break;
		}
	}
}

void
worker_post(struct worker *w, const struct worker_mail *m)
{
	struct worker_table *stale = NULL;

	pthread_mutex_lock(&w->lock);
	if (m->table != NULL) {
		stale = w->mail.table;
		if (stale != NULL)
			worker_table_merge(m->table, stale);
		w->mail.table = m->table;
	}
	w->mail.stop |= m->stop;
	w->mail.force |= m->force;
	pthread_mutex_unlock(&w->lock);
	worker_table_free(stale);
	ev_async_send(w->loop, &w->wake);
}

/* The loop is about to wait: the lines of this turn go out. */
static void
worker_log_flush_cb(struct ev_loop *loop, ev_prepare *p, int revents)
{
	(void)loop;
	(void)p;
	(void)revents;
	log_flush();
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	log_batch_begin();
	ev_run(w->loop, 0);
	/* Stopped: whatever is left (a forced stop) is already closed. */
	conn_close_all(w, "stopped");
	log_flush();
	worker_stop_listening(w);
	__atomic_fetch_add(&w->px->workers_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* t (the worker's first table) is taken over, started or not. */
int
worker_start(struct worker *w, struct worker_table *t, char *err,
    size_t errlen)
{
	w->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	if (w->loop == NULL) {
		snprintf(err, errlen, "worker %d: cannot create an event loop",
		    w->id);
		worker_table_free(t);
		return -1;
	}
	ev_timer_init(&w->accept_resume, worker_accept_resume_cb,
	    ACCEPT_PAUSE, 0);
	w->accept_resume.data = w;
	ev_timer_init(&w->trim, worker_trim_cb, TRIM_INTERVAL, TRIM_INTERVAL);
	w->trim.data = w;
	ev_timer_start(w->loop, &w->trim);
	ev_prepare_init(&w->log_flush, worker_log_flush_cb);
	ev_prepare_start(w->loop, &w->log_flush);
	ev_async_init(&w->wake, worker_wake_cb);
	w->wake.data = w;
	ev_async_start(w->loop, &w->wake);
	worker_apply(w, t);
	if (pthread_mutex_init(&w->lock, NULL) != 0) {
		snprintf(err, errlen, "worker %d: mutex: %s", w->id,
		    strerror(errno));
		return -1;
	}
	if ((errno = pthread_create(&w->thread, NULL, worker_main, w)) != 0) {
		snprintf(err, errlen, "worker %d: thread: %s", w->id,
		    strerror(errno));
		pthread_mutex_destroy(&w->lock);
		return -1;
	}
	return 0;
}
