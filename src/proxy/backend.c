/*
 * backend.c - the connection to the backend: a non-blocking connect to a
 * TCP address or a unix socket.  The caller waits for writability with its
 * own timer and asks backend_connect_result() how it went.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy_int.h"

int
backend_connect(const struct proxy_addr *a, int *done)
{
	int fd, one = 1, saved;

	*done = 0;
	fd = socket(a->u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (a->u.sa.sa_family != AF_UNIX)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	if (connect(fd, &a->u.sa, a->len) == 0) {
		*done = 1;
		return fd;
	}
	if (errno == EINPROGRESS)
		return fd;
	/* A unix socket whose backlog is full says EAGAIN: for the client
	 * that is the same as a refusal. */
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
backend_connect_result(int fd)
{
	int e = 0;
	socklen_t len = sizeof(e);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		return errno;
	return e;
}
