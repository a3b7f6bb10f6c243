/*
 * proxy_int.h - the private pieces of the serve/tunnel engine: addresses, the
 * PROXY v2 codec, relay buffers, statistics, log lines, and the engine's
 * objects (the proxy, its workers, their connections).
 */
#ifndef MTLS_PROXY_INT_H
#define MTLS_PROXY_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <netinet/in.h>

#include <ev.h>

#include "mtls.h"
#include "proxy.h"

#define PROXY_MUST_CHECK __attribute__((warn_unused_result))
#define PROXY_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ------------------------------------------------------------------ */
/* addr.c: HOST:PORT, [v6]:PORT, :PORT, unix:/path                    */
/* ------------------------------------------------------------------ */

#define ADDR_MAX 8 /* addresses one name may resolve to that we use */

struct proxy_addr {
	socklen_t len;
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
		struct sockaddr_un un;
	} u;
};

#define ADDR_LISTEN 0x1 /* ":PORT" means every address */
#define ADDR_UNIX 0x2   /* "unix:/path" accepted (refused without it) */
#define ADDR_SYNTAX 0x4 /* check the form only: nothing is resolved */

/* Resolves s into at most max addresses (numeric hosts are never looked
 * up).  Returns the count, or -1 with the reason in err. */
int addr_parse(const char *s, int flags, struct proxy_addr *out, size_t max,
    char *err, size_t errlen) PROXY_MUST_CHECK;
/* 1 for 127.0.0.0/8, ::1, ::ffff:127.x and unix sockets. */
int addr_is_local(const struct proxy_addr *a);
/* "127.0.0.1:443", "[::1]:443", "unix:/run/x.sock" (IPv4-mapped IPv6
 * addresses are shown as IPv4). */
void addr_format(const struct sockaddr *sa, socklen_t len, char *buf,
    size_t buflen);
#define ADDR_STRLEN 128

/* ------------------------------------------------------------------ */
/* proxy_protocol.c: PROXY protocol version 2 (HAProxy's               */
/* doc/proxy-protocol.txt, section 2.2)                                */
/* ------------------------------------------------------------------ */

#define PP2_TYPE_SSL 0x20
#define PP2_SUBTYPE_SSL_VERSION 0x21
#define PP2_SUBTYPE_SSL_CN 0x22
#define PP2_SUBTYPE_SSL_CIPHER 0x23
#define PP2_SUBTYPE_SSL_SIG_ALG 0x24
#define PP2_SUBTYPE_SSL_KEY_ALG 0x25
#define PP2_CLIENT_SSL 0x01
#define PP2_CLIENT_CERT_CONN 0x02
#define PP2_CLIENT_CERT_SESS 0x04

/* What goes into a header.  Strings may be NULL (left out). */
struct pp2_info {
	const struct sockaddr *src;  /* the client */
	socklen_t srclen;
	const struct sockaddr *dst;  /* the address it connected to */
	socklen_t dstlen;
	int cert_conn;               /* a certificate came on this connection */
	int cert_sess;               /* ... or with the resumed session */
	int verified;                /* it verified (verify field 0) */
	const char *version;
	const char *cn;
	const char *cipher;
	const char *sig_alg;
	const char *key_alg;
};

/* Writes the header into buf (at most cap bytes).  Strings longer than
 * fits are cut, never overflowing.  Returns the length. */
size_t pp2_encode(unsigned char *buf, size_t cap, const struct pp2_info *in);

/* What a parsed header says; strings point into the caller's storage. */
struct pp2_parsed {
	int local;                   /* LOCAL command: no addresses */
	int family;                  /* AF_INET, AF_INET6 or AF_UNSPEC */
	char src[ADDR_STRLEN];
	char dst[ADDR_STRLEN];
	int has_ssl;
	uint8_t client;
	uint32_t verify;
	char version[64];
	char cn[256];
	char cipher[128];
	char sig_alg[64];
	char key_alg[64];
};
/* Parses a header at the start of buf: its length, 0 when more bytes are
 * needed, -1 when it is not a valid PROXY v2 header. */
