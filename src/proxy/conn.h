/*
 * conn.h - one proxied connection as conn.c and the HTTP mode
 * (http_conn.c) both see it: the struct, its states, and the few functions
 * of conn.c that HTTP mode calls (watching, counting, the one teardown).
 * Private to the engine.
 */
#ifndef MTLS_CONN_H
#define MTLS_CONN_H

#include "proxy_int.h"

enum conn_state {
	CONN_HANDSHAKE,
	CONN_CONNECTING,
	CONN_RELAY,
	CONN_LINGER,
	CONN_HTTP,                   /* HTTP mode: http_conn.c drives */
};

/* The counters of the connection's service, its worker's block. */
#define CONN_STATS(c) (&(c)->gen->svc->st->stats[(c)->w->id])

/* Reads per direction before giving other connections a turn. */
#define RELAY_BUDGET 16
/* How long a refused client's last bytes are drained. */
#define LINGER_TIME 2.0

struct conn {
	struct conn *prev, *next;
	struct worker *w;
	struct proxy_gen *gen;
	enum conn_state state;
	int tfd, pfd;                /* the TLS side's socket, the plain
	                              * side's */
	struct mtls *tls;
	ev_io tio, pio;
	ev_timer timer;
	ev_tstamp start, last;
	ev_tstamp refused;           /* when a refused client was told */
	unsigned char tls_rd, tls_wr, p_rd, p_wr;
	unsigned t_eof : 1;          /* the TLS side's stream ended */
	unsigned p_shut : 1;         /* ... and we passed it on */
	unsigned p_eof : 1;          /* the plain side's stream ended */
	unsigned t_closed : 1;       /* ... and we sent close_notify */
	unsigned p_data : 1;         /* the plain side sent at least a byte */
	unsigned p_eof_first : 1;    /* ... ended while the TLS side was open */
	unsigned hs_started : 1;     /* serve: the client has sent something */
	unsigned hs_done : 1;
	unsigned t_again : 1;        /* a direction used up its turn with */
	unsigned p_again : 1;        /* ... more to read: run again soon */
	unsigned char tls_reads;     /* reads from the TLS side this tick of
	                              * the worker, up to 2 (busy) */
	unsigned char target;        /* the address of px->target tried */
	unsigned char tries;         /* ... and how many were tried before */
	struct relay_buf *t2p, *p2t;
	uint64_t bytes_in, bytes_out; /* from / to the accepted client */
	struct sockaddr_in6 peer;    /* fits a sockaddr_in too */
	socklen_t peerlen;
	const char *outcome;
	char *reason;                /* why it ended, in words (made only
	                              * when there is one) */
	struct http_conn *http;      /* HTTP mode, after the handshake */
	unsigned char ktls;          /* MTLS_KTLS_* of the TLS side */
	unsigned splicing : 1;       /* backend to client by splice(2)
	                              * (splice.c), not mtls_write */
	struct splice_pipe *pipe;    /* ... through this, held only while
	                              * bytes move */
};

/* Bytes from the plain side wait for the TLS side to take them. */
#define CONN_P2T_HELD(c) ((c)->p2t != NULL || \
	((c)->pipe != NULL && (c)->pipe->held > 0))

void conn_close(struct conn *c);
int conn_fail(struct conn *c, const char *outcome, const char *fmt, ...)
    PROXY_PRINTF(3, 4);
void conn_outcome(struct conn *c, const char *outcome, const char *fmt, ...)
    PROXY_PRINTF(3, 4);
void conn_watch(struct conn *c, ev_io *io, int events);
void conn_count(struct conn *c, int from_tls, size_t n);
void conn_tls_active(struct conn *c);
void conn_linger(struct conn *c);
/* An I/O failure on one side, what in words; closes, returns -1. */
int conn_side_fail(struct conn *c, int tls_side, const char *what);
/* A read of the plain side that brought no bytes (n: 0, or -1 with
 * errno): its end, a wait for the loop, or its failure.  1: go on; 0:
 * wait; -1: the connection was closed. */
int conn_plain_nodata(struct conn *c, ssize_t n);
/* close_notify and SHUT_WR once the plain side has ended. */
void conn_tls_shut(struct conn *c);

/* splice.c: the kernel encrypts for the client (kTLS send) */
/* After the handshake: what the kernel does, in the log and metrics, and
 * the backend's bytes by splice(2) when it encrypts. */
void splice_start(struct conn *c);
/* Plain side to TLS side through a pipe; -1: the connection was closed. */
int conn_flow_splice(struct conn *c);
/* At the teardown: the pipe back to the worker's pool, or closed. */
void splice_end(struct conn *c);
/* The raw relay, both ways, with what t2p and p2t already hold. */
void conn_relay_start(struct conn *c);

/* http_conn.c */
/* The handshake is done: HTTP mode takes the connection. */
void http_conn_start(struct conn *c);
/* An event on the TLS side (tls_side 1) or the backend's. */
void http_conn_io(struct conn *c, int tls_side, int revents);
void http_conn_timer(struct conn *c);
void http_conn_free(struct conn *c);

#endif
