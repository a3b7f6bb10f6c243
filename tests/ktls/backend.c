/*
 * backend.c - the plaintext backend of the kernel TLS check
 * (tests/ktls/run.sh), small enough to run in the virtual machine's
 * busybox initramfs: it listens on 127.0.0.1:PORT and takes connections
 * one after the other.
 *
 *   source FILE  sends FILE, half-closes, reads to EOF
 *   sink FILE    reads to EOF into FILE (written anew for each
 *                connection), then closes
 *   echo         sends back what it reads, until EOF
 *
 * usage: backend MODE PORT [FILE]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
serve_one(int c, const char *mode, const char *file)
{
	static char buf[1 << 16];
	ssize_t n;
	int fd = -1;

	if (strcmp(mode, "source") == 0) {
		if ((fd = open(file, O_RDONLY)) == -1) {
			perror(file);
			return;
		}
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			if (write_all(c, buf, (size_t)n) == -1)
				break;
		shutdown(c, SHUT_WR);
		while (read(c, buf, sizeof(buf)) > 0)
			;
	} else if (strcmp(mode, "sink") == 0) {
		if ((fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644)) ==
		    -1) {
			perror(file);
			return;
		}
		while ((n = read(c, buf, sizeof(buf))) > 0)
			if (write_all(fd, buf, (size_t)n) == -1)
				break;
	} else {
		while ((n = read(c, buf, sizeof(buf))) > 0)
			if (write_all(c, buf, (size_t)n) == -1)
				break;
	}
	if (fd != -1)
		close(fd);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int one = 1, l;

	if (argc < 3 || (strcmp(argv[1], "echo") != 0 && argc < 4)) {
		fprintf(stderr, "usage: backend source|sink|echo PORT "
		    "[FILE]\n");
		return 2;
	}
	a.sin_port = htons((unsigned short)atoi(argv[2]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((l = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1 || bind(l, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    listen(l, 16) == -1) {
		perror("backend: listen");
		return 1;
	}
	for (;;) {
		int c = accept(l, NULL, NULL);

		if (c == -1) {
			if (errno == EINTR)
				continue;
			perror("backend: accept");
			return 1;
		}
		serve_one(c, argv[1], argc > 3 ? argv[3] : NULL);
		close(c);
	}
}
