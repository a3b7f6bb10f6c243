/*
 * proxy.h - the serve/tunnel engine as the command line sees it: fill a
 * struct proxy_options, call proxy_serve(), which returns when the proxy has
 * been stopped by SIGTERM/SIGINT (0) or could not start (-1, reason in err).
 *
 * Every connection has a TLS side and a plain side.  In serve mode the TLS
 * side is the accepted client and the plain side the backend; in tunnel mode
 * the plain side is the accepted client and the TLS side an mTLS connection
 * the engine opens to the upstream.
 */
#ifndef MTLS_PROXY_H
#define MTLS_PROXY_H

#include <stddef.h>

#include "mtls.h"

/* How many header prefixes HTTP mode strips, at most. */
#define PROXY_MAX_STRIP_PREFIX 32

enum proxy_log_format {
	PROXY_LOG_TEXT = 0,
	PROXY_LOG_JSON,
};

enum proxy_mode {
	PROXY_SERVE = 0,             /* accept mTLS, forward plaintext */
	PROXY_TUNNEL,                /* accept plaintext, forward over mTLS */
};

struct proxy_options {
	const char *name;            /* the service's name in metrics, logs and
	                              * the status page; NULL: "default" */
	enum proxy_mode mode;
	const char *listen;          /* HOST:PORT, [v6]:PORT, :PORT, unix:/path */
	const char *backend;         /* serve: HOST:PORT, [v6]:PORT, unix:/path */
	const char *connect;         /* tunnel: the upstream HOST:PORT */
	const char *servername;      /* tunnel: SNI and the name verified in the
	                              * upstream's certificate; NULL: the HOST
	                              * of connect */
	const char *cert_file;
	const char *key_file;
	const char *key_passphrase;  /* the key's, when it is encrypted, or
	                              * NULL; not copied: it must outlive the
	                              * proxy (reloads read the key again) */
	const char *ca_file;
	const char *crl_file;        /* NULL: no revocation check */
	const char *renew_from;      /* https:// of an EST server (mtls ca
	                              * serve): cert_file renewed there at 2/3
	                              * of its lifetime, the server verified
	                              * against ca_file; NULL: no renewal */
	const char *crl_from;        /* an https:// URL the CRL is fetched
	                              * from into crl_file; NULL: none */
	const char *ticket_key_file; /* NULL: per-process ticket keys */
	const char *metrics;         /* NULL: no metrics listener */
	struct mtls_policy *policy;  /* the access rules (the engine keeps a
	                              * reference through each config) */
	const char *policy_text;     /* the rules as written, so that a reload
	                              * can tell a changed service; NULL: none */
	/* A client without a certificate may then pass, if the policy has
	 * an "any" rule (the library enforces it). */
	int client_auth_optional;
	int tls_min;                 /* 0, MTLS_TLS1_2 or MTLS_TLS1_3 */
	int proxy_protocol;
	int unsafe_backend;          /* allow a non-loopback backend */
	int unsafe_start_anyway;     /* start (and reload) even when the
	                              * checks at start find errors */
	int workers;                 /* 0: one per core */
	int max_conns;               /* 0: no limit */
	int session_cache;           /* serve: sessions kept; 0: default */
	double handshake_timeout;    /* seconds */
	double idle_timeout;         /* seconds */
	double backend_timeout;      /* connect timeout, seconds */
	double drain_timeout;        /* graceful stop deadline, seconds */
	enum proxy_log_format log_format;
	int no_sandbox;              /* no Landlock, no seccomp filter */
	int ktls;                    /* serve's raw relay: ask for kernel TLS
	                              * (used where the kernel offers it) */
	/* serve's HTTP mode (http_conn.c) */
	int http;
	const char *http_identity;   /* "xfcc,client-cert" (NULL: that) */
	const char *const *strip_prefix; /* header names removed by prefix
	                              * (copied by the service) */
	size_t nstrip_prefix;
	size_t http_max_line;        /* 0: the defaults of src/lib/http */
	size_t http_max_head;
	size_t http_max_fields;
	double http_timeout;         /* seconds for the backend's answer */
};

/* Defaults for the numeric options. */
#define PROXY_HANDSHAKE_TIMEOUT 10.0
#define PROXY_IDLE_TIMEOUT 300.0
#define PROXY_BACKEND_TIMEOUT 5.0
#define PROXY_DRAIN_TIMEOUT 10.0
#define PROXY_HTTP_TIMEOUT 60.0

/* The identity header list of HTTP mode: 0, or -1 with the reason. */
int proxy_check_http_identity(const char *list, char *err, size_t errlen);

/*
 * Checks an address for the listener or the backend: 0, or -1 with the
 * reason in err (naming the address, never an option: the command line
 * adds that).  Used by the command line to report usage errors before
 * anything is loaded.  A backend that is neither loopback nor unix is
 * refused unless unsafe_backend, with PROXY_ADDR_NOT_LOCAL.
 */
#define PROXY_ADDR_NOT_LOCAL (-2)
int proxy_check_listen(const char *addr, char *err, size_t errlen);
/* The tunnel's listener: HOST:PORT or unix:/path, and only loopback or a
 * unix socket (plaintext arrives there) unless unsafe_listen
 * (PROXY_ADDR_NOT_LOCAL). */
int proxy_check_tunnel_listen(const char *addr, int unsafe_listen, char *err,
    size_t errlen);
/* The tunnel's upstream: the form HOST:PORT or [v6]:PORT (not resolved). */
int proxy_check_connect(const char *addr, char *err, size_t errlen);
int proxy_check_backend(const char *addr, int unsafe_backend, char *err,
    size_t errlen);

