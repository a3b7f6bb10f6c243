/*
 * renewer.c - the certificates and CRLs a proxy keeps fresh by itself.
 *
 * Renewal from a URL: the service's own certificate (the server's in serve,
 * the client's in tunnel) is renewed through EST re-enrollment at two
 * thirds of its lifetime, with jitter (mtls_renew_time).  The request runs
 * in a thread of its own (it blocks, for seconds when the CA is slow),
 * never on a loop that carries connections; its end wakes the main loop,
 * which swaps the new files in through the reload path (proxy_reload):
 * open connections keep the context they were made with, new ones get the
 * new certificate.  A CA that cannot be reached is retried with backoff
 * (mtls_renew_backoff) while the current certificate keeps serving, until
 * it expires.
 *
 * A CRL from a URL: the CRL is fetched over HTTPS (the server verified
 * against the service's CA file) into the CRL file, atomically, every
 * CRL_MAX_WAIT seconds (a few kilobytes; a revocation reaches the proxy
 * within seconds), sooner when half of what is left of its validity is
 * shorter, and with backoff while the server cannot be reached, so that a
 * proxy that checks revocation never fails closed because nobody copied
 * the new CRL; the reload path then loads it.
 *
 * A reload of the configuration file may add, change or remove services:
 * renewer_sync then matches the jobs to the services as they are now.  A
 * job whose service still wants the same thing from the same place keeps
 * its schedule; the others are dropped (one in flight is left to finish
 * and then freed) and new ones are started.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "mtls_tools.h"
#include "proxy_int.h"

#define CRL_MIN_WAIT 5.0
#define CRL_MAX_WAIT 10.0

enum job_kind {
	JOB_RENEW,
	JOB_CRL,
};

struct job {
	struct job *next;
	struct renewer *r;
	enum job_kind kind;
	struct proxy_service *svc;   /* referenced; the thread reads it */
	struct proxy_service *after; /* referenced: svc once the thread ends */
	int dropped;                 /* freed once the thread ends */
	int reloading;               /* job_done_cb's reload is under way */
	int seen;                    /* renewer_sync's mark */
	ev_timer timer;
	ev_async done;
	pthread_t thread;
	int running;
	int failures;
	/* the thread's result */
	int ok;
	time_t not_before, not_after;
	struct mtls_error err;
};

struct renewer {
	struct proxy *px;
	struct ev_loop *loop;
	struct job *jobs;
};

static void job_free(struct job *j);

static double
jitter01(void)
{
	unsigned int v = 0;

	if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
		return 0.5;
	return (double)v / 4294967296.0;
}

