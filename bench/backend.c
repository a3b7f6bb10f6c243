/*
 * backend.c - the plaintext service behind every server in the benchmark:
 * one thread, epoll, non-blocking, so that it costs the servers under test
 * as little as possible and the same for each.
 *
 *   backend PORT echo                  echoes every byte back
 *   backend PORT rr REQLEN RESPBYTES   for every REQLEN bytes received,
 *                                      answers RESPBYTES bytes
 *   backend PORT http RESPBYTES        for every request head (a request
 *                                      without a body, ended by an empty
 *                                      line), an HTTP/1.1 200 answer with
 *                                      RESPBYTES of body, kept alive
 *
 * Listens on 127.0.0.1:PORT until killed.  Built and run by bench/run.sh and
 * by the bench integration tests; not part of mtls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_LEN 65536

struct conn {
	int fd;
	size_t have;       /* echo: bytes in buf not yet written back */
	size_t off;        /* echo: bytes of buf already written */
	size_t partial;    /* rr: bytes of the current request received */
	uint64_t owed;     /* rr: response bytes still to send */
	int want_out;      /* EPOLLOUT armed */
	unsigned char buf[BUF_LEN];
};

static int rr_mode, http_mode;
static size_t req_len, resp_len;
static unsigned char resp_buf[BUF_LEN];

static void
conn_close(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

static void
conn_arm(int ep, struct conn *c, int out)
{
	if (c->want_out == out)
		return;
	/* While output is blocked, input is not read: wait for EPOLLOUT
	 * alone, or a level-triggered EPOLLIN would spin. */
	struct epoll_event ev = { .events = out ? EPOLLOUT : EPOLLIN,
	    .data.ptr = c };
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->want_out = out;
}

/* Writes what is owed; 0 when all of it went, 1 when the socket is full,
 * -1 when the peer has gone. */
static int
conn_flush(struct conn *c)
{
	for (;;) {
		ssize_t n;
		if (rr_mode) {
			if (c->owed == 0)
				return 0;
			/* rr answers are all 'x': any slice will do; an HTTP
			 * answer is sent from where the last send stopped. */
			size_t at = http_mode ? (size_t)((resp_len -
			    c->owed % resp_len) % resp_len) : 0;
			size_t k = c->owed < BUF_LEN - at ? (size_t)c->owed :
			    BUF_LEN - at;
			if (http_mode && k > resp_len - at)
				k = resp_len - at;
			n = send(c->fd, resp_buf + at, k, MSG_NOSIGNAL);
			if (n > 0)
				c->owed -= (uint64_t)n;
		} else {
			if (c->off == c->have) {
				c->off = c->have = 0;
				return 0;
			}
			n = send(c->fd, c->buf + c->off, c->have - c->off,
			    MSG_NOSIGNAL);
			if (n > 0)
				c->off += (size_t)n;
		}
		if (n < 0)
			return errno == EAGAIN ? 1 : -1;
	}
}

static void
conn_event(int ep, struct conn *c)
{
	for (;;) {
		int f = conn_flush(c);
		if (f < 0) {
			conn_close(ep, c);
			return;
		}
		if (f > 0) {
			/* Backpressure: read nothing more until the peer
			 * takes what it is owed. */
			conn_arm(ep, c, 1);
			return;
		}
		ssize_t n = recv(c->fd, c->buf, BUF_LEN, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			conn_close(ep, c);
			return;
		}
		if (n < 0) {
			conn_arm(ep, c, 0);
			return;
		}
		if (http_mode) {
			/* c->partial: how much of CRLF CRLF matched. */
			static const char end[] = "\r\n\r\n";
			for (ssize_t i = 0; i < n; i++) {
				if (c->buf[i] == (unsigned char)end[c->partial])
					c->partial++;
				else
					c->partial = c->buf[i] == '\r';
				if (c->partial == 4) {
					c->owed += resp_len;
					c->partial = 0;
				}
			}
		} else if (rr_mode) {
			c->partial += (size_t)n;
			c->owed += (uint64_t)(c->partial / req_len) * resp_len;
			c->partial %= req_len;
		} else {
			c->have = (size_t)n;
			c->off = 0;
		}
	}
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[2], "echo") == 0) {
		rr_mode = 0;
	} else if (argc == 5 && strcmp(argv[2], "rr") == 0) {
		rr_mode = 1;
		req_len = strtoul(argv[3], NULL, 10);
		resp_len = strtoul(argv[4], NULL, 10);
		if (req_len == 0 || resp_len == 0) {
			fprintf(stderr, "backend: REQLEN and RESPBYTES must "
			    "be positive\n");
			return 2;
		}
		memset(resp_buf, 'x', sizeof(resp_buf));
	} else if (argc == 4 && strcmp(argv[2], "http") == 0) {
		size_t body = strtoul(argv[3], NULL, 10);
		int h;
		rr_mode = http_mode = 1;
		if (body == 0 || body > BUF_LEN / 2) {
			fprintf(stderr, "backend: RESPBYTES must be 1 to %d\n",
			    BUF_LEN / 2);
			return 2;
		}
		h = snprintf((char *)resp_buf, sizeof(resp_buf), "HTTP/1.1 200 "
		    "OK\r\nContent-Type: text/plain\r\nContent-Length: "
		    "%zu\r\n\r\n", body);
		memset(resp_buf + h, 'x', body);
		resp_len = (size_t)h + body;
	} else {
		fprintf(stderr, "usage: backend PORT echo | "
		    "backend PORT rr REQLEN RESPBYTES | backend PORT http "
		    "RESPBYTES\n");
		return 2;
	}
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)atoi(argv[1])),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 4096) == -1) {
		fprintf(stderr, "backend: 127.0.0.1:%s: %s\n", argv[1],
		    strerror(errno));
		return 1;
	}
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	struct epoll_event evs[256];
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr != NULL) {
				conn_event(ep, evs[i].data.ptr);
				continue;
			}
			int fd;
			while ((fd = accept4(lfd, NULL, NULL,
			    SOCK_NONBLOCK)) != -1) {
				struct conn *c = calloc(1, sizeof(*c));
				if (c == NULL) {
					close(fd);
					continue;
				}
				c->fd = fd;
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				    sizeof(one));
				struct epoll_event cev = { .events = EPOLLIN,
				    .data.ptr = c };
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
			}
		}
	}
}
