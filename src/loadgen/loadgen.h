/*
 * loadgen.h - the load engine behind "mtls bench": one libev loop on one
 * thread drives N non-blocking mTLS client connections through the library's
 * public client API for a fixed time, and counts what fully succeeded, what
 * failed and why, and how long each operation took.
 */
#ifndef MTLS_LOADGEN_H
#define MTLS_LOADGEN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "mtls.h"

enum loadgen_mode {
	LOADGEN_HANDSHAKE = 0, /* connect, full handshake, close */
	LOADGEN_RESUME,        /* the same, resuming the slot's last session */
	LOADGEN_RR,            /* keep-alive request/response */
	LOADGEN_BULK,          /* echo blocks of data both ways */
	LOADGEN_IDLE,          /* hold connections open, idle, after the
	                        * handshake and, with a request, one
	                        * request/response (memory per connection) */
};

/* "handshake" -> LOADGEN_HANDSHAKE; -1 for an unknown name. */
int loadgen_mode_parse(const char *name, enum loadgen_mode *mode);
const char *loadgen_mode_name(enum loadgen_mode mode);

/*
 * Latency histogram, log-linear: values (microseconds) below 2^LOADGEN_SUB_BITS
 * are exact; above, each power of two is cut into 2^LOADGEN_SUB_BITS equal
 * buckets, so a quantile is within 1/64 (1.6%) of the truth.  Fixed size:
 * adding a value is an index computation and an increment, no allocation.
 */
#define LOADGEN_SUB_BITS 6
#define LOADGEN_SUB (1u << LOADGEN_SUB_BITS)
#define LOADGEN_MAG 32      /* up to 2^(32+6) us: far beyond any run */
#define LOADGEN_BUCKETS (LOADGEN_MAG * LOADGEN_SUB)

struct loadgen_hist {
	uint64_t count[LOADGEN_BUCKETS];
	uint64_t n;
	uint64_t max;
	uint64_t sum;
};

void loadgen_hist_add(struct loadgen_hist *h, uint64_t us);
/* The value at quantile q (0..1): the upper edge of its bucket, never more
 * than the largest value seen; 0 when empty. */
uint64_t loadgen_hist_quantile(const struct loadgen_hist *h, double q);

/* Kinds of failure, each counted apart. */
enum loadgen_err {
	LOADGEN_ERR_CONNECT_REFUSED = 0, /* ECONNREFUSED */
	LOADGEN_ERR_CONNECT,             /* any other connect() failure */
	LOADGEN_ERR_TIMEOUT,             /* an operation outlived --timeout */
	LOADGEN_ERR_HANDSHAKE,           /* TLS refused: alert, bad cert... */
	LOADGEN_ERR_CLOSED,              /* peer closed before the end */
	LOADGEN_ERR_SHORT_READ,          /* stream ended inside a response */
	LOADGEN_ERR_IO,                  /* read/write failed after the handshake */
	LOADGEN_ERR_BAD_DATA,            /* the echo differed from what was sent,
	                                  * or a response not as expected */
	LOADGEN_ERR_HTTP_STATUS,         /* an HTTP response 400 or above */
	LOADGEN_ERR_COUNT,
};

/* "connect_refused", ... (stable names, used in the JSON output). */
const char *loadgen_err_name(enum loadgen_err e);

/* Handshake failures by reason code (the library's reason table), each
 * with the words of its first occurrence and its count; reasons past the
 * first LOADGEN_REASONS distinct ones are counted in reasons_other. */
#define LOADGEN_REASONS 8
#define LOADGEN_REASON_LEN 200

struct loadgen_reason {
	enum mtls_reject_code code;
	char text[LOADGEN_REASON_LEN];   /* the first failure's words */
	uint64_t count;
};

struct loadgen_stats {
	uint64_t ops;                     /* fully successful operations;
	                                   * idle: connections still held at
	                                   * the end */
	uint64_t resumed;                 /* of them, resumed handshakes */
	uint64_t handshakes;              /* every completed handshake */
	uint64_t bytes_out;               /* application bytes written */
	uint64_t bytes_in;                /* application bytes read */
	uint64_t errors[LOADGEN_ERR_COUNT];
	struct loadgen_reason reasons[LOADGEN_REASONS];
	size_t nreasons;
	uint64_t reasons_other;
	struct loadgen_hist latency;      /* of successful operations, us */
	double elapsed;                   /* seconds actually measured */
};

uint64_t loadgen_stats_errors(const struct loadgen_stats *s);

struct loadgen_options {
	struct sockaddr_storage addr;     /* where to connect */
	socklen_t addrlen;
	const char *servername;           /* SNI and the name checked */
	struct mtls_config *cfg;          /* client configuration, shared */
	/* Resume mode: one configuration per connection (conns of them), so
	 * that each connection offers the session it was issued last, as a
	 * real client would (the library keeps one session per
	 * configuration; one shared by concurrent connections makes them
	 * offer the same session at once, and some are not resumed).  NULL:
	 * every connection uses cfg. */
	struct mtls_config **slot_cfg;
	enum loadgen_mode mode;
	int conns;                        /* concurrent connections */
	double duration;                  /* seconds */
	double timeout;                   /* per operation, seconds */
	const char *request;              /* rr: bytes sent per request;
	                                   * idle: sent once (NULL: none) */
	size_t request_len;
	size_t response_bytes;            /* rr: bytes expected per response
	                                   * (with http: 0 for any length) */
	int http;                         /* rr, idle: responses are HTTP/1.1,
	                                   * framed by their own length; a
	                                   * status of 400 or more is an error */
	size_t block_size;                /* bulk: bytes per echoed block */
	/* Called about once a second with the counts so far; may be NULL. */
	void (*progress)(const struct loadgen_stats *s, double elapsed,
	    void *arg);
	void *progress_arg;
};

/*
 * Runs the load for opt->duration seconds and fills st.  Returns 0 when the
 * run took place (failed operations are counted in st, not returned), or -1
 * with the reason in err when it could not start.
 */
int loadgen_run(const struct loadgen_options *opt, struct loadgen_stats *st,
    struct mtls_error *err);

/*
 * Before a run: one connection that checks what a handshake alone does not
 * show, that the server accepts our certificate.  -1 with the reason in err
 * when the server named the CAs it accepts and our chain leads to none, or
 * when it speaks HTTP (ALPN, or opt->http) and refuses the certificate in
 * its answer to GET / (nginx's 400).  A handshake the server refuses is
 * not an error here: the run counts it as such.
 */
int loadgen_preflight(const struct loadgen_options *opt,
    struct mtls_error *err);

#endif