ssize_t pp2_parse(const unsigned char *buf, size_t len,
    struct pp2_parsed *out);

/* ------------------------------------------------------------------ */
/* relay.c: buffers for data in flight                                */
/* ------------------------------------------------------------------ */

#define RELAY_BUF_SIZE (16 * 1024)
#define RELAY_POOL_MAX 64 /* free buffers a worker keeps */

struct relay_buf {
	struct relay_buf *next;      /* in the pool */
	size_t off, len;             /* pending bytes: data[off..len) */
	unsigned char data[RELAY_BUF_SIZE];
};

struct relay_pool {
	struct relay_buf *free;
	size_t nfree;
};

/* A buffer from the pool (or the heap), empty; NULL when out of memory. */
struct relay_buf *relay_buf_get(struct relay_pool *pool);
/* Returns b to the pool (or frees it past RELAY_POOL_MAX); NULL is fine. */
void relay_buf_put(struct relay_pool *pool, struct relay_buf *b);
void relay_pool_clear(struct relay_pool *pool);

/* splice.c: pipes for splice(2), kept by each worker like the buffers */
#define SPLICE_POOL_MAX 8 /* free pipes a worker keeps (2 descriptors
                           * each) */

struct splice_pipe {
	struct splice_pipe *next;    /* in the pool */
	int fd[2];                   /* read end, write end */
	size_t held;                 /* bytes in it */
};

struct splice_pool {
	struct splice_pipe *free;
	size_t nfree;
};
void splice_pool_clear(struct splice_pool *pool);

/* ------------------------------------------------------------------ */
/* metrics.c: counters and the Prometheus text                        */
/* ------------------------------------------------------------------ */

/* How a handshake ended, as counted: the library's reject codes (NONE is
 * a success), then a timeout, which only the proxy sees.  The labels come
 * from the library's reason table, never from the words of a refusal. */
#define HS_OK ((int)MTLS_REJECT_NONE)
#define HS_TIMEOUT ((int)MTLS_REJECT_VERSION + 1) /* the last code + 1 */
#define HS_NREASONS (HS_TIMEOUT + 1)
/* The metric label of slot r. */
const char *hs_reason_name(int r);

#define HS_LATENCY_BUCKETS 12

/* One worker's counters: written by the worker only, read by the metrics
 * thread with relaxed atomics. */
struct proxy_stats {
	uint64_t conns_accepted;
	uint64_t conns_refused_limit;
	uint64_t handshakes[HS_NREASONS];
	uint64_t handshakes_resumed;  /* of handshakes[HS_OK] */
	uint64_t hs_latency[HS_LATENCY_BUCKETS + 1]; /* last: +Inf */
	uint64_t hs_latency_sum_us;
	uint64_t bytes_in;           /* client to backend */
	uint64_t bytes_out;          /* backend to client */
	uint64_t backend_errors;
	uint64_t ktls_tx;            /* connections the kernel encrypted
	                              * for (kTLS send) */
	uint64_t http_requests[5];   /* HTTP mode: by status class 1xx..5xx */
	uint64_t http_retries;       /* requests sent again after a reused
	                              * backend connection failed */
	int64_t active;
};

#define STAT_ADD(field, n) \
	__atomic_fetch_add(&(field), (n), __ATOMIC_RELAXED)
#define STAT_GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

void stats_hs_latency(struct proxy_stats *st, double seconds);

/* What the metrics page shows besides the counters. */
struct metrics_gauges {
	time_t cert_not_after;       /* 0: unknown */
	time_t ca_not_after;         /* 0: unknown */
	time_t crl_next_update;      /* 0: unknown or no CRL */
	uint64_t reloads_ok, reloads_failed;
	uint64_t renewals_ok, renewals_failed; /* renewals */
	int tunnel;                  /* names: mtls_tunnel_*, not mtls_serve_* */
};

/* A bounded text being written: appends past cap are dropped. */
struct page {
	char *p;
	size_t cap, len;
};
void page_printf(struct page *pg, const char *fmt, ...) PROXY_PRINTF(2, 3);

/* Renders the page from the per-worker stats into buf; returns the length
 * (cut at cap). */