/*
 * Builds a TLS configuration from the options (files, protocols, client
 * auth, policy).  The command line uses it once before starting so that file
 * errors are reported with exit status 1; the engine uses it again on every
 * reload.  NULL with the reason in err.
 */
struct mtls_config *proxy_config_build(const struct proxy_options *opt,
    char *err, size_t errlen);

/*
 * What a failure to start is about, so that the caller names it as its user
 * knows it (an option, a configuration key): the message itself names the
 * value and the problem only.
 */
enum proxy_part {
	PROXY_PART_NONE,       /* nothing the caller names */
	PROXY_PART_LISTEN,     /* the address to listen on (est_serve) */
	PROXY_PART_METRICS,    /* the metrics and status page's address */
};

/* Runs the proxy (serve or tunnel, by opt->mode) as a service of one until
 * SIGTERM/SIGINT.  cfg (from proxy_config_build, which has reported the
 * file errors) is freed; the engine builds its own from opt.  On failure,
 * *part says what err is about. */
int proxy_serve(const struct proxy_options *opt, struct mtls_config *cfg,
    enum proxy_part *part, char *err, size_t errlen);

/*
 * A plan: the services one process runs and the settings they share.  The
 * command line makes a plan of one service; a configuration file
 * (proxy_plan_load) makes one of any number.  In each service's options the
 * shared fields (mode, workers, metrics, log_format, drain_timeout) are
 * ignored: the plan's count.
 */
struct proxy_plan {
	enum proxy_mode mode;
	int workers;                 /* 0: one per core */
	const char *metrics;         /* the metrics and status page, or NULL */
	enum proxy_log_format log_format;
	double drain_timeout;
	int no_sandbox;              /* 1: no Landlock, no seccomp filter */
	const char *key_passphrase;  /* every service's encrypted key's, kept
	                              * for reloads of the file */
	const char *file;            /* the configuration file, re-read on
	                              * SIGHUP and when it changes; NULL: the
	                              * plan came from the command line */
	struct proxy_options *svc;
	size_t nsvc;
	/* Each service's policy belongs to the plan (freed with it) when
	 * owns_policies; the engine then takes them over. */
	int owns_policies;
	void *storage;               /* proxy_plan_load's strings */
};

/* Runs the plan until SIGTERM/SIGINT: 0, or -1 with the reason in err
 * (and what it is about in *part) when it could not start.  The plan stays
 * the caller's. */
int proxy_run(struct proxy_plan *plan, enum proxy_part *part, char *err,
    size_t errlen);

/*
 * Reads a configuration file (YAML; docs/mtls.1 lists the keys) into a new
 * plan: NULL with one line in err naming the file, the line and the key
 * for unknown keys, wrong types, bad values and missing keys.
 */
struct proxy_plan *proxy_plan_load(const char *file, char *err,
    size_t errlen);
/* What "nginx -t" checks, for every service: the files exist and load,
 * each certificate matches its key, the CA verifies the CRLs' issuers.
 * 0, or -1 with one line in err naming the service and the file. */
int proxy_plan_check(const struct proxy_plan *plan, char *err,
    size_t errlen);
/* The passphrase of the services' encrypted keys, for this plan and for
 * those its file gives at each reload (the file never holds one). */
void proxy_plan_set_key_passphrase(struct proxy_plan *plan,
    const char *passphrase);
void proxy_plan_free(struct proxy_plan *plan);

/*
 * The checks at start, run for the command line, for each service of a
 * configuration file and at each reload (one piece of code for all): the
 * findings of mtls doctor on the service's own certificate (for its role:
 * a server certificate for serve, a client certificate for tunnel), its
 * key, its peers' CA file and its CRL file.  Each error is a state in which
 * every handshake can only fail.  fn, when not NULL, gets each error; the
 * result is their number.  0 also when the checks could not run or a file
 * does not load: the loader then says why, in the words every command uses.
 */
typedef void (*proxy_finding_fn)(void *arg, const char *code,
    const char *explanation, const char *fix);
size_t proxy_start_check(const struct proxy_options *o,
    const char *passphrase, proxy_finding_fn fn, void *arg);
/* The same for a reload or a file: -1 with the first error as one line
 * ("code: explanation; fix: ...") in err; 0 when there is none or the
 * service has unsafe_start_anyway. */
int proxy_start_check_line(const struct proxy_options *o, char *err,
    size_t errlen);

/*
 * The online CA's server (mtls ca serve): EST over mTLS on one libev loop,
 * answered by est (libmtls).  cfg is the TLS server configuration (client
 * certificates optional, verified when sent); the engine takes it over.
 * Runs until SIGTERM/SIGINT: 0, or -1 with the reason in err and what it is
 * about in *part.
 */
struct est_server_options {
	const char *listen;
	struct mtls_est *est;
	enum proxy_log_format log_format;
	double handshake_timeout;    /* 0: PROXY_HANDSHAKE_TIMEOUT */
	double request_timeout;      /* a whole request; 0: 30 s */
	double crl_check;            /* seconds between CRL checks; 0: 5 */
};
int est_serve(const struct est_server_options *opt, struct mtls_config *cfg,
    enum proxy_part *part, char *err, size_t errlen);

/*
 * The demo's backend: a thread answering every connection on a unix socket
 * with one line naming the client that the PROXY v2 header describes
 * ("hello CN: ..."), then closing.  NULL with the reason in err.
 */
struct proxy_demo_backend;
struct proxy_demo_backend *proxy_demo_backend_start(const char *path,
    char *err, size_t errlen);
/* Connections it has answered. */
unsigned proxy_demo_backend_count(struct proxy_demo_backend *b);
void proxy_demo_backend_stop(struct proxy_demo_backend *b);

#endif