static void
when_text(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *
job_label(const struct job *j)
{
	return j->svc->opt.name != NULL ? j->svc->opt.name : j->svc->st->name;
}

static void
job_arm(struct job *j, double delay)
{
	if (delay < 0)
		delay = 0;
	ev_timer_stop(j->r->loop, &j->timer);
	ev_timer_set(&j->timer, delay, 0);
	ev_timer_start(j->r->loop, &j->timer);
}

/* The validity of a certificate file; -1 when unreadable. */
static int
cert_validity(const char *file, time_t *nb, time_t *na,
    struct mtls_error *err)
{
	struct mtls_cert *c = mtls_cert_load_file(file, err);
	struct mtls_cert_info info;
	int ret = -1;

	memset(&info, 0, sizeof(info));
	if (c != NULL && mtls_cert_info(c, 0, &info, err) == 0) {
		*nb = info.not_before;
		*na = info.not_after;
		ret = 0;
	}
	mtls_cert_info_clear(&info);
	mtls_cert_free(c);
	return ret;
}

/* nextUpdate of the first CRL of file; 0 when unknown. */
static time_t
crl_next(const char *file)
{
	struct mtls_error e;
	struct mtls_crl *crl = mtls_crl_load_file(file, &e);
	struct mtls_crl_info ci;
	time_t t = 0;

	memset(&ci, 0, sizeof(ci));
	if (crl != NULL && mtls_crl_count(crl) > 0 &&
	    mtls_crl_info(crl, 0, &ci, &e) == 0) {
		t = ci.next_update;
		mtls_crl_info_clear(&ci);
	}
	mtls_crl_free(crl);
	return t;
}

/* When the next renewal is due, from the file as it is now. */
static void
renew_schedule(struct job *j)
{
	const struct proxy_options *o = &j->svc->opt;
	struct mtls_error e = { 0 };
	time_t nb, na, at, now = time(NULL);
	char when[32];

	if (cert_validity(o->cert_file, &nb, &na, &e) == -1) {
		log_msg(o->log_format, "error", "%s: cannot read the "
		    "certificate to renew (%s); trying again in a minute",
		    job_label(j), e.msg);
		job_arm(j, 60);
		return;
	}
	at = mtls_renew_time(nb, na, jitter01());
	when_text(at, when, sizeof(when));
	log_msg(o->log_format, "info", "%s: certificate renewal from %s at "
	    "%s", job_label(j), o->renew_from, when);
	job_arm(j, (double)(at - now));
}

static void
crl_schedule(struct job *j, int failed)
{
	time_t next = crl_next(j->svc->opt.crl_file), now = time(NULL);
	double d;

	if (failed)
		d = mtls_renew_backoff(j->failures, now, next != 0 ? next :
		    now + 240);
	else if (next == 0)
		d = CRL_MIN_WAIT;
	else
		d = (double)(next - now) / 2;
	if (d < CRL_MIN_WAIT && !failed)
		d = CRL_MIN_WAIT;
	if (d > CRL_MAX_WAIT)
		d = CRL_MAX_WAIT;
	job_arm(j, d);
}

static void *
job_thread(void *arg)
{
	struct job *j = arg;
	const struct proxy_options *o = &j->svc->opt;
	struct mtls_est_client c = { 0 };
	char *body = NULL;
	size_t len = 0;

	memset(&j->err, 0, sizeof(j->err));
	c.ca_file = o->ca_file;
	c.key_passphrase = o->key_passphrase;
	if (j->kind == JOB_RENEW) {
		c.url = o->renew_from;
		j->ok = mtls_est_renew_files(&c, o->cert_file, o->key_file, 0,
		    &j->not_before, &j->not_after, &j->err) == 0;
	} else {
		/* The URL names the CRL itself: its origin, then its path. */
		const char *path = strchr(o->crl_from + 8, '/');
		char origin[512];
		size_t n = path != NULL ? (size_t)(path - o->crl_from) :
		    strlen(o->crl_from);

		snprintf(origin, sizeof(origin), "%.*s", (int)n, o->crl_from);
		c.url = origin;
		j->ok = mtls_est_get(&c, path != NULL ? path : "/crl", &body,
		    &len, &j->err) == 0;
		if (j->ok) {
			struct mtls_crl *crl = mtls_crl_load_mem(body, len,
			    o->crl_from, &j->err);
			/* Only a CRL replaces the file. */
			j->ok = crl != NULL && mtls_file_write_atomic(
			    o->crl_file, body, len, 0644, MTLS_WRITE_FORCE,
			    &j->err) == 0;
			mtls_crl_free(crl);
		}
		free(body);
	}
	ev_async_send(j->r->loop, &j->done);
	return NULL;
}

static void
job_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct job *j = t->data;

	(void)loop;
	(void)revents;
	if (j->running)
		return;
	if (pthread_create(&j->thread, NULL, job_thread, j) != 0) {
		log_msg(j->svc->opt.log_format, "error", "%s: cannot start "
		    "the renewal: %s", job_label(j), strerror(errno));
		job_arm(j, 5);
		return;
	}
	j->running = 1;
}

static void
renew_count(struct job *j, int ok)
{
	struct svc_state *st = j->svc->st;

	pthread_mutex_lock(&st->lock);
	if (ok)
		st->gauges.renewals_ok++;
	else
		st->gauges.renewals_failed++;
	pthread_mutex_unlock(&st->lock);
}

/* Reloads for j's news; -1 when the reload dropped j (a configuration file
 * that no longer asks for it), which is then freed. */
