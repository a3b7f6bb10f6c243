/*
 * listener.c - listening sockets.  Every worker opens its own socket on
 * the same address with SO_REUSEPORT, so the kernel spreads new connections
 * over the workers and no accept lock is shared between threads.
 *
 * SO_REUSEPORT would also let another process of the same user join the
 * group and take a share of the connections (a second serve with looser
 * rules, or a metrics listener on the proxy's port).  So before the workers
 * bind, listener_check_free() binds the address once without SO_REUSEPORT:
 * that bind fails with EADDRINUSE if anything listens there, reuseport or
 * not.  The alternative, one socket without SO_REUSEPORT shared by the
 * workers, gives up the kernel's spreading; the probe leaves only the few
 * microseconds between the probe and the workers' binds, where two
 * processes started at the same instant could both pass.  Listeners that
 * are one socket (metrics) never set SO_REUSEPORT at all.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proxy_int.h"

#define LISTEN_BACKLOG 4096

/* Binds and closes a socket on A without SO_REUSEPORT: -1 with the
 * bind error when the address is in use, by a reuseport group or not. */
int
listener_check_free(const struct proxy_addr *a, char *err, size_t errlen)
{
	if (a->u.sa.sa_family == AF_UNIX)
		return 0;
	int fd = listener_open(a, LISTEN_ALONE | LISTEN_NO_LISTEN, err,
	    errlen);
	if (fd == -1)
		return -1;
	close(fd);
	return 0;
}

int
listener_open(const struct proxy_addr *a, int flags, char *err,
    size_t errlen)
{
	char name[ADDR_STRLEN];
	int fd, one = 1, zero = 0;

	addr_format(&a->u.sa, a->len, name, sizeof(name));
	fd = socket(a->u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "%s: socket: %s", name, strerror(errno));
		return -1;
	}
	/* A unix socket is opened once and shared by the workers (the
	 * engine's job); these options are for TCP. */
	if (a->u.sa.sa_family != AF_UNIX &&
	    (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1 || ((flags & LISTEN_WORKERS) && setsockopt(fd, SOL_SOCKET,
	    SO_REUSEPORT, &one, sizeof(one)) == -1))) {
		snprintf(err, errlen, "%s: setsockopt: %s", name,
		    strerror(errno));
		goto fail;
	}
	/* ":PORT" is one dual-stack socket for IPv4 and IPv6 clients. */
	if (a->u.sa.sa_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&a->u.in6.sin6_addr))
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
		    sizeof(zero));
	if (a->u.sa.sa_family != AF_UNIX)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	if (bind(fd, &a->u.sa, a->len) == -1) {
		snprintf(err, errlen, "%s: bind: %s", name, strerror(errno));
		goto fail;
	}
	if (!(flags & LISTEN_NO_LISTEN) && listen(fd, LISTEN_BACKLOG) == -1) {
		snprintf(err, errlen, "%s: listen: %s", name, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}
