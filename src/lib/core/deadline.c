/*
 * deadline.c - one deadline for a sequence of blocking steps (connect,
 * handshake, read) on a non-blocking socket, for mtls connect and the
 * doctor's remote checks (see tools/mtls_tools.h).  The clock is
 * CLOCK_MONOTONIC: a wall-clock step never stretches or cuts a timeout.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tools/mtls_tools.h"

/* Bound on one wait, so that a far deadline cannot overflow poll()'s int. */
#define DEADLINE_MAX_MS 600000

void
mtls_deadline_in(struct timespec *d, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += ms / 1000;
	d->tv_nsec += (ms % 1000) * 1000000L;
	if (d->tv_nsec >= 1000000000L) {
		d->tv_sec++;
		d->tv_nsec -= 1000000000L;
	}
}

int
mtls_deadline_ms_left(const struct timespec *d)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (d->tv_sec - now.tv_sec) * 1000L +
	    (d->tv_nsec - now.tv_nsec) / 1000000L;
	return ms < 0 ? 0 : ms > DEADLINE_MAX_MS ? DEADLINE_MAX_MS : (int)ms;
}

int
mtls_wait_fd(int fd, short events, const struct timespec *deadline)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		int n = poll(&p, 1, mtls_deadline_ms_left(deadline));
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return 1; /* the next call on fd reports the error */
	}
}

int
mtls_connect_before(const struct addrinfo *ai,
    const struct timespec *deadline, int *why)
{
	int fd, err = 0;
	socklen_t len = sizeof(err);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, ai->ai_protocol);
	if (fd == -1) {
		*why = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		*why = errno;
		close(fd);
		return -1;
	}
	if (!mtls_wait_fd(fd, POLLOUT, deadline)) {
		*why = ETIMEDOUT;
		close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		*why = err;
		close(fd);
		return -1;
	}
	return fd;
}