static int
job_reload(struct job *j, const char *why)
{
	j->reloading = 1;
	(void)proxy_reload(j->r->px, why);
	j->reloading = 0;
	if (!j->dropped)
		return 0;
	job_free(j);
	return -1;
}

static void
job_done_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct job *j = a->data;
	const struct proxy_options *o;
	char when[32];

	(void)loop;
	(void)revents;
	if (!j->running)
		return;
	pthread_join(j->thread, NULL);
	j->running = 0;
	if (j->dropped) {
		job_free(j);
		return;
	}
	if (j->after != NULL) {
		service_unref(j->svc);
		j->svc = j->after;
		j->after = NULL;
	}
	/* Only now: the swap above may have freed the service it was in
	 * (and a reload below may swap it again: j->svc is read after). */
	o = &j->svc->opt;
	if (j->kind == JOB_CRL) {
		if (j->ok) {
			j->failures = 0;
			log_msg(o->log_format, "info", "%s: CRL fetched from %s",
			    job_label(j), o->crl_from);
			if (job_reload(j, "CRL fetched") == -1)
				return;
		} else {
			time_t next = crl_next(o->crl_file);
			j->failures++;
			log_msg(o->log_format, next != 0 && next - time(NULL) <
			    600 ? "error" : "warning", "%s: cannot fetch the "
			    "CRL from %s: %s", job_label(j), o->crl_from,
			    j->err.msg);
		}
		crl_schedule(j, !j->ok);
		return;
	}
	renew_count(j, j->ok);
	if (j->ok) {
		j->failures = 0;
		when_text(j->not_after, when, sizeof(when));
		log_msg(o->log_format, "info", "%s: certificate renewed, valid "
		    "until %s", job_label(j), when);
		/* The swap: the file watcher would see the change too; the
		 * reload is asked for here so that it happens now. */
		if (job_reload(j, "certificate renewed") == -1)
			return;
		renew_schedule(j);
		return;
	}
	{
		time_t nb = 0, na = 0, now = time(NULL);
		struct mtls_error e;
		double d;

		j->failures++;
		(void)cert_validity(o->cert_file, &nb, &na, &e);
		d = mtls_renew_backoff(j->failures, now, na);
		when_text(na, when, sizeof(when));
		log_msg(o->log_format, na <= now ? "error" : "warning",
		    "%s: renewal from %s failed (%s); %s %s; trying again in "
		    "%.0fs", job_label(j), o->renew_from, j->err.msg,
		    na <= now ? "the certificate EXPIRED at" :
		    "serving with the current certificate until", when, d);
		job_arm(j, d);
	}
}

/* Whether svc wants job kind k. */
static const char *
wanted_url(const struct proxy_service *svc, enum job_kind k)
{
	return k == JOB_RENEW ? svc->opt.renew_from : svc->opt.crl_from;
}

/* Whether j may go on for svc: the same service fetching the same thing
 * from the same place into the same files. */
static int
job_same(const struct job *j, const struct proxy_service *svc)
{
	const struct proxy_options *a = &j->svc->opt, *b = &svc->opt;

	return strcmp(j->svc->st->name, svc->st->name) == 0 &&
	    str_same(wanted_url(j->svc, j->kind), wanted_url(svc, j->kind)) &&
	    str_same(a->ca_file, b->ca_file) &&
	    (j->kind == JOB_RENEW ? str_same(a->cert_file, b->cert_file) &&
	    str_same(a->key_file, b->key_file) :
	    str_same(a->crl_file, b->crl_file));
}

static int
job_add(struct renewer *r, struct proxy_service *svc, enum job_kind kind)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return -1;
	j->r = r;
	j->kind = kind;
	j->svc = svc;
	service_ref(svc);
	ev_timer_init(&j->timer, job_timer_cb, 0, 0);
	j->timer.data = j;
	ev_async_init(&j->done, job_done_cb);
	j->done.data = j;
	ev_async_start(r->loop, &j->done);
	j->seen = 1;
	j->next = r->jobs;
	r->jobs = j;
	if (kind == JOB_RENEW)
		renew_schedule(j);
	else
		job_arm(j, 0); /* fetch at once */
	return 0;
}