size_t metrics_render(char *buf, size_t cap, struct proxy_stats *const *st,
    size_t nst, const struct metrics_gauges *g, time_t now);

/* ------------------------------------------------------------------ */
/* log.c: one line per connection                                     */
/* ------------------------------------------------------------------ */

struct conn_record {
	double time;                 /* when the connection ended (epoch) */
	const char *service;         /* NULL: the only one (command line) */
	const char *client;          /* "1.2.3.4:5678" */
	const char *upstream;        /* tunnel: the address connected to */
	const char *subject;         /* the peer's certificate (the client's in
	                              * serve, the upstream's in tunnel); NULL:
	                              * none */
	const char *sans;            /* "DNS:a,URI:b" or NULL */
	const char *sni;             /* the server name sent, or NULL */
	const char *version;
	const char *cipher;
	int resumed;
	const char *ktls;            /* "tx", "txrx" or NULL: none */
	uint64_t bytes_in, bytes_out;
	double duration;
	const char *outcome;         /* "ok", "rejected", ... */
	const char *reason;          /* NULL when none */
};

/* Formats one line (with '\n') into buf; returns its length.  Strings from
 * the peer are escaped so that a certificate cannot forge log lines. */
size_t log_format_conn(char *buf, size_t cap, enum proxy_log_format fmt,
    const struct conn_record *r);
/* s as a JSON string (quoted, escaped; NULL: null) into buf; returns the
 * length (cut at cap). */
size_t log_json_quote(char *buf, size_t cap, const char *s);
/* One EST request (mtls ca serve). */
struct est_record {
	double time;
	const char *client;
	const char *method;          /* "-" when the request never came */
	const char *path;
	int status;                  /* 0: no HTTP answer (TLS refusal) */
	const char *identity;
	const char *outcome;
	const char *reason;          /* NULL when none */
	const char *serial;          /* issued, or NULL */
	double duration;
};
size_t log_format_est(char *buf, size_t cap, enum proxy_log_format fmt,
    const struct est_record *r);
/* HTTP mode: one line per request. */
struct request_record {
	double time;                 /* when the answer was complete */
	const char *client;
	const char *method;
	const char *path;            /* cut, escaped when written */
	int status;
	uint64_t bytes_in, bytes_out; /* body bytes from the client; answer
	                              * bytes to it */
	const char *subject;         /* NULL: no certificate */
	double upstream;             /* seconds until the answer's head; <0:
	                              * none came */
	const char *reason;          /* a refusal's reason, or NULL */
};
size_t log_format_request(char *buf, size_t cap, enum proxy_log_format fmt,
    const struct request_record *r);

/* Writes a line to stderr with one write(2), or, in a thread that began
 * batching, adds it to the thread's batch (written when full, and by
 * log_flush()). */
void log_write(const char *buf, size_t len);
/* Batches this thread's lines from now on (a worker: its loop flushes
 * them each time it is about to wait). */
void log_batch_begin(void);
void log_flush(void);
/* An engine message: "mtls serve: <text>" with a time stamp. */
void log_msg(enum proxy_log_format fmt, const char *level,
    const char *fmt_, ...) PROXY_PRINTF(3, 4);

/* ------------------------------------------------------------------ */
/* The engine                                                         */
/* ------------------------------------------------------------------ */

/* What one service has seen, kept across reloads while the service keeps
 * its name: the counters (one block per worker, each written by its worker
 * only), the open connections, and the status page's facts. */
#define STATUS_REFUSED_MAX 8     /* the last refused identities kept */
#define STATUS_RELOADS_MAX 5
#define STATUS_TOP_MAX 32        /* client identities counted */
#define STATUS_WINDOW 300        /* seconds of refusals, by reason */

struct status_refusal {
	time_t when;
	int reason;                  /* an HS_ slot */
	char who[128];               /* the subject, or the address */
	char why[160];               /* the refusal in words (it names the
	                              * certificate when there was one) */
};

struct status_reload {
	time_t when;
	int ok;
	char what[160];
};

struct status_client {
	char who[128];
	uint64_t conns;
};

