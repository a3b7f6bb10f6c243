/*
 * demo_backend.c - the backend of "mtls demo": it reads the PROXY v2
 * header the proxy sends first, and answers with what it says about the
 * client, so that the demo shows the backend learning who is calling
 * without doing any TLS itself.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy_int.h"

#define DEMO_HEADER_MAX 4096
#define DEMO_READ_TIMEOUT_MS 3000

struct proxy_demo_backend {
	int fd;
	pthread_t thread;
	unsigned answered;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static void
demo_answer(int fd)
{
	unsigned char buf[DEMO_HEADER_MAX];
	struct pp2_parsed pp;
	size_t len = 0;
	ssize_t hl = 0;
	char reply[1024];
	int n;

	while (len < sizeof(buf)) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, DEMO_READ_TIMEOUT_MS) <= 0)
			return;
		r = read(fd, buf + len, sizeof(buf) - len);
		if (r <= 0)
			return;
		len += (size_t)r;
		hl = pp2_parse(buf, len, &pp);
		if (hl != 0)
			break;
	}
	if (hl <= 0) {
		n = snprintf(reply, sizeof(reply), "backend: no PROXY v2 "
		    "header, so I do not know who you are\n");
	} else if (pp.has_ssl && (pp.client & PP2_CLIENT_CERT_SESS) &&
	    pp.verify == 0) {
		n = snprintf(reply, sizeof(reply), "hello %s: the proxy "
		    "verified your certificate (%s, %s) and says you connect "
		    "from %s\n", pp.cn[0] ? pp.cn : "(no CN)", pp.version,
		    pp.cipher, pp.src);
	} else {
		n = snprintf(reply, sizeof(reply), "hello anonymous client "
		    "from %s: no certificate was verified\n", pp.src);
	}
	if (n > 0)
		(void)send(fd, reply, (size_t)n < sizeof(reply) ? (size_t)n :
		    sizeof(reply) - 1, MSG_NOSIGNAL);
}

static void *
demo_main(void *arg)
{
	struct proxy_demo_backend *b = arg;

	for (;;) {
		int fd = accept4(b->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break; /* stopped */
		}
		demo_answer(fd);
		__atomic_fetch_add(&b->answered, 1, __ATOMIC_RELAXED);
		close(fd);
	}
	return NULL;
}

struct proxy_demo_backend *
proxy_demo_backend_start(const char *path, char *err, size_t errlen)
{
	struct proxy_demo_backend *b = calloc(1, sizeof(*b));
	struct sockaddr_un un = { .sun_family = AF_UNIX };

	if (b == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (strlen(path) >= sizeof(un.sun_path)) {
		snprintf(err, errlen, "%s: path too long for a unix socket",
		    path);
		free(b);
		return NULL;
	}
	memcpy(un.sun_path, path, strlen(path) + 1);
	memcpy(b->path, path, strlen(path) + 1);
	b->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (b->fd == -1 || bind(b->fd, (struct sockaddr *)&un, sizeof(un)) ==
	    -1 || listen(b->fd, 16) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (b->fd != -1)
			close(b->fd);
		free(b);
		return NULL;
	}
	if ((errno = pthread_create(&b->thread, NULL, demo_main, b)) != 0) {
		snprintf(err, errlen, "backend thread: %s", strerror(errno));
		close(b->fd);
		unlink(path);
		free(b);
		return NULL;
	}
	return b;
}

unsigned
proxy_demo_backend_count(struct proxy_demo_backend *b)
{
	return __atomic_load_n(&b->answered, __ATOMIC_RELAXED);
}

void
proxy_demo_backend_stop(struct proxy_demo_backend *b)
{
	if (b == NULL)
		return;
	/* Wakes the blocked accept() with an error. */
	(void)shutdown(b->fd, SHUT_RDWR);
	pthread_join(b->thread, NULL);
	close(b->fd);
	unlink(b->path);
	free(b);
}