/* Unlinks and frees j, whose thread, if any, has ended. */
static void
job_free(struct job *j)
{
	struct job **pp = &j->r->jobs;

	while (*pp != NULL && *pp != j)
		pp = &(*pp)->next;
	if (*pp == j)
		*pp = j->next;
	ev_timer_stop(j->r->loop, &j->timer);
	ev_async_stop(j->r->loop, &j->done);
	service_unref(j->svc);
	if (j->after != NULL)
		service_unref(j->after);
	free(j);
}

/* A job a reload adds may find the files it replaces outside what the
 * sandbox set at start lets the process write: said once per reload, and
 * the job is not started (a restart sets the sandbox anew). */
static int
job_may_write(struct renewer *r, const struct proxy_service *svc,
    enum job_kind k)
{
	const char *f[2] = { svc->opt.cert_file, svc->opt.key_file };

	if (k == JOB_CRL)
		f[0] = f[1] = svc->opt.crl_file;
	for (int i = 0; i < 2; i++)
		if (!sandbox_may_write(r->px, f[i])) {
			log_msg(svc->opt.log_format, "error", "%s: %s cannot "
			    "be replaced: the sandbox set at start does not "
			    "let this process write there; restart the proxy "
			    "to %s", svc->st->name, f[i], k == JOB_RENEW
			    ? "renew it" : "fetch the CRL");
			return 0;
		}
	return 1;
}

int
renewer_sync(struct renewer *r, char *err, size_t errlen)
{
	struct proxy *px = r->px;

	/* A dropped job is only waiting for its thread. */
	for (struct job *j = r->jobs; j != NULL; j = j->next)
		j->seen = j->dropped;
	for (size_t i = 0; i < px->nsvcs; i++) {
		struct proxy_service *svc = px->svcs[i];

		for (enum job_kind k = JOB_RENEW; k <= JOB_CRL; k++) {
			struct job *j;

			if (wanted_url(svc, k) == NULL)
				continue;
			for (j = r->jobs; j != NULL; j = j->next)
				if (!j->seen && j->kind == k &&
				    job_same(j, svc))
					break;
			if (j == NULL) {
				if (!job_may_write(r, svc, k))
					continue;
				if (job_add(r, svc, k) == -1) {
					snprintf(err, errlen, "out of memory");
					return -1;
				}
				continue;
			}
			j->seen = 1;
			if (j->svc == svc)
				continue;
			/* The service was rebuilt: the job follows it, once
			 * its thread no longer reads the old one. */
			service_ref(svc);
			if (j->running) {
				if (j->after != NULL)
					service_unref(j->after);
				j->after = svc;
			} else {
				service_unref(j->svc);
				j->svc = svc;
			}
		}
	}
	for (struct job *j = r->jobs, *next; j != NULL; j = next) {
		next = j->next;
		if (j->seen)
			continue;
		log_msg(j->svc->opt.log_format, "info", "%s: no longer %s",
		    job_label(j), j->kind == JOB_RENEW ? "renewing its "
		    "certificate" : "fetching its CRL");
		if (j->running || j->reloading) {
			ev_timer_stop(r->loop, &j->timer);
			j->dropped = 1;  /* job_done_cb frees it */
		} else {
			job_free(j);
		}
	}
	return 0;
}

struct renewer *
renewer_new(struct proxy *px, struct ev_loop *loop, char *err,
    size_t errlen)
{
	struct renewer *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->px = px;
	r->loop = loop;
	if (renewer_sync(r, err, errlen) == -1) {
		renewer_free(r);
		return NULL;
	}
	px->renewer = r;
	return r;
}

void
renewer_free(struct renewer *r)
{
	if (r == NULL)
		return;
	if (r->px->renewer == r)
		r->px->renewer = NULL;
	while (r->jobs != NULL) {
		if (r->jobs->running)
			pthread_join(r->jobs->thread, NULL);
		job_free(r->jobs);
	}
	free(r);
}