struct svc_state {
	unsigned refs;               /* atomic: services, the engine */
	char name[64];
	int nworkers;
	struct proxy_stats *stats;   /* [nworkers] */
	int64_t active;              /* open connections (max_conns) */
	pthread_mutex_t lock;        /* everything below */
	struct metrics_gauges gauges;
	/* refusals per reason per minute over the window */
	uint32_t refusals[STATUS_WINDOW / 60][HS_NREASONS];
	time_t refusal_minute[STATUS_WINDOW / 60];
	struct status_refusal refused[STATUS_REFUSED_MAX];
	size_t nrefused;             /* ring: the next slot is nrefused % MAX */
	struct status_reload reloads[STATUS_RELOADS_MAX];
	size_t nreloads;
	struct status_client top[STATUS_TOP_MAX];
	size_t ntop;
	/* connections per second, sampled by the main thread (status.c) */
	double rate;
	uint64_t rate_prev;
	double rate_at;
};

/* One service as configured.  Never changes once built: a reload that
 * changes a service builds a new one (with the same svc_state), and the
 * connections made with the old one keep it through their generation. */
struct proxy_service {
	unsigned refs;               /* atomic: generations, the engine */
	struct svc_state *st;
	struct proxy_options opt;    /* strings copied; the shared settings
	                              * filled in from the plan */
	char *strings;               /* where opt's strings live */
	int own_policy;              /* free opt.policy with the service */
	struct proxy_addr listen[ADDR_MAX];
	size_t nlisten;
	struct proxy_addr target[ADDR_MAX]; /* the backend, or the upstream's
	                              * addresses, tried in order */
	size_t ntarget;
	int target_first;            /* the one tried first (the last that
	                              * answered) */
	char servername[256];        /* tunnel: the name verified upstream */
	const char *tls_side;        /* "client" or "upstream" in messages */
	const char *plain_side;      /* "backend" or "client" */
	const char *target_side;     /* the side we connect to */
};

/* service.c */
/* Two optional strings are the same (both NULL, or equal). */
int str_same(const char *a, const char *b);
struct svc_state *svc_state_new(const char *name, int nworkers);
void svc_state_unref(struct svc_state *st);
/* Reloads and refusals for the status page (any thread). */
void svc_state_reload(struct svc_state *st, int ok, const char *what);
void svc_state_refused(struct svc_state *st, int r,
    const char *who, const char *why);
void svc_state_client(struct svc_state *st, const char *who);
/* Copies opt (strings included; the policy is taken over when
 * take_policy), resolves its addresses, names its sides.  NULL with the
 * reason in err. */
struct proxy_service *service_new(const struct proxy_options *opt,
    const struct proxy_plan *plan, struct svc_state *st, int take_policy,
    char *err, size_t errlen);
void service_ref(struct proxy_service *svc);
void service_unref(struct proxy_service *svc);
/* 1 when a and b listen on the same addresses. */
int service_same_listen(const struct proxy_service *a,
    const struct proxy_service *b);

/* One configuration generation of one service as a worker uses it: a
 * context built from one mtls_config, kept while connections made with it
 * live.  In serve mode it is the server context connections are accepted
 * from; in tunnel mode a client context that holds the configuration (its
 * reference keeps cfg alive), which each upstream connection's own client
 * context uses. */
struct proxy_gen {
	struct proxy_service *svc;   /* holds a reference */
	struct mtls *tls;
	struct mtls_config *cfg;     /* borrowed from tls */
	unsigned refs;               /* connections using it, +1 while current
	                              * (its worker's thread only) */
	char sig_alg[64];            /* our certificate's, for PROXY v2 */
	char key_alg[32];
	char by_uri[256];            /* our certificate's URI SAN (XFCC By) */
};

/* gen.c: the life of a generation */
/* A generation of svc for each of n workers from cfg (all or none), and the
 * service's expiry facts updated: 0, or -1 with the reason in err. */
int gen_new_set(struct proxy_service *svc, struct mtls_config *cfg,
    struct proxy_gen **gens, int n, char *err, size_t errlen)
    PROXY_MUST_CHECK;
