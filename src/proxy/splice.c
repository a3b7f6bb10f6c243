/*
 * splice.c - backend to client without user space, where the kernel
 * encrypts for the client (Linux kernel TLS, "kTLS send").
 *
 * When the service asks for it, the library asks OpenSSL for kTLS, and
 * after the handshake OpenSSL's own answer (mtls_conn_ktls) is the runtime
 * probe: without the kernel's tls ULP, or with a suite the kernel does not
 * offload, nothing changes and the relay of conn.c runs as always.  When
 * the kernel encrypts what is written to the client's socket, the
 * backend's bytes go backend socket -> pipe -> client socket by splice(2):
 * they are never copied into this process, and the kernel makes the TLS
 * records.
 *
 * Only that direction.  The client's bytes are still read with mtls_read:
 * when the kernel also decrypts (kTLS receive), OpenSSL reads the records
 * through it, and a record that is not application data (an alert, a TLS
 * 1.3 KeyUpdate or NewSessionTicket) arrives with its type in a control
 * message that splice(2) would not give us, so splicing from that socket
 * could not tell close_notify from data.
 *
 * The rules of conn.c hold: the pipe is one more "buffer" of the direction
 * (nothing more is read from the backend while it holds bytes: the same
 * backpressure), EAGAIN on either socket waits for the loop (p_rd, tls_wr),
 * a direction has its budget of turns, and close_notify goes out once the
 * backend has ended and the pipe is empty.  Nothing is pending in OpenSSL
 * when splicing starts: the handshake has written its last flight (the TLS
 * 1.3 session tickets included: mtls_handshake returns 0 only once they
 * are out), and in serve's raw relay the client has not yet been sent a
 * byte with mtls_write.  A pipe costs two descriptors, so a connection
 * holds one only while bytes move and gives it back to the worker's pool
 * when the backend has nothing more for now (an idle connection holds
 * none); when no pipe can be made (the descriptor limit), the connection
 * goes on with mtls_write, which the kernel encrypts all the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"

/* Asked of each splice from the backend: a pipe's default capacity. */
#define SPLICE_CHUNK (64 * 1024)

static struct splice_pipe *
splice_pipe_get(struct splice_pool *pool)
{
	struct splice_pipe *p = pool->free;

	if (p != NULL) {
		pool->free = p->next;
		pool->nfree--;
		p->next = NULL;
		return p;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if (pipe2(p->fd, O_NONBLOCK | O_CLOEXEC) == -1) {
		free(p);
		return NULL;
	}
	return p;
}

static void
splice_pipe_free(struct splice_pipe *p)
{
	close(p->fd[0]);
	close(p->fd[1]);
	free(p);
}

/* An empty pipe goes back to the pool; one that still holds bytes (the
 * connection ended in the middle) is closed with them. */
static void
splice_pipe_put(struct splice_pool *pool, struct splice_pipe *p)
{
	if (p == NULL)
		return;
	if (p->held > 0 || pool->nfree >= SPLICE_POOL_MAX) {
		splice_pipe_free(p);
		return;
	}
	p->next = pool->free;
	pool->free = p;
	pool->nfree++;
}

void
splice_pool_clear(struct splice_pool *pool)
{
	struct splice_pipe *p, *next;

	for (p = pool->free; p != NULL; p = next) {
		next = p->next;
		splice_pipe_free(p);
	}
	pool->free = NULL;
	pool->nfree = 0;
}

void
splice_start(struct conn *c)
{
	c->ktls = (unsigned char)mtls_conn_ktls(c->tls);
	if (!(c->ktls & MTLS_KTLS_SEND))
		return;
	STAT_ADD(CONN_STATS(c)->ktls_tx, 1);
	/* Bytes already written with mtls_write would have to go out before
	 * any spliced byte; in the raw relay there are none. */
	c->splicing = c->p2t == NULL;
}

void
splice_end(struct conn *c)
{
	splice_pipe_put(&c->w->pipes, c->pipe);
	c->pipe = NULL;
}

/* The pipe's bytes into the client's socket, where the kernel encrypts
 * them.  1: the pipe is empty; 0: the socket is full (wait); -1: closed. */
static int
splice_out(struct conn *c)
{
	struct splice_pipe *p = c->pipe;
	char what[256];

	while (p->held > 0) {
		ssize_t n = splice(p->fd[0], NULL, c->tfd, NULL, p->held,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

		if (n > 0) {
			p->held -= (size_t)n;
			conn_count(c, 0, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->tls_wr = EV_WRITE;
			return 0;
		}
		if (n < 0 && errno == EINTR)
			continue;
		snprintf(what, sizeof(what), "TLS write (kernel TLS): %s",
		    n < 0 ? strerror(errno) : "the socket took nothing");
		return conn_side_fail(c, 1, what);
	}
	return 1;
}

int
conn_flow_splice(struct conn *c)
{
	struct worker *w = c->w;
	int budget = RELAY_BUDGET, drained = 0, r;

	for (;;) {
		ssize_t n;

		if (c->pipe != NULL && c->pipe->held > 0) {
			if (c->tls_wr)
				return 0;
			if ((r = splice_out(c)) != 1)
				return r;
		}
		if (c->p_eof) {
			splice_end(c);
			conn_tls_shut(c);
			return 0;
		}
		if (c->p_rd || drained) {
			/* Waiting for the backend (drained: as in conn.c,
			 * the loop says when more comes): no pipe held. */
			splice_end(c);
			if (drained)
				c->p_rd = EV_READ;
			return 0;
		}
		if (budget-- == 0) {
			c->p_again = 1;
			return 0;
		}
		if (c->pipe == NULL &&
		    (c->pipe = splice_pipe_get(&w->pipes)) == NULL) {
			/* No descriptors (or memory) for a pipe: the same
			 * bytes through mtls_write, still kernel-encrypted. */
			c->splicing = 0;
			c->p_again = 1;
			return 0;
		}
		n = splice(c->pfd, NULL, c->pipe->fd[1], NULL, SPLICE_CHUNK,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			c->pipe->held = (size_t)n;
			c->p_data = 1;
			c->last = ev_now(w->loop);
			/* Short: the socket is most likely empty (or the
			 * pipe's slots ran out; the loop then says at once
			 * that the socket has more). */
			drained = n < SPLICE_CHUNK;
			continue;
		}
		/* The pipe is empty here, so EAGAIN is the backend's. */
		if ((r = conn_plain_nodata(c, n)) == 0)
			splice_end(c);
		if (r != 1)
			return r;
	}
}