void gen_ref(struct proxy_gen *g);
/* Drops a reference; the last one frees it. */
void gen_unref(struct proxy_gen *g);

struct proxy;
struct conn;
struct reloader;

#define LISTEN_MAX ADDR_MAX

/* A worker's part of one service: its listeners and current generation. */
struct worker_slot {
	struct worker *w;
	struct proxy_gen *gen;
	int lfd[LISTEN_MAX];
	ev_io lio[LISTEN_MAX];
	size_t nlisten;
};

/* One service in a new table of services for a worker. */
struct slot_plan {
	char name[64];
	struct proxy_gen *gen;       /* the new generation, or NULL: keep */
	int keep;                    /* keep the listeners of the slot of the
	                              * same name */
	int lfd[LISTEN_MAX];        /* otherwise these new ones */
	size_t nlisten;
};

struct worker_table {
	struct slot_plan *s;
	size_t n;
};
void worker_table_free(struct worker_table *t);

/* What the main thread hands to a worker (under the worker's lock). */
struct worker_mail {
	struct worker_table *table;  /* the new services, or NULL */
	int stop;                    /* stop accepting, finish connections */
	int force;                   /* close every connection now */
};

struct worker {
	struct proxy *px;
	int id;
	pthread_t thread;
	struct ev_loop *loop;
	struct worker_slot **slots;
	size_t nslots;
	ev_timer accept_resume;      /* after EMFILE/ENFILE */
	ev_async wake;
	pthread_mutex_t lock;
	struct worker_mail mail;
	struct conn *conns;          /* every open connection */
	size_t nconns;
	int stopping;
	ev_timer trim;               /* memory back to the system, see
	                              * worker_trim_cb() */
	ev_prepare log_flush;        /* the log's batch out before waiting */
	uint64_t accepted;           /* connections taken, ever */
	uint64_t relayed;            /* reads relayed, ever */
	uint64_t trim_accepted;      /* the counts at its last tick */
	uint64_t trim_relayed;
	size_t trim_nconns;
	int trim_busy;               /* they moved during the last tick */
	struct relay_pool pool;
	struct splice_pool pipes;
	/* http_conn.c: request heads' storage between requests, made at
	 * the first HTTP connection, freed by http_worker_clear(). */
	struct http_spares *http_spares;
};

/* http_conn.c: frees what the worker's HTTP connections shared (after
 * they are all closed). */
void http_worker_clear(struct worker *w);

struct proxy {
	struct proxy_plan plan;      /* the shared settings (no services) */
	char *file;                  /* plan.file's copy */
	enum proxy_log_format log_format;
	struct worker *workers;
	int nworkers;
	int64_t active;              /* open connections, all workers */
	int workers_done;            /* workers whose loop has ended */
	struct proxy_service **svcs; /* the current services (main thread) */
	size_t nsvcs;
	int *svc_unix;               /* [nsvcs]: we bound its unix socket */
	pthread_mutex_t svcs_lock;   /* the list, for readers off the main
	                              * loop */
	uint64_t reloads_ok, reloads_failed; /* under svcs_lock */
	struct reloader *reloader;
	struct renewer *renewer;     /* follows the services on reload */
	struct sandbox_paths *sandbox; /* the Landlock file rules in force */
	time_t started;
};

/* conn.c */
/* Takes an accepted socket for the service of g. */
void conn_accept(struct worker *w, struct proxy_gen *g, int fd,
    const struct sockaddr *peer, socklen_t peerlen);
/* Closes every connection of w (stop deadline). */
void conn_close_all(struct worker *w, const char *why);
/* A tick of the worker: the TLS record buffers that busy connections kept
 * are given back by those with no I/O since idle_since; returns how many. */
size_t conn_release_idle(struct worker *w, ev_tstamp idle_since);

/* worker.c */
int worker_start(struct worker *w, struct worker_table *t, char *err,
    size_t errlen);
void worker_post(struct worker *w, const struct worker_mail *m);
/* Stops and closes a slot's listeners (its worker's thread, or before the
 * worker runs). */
void worker_slot_free(struct worker_slot *s);

/* renewer.c: renewals and CRL fetches, in the main loop */
struct renewer;
/* Jobs for the services of px that renew their certificate or fetch
 * their CRL; NULL with the reason in err (out of memory only: a CA that
 * cannot be reached is retried). */
struct renewer *renewer_new(struct proxy *px, struct ev_loop *loop,
    char *err, size_t errlen);
/* Matches the jobs to px's services after a reload changed them; -1 with
 * the reason in err (out of memory). */
int renewer_sync(struct renewer *r, char *err, size_t errlen);
/* Waits for a request in flight (bounded by its timeout). */
void renewer_free(struct renewer *r);

/* fdlimit.c */
/* Raises the soft RLIMIT_NOFILE to the hard limit, and logs it. */
void proxy_raise_nofile(enum proxy_log_format fmt);

/* listener.c */
/* A non-blocking SO_REUSEPORT listening socket bound to a; -1 with the
 * reason in err. */
/* listener_open() flags: LISTEN_WORKERS sets SO_REUSEPORT so that the
 * workers of this process each bind the address; LISTEN_ALONE is one
 * socket nothing else may share; LISTEN_NO_LISTEN binds only (a probe). */
#define LISTEN_ALONE 0
#define LISTEN_WORKERS 1
#define LISTEN_NO_LISTEN 2
int listener_open(const struct proxy_addr *a, int flags, char *err,
    size_t errlen);
int listener_check_free(const struct proxy_addr *a, char *err,
    size_t errlen);

/* backend.c */
/* Starts a non-blocking connect to the backend: the socket, or -1 with
 * errno set.  *done is 1 when it connected at once. */
int backend_connect(const struct proxy_addr *a, int *done);
/* The result of a connect that became writable: 0 or an errno value. */
int backend_connect_result(int fd);

/* reload.c */
struct reloader *reloader_new(struct proxy *px, struct ev_loop *loop,
    char *err, size_t errlen);
void reloader_free(struct reloader *r);
/* Watches the files of the current services (after they changed). */
void reloader_rewatch(struct reloader *r);
/* Rebuilds every service's configuration from its files and hands it to
 * the workers; a service whose files fail keeps its previous one and the
 * reason is logged.  0 when all were reloaded, -1 otherwise. */
int proxy_reload(struct proxy *px, const char *why);
/* Applies a new plan (services added, removed, changed): all or nothing.
 * 0, or -1 with the reason in err and everything as it was.  The first
 * call (no current services) starts nothing: the tables are returned in
 * first[] for worker_start. */
int proxy_apply(struct proxy *px, struct proxy_plan *plan,
    struct worker_table **first, char *err, size_t errlen);
/* Closes and unlinks the unix listeners' files of the current services. */
void proxy_unix_cleanup(struct proxy *px);

/* sandbox.c */
/* Landlock and seccomp for the rest of the process's life, from the
 * current services' files and ports (metrics_ports: the metrics
 * listener's): 0, or -1 with the reason in err.  Call before any thread
 * is started. */
int sandbox_enter(struct proxy *px, const int *metrics_ports, size_t nmp,
    char *err, size_t errlen);
/* Whether the sandbox lets the process replace path (a renewal or a CRL
 * fetch that a reload added): 1 without a Landlock domain. */
int sandbox_may_write(const struct proxy *px, const char *path);
void sandbox_free(struct proxy *px);

/* status.c: the status page (/) and its data (/status.json) */
/* Samples each service's connection rate (main thread, every second). */
void status_tick(struct proxy *px, double now);
size_t status_render_json(struct proxy *px, char *buf, size_t cap,
    time_t now);
size_t status_render_html(struct proxy *px, char *buf, size_t cap,
    time_t now);

/* metrics.c: the HTTP side, in the main loop */
struct metrics_server;
struct metrics_server *metrics_server_new(struct proxy *px,
    struct ev_loop *loop, char *err, size_t errlen);
void metrics_server_free(struct metrics_server *m);
/* The per-service families (service label), appended after the totals. */
size_t metrics_render_services(char *buf, size_t cap,
    struct proxy_service *const *svcs, size_t n, time_t now);

#endif
